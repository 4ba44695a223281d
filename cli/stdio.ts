/**
 * Exiting without losing output. Bun writes to a pipe asynchronously: what the reader has not
 * taken yet waits inside the process, and process.exit() drops it
 * (`xt sample -n 1000 | (sleep 3; wc -c)` got 65,536 of 205,867 bytes, one pipe buffer). So the
 * CLI ends stdout and stderr and waits until everything written before reached its reader, or
 * the reader is gone (EPIPE), and only then exits.
 */

type Stream = NodeJS.WriteStream;

const isEpipe = (e: unknown): boolean => (e as { code?: string } | null)?.code === "EPIPE";

/**
 * A reader that goes away early (`xt … | head`) is not an error worth a stack trace: Bun reports
 * it as an 'error' event on the stream, which would crash the process without a listener.
 * Commands that stream (cli/render/progress.ts) notice EPIPE themselves and stop their run.
 */
export function ignoreBrokenPipe(streams: Stream[] = [process.stdout, process.stderr]): void {
  for (const s of streams) {
    s.on("error", (e: unknown) => {
      if (!isEpipe(e)) throw e;
    });
  }
}

/** Resolves once everything written to `s` so far has reached its reader, or the reader is gone. */
export function drained(s: Stream): Promise<void> {
  return new Promise((resolve) => {
    if (s.writableFinished || s.destroyed) return resolve();
    s.once("error", () => resolve());
    s.once("close", () => resolve());
    s.end(() => resolve());
  });
}

/** Wait for stdout and stderr to drain, however slow their readers, then exit with `code`. */
export async function exitWhenFlushed(code: number): Promise<never> {
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}
