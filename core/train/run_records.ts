/**
 * Reads what training runs leave behind, for `xt plot`:
 *  - a run folder (`runs/<command>-<dataset>/`, docs/results.md): its events.jsonl, which has
 *    every step and epoch, else its results.json;
 *  - a results JSON (`results.json`, `FILE.results.json`): per-epoch arrays train_loss,
 *    train_acc@1, test_loss, test_acc@1, val_loss, and captioning's per-iteration loss_history;
 *  - an event log (`events.jsonl`, `FILE.events.jsonl`, saved `--json` output): JSON lines of
 *    start / step / epoch / end events (core/train/events.ts); a resumed run appends to it, and a
 *    step or epoch logged twice (run again after a hard kill) counts once, the later;
 *  - an ablation (`xt ablate`): an `end` event, alone as one JSON object or as the last line of
 *    its event log, with `variants: [{name, params, seeds, metrics: {measure: {mean, std}}}]`.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { DataError } from "../errors.ts";

export interface StepPoint {
  step: number;
  loss: number;
  accuracy?: number;
}

export interface EpochPoint {
  epoch: number;
  trainLoss?: number;
  trainAcc?: number;
  testLoss?: number;
  testAcc?: number;
  valLoss?: number;
}

export interface CurvesRecord {
  kind: "curves";
  file: string;
  /** From the log's start event: command and data, where known. */
  command?: string;
  dataset?: string;
  steps: StepPoint[];
  epochs: EpochPoint[];
}

export interface MeanStd {
  mean: number;
  std: number;
}

export interface AblationVariant {
  name: string;
  params: Record<string, unknown>;
  /** The seeds each variant ran with (or just how many). */
  seeds: number[] | number;
  metrics: Record<string, MeanStd>;
}

export interface AblationRecord {
  kind: "ablation";
  file: string;
  command?: string;
  dataset?: string;
  variants: AblationVariant[];
}

export type RunRecord = CurvesRecord | AblationRecord;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const finite = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** A run folder's event log, else its results JSON. */
function runFolderFile(dir: string): string {
  const events = join(dir, "events.jsonl");
  if (existsSync(events) && statSync(events).size > 0) return events;
  const results = join(dir, "results.json");
  if (existsSync(results)) return results;
  throw new DataError(dir, "a folder without events.jsonl or results.json (not a run folder)");
}

export function readRunRecord(path: string): RunRecord {
  if (!existsSync(path)) throw new DataError(path, "file not found");
  if (statSync(path).isDirectory()) return readRunRecord(runFolderFile(path));
  const raw = readFileSync(path, "utf8");
  let whole: unknown;
  try {
    whole = JSON.parse(raw);
  } catch {
    whole = undefined; // not one JSON document: an event log (JSON lines)
  }
  if (isObj(whole)) {
    if (Array.isArray(whole.variants)) return ablation(path, whole, undefined);
    if (RESULT_KEYS.some(([k]) => Array.isArray(whole[k])) || Array.isArray(whole.loss_history)) return resultsJson(path, whole);
    if (typeof whole.type === "string") return eventLog(path, [whole]);
    throw new DataError(path, `not a results JSON (no ${RESULT_KEYS.map(([k]) => k).join(", ")}), event log or ablation`);
  }
  const events: Obj[] = [];
  raw.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      throw new DataError(`${path}:${i + 1}`, "not a JSON line (expected a results JSON or a --json event log)");
    }
    if (!isObj(e) || typeof e.type !== "string") throw new DataError(`${path}:${i + 1}`, "not an event (no \"type\")");
    events.push(e);
  });
  if (events.length === 0) throw new DataError(path, "empty: no events");
  return eventLog(path, events);
}

/** Results-JSON keys → epoch fields. */
const RESULT_KEYS: [string, keyof Omit<EpochPoint, "epoch">][] = [
  ["train_loss", "trainLoss"], ["train_acc@1", "trainAcc"], ["test_loss", "testLoss"], ["test_acc@1", "testAcc"], ["val_loss", "valLoss"],
];

function resultsJson(path: string, o: Obj): CurvesRecord {
  const n = Math.max(...RESULT_KEYS.map(([k]) => (Array.isArray(o[k]) ? (o[k] as unknown[]).length : 0)));
  const epochs: EpochPoint[] = Array.from({ length: n }, (_, i) => {
    const p: EpochPoint = { epoch: i + 1 };
    for (const [k, f] of RESULT_KEYS) {
      const v = Array.isArray(o[k]) ? finite((o[k] as unknown[])[i]) : undefined;
      if (v !== undefined) p[f] = v;
    }
    return p;
  });
  // Captioning's results keep every iteration's loss (the reference solver's loss_history).
  const history = Array.isArray(o.loss_history) ? o.loss_history : [];
  const steps: StepPoint[] = history.flatMap((v, i) => {
    const loss = finite(v);
    return loss === undefined ? [] : [{ step: i + 1, loss }];
  });
  if (steps.length === 0 && epochs.length === 0) throw new DataError(path, "no finished epoch yet (the results are empty)");
  return { kind: "curves", file: path, steps, epochs };
}

function eventLog(path: string, events: Obj[]): RunRecord {
  const start = events.find((e) => e.type === "start");
  const command = typeof start?.command === "string" ? start.command : undefined;
  const dataset = typeof start?.dataset === "string" ? start.dataset : undefined;
  const end = [...events].reverse().find((e) => e.type === "end");
  if (end && Array.isArray(end.variants)) return ablation(path, end, start);
  // Keyed by number: a step or epoch logged again (a resumed run repeating what a killed one
  // logged after its last save) replaces the earlier entry.
  const steps = new Map<number, StepPoint>();
  const epochs = new Map<number, EpochPoint>();
  for (const e of events) {
    if (e.type === "step") {
      const step = finite(e.step);
      const loss = finite(e.loss);
      if (step === undefined || loss === undefined) continue;
      const accuracy = finite(e.accuracy);
      steps.set(step, accuracy === undefined ? { step, loss } : { step, loss, accuracy });
    } else if (e.type === "epoch") {
      const epoch = finite(e.epoch);
      if (epoch === undefined) continue;
      const p: EpochPoint = { epoch };
      for (const [k, f] of [["trainLoss", "trainLoss"], ["trainAcc", "trainAcc"], ["testLoss", "testLoss"], ["testAcc", "testAcc"], ["valLoss", "valLoss"]] as const) {
        const v = finite(e[k]);
        if (v !== undefined) p[f] = v;
      }
      epochs.set(epoch, p);
    }
  }
  if (steps.size === 0 && epochs.size === 0) throw new DataError(path, "the event log has no step or epoch events");
  const byNumber = <T>(m: Map<number, T>): T[] => [...m].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  return { kind: "curves", file: path, command, dataset, steps: byNumber(steps), epochs: byNumber(epochs) };
}

function ablation(path: string, o: Obj, start: Obj | undefined): AblationRecord {
  const variants = (o.variants as unknown[]).map((v, i): AblationVariant => {
    const where = `variants[${i}]`;
    if (!isObj(v)) throw new DataError(path, `${where} is not an object`);
    if (typeof v.name !== "string") throw new DataError(path, `${where} has no name`);
    if (!isObj(v.metrics)) throw new DataError(path, `${where} (${v.name}) has no metrics`);
    const metrics: Record<string, MeanStd> = {};
    for (const [k, m] of Object.entries(v.metrics)) {
      const mean = isObj(m) ? finite(m.mean) : undefined;
      const std = isObj(m) ? finite(m.std) ?? 0 : undefined;
      if (mean === undefined || std === undefined) throw new DataError(path, `${where}.metrics.${k}: expected {mean, std} numbers`);
      metrics[k] = { mean, std };
    }
    const seeds = Array.isArray(v.seeds) ? v.seeds.filter((s): s is number => typeof s === "number") : finite(v.seeds) ?? 1;
    return { name: v.name, params: isObj(v.params) ? v.params : {}, seeds, metrics };
  });
  if (variants.length === 0) throw new DataError(path, "the ablation has no variants");
  return {
    kind: "ablation", file: path, variants,
    command: typeof start?.command === "string" ? start.command : typeof o.command === "string" ? o.command : undefined,
    dataset: typeof start?.dataset === "string" ? start.dataset : typeof o.dataset === "string" ? o.dataset : undefined,
  };
}

/**
 * A short label for a run in a legend: its file name without the extension(s); a run folder, or
 * the results.json / events.jsonl inside one, by the folder's name.
 */
export function runLabel(path: string): string {
  const name = basename(resolve(path));
  if (name === "results.json" || name === "events.jsonl") return basename(dirname(resolve(path)));
  return name.replace(/(\.results|\.events)?\.(jsonl|json|ndjson|log|txt)$/i, "");
}
