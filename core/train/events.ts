/**
 * The event stream every long-running command emits. The three renderers (live dashboard,
 * plain lines, --json lines) all consume this one stream.
 */
export interface StartEvent {
  type: "start";
  command: string;
  model: string;
  params: number;
  device: string;
  dataset: string;
  totalSteps: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** A resumed run: the steps already done before this process started. */
  resumedAt?: number;
  /** One run of a study (`xt ablate`): where it stands in the whole study. */
  study?: StudyPosition;
}

/** Where one run stands in a study of several runs (variants × seeds). */
export interface StudyPosition {
  /** The study's command ("ablate attention"). */
  command: string;
  /** This run, 1-based, of `runs`. */
  index: number;
  runs: number;
  variant: string;
  seed: number;
  /** Steps of the runs before this one (done), and of the whole study (planned). */
  stepsBefore: number;
  totalSteps: number;
  /** Wall time of the runs before this one. */
  elapsedBeforeMs: number;
}

/** One measure of a study variant over its seeds: values per seed, their mean and sample std (n − 1; 0 for one seed). */
export interface StudyMetric {
  mean: number;
  std: number;
  values: number[];
}

/** One row of a study: a variant, its settings, the seeds it ran and its measures (docs/results.md). */
export interface StudyVariant {
  name: string;
  params: Record<string, unknown>;
  seeds: number[];
  /** The headline measures (what `xt plot` draws, one panel each). */
  metrics: Record<string, StudyMetric>;
  /** Finer measures in the same form (per layer, per head), kept apart from the headline ones. */
  detail?: Record<string, StudyMetric>;
}

export interface StepEvent {
  type: "step";
  step: number;
  totalSteps: number;
  epoch?: number;
  loss: number;
  lr: number;
  /** Examples (images or captions) in this step, for throughput. */
  examples: number;
  /** Tokens in this step, for captioning throughput. */
  tokens?: number;
  accuracy?: number;
  elapsedMs: number;
}

export interface EpochEvent {
  type: "epoch";
  epoch: number;
  epochs: number;
  trainLoss: number;
  trainAcc?: number;
  valLoss?: number;
  testLoss?: number;
  testAcc?: number;
  elapsedMs: number;
}

/**
 * Progress of an evaluation pass (train vit's test pass after each epoch): one per batch, so a
 * long pass shows progress instead of a pause.
 */
export interface EvalEvent {
  type: "eval";
  split: "test" | "val";
  /** 1, 2, … within this pass. */
  batch: number;
  /** Examples evaluated so far in this pass, of `total`. */
  done: number;
  total: number;
  epoch?: number;
  elapsedMs: number;
}

export interface EndEvent {
  type: "end";
  steps: number;
  elapsedMs: number;
  loss?: number;
  accuracy?: number;
  best_test_acc?: number;
  /** The resumable checkpoint written last (`--resume` takes it). */
  checkpoint?: string;
  /** The best model's checkpoint, when the run keeps one apart. */
  best?: string;
  /** True when the run stopped early on Ctrl-C. */
  interrupted?: boolean;
  /** A study's end (`xt ablate`): its command and the finished variants (all of them unless interrupted). */
  command?: string;
  variants?: StudyVariant[];
  /** The process's peak resident memory so far, in MiB (getrusage's maxrss). */
  peak_rss_mb?: number;
}

/** The process's peak resident set size so far in MiB (one decimal), or undefined where unknown. */
export function peakRssMb(): number | undefined {
  try {
    return Math.round(process.resourceUsage().maxRSS / 102.4) / 10; // maxRSS is in KiB
  } catch {
    return undefined;
  }
}

export type TrainEvent = StartEvent | StepEvent | EvalEvent | EpochEvent | EndEvent;
export type EventSink = (e: TrainEvent) => void;

/**
 * The sink of one process in a data-parallel run: rank 0 reports, the other ranks stay silent
 * (they train the same steps; their events would repeat rank 0's).
 */
export function rankSink(sink: EventSink, rank: number): EventSink {
  return rank === 0 ? sink : () => {};
}
