/**
 * The captioning solver with the reference's semantics (CaptioningSolverTransformer in
 * cs231n/captioning_solver_transformer.py):
 *
 *  - each iteration draws a minibatch with sample_coco_minibatch (`np.random.choice(n, batch)`,
 *    with replacement, from the NumPy-compatible state), takes captions_in = captions[:, :-1]
 *    and captions_out = captions[:, 1:];
 *  - loss = per-token cross-entropy × (captions_out ≠ <NULL>), averaged over ALL N·T entries
 *    (torch.mean of the masked losses, not a mean over the unmasked count);
 *  - zero_grad, backward, one Adam step; the loss is recorded every iteration;
 *  - num_iterations = epochs × max(num_train // batch_size, 1).
 *
 * The model stays in training mode (dropout on, drawing from the torch generator) as in the
 * reference. Everything needed to continue a run bit for bit (weights, Adam moments, both RNG
 * states, the loop position, the loss history) is captured by `captioningCheckpoint` and restored
 * by `restore`, so a resumed run gives exactly the losses of an uninterrupted one. The iterations
 * run on the one training loop (core/train/loop.ts).
 *
 * Data-parallel (`ranks`, core/train/data_parallel.ts): every rank holds the same NumPy state and
 * draws the whole global minibatch, `np.random.choice(n, batch_size · N)`, then keeps rows
 * r, r + N, r + 2N, … (the DistributedSampler's interleaving). So the N shards of iteration k are
 * exactly the minibatch of one process with batch size N · batch_size, the loss (a mean over all
 * N·T entries) averaged over ranks is that minibatch's loss, and an epoch is
 * max(num_train // (N · batch_size), 1) iterations. With dropout 0, N ranks and one process with
 * the global batch follow the same trajectory; with dropout on, each rank draws its own masks.
 */
import { noGrad } from "../autograd.ts";
import { DataError, XtError } from "../errors.ts";
import type { CocoData, CocoMinibatch, CocoSplitData } from "../data/coco.ts";
import { gatherCocoBatch, sampleCocoMinibatch } from "../data/coco.ts";
import { rowRange } from "../data/rows.ts";
import type { CheckpointMeta, TrainingState } from "../io/checkpoint.ts";
import type { CaptioningTransformer } from "../models/captioning_transformer.ts";
import { fromArray } from "../ops/creation.ts";
import { mul } from "../ops/elementwise.ts";
import { crossEntropy } from "../ops/loss.ts";
import { mean, sum } from "../ops/reduce.ts";
import { reshape } from "../ops/views.ts";
import { Adam, type AdamStateDict } from "../optim/adam.ts";
import { defaultGenerator, type NumpyRandomState, type NumpyRandomStateState, type TorchGenerator, type TorchGeneratorState } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";
import type { DataParallel } from "./data_parallel.ts";
import type { EndEvent, EventSink } from "./events.ts";
import { optimizationStep, startPosition, trainLoop, zeroSums, type ForwardResult, type LoopPosition } from "./loop.ts";

export interface CaptioningSolverOptions {
  batchSize: number;
  numEpochs: number;
  learningRate: number;
  /** np.random's state: minibatch draws. */
  np: NumpyRandomState;
  /** torch's generator: dropout draws (the global default generator unless given). */
  torch?: TorchGenerator;
  /** This rank's share of a data-parallel run (batchSize is per rank). */
  ranks?: { rank: number; size: number };
}

/** A minibatch split the way the reference's _step does it. */
export interface CaptionTargets {
  /** N × (T−1) word ids fed to the model. */
  captionsIn: Int32Array;
  /** N × (T−1) word ids to predict. */
  captionsOut: Int32Array;
  /** N × (T−1): 1 where captionsOut ≠ <NULL>, else 0. */
  mask: Float32Array;
  /** Number of ones in mask. */
  tokens: number;
}

export function splitCaptions(captions: Int32Array, n: number, t: number, nullIdx: number): CaptionTargets {
  if (t < 2) throw new XtError(`captioning: captions need at least 2 tokens, got ${t}`);
  if (captions.length !== n * t) throw new XtError(`captioning: ${captions.length} caption ids are not ${n} rows of ${t}`);
  const T = t - 1;
  const captionsIn = new Int32Array(n * T);
  const captionsOut = new Int32Array(n * T);
  const mask = new Float32Array(n * T);
  let tokens = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < T; j++) {
      captionsIn[i * T + j] = captions[i * t + j]!;
      const out = captions[i * t + j + 1]!;
      captionsOut[i * T + j] = out;
      if (out !== nullIdx) {
        mask[i * T + j] = 1;
        tokens++;
      }
    }
  }
  return { captionsIn, captionsOut, mask, tokens };
}

/**
 * transformer_temporal_softmax_loss: cross_entropy(x (N·T, V), y, reduction='none') × mask,
 * then the mean over all N·T entries.
 */
export function temporalSoftmaxLoss(logits: Tensor, captionsOut: Int32Array, mask: Float32Array): Tensor {
  if (logits.ndim !== 3) throw new XtError(`captioning loss: logits must be (N, T, V), got ${logits.ndim} dims`);
  const [N, T, V] = logits.shape as [number, number, number];
  const losses = crossEntropy(reshape(logits, [N * T, V]), fromArray(captionsOut, [N * T], "int32"), "none");
  return mean(mul(losses, fromArray(mask, [N * T])));
}

/** Everything besides the weights that a captioning checkpoint carries to resume a run. */
export interface CaptioningResumeState {
  iteration: number;
  /** Where the loop stands (absent in first-format checkpoints: derived from the iteration). */
  position?: { epoch: number; stepInEpoch: number };
  lossHistory: number[];
  valHistory: { epoch: number; loss: number }[];
  optimizer: AdamStateDict;
  rng: { torch: TorchGeneratorState; numpy: NumpyRandomStateState };
}

export interface TrainOptions {
  sink?: EventSink;
  /** For the start event. */
  command?: string;
  dataset?: string;
  device?: string;
  /** Stop cleanly after the current iteration when this is aborted (Ctrl-C). */
  signal?: AbortSignal;
  /** This process's rank in a data-parallel run (only rank 0 reports and saves). */
  rank?: number;
  /** Validation loss at each epoch end (in the epoch event). */
  valLoss?: () => number;
  /** Rank 0, after each epoch's event: results, checkpoints. */
  afterEpoch?: (epoch: number, trainLoss: number, valLoss: number | undefined) => void;
  /** Rank 0, once at the end (also when stopped); returns the checkpoint it wrote, if any. */
  atEnd?: (interrupted: boolean) => Partial<EndEvent> | void;
  /** A data-parallel run: gradients averaged after backward, steps combined, stops agreed. */
  parallel?: DataParallel;
  /** After backward (and the gradient average of a data-parallel run), before the Adam step: a study reads the gradients here. */
  afterBackward?: () => void;
}

export interface TrainResult {
  lossHistory: number[];
  finalLoss: number | undefined;
  iterations: number;
  interrupted: boolean;
  elapsedMs: number;
}

export class CaptioningSolver {
  readonly optim: Adam;
  readonly batchSize: number;
  readonly numEpochs: number;
  readonly iterationsPerEpoch: number;
  readonly numIterations: number;
  readonly np: NumpyRandomState;
  readonly torch: TorchGenerator;
  readonly rank: number;
  readonly ranks: number;
  /** Where the run stands (across resumes). */
  position: LoopPosition = startPosition();
  lossHistory: number[] = [];
  valHistory: { epoch: number; loss: number }[] = [];

  constructor(readonly model: CaptioningTransformer, readonly data: CocoData, opts: CaptioningSolverOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize <= 0) throw new XtError(`batch size must be a positive integer, got ${opts.batchSize}`);
    if (!Number.isInteger(opts.numEpochs) || opts.numEpochs < 0) throw new XtError(`epochs must be a non-negative integer, got ${opts.numEpochs}`);
    if (!(opts.learningRate >= 0)) throw new XtError(`learning rate must be >= 0, got ${opts.learningRate}`);
    if (data.train.numCaptions === 0) throw new XtError("captioning: the training split has no captions");
    if (data.featureDim !== model.inputDim) {
      throw new XtError(`captioning: the data's features are ${data.featureDim} wide but the model expects ${model.inputDim}`);
    }
    if (data.captionLength - 1 > model.maxLength) {
      throw new XtError(`captioning: captions have ${data.captionLength - 1} input tokens but the model's max length is ${model.maxLength}`);
    }
    this.batchSize = opts.batchSize;
    this.numEpochs = opts.numEpochs;
    this.np = opts.np;
    this.torch = opts.torch ?? defaultGenerator;
    this.optim = new Adam(model.parameters(), { lr: opts.learningRate });
    this.rank = opts.ranks?.rank ?? 0;
    this.ranks = opts.ranks?.size ?? 1;
    this.iterationsPerEpoch = Math.max(Math.floor(data.train.numCaptions / (this.batchSize * this.ranks)), 1);
    this.numIterations = this.numEpochs * this.iterationsPerEpoch;
  }

  /** Iterations done so far (across resumes). */
  get iteration(): number {
    return this.position.step;
  }

  /** The reference's minibatch: sample_coco_minibatch from np.random's state. */
  private nextBatch(): CocoMinibatch {
    const mb = sampleCocoMinibatch(this.data, this.batchSize * this.ranks, "train", this.np);
    return this.ranks === 1 ? mb : shardMinibatch(mb, this.rank, this.ranks);
  }

  /** The reference's _step without the update: forward and the masked loss. */
  private forward(mb: CocoMinibatch): ForwardResult {
    const N = mb.batchSize;
    const { captionsIn, captionsOut, mask, tokens } = splitCaptions(mb.captions, N, mb.captionLength, this.model.nullIdx);
    const T = mb.captionLength - 1;
    const logits = this.model.forward(fromArray(mb.features, [N, mb.featureDim]), fromArray(captionsIn, [N, T], "int32"));
    return { loss: temporalSoftmaxLoss(logits, captionsOut, mask), examples: N, tokens };
  }

  /** One reference _step outside the loop (tests, benchmarks): minibatch, forward, masked loss, backward, Adam. */
  step(): { loss: number; tokens: number } {
    const r = optimizationStep(this.optim, (mb: CocoMinibatch) => this.forward(mb), this.nextBatch());
    this.lossHistory.push(r.loss);
    const p = this.position;
    this.position = {
      step: p.step + 1, epoch: p.epoch, stepInEpoch: p.stepInEpoch + 1,
      sums: { loss: p.sums.loss + r.loss * r.examples, stepLoss: p.sums.stepLoss + r.loss, correct: 0, examples: p.sums.examples + r.examples },
    };
    return { loss: r.loss, tokens: r.tokens! };
  }

  /**
   * Runs the remaining iterations (from `iteration` to `numIterations`) on the training loop,
   * emitting events; the loop gives the event loop a turn after every iteration, so that Ctrl-C
   * (the signal) and a live renderer run while training.
   */
  async train(opts: TrainOptions = {}): Promise<TrainResult> {
    const r = await trainLoop<CocoMinibatch>({
      model: this.model,
      optimizer: this.optim,
      forward: (mb) => this.forward(mb),
      batches: { batch: () => this.nextBatch() },
      stepsPerEpoch: this.iterationsPerEpoch,
      epochs: this.numEpochs,
      epochLoss: "steps",
      start: {
        command: opts.command ?? "train captioning", model: "CaptioningTransformer", params: this.model.numParameters(),
        device: opts.device ?? "cpu", dataset: opts.dataset ?? this.data.source, batchSize: this.batchSize,
      },
      sink: opts.sink,
      signal: opts.signal,
      rank: opts.rank,
      ranks: opts.parallel,
      from: this.position,
      hooks: {
        ...(opts.parallel || opts.afterBackward
          ? { afterBackward: () => { opts.parallel?.afterBackward(); opts.afterBackward?.(); } }
          : {}),
        afterStep: (s, pos) => {
          this.lossHistory.push(s.loss);
          this.position = pos;
        },
        evaluate: (epoch) => {
          const valLoss = opts.valLoss?.();
          if (valLoss === undefined) return;
          this.valHistory.push({ epoch, loss: valLoss });
          return { valLoss };
        },
        afterEpoch: (e, pos) => {
          this.position = pos;
          opts.afterEpoch?.(e.epoch, e.trainLoss, e.valLoss);
        },
        atEnd: ({ interrupted, position }) => {
          this.position = position;
          const finalLoss = this.lossHistory[this.lossHistory.length - 1];
          return { ...(finalLoss !== undefined ? { loss: finalLoss } : {}), ...(opts.atEnd?.(interrupted) ?? {}) };
        },
      },
    });
    this.position = r.position;
    const finalLoss = this.lossHistory[this.lossHistory.length - 1];
    return { lossHistory: this.lossHistory, finalLoss, iterations: this.iteration, interrupted: r.interrupted, elapsedMs: r.elapsedMs };
  }

  /** The resumable state (everything but the weights). */
  resumeState(): CaptioningResumeState {
    return {
      iteration: this.iteration,
      position: { epoch: this.position.epoch, stepInEpoch: this.position.stepInEpoch },
      lossHistory: [...this.lossHistory],
      valHistory: this.valHistory.map((v) => ({ ...v })),
      optimizer: this.optim.stateDict(),
      rng: { torch: this.torch.getState(), numpy: this.np.getState() },
    };
  }

  /** Continue from a saved state (the model's weights are loaded separately). */
  restore(s: CaptioningResumeState): void {
    if (!Number.isInteger(s.iteration) || s.iteration < 0) throw new XtError(`checkpoint: invalid iteration ${s.iteration}`);
    if (s.lossHistory.length !== s.iteration) {
      throw new XtError(`checkpoint: loss history has ${s.lossHistory.length} entries for ${s.iteration} iterations`);
    }
    const ipe = this.iterationsPerEpoch;
    const at = s.position ?? { epoch: Math.floor(s.iteration / ipe), stepInEpoch: s.iteration % ipe };
    if (at.epoch * ipe + at.stepInEpoch !== s.iteration || at.stepInEpoch > ipe) {
      throw new XtError(`checkpoint: position epoch ${at.epoch} + ${at.stepInEpoch} iterations does not match iteration ${s.iteration}`);
    }
    this.optim.loadStateDict(s.optimizer);
    this.torch.setState(s.rng.torch);
    this.np.setState(s.rng.numpy);
    this.lossHistory = [...s.lossHistory];
    this.valHistory = (s.valHistory ?? []).map((v) => ({ ...v }));
    // The epoch in progress: its sum of iteration losses, added in order as the loop does.
    let stepLoss = 0;
    for (let i = at.epoch * ipe; i < s.iteration; i++) stepLoss += this.lossHistory[i]!;
    this.position = { step: s.iteration, epoch: at.epoch, stepInEpoch: at.stepInEpoch, sums: { ...zeroSums(), stepLoss } };
  }
}

/** Rows r, r + N, r + 2N, … of a minibatch: rank r's share of the global minibatch. */
export function shardMinibatch(mb: CocoMinibatch, rank: number, ranks: number): CocoMinibatch {
  const rows = Array.from({ length: Math.ceil((mb.batchSize - rank) / ranks) }, (_, i) => rank + i * ranks);
  const T = mb.captionLength;
  const D = mb.featureDim;
  const captions = new Int32Array(rows.length * T);
  const features = new Float32Array(rows.length * D);
  rows.forEach((k, i) => {
    captions.set(mb.captions.subarray(k * T, (k + 1) * T), i * T);
    features.set(mb.features.subarray(k * D, (k + 1) * D), i * D);
  });
  return {
    ...mb, captions, features, batchSize: rows.length,
    urls: rows.map((k) => mb.urls[k]!), imageIdxs: Int32Array.from(rows, (k) => mb.imageIdxs[k]!), mask: rows.map((k) => mb.mask[k]!),
  };
}

/**
 * The masked loss (mean over all N·T entries, as in training) on the first `maxCaptions`
 * captions of a split, in eval mode (no dropout, so no RNG draws) and without gradients. The
 * value is Σ(masked token losses) / (captions · (T−1)), computed in batches of `batchSize`.
 */
export function evaluateCaptioningLoss(
  model: CaptioningTransformer,
  split: CocoSplitData,
  captionLength: number,
  featureDim: number,
  maxCaptions = Infinity,
  batchSize = 100,
  /** Data-parallel: each rank scores its slice of the captions and the sums are combined. */
  parallel?: DataParallel,
): number {
  const n = Math.min(split.numCaptions, maxCaptions);
  if (n <= 0) throw new XtError("captioning: the validation split has no captions");
  const T = captionLength;
  const wasTraining = model.training;
  model.eval();
  let total = 0;
  try {
    const mine = parallel ? parallel.shard(n) : { lo: 0, hi: n };
    noGrad(() => {
      for (let lo = mine.lo; lo < mine.hi; lo += batchSize) {
        const b = Math.min(batchSize, mine.hi - lo);
        // only these captions and their images' features are read (in place, see core/data/rows.ts)
        const { captions: caps, features: feats } = gatherCocoBatch(split, rowRange(lo, lo + b));
        const { captionsIn, captionsOut, mask } = splitCaptions(caps, b, T, model.nullIdx);
        const logits = model.forward(fromArray(feats, [b, featureDim]), fromArray(captionsIn, [b, T - 1], "int32"));
        const [, , V] = logits.shape as [number, number, number];
        const losses = crossEntropy(reshape(logits, [b * (T - 1), V]), fromArray(captionsOut, [b * (T - 1)], "int32"), "none");
        total += sum(mul(losses, fromArray(mask, [b * (T - 1)]))).item();
      }
    });
  } finally {
    model.train(wasTraining);
  }
  if (parallel) total = parallel.sum([total])[0]!;
  return total / (n * (T - 1));
}

/** The model config a captioning checkpoint records (CaptioningTransformer's constructor). */
export interface CaptioningModelConfig {
  inputDim: number;
  wordvecDim: number;
  numHeads: number;
  numLayers: number;
  maxLength: number;
  vocabSize: number;
}

/** How the run was set up: what a resume must reproduce. */
export interface CaptioningRunConfig {
  command: string;
  seed: number;
  maxTrain: number | null;
  batchSize: number;
  epochs: number;
  lr: number;
  pcaFeatures: boolean;
  /** Where the data came from (a folder, or "coco-mini (embedded)"). */
  dataSource: string;
  /** The train captions max_train picked (null: the whole split): their count and digest (the first format kept the indices). */
  trainSubsample: SubsampleRecord;
  /** Validation: how many val captions the epoch loss uses (train command only). */
  valCaptions?: number;
  /** Ranks of a data-parallel run (batchSize is per rank; the global batch is batchSize · ranks). Absent: 1. */
  ranks?: number;
}

/** What a checkpoint records of the max_train subsample: enough to check that a re-draw is the same. */
export type SubsampleRecord = { count: number; fnv1a32: string } | number[] | null;

/** FNV-1a over the indices' 32-bit words: a fingerprint of a subsample. */
function fnv1a32(indices: ArrayLike<number>): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < indices.length; i++) {
    let v = indices[i]! >>> 0;
    for (let b = 0; b < 4; b++, v >>>= 8) h = Math.imul(h ^ (v & 0xff), 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

export function subsampleRecord(indices: ArrayLike<number> | null): SubsampleRecord {
  return indices === null ? null : { count: indices.length, fnv1a32: fnv1a32(indices) };
}

/** Whether a re-drawn subsample is the one a checkpoint recorded (either form). */
export function sameSubsample(saved: SubsampleRecord, drawn: ArrayLike<number> | null): boolean {
  if (saved === null) return true;
  if (drawn === null) return false;
  if (Array.isArray(saved)) return saved.length === drawn.length && saved.every((v, i) => v === drawn[i]);
  return saved.count === drawn.length && saved.fnv1a32 === fnv1a32(drawn);
}

export function modelConfig(model: CaptioningTransformer): CaptioningModelConfig {
  return {
    inputDim: model.inputDim,
    wordvecDim: model.wordvecDim,
    numHeads: model.numHeads,
    numLayers: model.numLayers,
    maxLength: model.maxLength,
    vocabSize: model.vocabSize,
  };
}

/** A captioning checkpoint: the small sidecar metadata and, for a resumable one, the training state. */
export function captioningCheckpoint(solver: CaptioningSolver, run: CaptioningRunConfig): { meta: CheckpointMeta; training: TrainingState } {
  const s = solver.resumeState();
  return {
    meta: {
      kind: "captioning",
      config: { ...modelConfig(solver.model) },
      step: s.iteration,
      epoch: s.position!.epoch,
      vocab: { idx_to_word: solver.data.idxToWord },
      extra: { run, valHistory: s.valHistory, iterationsPerEpoch: solver.iterationsPerEpoch, position: s.position },
    },
    training: {
      optimizer: s.optimizer,
      rng: { torch: s.rng.torch, numpy: s.rng.numpy },
      arrays: { loss_history: { dtype: "F64", shape: [s.lossHistory.length], data: Float64Array.from(s.lossHistory) } },
    },
  };
}

/** Reads the resume state back out of a checkpoint (this format's, or the first one's). */
export function resumeStateFromCheckpoint(meta: CheckpointMeta, training: TrainingState | null, file: string): CaptioningResumeState {
  const extra = meta.extra as { lossHistory?: number[]; valHistory?: { epoch: number; loss: number }[]; position?: { epoch: number; stepInEpoch: number } } | undefined;
  const rng = training?.rng;
  const history = training?.arrays.loss_history ? Array.from(training.arrays.loss_history.data) : extra?.lossHistory;
  if (!training || !rng?.torch || !rng.numpy || !Array.isArray(history)) {
    throw new DataError(file, "this checkpoint has no training state (optimizer, RNG states, loss history) to resume from");
  }
  return {
    iteration: meta.step,
    ...(extra?.position ? { position: extra.position } : {}),
    lossHistory: history,
    valHistory: extra?.valHistory ?? [],
    optimizer: training.optimizer,
    rng: { torch: rng.torch, numpy: rng.numpy },
  };
}

/** The results JSON of a captioning run (docs/results.md): per-epoch losses and the loss of every iteration. */
export interface CaptioningResults {
  /** Mean training loss of each finished epoch (the epoch events' trainLoss). */
  train_loss: number[];
  /** Validation loss at each epoch's end (train captioning; empty for overfit). */
  val_loss: number[];
  best_val_loss: number | null;
  /** The loss of every iteration (the reference's loss_history). */
  loss_history: number[];
  iterations_per_epoch: number;
}

export function captioningResults(solver: CaptioningSolver): CaptioningResults {
  const ipe = solver.iterationsPerEpoch;
  const h = solver.lossHistory;
  const train_loss: number[] = [];
  for (let e = 0; e < solver.position.epoch; e++) {
    let s = 0; // summed in order from 0, as the loop sums the epoch event's trainLoss
    for (let i = e * ipe; i < (e + 1) * ipe; i++) s += h[i]!;
    train_loss.push(s / ipe);
  }
  const val_loss = solver.valHistory.map((v) => v.loss);
  return {
    train_loss, val_loss, best_val_loss: val_loss.length ? Math.min(...val_loss) : null, loss_history: [...h], iterations_per_epoch: ipe,
  };
}
