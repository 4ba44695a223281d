/**
 * An error meant for the person running xt: the CLI prints its message (no stack trace) and
 * exits non-zero. Anything else that escapes is a bug and keeps its stack.
 */
export class XtError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "XtError";
  }
}

/** A data file that is missing, truncated, corrupt or of the wrong shape. */
export class DataError extends XtError {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "DataError";
  }
}
