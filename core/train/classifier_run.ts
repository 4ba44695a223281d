/**
 * A fresh classifier run of any model kind (`train vit`, `train cnn`): manualSeed(seed), build the
 * model (its initial weights are the first draws), Adam, then trainClassifier. A kind says how to
 * build and describe its model, how to read its config back from a checkpoint and which flags
 * name the config's fields; everything else (data, loop, checkpoints, results, resume) is shared.
 */
import { resolve } from "node:path";
import { describeAugment, isAugmenting, NO_AUGMENT, type AugmentConfig } from "../data/augment.ts";
import type { TensorImageSet } from "../data/dataloader.ts";
import { currentBackend } from "../device.ts";
import { UsageError } from "../errors.ts";
import { Adam } from "../optim/adam.ts";
import { manualSeed } from "../random/index.ts";
import { trainClassifier, type ClassifierRunConfig, type TrainClassifierResult } from "./classifier_trainer.ts";
import type { DataParallel } from "./data_parallel.ts";
import type { EventSink } from "./events.ts";
import type { RunFiles } from "./run_files.ts";
import type { ClassifierModel } from "./vit_eval.ts";

/** A classifier model kind: M its config, Net the model it builds. */
export interface ClassifierKind<M extends object, Net extends ClassifierModel = ClassifierModel> {
  /** The checkpoint kind ("vit", "cnn"). */
  kind: string;
  /** Its name in messages ("ViT", "CNN"). */
  label: string;
  /** The training command ("train vit"), for events and messages. */
  command: string;
  /** Constructs the model (drawing its initial weights from the global generator). */
  build(cfg: M): Net;
  /** One line for the start event and the summary. */
  describe(cfg: M): string;
  /** Reads and checks a config saved in a checkpoint sidecar. */
  modelFrom(raw: unknown, file: string): M;
  /** The command-line flag of each config field (for "cannot change" messages). */
  flags: Record<keyof M, string>;
}

export interface TrainImageClassifierOptions<M extends object> {
  train: TensorImageSet;
  test: TensorImageSet;
  /** Data set name, saved in the checkpoint so `eval` and `--resume` find the data. */
  datasetName: string;
  /** For the start event. */
  datasetLabel?: string;
  classes: string[];
  model: M;
  lr: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
  seed: number;
  /** Training-set augmentation (default none: no draws). */
  augment?: AugmentConfig;
  /** Label smoothing of the training loss (default 0). */
  labelSmoothing?: number;
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
  /** Data-parallel: this rank's part of an `mpirun -np N` run (core/train/data_parallel.ts). */
  parallel?: DataParallel;
}

export async function trainImageClassifier<M extends object>(k: ClassifierKind<M>, o: TrainImageClassifierOptions<M>): Promise<TrainClassifierResult> {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new UsageError(`--epochs: expected a positive whole number, got ${o.epochs}`);
  const labelSmoothing = o.labelSmoothing ?? 0;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new UsageError(`--label-smoothing: expected a number in [0, 1], got ${labelSmoothing}`);
  manualSeed(o.seed);
  const model = k.build(o.model);
  o.parallel?.wrap(model);
  const optimizer = new Adam(model.parameters(), { lr: o.lr, weightDecay: o.weightDecay });
  // Under a launcher (even of one rank) the passes come from the DistributedSampler, so that runs on
  // any number of ranks see the same global batches; a plain process keeps the notebook's loader.
  const parallel = o.parallel ? { ranks: o.parallel.size, sampler: "distributed" as const } : {};
  const run: ClassifierRunConfig = {
    model: { ...o.model } as Record<string, unknown>, dataset: o.datasetName, classes: o.classes, lr: o.lr, weightDecay: o.weightDecay,
    batchSize: o.batchSize, epochs: o.epochs, seed: o.seed, maxTrain: o.maxTrain ?? null, maxTest: o.maxTest ?? null,
    dataDir: o.dataDir === undefined ? null : resolve(o.dataDir), augment: { ...(o.augment ?? NO_AUGMENT) }, labelSmoothing,
    ...parallel,
  };
  return trainClassifier({
    command: k.command, model, describe: describeRun(k.describe(o.model), run), kind: k.kind, run, optimizer, train: o.train, test: o.test,
    datasetLabel: o.datasetLabel ?? o.datasetName, device: currentBackend().name, files: o.files, results: o.results,
    sink: o.sink, signal: o.signal, resume: undefined, parallel: o.parallel,
  });
}

/** The model's description plus the run's small-data techniques, e.g. "…; augment crop (padding 3) + flip; label smoothing 0.1". */
export function describeRun(model: string, run: Pick<ClassifierRunConfig, "augment" | "labelSmoothing">): string {
  const parts = [model];
  if (isAugmenting(run.augment)) parts.push(`augment ${describeAugment(run.augment)}`);
  if (run.labelSmoothing > 0) parts.push(`label smoothing ${run.labelSmoothing}`);
  return parts.join("; ");
}
