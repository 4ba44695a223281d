/**
 * The notebook's two ViT training cells, on the one loop (core/train/loop.ts):
 *
 *  overfitVit: `batch = next(iter(DataLoader(train, 64, shuffle=False)))`, VisionTransformer with
 *    dropout 0, Adam(lr, weight_decay), `steps` steps on that one batch; top-1 is measured on the
 *    step's own forward pass (before the update), as the cell does. `untilPerfect` ends the run at
 *    the first step whose top-1 is 1.00.
 *  trainVit / resumeVit: ClassificationSolverViT.train (core/train/classifier_trainer.ts) on a
 *    VisionTransformer, fresh (classifier_run.ts) or continued from a resumable checkpoint
 *    (classifier_resume.ts).
 *
 * After manualSeed(seed) every random draw (initial weights, dropout masks, loader shuffles and
 * base seeds) happens in the order PyTorch makes it, so a run reproduces
 * fixtures/gen/vit_torch_train.py with the same arguments.
 */
import { XtError } from "../errors.ts";
import { DataLoader, takeFirst, type ImageBatch, type TensorImageSet } from "../data/dataloader.ts";
import { currentBackend } from "../device.ts";
import type { LoadedCheckpoint } from "../io/checkpoint.ts";
import { Adam } from "../optim/adam.ts";
import { manualSeed } from "../random/index.ts";
import { classifierForward, type TrainClassifierResult } from "./classifier_trainer.ts";
import {
  prepareClassifierResume, resumeClassifier, type ClassifierResume, type ResumeGiven, type ResumeOptions,
} from "./classifier_resume.ts";
import { trainImageClassifier, type TrainImageClassifierOptions } from "./classifier_run.ts";
import type { EventSink } from "./events.ts";
import { trainLoop } from "./loop.ts";
import { buildVit, describeVit, VIT_KIND, type VitModelConfig } from "./vit_config.ts";

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

export type TrainVitOptions = TrainImageClassifierOptions<VitModelConfig>;

export async function trainVit(o: TrainVitOptions): Promise<TrainClassifierResult> {
  return trainImageClassifier(VIT_KIND, o);
}

// ---------------------------------------------------------------------------------------------
// resume

/**
 * Reads the run a ViT checkpoint continues, checks the flags given against it, loads its data
 * (from `dataDir`, else the folder the run read, else the usual places).
 */
export function prepareVitResume(ck: LoadedCheckpoint, given: ResumeGiven<VitModelConfig>, dataDir?: string, ranks = 1): ClassifierResume<VitModelConfig> {
  return prepareClassifierResume(ck, VIT_KIND, given, dataDir, ranks);
}

/** Continues a ViT run from its resumable checkpoint: the same steps, losses and weights as if it had never stopped. */
export async function resumeVit(o: ResumeOptions<VitModelConfig>): Promise<TrainClassifierResult> {
  return resumeClassifier(VIT_KIND, o);
}
