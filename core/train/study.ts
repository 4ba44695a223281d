/**
 * A study: several training runs (variants × seeds) in one process, each measured, the measures
 * aggregated per variant over the seeds (mean, sample std, the values per seed). `xt ablate`'s
 * engine.
 *
 * Runs go seed by seed (every variant with the first seed, then every variant with the next), so
 * a study stopped early still compares every variant it reached on the same seeds. One event
 * stream for the whole study: each run's start event carries `study` (which run of how many, its
 * variant and seed, the steps before it and in all) and its step and epoch events follow; the
 * runs' own end events are left out; the study ends with one `end` event carrying `variants`
 * (docs/results.md). On the stop signal the run in progress ends, its numbers are dropped, and the
 * study ends with the finished runs' rows and `interrupted: true`.
 */
import type { EndEvent, EventSink, StartEvent, StudyMetric, StudyPosition, StudyVariant } from "./events.ts";

export interface StudyVariantSpec<V> {
  name: string;
  /** The variant's settings as they go into the end event. */
  params: Record<string, unknown>;
  value: V;
}

export interface RunContext {
  seed: number;
  /** The run's events (its start event gets the study position; its end event is dropped). */
  sink: EventSink;
  signal?: AbortSignal;
}

export interface RunOutcome {
  /** Each measure's value for this run (non-finite values leave the measure out of the variant's row). */
  metrics: Record<string, number>;
  /** Finer measures (per layer, per head): the variant's `detail`. */
  detail?: Record<string, number>;
  /** The training loss of every step (for the loss-curve plot). */
  losses: number[];
  interrupted: boolean;
}

export interface StudyOptions<V> {
  command: string;
  variants: StudyVariantSpec<V>[];
  seeds: number[];
  /** The steps a run of this variant takes (the study's progress and ETA). */
  plannedSteps(v: V): number;
  run(v: V, ctx: RunContext): Promise<RunOutcome>;
  sink: EventSink;
  signal?: AbortSignal;
  /** After each finished run: the study's end event as it would be now (to keep the rows in a file). */
  onRows?(end: EndEvent): void;
}

/** One finished run's loss curve. */
export interface RunCurve {
  variant: string;
  seed: number;
  losses: number[];
}

export interface StudyResult {
  variants: StudyVariant[];
  curves: RunCurve[];
  interrupted: boolean;
  end: EndEvent;
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function meanStd(values: number[]): StudyMetric {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, values: [...values] };
}

/** A finished run's measures. */
export interface FinishedRun {
  variant: string;
  seed: number;
  metrics: Record<string, number>;
  detail?: Record<string, number>;
}

/** Each measure over the runs, where every run has a finite value for it. */
function aggregateMeasures(runs: Record<string, number>[]): Record<string, StudyMetric> {
  const out: Record<string, StudyMetric> = {};
  for (const k of new Set(runs.flatMap((r) => Object.keys(r)))) {
    const values = runs.map((r) => r[k]);
    if (values.every((x): x is number => typeof x === "number" && Number.isFinite(x))) out[k] = meanStd(values);
  }
  return out;
}

/** The rows of the finished runs: variants in the study's order, those with no finished run left out. */
export function aggregate<V>(variants: StudyVariantSpec<V>[], finished: FinishedRun[]): StudyVariant[] {
  const out: StudyVariant[] = [];
  for (const v of variants) {
    const runs = finished.filter((r) => r.variant === v.name);
    if (runs.length === 0) continue;
    const row: StudyVariant = { name: v.name, params: { ...v.params }, seeds: runs.map((r) => r.seed), metrics: aggregateMeasures(runs.map((r) => r.metrics)) };
    if (runs.some((r) => r.detail)) row.detail = aggregateMeasures(runs.map((r) => r.detail ?? {}));
    out.push(row);
  }
  return out;
}

export async function runStudy<V>(o: StudyOptions<V>): Promise<StudyResult> {
  const plan = o.seeds.flatMap((seed) => o.variants.map((v) => ({ v, seed })));
  const steps = plan.map(({ v }) => o.plannedSteps(v.value));
  const totalSteps = steps.reduce((s, n) => s + n, 0);
  const t0 = performance.now();
  const finished: FinishedRun[] = [];
  const curves: RunCurve[] = [];
  let stepsDone = 0;
  let interrupted = false;
  const endEvent = (): EndEvent => ({
    type: "end", command: o.command, steps: stepsDone, elapsedMs: performance.now() - t0, variants: aggregate(o.variants, finished),
    ...(interrupted ? { interrupted } : {}),
  });
  for (let i = 0; i < plan.length; i++) {
    const { v, seed } = plan[i]!;
    const study: StudyPosition = {
      command: o.command, index: i + 1, runs: plan.length, variant: v.name, seed,
      stepsBefore: stepsDone, totalSteps, elapsedBeforeMs: performance.now() - t0,
    };
    let ran = 0;
    const sink: EventSink = (e) => {
      if (e.type === "end") return;
      if (e.type === "step") ran = e.step;
      o.sink(e.type === "start" ? ({ ...e, study } satisfies StartEvent) : e);
    };
    const r = await o.run(v.value, { seed, sink, signal: o.signal });
    stepsDone += ran;
    if (r.interrupted) {
      interrupted = true;
      break;
    }
    finished.push({ variant: v.name, seed, metrics: r.metrics, ...(r.detail ? { detail: r.detail } : {}) });
    curves.push({ variant: v.name, seed, losses: r.losses });
    o.onRows?.(endEvent());
    if (o.signal?.aborted && i + 1 < plan.length) {
      interrupted = true;
      break;
    }
  }
  const end = endEvent();
  o.sink(end);
  return { variants: end.variants!, curves, interrupted, end };
}
