/**
 * How a training command shows and records its events: the renderer its flags ask for (dashboard,
 * plain lines, JSON lines; with the two-stage Ctrl-C handler), plus the run's event log when it
 * writes files. The stop signal is reset first, so a run starts unstopped.
 */
import type { EventSink } from "../core/train/events.ts";
import { eventLog, teeSink, type RunFiles } from "../core/train/run_files.ts";
import { resetStop } from "../core/train/stop.ts";
import { installInterruptHandler } from "./render/interrupt.ts";
import { createProgress } from "./render/progress.ts";

export interface OutputChoice {
  json?: boolean;
  plain?: boolean;
  printEvery: number;
  color?: boolean;
}

/**
 * `quiet`: a data-parallel rank other than 0 — no output and no log (rank 0 shows the run), but the
 * same Ctrl-C handling, so that a stop asked on every rank (MPICH forwards Ctrl-C) is a clean one.
 */
export async function withTrainingOutput<R>(o: OutputChoice, files: RunFiles | undefined, run: (sink: EventSink) => Promise<R>, quiet = false): Promise<R> {
  if (quiet) {
    resetStop();
    const remove = installInterruptHandler({ notify: () => {} });
    try {
      return await run(() => {});
    } finally {
      remove();
    }
  }
  const log = files ? eventLog(files.events) : undefined;
  resetStop();
  const progress = createProgress({ json: o.json, plain: o.plain, printEvery: o.printEvery, color: o.color });
  try {
    await progress.ready;
    return await run(log ? teeSink(progress.sink, log.sink) : progress.sink);
  } finally {
    log?.flush();
    progress.close();
  }
}
