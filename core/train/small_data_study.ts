/**
 * `xt ablate small-data` (Inline Question 2): how test accuracy depends on the number of training
 * images for the ViT, a small CNN, and the ViT with each small-data technique.
 *
 * Every run has the same budget: `steps` optimisation steps of `batchSize` images (the same
 * compute), drawn from the first `size` training images in shuffled passes (DataLoader(shuffle=
 * True) passes one after another, as many as the steps need; the last one may stop part-way). So
 * a smaller subset is seen more often, and only the number of distinct images changes. Augmented
 * and label-smoothed runs draw and weigh exactly as `train vit --augment/--label-smoothing` do.
 * After the steps: the test set in order, model.eval(), no grad, plain images and loss.
 *
 * Measures per run: test accuracy and loss; the training loss and top-1 at the end of the run (the
 * forward pass before each update, over the last tenth of the steps or the last pass when that is
 * shorter) and the gap between that top-1 and the test accuracy (how much the model memorised
 * rather than learned: about 0 while the images are still new to it); the parameter count.
 */
import { augmentTransform, NO_AUGMENT, type AugmentConfig, type ImageTransform } from "../data/augment.ts";
import type { ImageBatch, TensorImageSet } from "../data/dataloader.ts";
import { takeFirst } from "../data/dataloader.ts";
import { currentBackend } from "../device.ts";
import { Adam } from "../optim/adam.ts";
import { defaultGenerator, manualSeed } from "../random/index.ts";
import { classifierForward, ShuffledPasses } from "./classifier_trainer.ts";
import type { BatchSource } from "./loop.ts";
import { trainLoop } from "./loop.ts";
import { yieldToEvents } from "./stop.ts";
import type { RunContext, RunOutcome, StudyVariantSpec } from "./study.ts";
import { evaluateClassifier, type ClassifierModel } from "./vit_eval.ts";

/** One model with its training recipe (a row of the study's table). */
export interface SmallDataModel {
  /** "vit", "cnn", "vit+small-patch", … */
  name: string;
  /** Its settings, as they go into the end event. */
  params: Record<string, unknown>;
  /** One line for the start event. */
  describe: string;
  /** Builds the model (its initial weights are the first draws after manual_seed). */
  build(): ClassifierModel;
  /** Training-set augmentation (default none: no draws), as `train vit --augment`. */
  augment?: AugmentConfig;
  /** Label smoothing of the training loss (default 0), as `train vit --label-smoothing`. */
  labelSmoothing?: number;
}

export interface SmallDataVariant {
  model: SmallDataModel;
  /** Training images: the first `size` of the training set. */
  size: number;
}

export interface SmallDataSetup {
  train: TensorImageSet;
  test: TensorImageSet;
  /** Names the data in the start events. */
  dataset: string;
  numClasses: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Optimisation steps of every run. */
  steps: number;
}

/** "vit@1000": a model trained on a subset. */
export const smallDataName = (model: string, size: number): string => `${model}@${size}`;

/** Every model at every size, the sizes in order (so a study stopped early has all models at the smaller sizes). */
export function smallDataVariants(models: SmallDataModel[], sizes: number[]): StudyVariantSpec<SmallDataVariant>[] {
  return sizes.flatMap((size) => models.map((m) => ({
    name: smallDataName(m.name, size),
    params: { model: m.name, trainImages: size, ...m.params },
    value: { model: m, size },
  })));
}

/**
 * Shuffled passes over the training set, one after another, for a run counted in steps: step i
 * takes batch i of the pass in progress; a new pass (its draws as iter(DataLoader) makes them)
 * starts when the previous one is used up.
 */
export class ContinuedPasses implements BatchSource<ImageBatch> {
  private readonly passes: ShuffledPasses;
  private pass = -1;

  constructor(data: TensorImageSet, batchSize: number, transform?: ImageTransform) {
    this.passes = new ShuffledPasses(data, batchSize, defaultGenerator, transform);
  }

  /** Batches in one pass. */
  get length(): number {
    return this.passes.length;
  }

  batch(step: number): ImageBatch {
    const pass = Math.floor(step / this.passes.length);
    while (this.pass < pass) {
      this.passes.startEpoch();
      this.pass++;
    }
    return this.passes.batch(step % this.passes.length);
  }
}

/** One run: manual_seed(seed), build, Adam, `steps` steps on the first `size` images, the test pass. */
export async function runSmallData(s: SmallDataSetup, v: SmallDataVariant, ctx: RunContext): Promise<RunOutcome> {
  const train = takeFirst(s.train, v.size);
  manualSeed(ctx.seed);
  const model = v.model.build();
  const optimizer = new Adam(model.parameters(), { lr: s.lr, weightDecay: s.weightDecay });
  const batches = new ContinuedPasses(train, s.batchSize, augmentTransform(v.model.augment ?? NO_AUGMENT, train));
  const smoothing = v.model.labelSmoothing ?? 0;
  const losses: number[] = [];
  // The training loss and top-1 at the end of the run: over its last tenth, or its last pass
  // when a pass is shorter (every image once).
  const window = Math.min(batches.length, Math.ceil(s.steps / 10));
  const recent: { loss: number; correct: number; examples: number }[] = [];
  let test = { loss: Number.NaN, accuracy: Number.NaN };
  const r = await trainLoop<ImageBatch>({
    model, optimizer, forward: (b) => classifierForward(model, b, smoothing), batches, stepsPerEpoch: s.steps, epochs: 1, accuracy: true,
    start: {
      command: "ablate small-data", model: v.model.describe, params: model.numParameters(), device: currentBackend().name,
      dataset: `${s.dataset}, the first ${train.n} training images`, batchSize: s.batchSize,
    },
    sink: ctx.sink,
    signal: ctx.signal,
    hooks: {
      afterStep: (st) => {
        losses.push(st.loss);
        recent.push({ loss: st.loss, correct: st.correct ?? 0, examples: st.examples });
        if (recent.length > window) recent.shift();
      },
      evaluate: async (_epoch, progress) => {
        const ev = await evaluateClassifier(model, s.test, {
          batchSize: s.batchSize, numClasses: s.numClasses,
          onBatch: async (done, total) => {
            progress(done, total);
            await yieldToEvents();
          },
        });
        test = { loss: ev.loss, accuracy: ev.accuracy };
        return { testLoss: ev.loss, testAcc: ev.accuracy };
      },
    },
  });
  if (r.interrupted) return { metrics: {}, losses, interrupted: true };
  const examples = recent.reduce((a, x) => a + x.examples, 0);
  const trainLoss = recent.reduce((a, x) => a + x.loss * x.examples, 0) / examples;
  const trainAcc = recent.reduce((a, x) => a + x.correct, 0) / examples;
  return {
    metrics: {
      test_acc: test.accuracy,
      test_loss: test.loss,
      train_acc: trainAcc,
      train_loss: trainLoss,
      generalization_gap: trainAcc - test.accuracy,
      parameters: model.numParameters(),
    },
    detail: { passes: s.steps / batches.length },
    losses,
    interrupted: false,
  };
}
