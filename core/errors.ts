/**
 * An error meant for the person running xt: the CLI prints its message (no stack trace) and
 * exits non-zero. Anything else that escapes is a bug and keeps its stack.
 */

/** xt's exit codes, defined once: every command and error exits with one of these. */
export const EXIT = {
  ok: 0,
  /** The work failed (bad data, a failed check, a missing file). */
  failure: 1,
  /** The command line was wrong (unknown command or flag, bad or missing flag value). */
  usage: 2,
  /** Stopped by Ctrl-C (128 + SIGINT), after writing what it had. */
  interrupted: 130,
} as const;

export class XtError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.failure) {
    super(message);
    this.name = "XtError";
  }
}

/** A wrong command line: exits 2. */
export class UsageError extends XtError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = "UsageError";
  }
}

/** A data file that is missing, truncated, corrupt or of the wrong shape. */
export class DataError extends XtError {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "DataError";
  }
}
