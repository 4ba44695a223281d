/**
 * Continuing a classifier run (`train vit --resume`, and `train cnn` next) from its last
 * checkpoint: read the run's settings back, refuse flags that would change it, load the same
 * images, restore the weights, Adam, the torch generator and the loop's progress, and train on.
 * A model kind only says how to read its config back and which flags name its fields.
 */
import { existsSync } from "node:fs";
import { takeFirst } from "../data/dataloader.ts";
import type { ImageDataset } from "../data/image_dataset.ts";
import { DataError, XtError } from "../errors.ts";
import type { LoadedCheckpoint } from "../io/checkpoint.ts";
import { Adam } from "../optim/adam.ts";
import { defaultGenerator } from "../random/index.ts";
import {
  progressFromCheckpoint, trainClassifier, type ClassifierRunConfig, type TrainClassifierResult,
} from "./classifier_trainer.ts";
import type { EventSink } from "./events.ts";
import type { RunFiles } from "./run_files.ts";
import { loadVitSplit, parseDatasetName } from "./vit_data.ts";
import type { ClassifierModel } from "./vit_eval.ts";

/** A classifier kind: its checkpoint kind, its name in messages, its config reader, its flags. */
export interface ClassifierKind<M extends object> {
  kind: string;
  label: string;
  modelFrom(raw: unknown, file: string): M;
  /** The command-line flag of each config field (for "cannot change" messages). */
  flags: Record<keyof M, string>;
}

/** A run read back from its resumable checkpoint, with its data loaded. */
export interface ClassifierResume<M extends object> {
  checkpoint: LoadedCheckpoint;
  run: ClassifierRunConfig;
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
}

export function prepareClassifierResume<M extends object & { numClasses: number }>(
  ck: LoadedCheckpoint,
  k: ClassifierKind<M>,
  given: ResumeGiven<M>,
  dataDir?: string,
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
  for (const [key, v] of Object.entries(given.model ?? {}) as [keyof M, unknown][]) clash(k.flags[key], model[key], v);
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

export interface ResumeOptions<M extends object> {
  resume: ClassifierResume<M>;
  /** Total epochs to reach (default: the run's). */
  epochs?: number;
  files?: RunFiles;
  results?: string;
  datasetLabel?: string;
  sink: EventSink;
  signal?: AbortSignal;
}

/** Continues the run on `model` (freshly built from the checkpoint's config; its weights are loaded here). */
export async function resumeClassifier<M extends object>(
  o: ResumeOptions<M> & { command: string; kind: string; model: ClassifierModel; describe: string; device: string },
): Promise<TrainClassifierResult> {
  const ck = o.resume.checkpoint;
  const epochs = o.epochs ?? o.resume.run.epochs;
  const progress = progressFromCheckpoint(ck);
  const at = progress.position;
  if (at.epoch > epochs || (at.epoch === epochs && at.stepInEpoch > 0)) {
    throw new XtError(`--epochs ${epochs}: ${ck.paths.stem} has already done ${at.epoch} epoch${at.epoch === 1 ? "" : "s"}`, 2);
  }
  const stepsPerEpoch = Math.ceil(o.resume.train.n / o.resume.run.batchSize);
  if (at.stepInEpoch > 0 && at.stepInEpoch < stepsPerEpoch && !progress.order) {
    throw new DataError(ck.paths.state, "stopped inside an epoch but has no shuffle order for it (epoch_order); it cannot be resumed");
  }
  const run = { ...o.resume.run, epochs };
  try {
    o.model.loadStateDict(ck.weights);
  } catch (e) {
    if (e instanceof XtError) throw new DataError(ck.paths.weights, `weights do not fit the model in its sidecar (${e.message})`);
    throw e;
  }
  const optimizer = new Adam(o.model.parameters(), { lr: run.lr, weightDecay: run.weightDecay });
  optimizer.loadStateDict(ck.training!.optimizer);
  defaultGenerator.setState(ck.training!.rng.torch!);
  return trainClassifier({
    command: o.command, model: o.model, describe: o.describe, kind: o.kind, run, optimizer, train: o.resume.train, test: o.resume.test,
    datasetLabel: o.datasetLabel ?? run.dataset, device: o.device, files: o.files, results: o.results,
    sink: o.sink, signal: o.signal, resume: progress,
  });
}
