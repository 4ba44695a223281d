/**
 * How a training command shows and records its events: the renderer its flags ask for (dashboard,
 * plain lines, JSON lines; with the two-stage Ctrl-C handler), plus the run's event log when it
 * writes files. The stop signal is reset first, so a run starts unstopped.
 */
import type { EventSink } from "../core/train/events.ts";
import { eventLog, teeSink, type RunFiles } from "../core/train/run_files.ts";
import { resetStop } from "../core/train/stop.ts";
import { createProgress } from "./render/progress.ts";

export interface OutputChoice {
  json?: boolean;
  plain?: boolean;
  printEvery: number;
  color?: boolean;
}

export async function withTrainingOutput<R>(o: OutputChoice, files: RunFiles | undefined, run: (sink: EventSink) => Promise<R>): Promise<R> {
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
