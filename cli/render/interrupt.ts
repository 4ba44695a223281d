/**
 * Ctrl-C for long runs, in two stages:
 *   1st SIGINT: requestStop() and show "stopping after this step… (Ctrl-C again to quit now)";
 *               the training loop finishes its step, writes its checkpoint (atomically), emits
 *               `end` with interrupted: true, and the command exits 130.
 *   2nd SIGINT: restore the terminal and exit 130 at once (files already written are whole:
 *               every write is atomic).
 *
 * Bun runs a JS signal handler only between event-loop turns, never inside a synchronous loop
 * (checked: a SIGINT sent during a 4 s synchronous loop is handled after it ends). So a training
 * loop must yield once per step (core/train/loop.ts: `await yieldToEvents()`, then the stop signal), which
 * costs ~4 µs (a setImmediate turn). "At once" for the second Ctrl-C therefore means "at the end
 * of the current step" (or at the next yield of any longer phase, such as an evaluation pass).
 */
import { EXIT } from "../../core/errors.ts";
import { requestStop } from "../../core/train/stop.ts";

export const STOP_NOTICE = "stopping after this step… (Ctrl-C again to quit now)";
export const INTERRUPT_EXIT_CODE = EXIT.interrupted;

export interface InterruptOptions {
  /** Show the first-Ctrl-C notice. Default: a line on stderr. */
  notify?: (message: string) => void;
  /** Runs just before the second Ctrl-C exits (restore the terminal). */
  beforeExit?: () => void;
  /** Default process.exit; tests replace it. */
  exit?: (code: number) => void;
}

/**
 * Install the two-stage SIGINT handler; returns a function that removes it. The stop flag is not
 * reset here (a command that trains and then evaluates keeps its "interrupted" state): tests call
 * resetStop().
 */
export function installInterruptHandler(opts: InterruptOptions = {}): () => void {
  let count = 0;
  const notify = opts.notify ?? ((m: string) => void process.stderr.write(`\n${m}\n`));
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const onSigint = (): void => {
    count++;
    if (count === 1) {
      requestStop();
      notify(STOP_NOTICE);
      return;
    }
    try {
      opts.beforeExit?.();
    } finally {
      exit(INTERRUPT_EXIT_CODE);
    }
  };
  process.on("SIGINT", onSigint);
  return () => void process.off("SIGINT", onSigint);
}
