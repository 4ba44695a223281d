/** Plain progress lines for logs and pipes: no carriage returns, no escape codes unless colour is on. */
import type { ChalkInstance } from "chalk";
import type { EventSink, TrainEvent } from "../../core/train/events.ts";

const fmtLoss = (x: number | undefined): string => (x === undefined ? "-" : x.toFixed(4));
const fmtAcc = (x: number | undefined): string => (x === undefined ? "-" : x.toFixed(4));
/** 4.2s under a minute; then 1m5s, 2h3m4s (whole seconds, rounded once: never "1m60s"). */
export function fmtTime(ms: number): string {
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${m}m${s % 60}s` : `${m}m${s % 60}s`;
}

/** The line (or null) the plain renderer prints for one event. */
export function plainLine(e: TrainEvent, printEvery: number, c: ChalkInstance): string | null {
  switch (e.type) {
    case "start": {
      const run = e.study ? `run ${e.study.index}/${e.study.runs} (${e.study.variant}, seed ${e.study.seed}) ` : "";
      return c.bold(
        `${run}${e.command}: ${e.model} (${e.params.toLocaleString("en-US")} parameters) on ${e.device}, data ${e.dataset}, ${e.totalSteps} steps`,
      );
    }
    case "step": {
      if (e.step % printEvery !== 0 && e.step !== e.totalSteps && e.step !== 1) return null;
      const rate = e.elapsedMs > 0 ? (e.step / e.elapsedMs) * 1000 : 0;
      const acc = e.accuracy === undefined ? "" : `  acc ${fmtAcc(e.accuracy)}`;
      return `step ${String(e.step).padStart(String(e.totalSteps).length)}/${e.totalSteps}  loss ${fmtLoss(e.loss)}${acc}  lr ${e.lr.toExponential(1)}  ${rate.toFixed(2)} steps/s  ${fmtTime(e.elapsedMs)}`;
    }
    case "eval":
      // One line as a pass starts (its batches would flood a log); the dashboard shows its progress.
      return e.batch === 1 ? `${e.split === "test" ? "testing" : "validating"} on ${e.total.toLocaleString("en-US")} ${e.split} examples…` : null;
    case "epoch": {
      const parts = [`epoch ${e.epoch}/${e.epochs}`, `train loss ${fmtLoss(e.trainLoss)}`];
      if (e.trainAcc !== undefined) parts.push(`train acc ${fmtAcc(e.trainAcc)}`);
      if (e.valLoss !== undefined) parts.push(`val loss ${fmtLoss(e.valLoss)}`);
      if (e.testLoss !== undefined) parts.push(`test loss ${fmtLoss(e.testLoss)}`);
      if (e.testAcc !== undefined) parts.push(`test acc ${fmtAcc(e.testAcc)}`);
      parts.push(fmtTime(e.elapsedMs));
      return c.cyan(parts.join("  "));
    }
    case "end": {
      const parts = [e.interrupted ? "interrupted" : "done", `${e.steps} steps in ${fmtTime(e.elapsedMs)}`];
      // A run with test passes ends on the last epoch's test numbers; the others on the last
      // training batch's.
      const of = e.best_test_acc !== undefined ? "test" : "last batch";
      if (e.loss !== undefined) parts.push(`${of} loss ${fmtLoss(e.loss)}`);
      if (e.accuracy !== undefined) parts.push(`${of} acc ${fmtAcc(e.accuracy)}`);
      if (e.best_test_acc !== undefined) parts.push(`best test acc ${fmtAcc(e.best_test_acc)}`);
      if (e.checkpoint) parts.push(`checkpoint ${e.checkpoint}`);
      return c.bold(parts.join("  "));
    }
  }
}

export function plainSink(write: (s: string) => void, printEvery: number, c: ChalkInstance): EventSink {
  return (e) => {
    const line = plainLine(e, printEvery, c);
    if (line !== null) write(line + "\n");
  };
}

/** --json: one JSON object per line, the events exactly as emitted. */
export function jsonSink(write: (s: string) => void): EventSink {
  return (e) => write(JSON.stringify(e) + "\n");
}
