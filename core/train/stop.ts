/**
 * Cooperative stop for long runs: the CLI's first Ctrl-C calls requestStop(); training loops
 * check stopRequested() after each step, finish cleanly (checkpoint written atomically, `end`
 * event with interrupted: true), and the CLI exits 130. A second Ctrl-C exits at once.
 */
let requested = false;

export function requestStop(): void {
  requested = true;
}

export function stopRequested(): boolean {
  return requested;
}

/** For tests and for commands that run several loops in one process. */
export function resetStop(): void {
  requested = false;
}
