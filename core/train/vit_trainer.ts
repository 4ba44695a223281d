/**
 * The notebook's two ViT training cells, on the one loop (core/train/loop.ts):
 *
 *  overfitVit: `batch = next(iter(DataLoader(train, 64, shuffle=False)))`, VisionTransformer with
 *    dropout 0, Adam(lr, weight_decay), `steps` steps on that one batch; top-1 is measured on the
 *    step's own forward pass (before the update), as the cell does. `untilPerfect` ends the run at
 *    the first step whose top-1 is 1.00.
 *  trainVit / resumeVit: ClassificationSolverViT.train (core/train/classifier_trainer.ts) on a
 *    VisionTransformer, fresh or continued from a resumable checkpoint.
 *
 * After manualSeed(seed) every random draw (initial weights, dropout masks, loader shuffles and
 * base seeds) happens in the order PyTorch makes it, so a run reproduces
 * fixtures/gen/vit_torch_train.py with the same arguments.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { XtError, DataError } from "../errors.ts";
import { DataLoader, takeFirst, type ImageBatch, type TensorImageSet } from "../data/dataloader.ts";
import type { ImageDataset } from "../data/image_dataset.ts";
import { currentBackend } from "../device.ts";
import type { LoadedCheckpoint } from "../io/checkpoint.ts";
import { Adam } from "../optim/adam.ts";
import { defaultGenerator, manualSeed, type TorchGeneratorState } from "../random/index.ts";
import {
  classifierForward, progressFromCheckpoint, trainClassifier,
  type ClassifierRunConfig, type TrainClassifierResult,
} from "./classifier_trainer.ts";
import type { EventSink } from "./events.ts";
import { trainLoop } from "./loop.ts";
import type { RunFiles } from "./run_files.ts";
import { buildVit, describeVit, modelConfigFrom, type VitModelConfig } from "./vit_config.ts";
import { loadVitSplit, parseDatasetName } from "./vit_data.ts";

// ---------------------------------------------------------------------------------------------
// overfit

export interface OverfitVitOptions {
  data: TensorImageSet;
  /** Shown in the start event, e.g. "fashion-mnist (…/train-images-idx3-ubyte.gz)". */
  dataset: string;
  /** The model; its dropout should be 0 (the cell's VisionTransformer(dropout=0.0)). */
  model: VitModelConfig;
  lr: number;
  weightDecay: number;
  steps: number;
  seed: number;
  /** Stop at the first step whose top-1 on the batch is 1.00. */
  untilPerfect?: boolean;
  /** Images in the batch (64 in the notebook). */
  batchSize?: number;
  sink: EventSink;
  signal?: AbortSignal;
}

export interface OverfitVitResult {
  loss: number;
  accuracy: number;
  steps: number;
  history: { loss: number; accuracy: number }[];
  interrupted: boolean;
}

export async function overfitVit(o: OverfitVitOptions): Promise<OverfitVitResult> {
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new XtError(`--steps: expected a positive whole number, got ${o.steps}`, 2);
  manualSeed(o.seed);
  const loader = new DataLoader(takeFirst(o.data, o.batchSize ?? 64), { batchSize: o.batchSize ?? 64, shuffle: false });
  const batch = loader[Symbol.iterator]().next().value!; // draws the loader's base seed, as next(iter(...)) does
  const model = buildVit(o.model);
  const opt = new Adam(model.parameters(), { lr: o.lr, weightDecay: o.weightDecay });
  const history: { loss: number; accuracy: number }[] = [];
  const r = await trainLoop<ImageBatch>({
    model, optimizer: opt, forward: (b) => classifierForward(model, b), batches: { batch: () => batch }, stepsPerEpoch: o.steps,
    start: {
      command: "overfit vit", model: describeVit(o.model), params: model.numParameters(), device: currentBackend().name,
      dataset: `${o.dataset}, ${batch.size} images`, batchSize: batch.size,
    },
    sink: o.sink, signal: o.signal,
    hooks: {
      afterStep: (s) => {
        history.push({ loss: s.loss, accuracy: s.correct! / s.examples });
        return o.untilPerfect === true && s.correct === s.examples;
      },
      atEnd: () => ({ loss: history[history.length - 1]!.loss, accuracy: history[history.length - 1]!.accuracy }),
    },
  });
  const last = history[history.length - 1]!;
  return { loss: last.loss, accuracy: last.accuracy, steps: history.length, history, interrupted: r.interrupted };
}

// ---------------------------------------------------------------------------------------------
// train

export interface TrainVitOptions {
  train: TensorImageSet;
  test: TensorImageSet;
  /** Data set name, saved in the checkpoint so `eval vit` finds the test set. */
  datasetName: string;
  /** For the start event. */
  datasetLabel?: string;
  classes: string[];
  model: VitModelConfig;
  lr: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
  seed: number;
  /** --max-train / --max-test and --data-dir as given (recorded so that a resume takes the same images). */
  maxTrain?: number | null;
  maxTest?: number | null;
  dataDir?: string;
  /** Where the last/best checkpoints, results and events go (none: nothing is written). */
  files?: RunFiles;
  /** Results JSON (default files.results), rewritten after every epoch. */
  results?: string;
  sink: EventSink;
  signal?: AbortSignal;
}

export async function trainVit(o: TrainVitOptions): Promise<TrainClassifierResult> {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new XtError(`--epochs: expected a positive whole number, got ${o.epochs}`, 2);
  manualSeed(o.seed);
  const model = buildVit(o.model);
  const optimizer = new Adam(model.parameters(), { lr: o.lr, weightDecay: o.weightDecay });
  const run: ClassifierRunConfig = {
    model: { ...o.model }, dataset: o.datasetName, classes: o.classes, lr: o.lr, weightDecay: o.weightDecay,
    batchSize: o.batchSize, epochs: o.epochs, seed: o.seed, maxTrain: o.maxTrain ?? null, maxTest: o.maxTest ?? null,
    dataDir: o.dataDir === undefined ? null : resolve(o.dataDir),
  };
  return trainClassifier({
    command: "train vit", model, describe: describeVit(o.model), kind: "vit", run, optimizer, train: o.train, test: o.test,
    datasetLabel: o.datasetLabel ?? o.datasetName, device: currentBackend().name, files: o.files, results: o.results,
    sink: o.sink, signal: o.signal, resume: undefined,
  });
}

// ---------------------------------------------------------------------------------------------
// resume

/** A ViT run read back from its resumable checkpoint, with its data loaded. */
export interface VitResume {
  checkpoint: LoadedCheckpoint;
  run: ClassifierRunConfig;
  model: VitModelConfig;
  train: ImageDataset;
  test: ImageDataset;
}

/** The run settings a resume may not change (the flag names the user would give). */
export interface VitResumeGiven {
  dataset?: string;
  model?: Partial<VitModelConfig>;
  lr?: number;
  weightDecay?: number;
  batchSize?: number;
  seed?: number;
  maxTrain?: number;
  maxTest?: number;
}

const MODEL_FLAG: Record<keyof VitModelConfig, string> = {
  imgSize: "--img-size", patchSize: "--patch-size", inChannels: "--in-channels", embedDim: "--embed-dim",
  numLayers: "--layers", numHeads: "--heads", dimFeedforward: "--ffn-dim", numClasses: "classes", dropout: "--dropout",
};

/**
 * Reads the run a ViT checkpoint continues, checks the flags given against it, loads its data
 * (from `dataDir`, else the folder the run read, else the usual places).
 */
export function prepareVitResume(ck: LoadedCheckpoint, given: VitResumeGiven, dataDir?: string): VitResume {
  const file = ck.paths.sidecar;
  if (ck.meta.kind !== "vit") throw new DataError(file, `is a ${JSON.stringify(ck.meta.kind)} checkpoint, not a ViT one`);
  if (!ck.resumable || !ck.training) {
    throw new DataError(file, "has no training state to resume from (a best-model checkpoint); resume from the run's last checkpoint");
  }
  if (!ck.training.rng.torch) throw new DataError(file, "has no torch generator state; it cannot be resumed bit for bit");
  const c = ck.meta.config as Partial<ClassifierRunConfig>;
  const model = modelConfigFrom(c.model, file);
  for (const k of ["lr", "weightDecay", "batchSize", "epochs", "seed"] as const) {
    if (typeof c[k] !== "number") throw new DataError(file, `the run config has no valid '${k}' (a checkpoint written before resume existed?)`);
  }
  if (typeof c.dataset !== "string" || !Array.isArray(c.classes)) throw new DataError(file, "the run config has no data set or classes");
  const run: ClassifierRunConfig = {
    model: { ...model }, dataset: c.dataset, classes: c.classes, lr: c.lr!, weightDecay: c.weightDecay!, batchSize: c.batchSize!,
    epochs: c.epochs!, seed: c.seed!, maxTrain: c.maxTrain ?? null, maxTest: c.maxTest ?? null, dataDir: c.dataDir ?? null,
  };
  const clash = (flag: string, have: unknown, want: unknown): void => {
    if (want !== undefined && have !== want) {
      throw new XtError(`--resume: ${flag} is ${JSON.stringify(have)} in ${file}; it cannot change (to ${JSON.stringify(want)}) when resuming`, 2);
    }
  };
  clash("--dataset", run.dataset, given.dataset === undefined ? undefined : parseDatasetName(given.dataset));
  for (const [k, v] of Object.entries(given.model ?? {}) as [keyof VitModelConfig, number | undefined][]) clash(MODEL_FLAG[k], model[k], v);
  clash("--lr", run.lr, given.lr);
  clash("--weight-decay", run.weightDecay, given.weightDecay);
  clash("--batch-size", run.batchSize, given.batchSize);
  clash("--seed", run.seed, given.seed);
  clash("--max-train", run.maxTrain, given.maxTrain);
  clash("--max-test", run.maxTest, given.maxTest);
  const name = parseDatasetName(run.dataset);
  const dir = dataDir ?? (run.dataDir !== null && existsSync(run.dataDir) ? run.dataDir : undefined);
  const train = takeFirst(loadVitSplit(name, "train", dir), run.maxTrain ?? undefined);
  const test = takeFirst(loadVitSplit(name, "test", dir), run.maxTest ?? undefined);
  const extra = (ck.meta.extra ?? {}) as { train_images?: number; test_images?: number };
  if (extra.train_images !== undefined && (train.n !== extra.train_images || test.n !== extra.test_images)) {
    throw new DataError(file, `the run trained on ${extra.train_images} / tested on ${extra.test_images} images; ${train.source} gives ${train.n} / ${test.n}`);
  }
  if (train.classes.length !== model.numClasses) throw new DataError(file, `the model has ${model.numClasses} classes, ${name} has ${train.classes.length}`);
  return { checkpoint: ck, run, model, train, test };
}

export interface ResumeVitOptions {
  resume: VitResume;
  /** Total epochs to reach (default: the run's). */
  epochs?: number;
  files?: RunFiles;
  results?: string;
  datasetLabel?: string;
  sink: EventSink;
  signal?: AbortSignal;
}

/** Continues a run from its resumable checkpoint: the same steps, losses and weights as if it had never stopped. */
export async function resumeVit(o: ResumeVitOptions): Promise<TrainClassifierResult> {
  const { checkpoint: ck, model: cfg } = o.resume;
  const epochs = o.epochs ?? o.resume.run.epochs;
  const progress = progressFromCheckpoint(ck);
  if (progress.position.epoch > epochs || (progress.position.epoch === epochs && progress.position.stepInEpoch > 0)) {
    throw new XtError(`--epochs ${epochs}: ${ck.paths.stem} has already done ${progress.position.epoch} epoch${progress.position.epoch === 1 ? "" : "s"}`, 2);
  }
  const stepsPerEpoch = Math.ceil(o.resume.train.n / o.resume.run.batchSize);
  if (progress.position.stepInEpoch > 0 && progress.position.stepInEpoch < stepsPerEpoch && !progress.order) {
    throw new DataError(ck.paths.state, "stopped inside an epoch but has no shuffle order for it (epoch_order); it cannot be resumed");
  }
  const run = { ...o.resume.run, epochs };
  const model = buildVit(cfg);
  try {
    model.loadStateDict(ck.weights);
  } catch (e) {
    if (e instanceof XtError) throw new DataError(ck.paths.weights, `weights do not fit the model in its sidecar (${e.message})`);
    throw e;
  }
  const optimizer = new Adam(model.parameters(), { lr: run.lr, weightDecay: run.weightDecay });
  optimizer.loadStateDict(ck.training!.optimizer);
  defaultGenerator.setState(ck.training!.rng.torch as TorchGeneratorState);
  return trainClassifier({
    command: "train vit", model, describe: describeVit(cfg), kind: "vit", run, optimizer, train: o.resume.train, test: o.resume.test,
    datasetLabel: o.datasetLabel ?? run.dataset, device: currentBackend().name, files: o.files, results: o.results,
    sink: o.sink, signal: o.signal, resume: progress,
  });
}
