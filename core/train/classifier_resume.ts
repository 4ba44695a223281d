/**
 * Continuing a classifier run (`train vit --resume`, `train cnn --resume`) from its last
 * checkpoint: read the run's settings back, refuse flags that would change it, load the same
 * images, restore the weights, Adam, the torch generator and the loop's progress, and train on.
 * A model kind (classifier_run.ts) says how to build its model and read its config back, and
 * which flags name its fields.
 */
import { existsSync } from "node:fs";
import { augmentConfigFrom, type AugmentConfig } from "../data/augment.ts";
import { takeFirst } from "../data/dataloader.ts";
import type { ImageDataset } from "../data/image_dataset.ts";
import { DataError, XtError } from "../errors.ts";
import type { LoadedCheckpoint } from "../io/checkpoint.ts";
import { currentBackend } from "../device.ts";
import { Adam } from "../optim/adam.ts";
import { defaultGenerator } from "../random/index.ts";
import { describeRun, type ClassifierKind } from "./classifier_run.ts";
import {
  progressFromCheckpoint, trainClassifier, type ClassifierRunConfig, type TrainClassifierResult,
} from "./classifier_trainer.ts";
import type { DataParallel } from "./data_parallel.ts";
import type { EventSink } from "./events.ts";
import type { RunFiles } from "./run_files.ts";
import { loadVitSplit, parseDatasetName } from "./vit_data.ts";

/** A run read back from its resumable checkpoint, with its data loaded. */
export interface ClassifierResume<M extends object> {
  checkpoint: LoadedCheckpoint;
  /** The run as it continues here: batchSize, ranks and sampler for this number of ranks. */
  run: ClassifierRunConfig;
  /** The saved run shuffled with the loader, this one with the distributed sampler (from the next epoch). */
  samplerChanged: boolean;
  model: M;
  train: ImageDataset;
  test: ImageDataset;
}

/** Settings given on the command line with --resume: each must agree with the checkpoint. */
export interface ResumeGiven<M extends object> {
  dataset?: string;
  model?: Partial<M>;
  lr?: number;
  weightDecay?: number;
  batchSize?: number;
  seed?: number;
  maxTrain?: number;
  maxTest?: number;
  /** --augment's parts and --crop-padding, each checked when given. */
  augment?: { crop: boolean; flip: boolean };
  cropPadding?: number;
  labelSmoothing?: number;
}

/**
 * `ranks`: how many ranks the resumed run trains on. The global batch (per-rank batch · ranks) is
 * the run's and stays; the per-rank batch follows from it, so a run of 2 ranks × 32 resumes as one
 * process × 64 and the other way round.
 */
export function prepareClassifierResume<M extends object & { numClasses: number }>(
  ck: LoadedCheckpoint,
  k: ClassifierKind<M>,
  given: ResumeGiven<M>,
  dataDir?: string,
  ranks = 1,
): ClassifierResume<M> {
  const file = ck.paths.sidecar;
  if (ck.meta.kind !== k.kind) throw new DataError(file, `is a ${JSON.stringify(ck.meta.kind)} checkpoint, not a ${k.label} one`);
  if (!ck.resumable || !ck.training) {
    throw new DataError(file, "has no training state to resume from (a best-model checkpoint); resume from the run's last checkpoint");
  }
  if (!ck.training.rng.torch) throw new DataError(file, "has no torch generator state; it cannot be resumed bit for bit");
  const c = ck.meta.config as Partial<ClassifierRunConfig>;
  const model = k.modelFrom(c.model, file);
  for (const key of ["lr", "weightDecay", "batchSize", "epochs", "seed"] as const) {
    if (typeof c[key] !== "number") throw new DataError(file, `the run config has no valid '${key}' (a checkpoint written before resume existed?)`);
  }
  if (typeof c.dataset !== "string" || !Array.isArray(c.classes)) throw new DataError(file, "the run config has no data set or classes");
  if (c.labelSmoothing !== undefined && typeof c.labelSmoothing !== "number") throw new DataError(file, "the run config has no valid 'labelSmoothing'");
  const run: ClassifierRunConfig = {
    model: { ...model }, dataset: c.dataset, classes: c.classes, lr: c.lr!, weightDecay: c.weightDecay!, batchSize: c.batchSize!,
    epochs: c.epochs!, seed: c.seed!, maxTrain: c.maxTrain ?? null, maxTest: c.maxTest ?? null, dataDir: c.dataDir ?? null,
    augment: augmentConfigFrom(c.augment, file), labelSmoothing: c.labelSmoothing ?? 0,
  };
  const clash = (flag: string, have: unknown, want: unknown): void => {
    if (want !== undefined && have !== want) {
      throw new XtError(`--resume: ${flag} is ${JSON.stringify(have)} in ${file}; it cannot change (to ${JSON.stringify(want)}) when resuming`, 2);
    }
  };
  clash("--dataset", run.dataset, given.dataset === undefined ? undefined : parseDatasetName(given.dataset));
  for (const [key, v] of Object.entries(given.model ?? {}) as [keyof M, unknown][]) clash(k.flags[key], model[key] ?? 0, v); // optional fields (a conv stem) are 0 when absent
  clash("--lr", run.lr, given.lr);
  clash("--weight-decay", run.weightDecay, given.weightDecay);
  const savedRanks = c.ranks ?? 1;
  const savedSampler = c.sampler ?? "loader";
  const globalBatch = run.batchSize * savedRanks;
  if (globalBatch % ranks !== 0) {
    throw new XtError(`--resume: the run's global batch is ${globalBatch} (${savedRanks} rank${savedRanks === 1 ? "" : "s"} × ${run.batchSize}); it does not split over ${ranks} ranks`, 2);
  }
  run.batchSize = globalBatch / ranks;
  run.ranks = ranks;
  run.sampler = savedSampler === "distributed" || ranks > 1 ? "distributed" : "loader";
  clash(ranks === savedRanks ? "--batch-size" : `--batch-size (per rank: the global batch ${globalBatch} over ${ranks} ranks)`, run.batchSize, given.batchSize);
  clash("--seed", run.seed, given.seed);
  clash("--max-train", run.maxTrain, given.maxTrain);
  clash("--max-test", run.maxTest, given.maxTest);
  if (given.augment) clash("--augment", augmentNames(run.augment), augmentNames(given.augment));
  clash("--crop-padding", run.augment.crop ? run.augment.cropPadding : undefined, given.cropPadding);
  clash("--label-smoothing", run.labelSmoothing, given.labelSmoothing);
  const name = parseDatasetName(run.dataset);
  const dir = dataDir ?? (run.dataDir !== null && existsSync(run.dataDir) ? run.dataDir : undefined);
  const train = takeFirst(loadVitSplit(name, "train", dir), run.maxTrain ?? undefined);
  const test = takeFirst(loadVitSplit(name, "test", dir), run.maxTest ?? undefined);
  const extra = (ck.meta.extra ?? {}) as { train_images?: number; test_images?: number };
  if (extra.train_images !== undefined && (train.n !== extra.train_images || test.n !== extra.test_images)) {
    throw new DataError(file, `the run trained on ${extra.train_images} / tested on ${extra.test_images} images; ${train.source} gives ${train.n} / ${test.n}`);
  }
  if (train.classes.length !== model.numClasses) throw new DataError(file, `the model has ${model.numClasses} classes, ${name} has ${train.classes.length}`);
  return { checkpoint: ck, run, model, train, test, samplerChanged: run.sampler !== savedSampler };
}

const augmentNames = (a: Pick<AugmentConfig, "crop" | "flip">): string => [...(a.crop ? ["crop"] : []), ...(a.flip ? ["flip"] : [])].join(",") || "none";

export interface ResumeOptions<M extends object> {
  /** A data-parallel run: the model is wrapped once its weights are loaded. */
  parallel?: DataParallel;
  resume: ClassifierResume<M>;
  /** Total epochs to reach (default: the run's). */
  epochs?: number;
  files?: RunFiles;
  results?: string;
  datasetLabel?: string;
  sink: EventSink;
  signal?: AbortSignal;
}

/** Continues the run on a model of kind `k` built from the checkpoint's config (its weights are loaded here). */
export async function resumeClassifier<M extends object>(k: ClassifierKind<M>, o: ResumeOptions<M>): Promise<TrainClassifierResult> {
  const ck = o.resume.checkpoint;
  const epochs = o.epochs ?? o.resume.run.epochs;
  const progress = progressFromCheckpoint(ck);
  const at = progress.position;
  if (at.epoch > epochs || (at.epoch === epochs && at.stepInEpoch > 0)) {
    throw new XtError(`--epochs ${epochs}: ${ck.paths.stem} has already done ${at.epoch} epoch${at.epoch === 1 ? "" : "s"}`, 2);
  }
  const ranks = o.resume.run.ranks ?? 1;
  const stepsPerEpoch = Math.ceil(Math.ceil(o.resume.train.n / ranks) / o.resume.run.batchSize);
  const inEpoch = at.stepInEpoch > 0 && at.stepInEpoch < stepsPerEpoch;
  if (inEpoch && o.resume.samplerChanged) {
    throw new XtError(
      `--resume: ${ck.paths.stem} stopped inside epoch ${at.epoch + 1} of a one-process run, whose shuffle cannot be split over ${ranks} ranks; ` +
        "resume it in one process, or from a checkpoint at an epoch's end", 2,
    );
  }
  if (inEpoch && o.resume.run.sampler !== "distributed" && !progress.order) {
    throw new DataError(ck.paths.state, "stopped inside an epoch but has no shuffle order for it (epoch_order); it cannot be resumed");
  }
  const run = { ...o.resume.run, epochs };
  const model = k.build(o.resume.model);
  try {
    model.loadStateDict(ck.weights);
  } catch (e) {
    if (e instanceof XtError) throw new DataError(ck.paths.weights, `weights do not fit the model in its sidecar (${e.message})`);
    throw e;
  }
  const optimizer = new Adam(model.parameters(), { lr: run.lr, weightDecay: run.weightDecay });
  optimizer.loadStateDict(ck.training!.optimizer);
  defaultGenerator.setState(ck.training!.rng.torch!);
  o.parallel?.wrap(model);
  return trainClassifier({
    command: k.command, model, describe: describeRun(k.describe(o.resume.model), run), kind: k.kind, run, optimizer,
    train: o.resume.train, test: o.resume.test, datasetLabel: o.datasetLabel ?? run.dataset, device: currentBackend().name,
    files: o.files, results: o.results, sink: o.sink, signal: o.signal, resume: progress, parallel: o.parallel,
  });
}
