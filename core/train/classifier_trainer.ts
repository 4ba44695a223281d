/**
 * Training an image classifier on the one loop (core/train/loop.ts), as the notebook's
 * ClassificationSolverViT does: each epoch a shuffled pass over the training set (loss and top-1
 * of each batch's forward pass, averaged weighted by batch size), then a pass over the test set in
 * order with model.eval() and no grad; results under the notebook's keys. Any ClassifierModel
 * trains here (`train vit`, `train cnn`): the model's kind and config only go into the
 * checkpoints. The small-data techniques are the run's: augmentation transforms the training
 * images as they are fetched (core/data/augment.ts), label smoothing changes the training loss;
 * the test pass always sees the plain images and reports the plain cross-entropy.
 *
 * Checkpoints: the resumable state (`last`: weights, Adam moments, the torch generator, the
 * epoch's shuffle order, the loop position and the results so far) after every epoch and when
 * the run stops; the best model (`best`: weights and metadata) whenever the test accuracy improves.
 * A run resumed from `last` continues bit for bit as the uninterrupted run would have.
 *
 * Data-parallel (`mpirun -np N xt train …`, core/train/data_parallel.ts): the passes come from
 * PyTorch's DistributedSampler (seed + epoch), each rank trains on its shard with the per-rank
 * batch size, the test set is scored in N contiguous shards whose sums are combined, and rank 0
 * alone writes. The run config records the ranks and the sampler, so that a resume — with any
 * number of ranks and the same global batch — continues on the same batches.
 */
import { augmentTransform, type AugmentConfig, type ImageTransform } from "../data/augment.ts";
import type { ImageBatch, TensorImageSet } from "../data/dataloader.ts";
import { DataLoader, samplerBatchIndices } from "../data/dataloader.ts";
import { DistributedSampler } from "../data/distributed_sampler.ts";
import { DataError, XtError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { saveCheckpoint, type LoadedCheckpoint } from "../io/checkpoint.ts";
import { jsonText } from "../io/json_text.ts";
import { crossEntropy } from "../ops/loss.ts";
import type { Adam } from "../optim/adam.ts";
import { dataLoaderEpochOrder, defaultGenerator, type TorchGenerator } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";
import type { EndEvent, EventSink } from "./events.ts";
import type { DataParallel } from "./data_parallel.ts";
import { trainLoop, type BatchSource, type ForwardResult, type LoopPosition } from "./loop.ts";
import type { RunFiles } from "./run_files.ts";
import { yieldToEvents } from "./stop.ts";
import { argmaxRows, evaluateClassifier, type ClassifierModel } from "./vit_eval.ts";

/** The solver's results dict (the notebook's keys) plus timing; the results JSON of docs/results.md. */
export interface ClassifierResults {
  train_loss: number[];
  "train_acc@1": number[];
  test_loss: number[];
  "test_acc@1": number[];
  best_test_acc: number;
  /** Seconds per epoch (training pass + test pass) in the process that ran it. */
  epoch_seconds: number[];
}

export const emptyResults = (): ClassifierResults => ({
  train_loss: [], "train_acc@1": [], test_loss: [], "test_acc@1": [], best_test_acc: 0, epoch_seconds: [],
});

/** How a classifier run was set up: what its checkpoints record, and what a resume rebuilds. */
export interface ClassifierRunConfig {
  /** The model's constructor arguments (kind-specific). */
  model: Record<string, unknown>;
  /** Data set name (`eval` finds the test set by it). */
  dataset: string;
  classes: string[];
  lr: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
  seed: number;
  /** --max-train / --max-test (null: the whole split). */
  maxTrain: number | null;
  maxTest: number | null;
  /** --data-dir as an absolute path (null: the default places); a resume reads the same folder. */
  dataDir: string | null;
  /** --augment / --crop-padding (runs saved before they existed: none). */
  augment: AugmentConfig;
  /** --label-smoothing of the training loss (0: none). */
  labelSmoothing: number;
  /** Ranks the run trains on (batchSize is per rank; the global batch is batchSize · ranks). Absent: 1. */
  ranks?: number;
  /**
   * How passes are shuffled: "loader" (DataLoader(shuffle=True), the notebook's; one process) or
   * "distributed" (DistributedSampler seeded with seed + epoch, any number of ranks). Absent: "loader".
   */
  sampler?: "loader" | "distributed";
}

/** Everything besides the weights and the optimizer that a resumed run restores. */
export interface ClassifierProgress {
  position: LoopPosition;
  results: ClassifierResults;
  /** Test accuracy of the best model saved so far (-1: none yet). */
  best: number;
  /** The shuffle order of the epoch in progress (null at an epoch boundary). */
  order: Int32Array | null;
}

/**
 * The training set in DataLoader(shuffle=True) passes: each epoch draws the base seed and the
 * sampler's order from the generator exactly as `for batch in loader` does, and the order is kept
 * so that a run stopped inside an epoch resumes on the same batches.
 */
export class ShuffledPasses implements BatchSource<ImageBatch> {
  readonly loader: DataLoader;
  order: Int32Array | null = null;

  constructor(
    readonly data: TensorImageSet,
    readonly batchSize: number,
    readonly gen: TorchGenerator = defaultGenerator,
    transform?: ImageTransform,
  ) {
    this.loader = new DataLoader(data, { batchSize, shuffle: true, generator: gen, transform });
  }

  get length(): number {
    return this.loader.length;
  }

  startEpoch(): void {
    this.order = dataLoaderEpochOrder(this.gen, this.data.n);
  }

  batch(i: number): ImageBatch {
    if (!this.order) throw new Error("ShuffledPasses: batch() before startEpoch()");
    return this.loader.gather(this.order.subarray(i * this.batchSize, Math.min(this.data.n, (i + 1) * this.batchSize)));
  }
}

/**
 * The training set in `DataLoader(ds, batch_size, sampler=DistributedSampler(ds, N, rank, seed=seed))`
 * passes with `sampler.set_epoch(epoch - 1)` before each: iter(loader) still draws the base seed
 * from the generator; the order comes from the sampler's own generator (seed + epoch), so a pass
 * inside an epoch can be rebuilt from the epoch alone (resumeInEpoch).
 */
export class DistributedPasses implements BatchSource<ImageBatch> {
  readonly sampler: DistributedSampler;
  private readonly loader: DataLoader;
  private order: Int32Array | null = null;

  constructor(
    readonly data: TensorImageSet,
    readonly batchSize: number,
    rank: number,
    ranks: number,
    seed: number,
    readonly gen: TorchGenerator = defaultGenerator,
    transform?: ImageTransform,
  ) {
    this.sampler = new DistributedSampler(data.n, { numReplicas: ranks, rank, seed });
    this.loader = new DataLoader(data, { batchSize, sampler: this.sampler, generator: gen, transform });
  }

  get length(): number {
    return this.loader.length;
  }

  startEpoch(epoch: number): void {
    this.sampler.setEpoch(epoch - 1);
    samplerBatchIndices(this.sampler, this.batchSize, this.gen); // the base-seed draw; the order below is the same
    this.order = this.sampler.indices();
  }

  /** The pass of `epoch` without its draws: a run resumed inside that epoch (they were drawn before). */
  resumeInEpoch(epoch: number): void {
    this.sampler.setEpoch(epoch - 1);
    this.order = this.sampler.indices();
  }

  batch(i: number): ImageBatch {
    if (!this.order) throw new Error("DistributedPasses: batch() before startEpoch()");
    return this.loader.gather(this.order.subarray(i * this.batchSize, Math.min(this.order.length, (i + 1) * this.batchSize)));
  }
}

/** Cross-entropy (label-smoothed by ε) on a batch of images, and how many of them the forward pass got right. */
export function classifierForward(model: ClassifierModel, b: ImageBatch, labelSmoothing = 0): ForwardResult {
  const out = model.forward(b.images);
  const loss = crossEntropy(out, b.labels, "mean", labelSmoothing);
  const pred = argmaxRows(out.data(), b.size, out.shape[1]!);
  const y = b.labels.data();
  let correct = 0;
  for (let i = 0; i < b.size; i++) if (pred[i] === y[i]) correct++;
  return { loss, examples: b.size, correct };
}

export interface TrainClassifierOptions {
  command: string;
  model: ClassifierModel;
  /** The start event's model description. */
  describe: string;
  /** The checkpoint kind ("vit"); its config is `run.model`. */
  kind: string;
  run: ClassifierRunConfig;
  optimizer: Adam;
  train: TensorImageSet;
  test: TensorImageSet;
  /** The start event's data description. */
  datasetLabel: string;
  device: string;
  /** Where checkpoints, results and events go (none: nothing is written). */
  files?: RunFiles;
  /** Results JSON path (default files.results). */
  results?: string;
  sink: EventSink;
  signal?: AbortSignal;
  /** A data-parallel run (the model already wrapped): rank 0 reports and writes. */
  parallel?: DataParallel;
  /** Continue a saved run (the model and optimizer already hold its state; the generator too). */
  resume?: ClassifierProgress;
  generator?: TorchGenerator;
  /** After each backward pass, before the optimizer step (a study reads the gradients here). */
  afterBackward?: (params: Tensor[]) => void;
}

export interface TrainClassifierResult {
  results: ClassifierResults;
  /** The resumable checkpoint (weights path) written last. */
  checkpoint?: string;
  /** The best model's checkpoint. */
  best?: string;
  steps: number;
  interrupted: boolean;
  position: LoopPosition;
}

export async function trainClassifier(o: TrainClassifierOptions): Promise<TrainClassifierResult> {
  const gen = o.generator ?? defaultGenerator;
  const dp = o.parallel;
  const distributed = (o.run.sampler ?? "loader") === "distributed";
  if (!distributed && dp && dp.size > 1) throw new XtError(`${o.command}: a run on ${dp.size} ranks needs the distributed sampler`);
  const transform = augmentTransform(o.run.augment, o.train);
  let source: ShuffledPasses | DistributedPasses;
  if (distributed) {
    const passes = new DistributedPasses(o.train, o.run.batchSize, dp?.rank ?? 0, dp?.size ?? 1, o.run.seed, gen, transform);
    const at = o.resume?.position;
    if (at && at.stepInEpoch > 0) passes.resumeInEpoch(at.epoch + 1);
    source = passes;
  } else {
    source = new ShuffledPasses(o.train, o.run.batchSize, gen, transform);
    source.order = o.resume?.order ?? null;
  }
  const results = o.resume ? structuredClone(o.resume.results) : emptyResults();
  let best = o.resume?.best ?? -1;
  let checkpoint: string | undefined;
  let bestFile: string | undefined;
  let savedAt: LoopPosition | undefined; // the position of the last state this process wrote
  const resultsPath = o.results ?? o.files?.results;
  const numClasses = o.run.classes.length;

  const meta = (pos: LoopPosition, extra: Record<string, unknown>) => ({
    kind: o.kind,
    config: { ...o.run },
    step: pos.step,
    epoch: pos.epoch,
    extra: { train_images: o.train.n, test_images: o.test.n, ...extra },
  });
  const saveLast = (pos: LoopPosition, interrupted: boolean): void => {
    if (!o.files) return;
    // A distributed pass is rebuilt from its epoch; the loader's order is kept.
    const inEpoch = pos.stepInEpoch > 0 && pos.stepInEpoch < source.length && source instanceof ShuffledPasses && source.order;
    const progress = { stepInEpoch: pos.stepInEpoch, sums: pos.sums, best, results };
    const p = saveCheckpoint(o.files.last, o.model, meta(pos, { progress, ...(interrupted ? { interrupted } : {}) }), {
      optimizer: o.optimizer.stateDict(),
      rng: { torch: gen.getState() },
      arrays: inEpoch ? { epoch_order: { dtype: "I32", shape: [(source as ShuffledPasses).order!.length], data: (source as ShuffledPasses).order! } } : {},
    });
    checkpoint = p.weights;
    savedAt = { ...pos, sums: { ...pos.sums } };
  };

  let te = performance.now();
  const r = await trainLoop({
    model: o.model,
    optimizer: o.optimizer,
    forward: (b: ImageBatch) => classifierForward(o.model, b, o.run.labelSmoothing),
    batches: source,
    stepsPerEpoch: source.length,
    epochs: o.run.epochs,
    accuracy: true,
    start: {
      command: o.command, model: o.describe, params: o.model.numParameters(), device: dp ? `${o.device}, ${dp.describe()}` : o.device,
      dataset: o.datasetLabel, batchSize: o.run.batchSize,
    },
    sink: o.sink,
    signal: o.signal,
    ranks: dp,
    from: o.resume?.position,
    hooks: {
      ...(dp || o.afterBackward
        ? { afterBackward: (params: Tensor[]) => { dp?.afterBackward(); o.afterBackward?.(params); } }
        : {}),
      evaluate: async (_epoch, progress) => {
        const onBatch = async (done: number, total: number): Promise<void> => {
          progress(done, total);
          await yieldToEvents();
        };
        if (!dp || dp.size === 1) {
          const ev = await evaluateClassifier(o.model, o.test, { batchSize: o.run.batchSize, numClasses, generator: gen, onBatch });
          return { testLoss: ev.loss, testAcc: ev.accuracy };
        }
        // Each rank scores its slice of the test set; the sums make the whole set's loss and accuracy.
        const { lo, hi } = dp.shard(o.test.n);
        const slice = sliceImages(o.test, lo, hi);
        let ev = { loss: 0, correct: 0, n: 0 };
        if (slice.n > 0) ev = await evaluateClassifier(o.model, slice, { batchSize: o.run.batchSize, numClasses, generator: gen, onBatch });
        else gen.randomInt64(); // the test loader's base seed, drawn on every rank alike
        const [lossSum, correct, n] = dp.sum([ev.loss * ev.n, ev.correct, ev.n]);
        return { testLoss: lossSum! / n!, testAcc: correct! / n! };
      },
      afterEpoch: (e, pos) => {
        results.train_loss.push(e.trainLoss);
        results["train_acc@1"].push(e.trainAcc!);
        results.test_loss.push(e.testLoss!);
        results["test_acc@1"].push(e.testAcc!);
        results.epoch_seconds.push((performance.now() - te) / 1000);
        if (e.testAcc! > results.best_test_acc) results.best_test_acc = e.testAcc!;
        if (e.testAcc! > best) {
          best = e.testAcc!;
          if (o.files) bestFile = saveCheckpoint(o.files.best, o.model, meta(pos, { test_acc: e.testAcc, test_loss: e.testLoss })).weights;
        }
        saveLast(pos, false);
        if (resultsPath) writeFileAtomic(resultsPath, jsonText(results));
        te = performance.now();
      },
      atEnd: ({ interrupted, position }) => {
        if (!savedAt || savedAt.step !== position.step || savedAt.epoch !== position.epoch) saveLast(position, interrupted);
        const n = results["test_acc@1"].length;
        const end: Partial<EndEvent> = n
          ? { loss: results.test_loss[n - 1], accuracy: results["test_acc@1"][n - 1], best_test_acc: results.best_test_acc }
          : {};
        return { ...end, ...(checkpoint ? { checkpoint } : {}), ...(bestFile ? { best: bestFile } : {}) };
      },
    },
  });
  return { results, checkpoint, best: bestFile, steps: r.position.step, interrupted: r.interrupted, position: r.position };
}

/** Images lo … hi−1 of a set (views, no copy). */
function sliceImages(ds: TensorImageSet, lo: number, hi: number): TensorImageSet {
  const S = ds.channels * ds.height * ds.width;
  return { ...ds, n: hi - lo, images: ds.images.subarray(lo * S, hi * S), labels: ds.labels.subarray(lo, hi) };
}

/** The progress a resumable classifier checkpoint saved (its training state must be loaded). */
export function progressFromCheckpoint(ck: LoadedCheckpoint): ClassifierProgress {
  const file = ck.paths.sidecar;
  const saved = (ck.meta.extra as { progress?: { stepInEpoch: number; sums: LoopPosition["sums"]; best: number; results: ClassifierResults } } | undefined)?.progress;
  if (!saved || !ck.training) throw new DataError(file, "this checkpoint has no training progress to resume from (written before resume existed, or a best-model checkpoint); resume from the run's last checkpoint");
  const epoch = ck.meta.epoch ?? 0;
  const order = ck.training.arrays.epoch_order;
  return {
    position: { step: ck.meta.step, epoch, stepInEpoch: saved.stepInEpoch, sums: { ...saved.sums } },
    results: structuredClone(saved.results),
    best: saved.best,
    order: order ? Int32Array.from(order.data) : null,
  };
}
