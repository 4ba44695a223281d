/**
 * The one way to stop a long run: an AbortSignal. The CLI's first Ctrl-C (or a broken output
 * pipe) calls requestStop(), which aborts the process-wide stopSignal(); the training loop
 * (core/train/loop.ts) takes any AbortSignal, looks at it after each step, finishes cleanly
 * (interrupted state written atomically, `end` event with interrupted: true) and the CLI exits
 * 130. A second Ctrl-C exits at once.
 */
let controller = new AbortController();

export function requestStop(): void {
  controller.abort();
}

/** The process-wide stop signal (aborted by requestStop). */
export function stopSignal(): AbortSignal {
  return controller.signal;
}

/** For tests and for commands that run several loops in one process. */
export function resetStop(): void {
  if (controller.signal.aborted) controller = new AbortController();
}

/**
 * Give the event loop one turn (~4 µs, a setImmediate): lets a pending Ctrl-C handler run, and
 * timers and I/O. Bun runs signal handlers only between event-loop turns, so a synchronous
 * training loop that never awaits cannot be stopped by Ctrl-C. (`await Promise.resolve()` is not
 * enough: microtasks run before signals; `setTimeout(0)` costs ~1 ms.) The training loop calls it
 * after every step and the evaluation passes after every batch.
 */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
