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
 * states, the iteration, the loss history) is captured by `checkpointMeta` and restored by
 * `restore`, so a resumed run gives exactly the losses of an uninterrupted one.
 */
import { noGrad } from "../autograd.ts";
import { DataError, XtError } from "../errors.ts";
import type { CocoData, CocoSplitData } from "../data/coco.ts";
import { sampleCocoMinibatch } from "../data/coco.ts";
import type { CheckpointMeta } from "../io/checkpoint.ts";
import type { CaptioningTransformer } from "../models/captioning_transformer.ts";
import { fromArray } from "../ops/creation.ts";
import { mul } from "../ops/elementwise.ts";
import { crossEntropy } from "../ops/loss.ts";
import { mean, sum } from "../ops/reduce.ts";
import { reshape } from "../ops/views.ts";
import { Adam, type AdamStateDict } from "../optim/adam.ts";
import { defaultGenerator, type NumpyRandomState, type NumpyRandomStateState, type TorchGenerator, type TorchGeneratorState } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";
import type { EventSink } from "./events.ts";

export interface CaptioningSolverOptions {
  batchSize: number;
  numEpochs: number;
  learningRate: number;
  /** np.random's state: minibatch draws. */
  np: NumpyRandomState;
  /** torch's generator: dropout draws (the global default generator unless given). */
  torch?: TorchGenerator;
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
  /** Stop (cleanly, after the current iteration) when this returns true: Ctrl-C. */
  shouldStop?: () => boolean;
  /** Stop after this many iterations in total (tests: simulate an interruption). */
  stopAtIteration?: number;
  /** Validation loss at each epoch end (in the epoch event). */
  valLoss?: () => number;
  /** Called after each epoch's event data is known, before the event is emitted. */
  onEpochEnd?: (epoch: number, trainLoss: number, valLoss: number | undefined) => void;
  /** Called once at the end (also when stopped); returns the checkpoint path it wrote, if any. */
  onFinish?: (interrupted: boolean) => string | undefined;
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
  /** Iterations done so far (across resumes). */
  iteration = 0;
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
    this.iterationsPerEpoch = Math.max(Math.floor(data.train.numCaptions / this.batchSize), 1);
    this.numIterations = this.numEpochs * this.iterationsPerEpoch;
  }

  /** One reference _step: minibatch, forward, masked loss, backward, Adam. Returns the loss. */
  step(): { loss: number; tokens: number } {
    const mb = sampleCocoMinibatch(this.data, this.batchSize, "train", this.np);
    const N = mb.batchSize;
    const { captionsIn, captionsOut, mask, tokens } = splitCaptions(mb.captions, N, mb.captionLength, this.model.nullIdx);
    const T = mb.captionLength - 1;
    const logits = this.model.forward(fromArray(mb.features, [N, mb.featureDim]), fromArray(captionsIn, [N, T], "int32"));
    const loss = temporalSoftmaxLoss(logits, captionsOut, mask);
    const value = loss.item();
    this.lossHistory.push(value);
    this.optim.zeroGrad();
    loss.backward();
    this.optim.step();
    this.iteration++;
    return { loss: value, tokens };
  }

  /** Runs the remaining iterations (from `iteration` to `numIterations`), emitting events. */
  train(opts: TrainOptions = {}): TrainResult {
    const run = this.run(opts);
    for (;;) {
      const r = run.next();
      if (r.done) return r.value;
    }
  }

  /**
   * The same as train(), but gives the event loop a turn after every iteration, so that a
   * Ctrl-C handler (shouldStop) and a live renderer can run while training.
   */
  async trainAsync(opts: TrainOptions = {}): Promise<TrainResult> {
    const run = this.run(opts);
    for (;;) {
      const r = run.next();
      if (r.done) return r.value;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private *run(opts: TrainOptions): Generator<void, TrainResult, void> {
    const sink = opts.sink ?? (() => {});
    const t0 = performance.now();
    const elapsed = (): number => performance.now() - t0;
    sink({
      type: "start",
      command: opts.command ?? "train captioning",
      model: "CaptioningTransformer",
      params: this.model.numParameters(),
      device: opts.device ?? "cpu",
      dataset: opts.dataset ?? this.data.source,
      totalSteps: this.numIterations,
      epochs: this.numEpochs,
      batchSize: this.batchSize,
      lr: this.optim.lr,
    });
    const stopAt = Math.min(opts.stopAtIteration ?? Infinity, this.numIterations);
    let interrupted = false;
    while (this.iteration < this.numIterations) {
      if (this.iteration >= stopAt || opts.shouldStop?.()) {
        interrupted = true;
        break;
      }
      const { loss, tokens } = this.step();
      const t = this.iteration; // 1-based count of iterations done
      const epoch = Math.floor((t - 1) / this.iterationsPerEpoch) + 1;
      sink({
        type: "step",
        step: t,
        totalSteps: this.numIterations,
        epoch,
        loss,
        lr: this.optim.lr,
        examples: this.batchSize,
        tokens,
        elapsedMs: elapsed(),
      });
      if (t % this.iterationsPerEpoch === 0) {
        const ep = t / this.iterationsPerEpoch;
        const epochLosses = this.lossHistory.slice(t - this.iterationsPerEpoch, t);
        const trainLoss = epochLosses.reduce((a, b) => a + b, 0) / epochLosses.length;
        const valLoss = opts.valLoss?.();
        if (valLoss !== undefined) this.valHistory.push({ epoch: ep, loss: valLoss });
        opts.onEpochEnd?.(ep, trainLoss, valLoss);
        sink({ type: "epoch", epoch: ep, epochs: this.numEpochs, trainLoss, valLoss, elapsedMs: elapsed() });
      }
      yield;
    }
    const checkpoint = opts.onFinish?.(interrupted);
    const finalLoss = this.lossHistory[this.lossHistory.length - 1];
    sink({
      type: "end",
      steps: this.iteration,
      elapsedMs: elapsed(),
      loss: finalLoss,
      ...(checkpoint ? { checkpoint } : {}),
      ...(interrupted ? { interrupted } : {}),
    });
    return { lossHistory: this.lossHistory, finalLoss, iterations: this.iteration, interrupted, elapsedMs: elapsed() };
  }

  /** The resumable state (everything but the weights). */
  resumeState(): CaptioningResumeState {
    return {
      iteration: this.iteration,
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
    this.optim.loadStateDict(s.optimizer);
    this.torch.setState(s.rng.torch);
    this.np.setState(s.rng.numpy);
    this.iteration = s.iteration;
    this.lossHistory = [...s.lossHistory];
    this.valHistory = (s.valHistory ?? []).map((v) => ({ ...v }));
  }
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
): number {
  const n = Math.min(split.numCaptions, maxCaptions);
  if (n <= 0) throw new XtError("captioning: the validation split has no captions");
  const T = captionLength;
  const wasTraining = model.training;
  model.eval();
  let total = 0;
  try {
    noGrad(() => {
      for (let lo = 0; lo < n; lo += batchSize) {
        const b = Math.min(batchSize, n - lo);
        const caps = split.captions.subarray(lo * T, (lo + b) * T);
        const feats = new Float32Array(b * featureDim);
        for (let i = 0; i < b; i++) {
          const img = split.imageIdxs[lo + i]!;
          feats.set(split.features.subarray(img * featureDim, (img + 1) * featureDim), i * featureDim);
        }
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
  /** The train caption indices max_train picked (null: the whole split). */
  trainSubsample: number[] | null;
  /** Validation: how many val captions the epoch loss uses (train command only). */
  valCaptions?: number;
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

/** The sidecar content for a captioning checkpoint. */
export function captioningCheckpointMeta(solver: CaptioningSolver, run: CaptioningRunConfig): CheckpointMeta {
  const s = solver.resumeState();
  return {
    kind: "captioning",
    config: { ...modelConfig(solver.model) },
    step: s.iteration,
    epoch: Math.floor(s.iteration / solver.iterationsPerEpoch),
    vocab: { idx_to_word: solver.data.idxToWord, word_to_idx: solver.data.wordToIdx },
    optimizer: s.optimizer,
    rng: { torch: s.rng.torch, numpy: s.rng.numpy },
    extra: { run, lossHistory: s.lossHistory, valHistory: s.valHistory, iterationsPerEpoch: solver.iterationsPerEpoch },
  };
}

/** Reads the resume state back out of a checkpoint's sidecar. */
export function resumeStateFromMeta(meta: CheckpointMeta, file: string): CaptioningResumeState {
  const extra = meta.extra as { lossHistory?: number[]; valHistory?: { epoch: number; loss: number }[] } | undefined;
  const rng = meta.rng as { torch?: TorchGeneratorState; numpy?: NumpyRandomStateState } | undefined;
  if (!meta.optimizer || !rng?.torch || !rng.numpy || !Array.isArray(extra?.lossHistory)) {
    throw new DataError(file, "this checkpoint has no training state (optimizer, RNG states, loss history) to resume from");
  }
  return {
    iteration: meta.step,
    lossHistory: extra!.lossHistory!,
    valHistory: extra!.valHistory ?? [],
    optimizer: meta.optimizer,
    rng: { torch: rng.torch, numpy: rng.numpy },
  };
}
