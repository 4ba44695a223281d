/**
 * Reads what training runs leave behind, for `xt plot`:
 *  - a results JSON (`train vit --results`): per-epoch arrays train_loss, train_acc@1,
 *    test_loss, test_acc@1 (and val_loss where a command writes it);
 *  - a saved `--json` event log: JSON lines of start / step / epoch / end events
 *    (core/train/events.ts);
 *  - an ablation (`xt ablate`): an `end` event, alone as one JSON object or as the last line of
 *    its event log, with `variants: [{name, params, seeds, metrics: {measure: {mean, std}}}]`.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
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

export function readRunRecord(path: string): RunRecord {
  if (!existsSync(path)) throw new DataError(path, "file not found");
  const raw = readFileSync(path, "utf8");
  let whole: unknown;
  try {
    whole = JSON.parse(raw);
  } catch {
    whole = undefined; // not one JSON document: an event log (JSON lines)
  }
  if (isObj(whole)) {
    if (Array.isArray(whole.variants)) return ablation(path, whole, undefined);
    if (RESULT_KEYS.some(([k]) => Array.isArray(whole[k]))) return resultsJson(path, whole);
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
  return { kind: "curves", file: path, steps: [], epochs };
}

function eventLog(path: string, events: Obj[]): RunRecord {
  const start = events.find((e) => e.type === "start");
  const command = typeof start?.command === "string" ? start.command : undefined;
  const dataset = typeof start?.dataset === "string" ? start.dataset : undefined;
  const end = [...events].reverse().find((e) => e.type === "end");
  if (end && Array.isArray(end.variants)) return ablation(path, end, start);
  const steps: StepPoint[] = [];
  const epochs: EpochPoint[] = [];
  for (const e of events) {
    if (e.type === "step") {
      const step = finite(e.step);
      const loss = finite(e.loss);
      if (step === undefined || loss === undefined) continue;
      const accuracy = finite(e.accuracy);
      steps.push(accuracy === undefined ? { step, loss } : { step, loss, accuracy });
    } else if (e.type === "epoch") {
      const epoch = finite(e.epoch);
      if (epoch === undefined) continue;
      const p: EpochPoint = { epoch };
      for (const [k, f] of [["trainLoss", "trainLoss"], ["trainAcc", "trainAcc"], ["testLoss", "testLoss"], ["testAcc", "testAcc"], ["valLoss", "valLoss"]] as const) {
        const v = finite(e[k]);
        if (v !== undefined) p[f] = v;
      }
      epochs.push(p);
    }
  }
  if (steps.length === 0 && epochs.length === 0) throw new DataError(path, "the event log has no step or epoch events");
  return { kind: "curves", file: path, command, dataset, steps, epochs };
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

/** A short label for a run in a legend: its file name without the extension(s). */
export function runLabel(path: string): string {
  return basename(path).replace(/(\.results)?\.(jsonl|json|ndjson|log|txt)$/i, "");
}
