/**
 * Cooperative stop for long runs: the CLI's first Ctrl-C calls requestStop(); training loops
 * check stopRequested() after each step, finish cleanly (checkpoint written atomically, `end`
 * event with interrupted: true), and the CLI exits 130. A second Ctrl-C exits at once.
 */
let requested = false;
let controller = new AbortController();

export function requestStop(): void {
  requested = true;
  controller.abort();
}

/** The same flag as an AbortSignal (aborted by requestStop), for code that takes a `signal`. */
export function stopSignal(): AbortSignal {
  return controller.signal;
}

export function stopRequested(): boolean {
  return requested;
}

/** For tests and for commands that run several loops in one process. */
export function resetStop(): void {
  requested = false;
  if (controller.signal.aborted) controller = new AbortController();
}

/**
 * Give the event loop one turn (~4 µs, a setImmediate): lets a pending Ctrl-C handler run, and
 * timers and I/O. Bun runs signal handlers only between event-loop turns, so a synchronous
 * training loop that never awaits cannot be stopped by Ctrl-C. (`await Promise.resolve()` is not
 * enough: microtasks run before signals; `setTimeout(0)` costs ~1 ms.)
 */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Call once per training step, after emitting the step event: `if (await checkStop()) break;`.
 * Yields to the event loop (so Ctrl-C is seen), then says whether a stop was requested.
 */
export async function checkStop(): Promise<boolean> {
  await yieldToEvents();
  return requested;
}
