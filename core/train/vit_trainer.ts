/**
 * The notebook's two ViT training cells as library functions that emit the shared event stream:
 *
 *  overfitVit: `batch = next(iter(DataLoader(train, 64, shuffle=False)))`, VisionTransformer with
 *    dropout 0, Adam(lr, weight_decay), `steps` steps on that one batch; top-1 is measured on the
 *    step's own forward pass (before the update), as the cell does.
 *  trainVit: ClassificationSolverViT.train: each epoch a shuffled pass over the training set
 *    (loss and top-1 of each batch's forward pass, averaged weighted by batch size), then a pass
 *    over the test set in order with model.eval() and no grad; results under the notebook's keys.
 *
 * After manualSeed(seed) every random draw (initial weights, dropout masks, loader shuffles and
 * base seeds) happens in the order PyTorch makes it, so a run reproduces
 * fixtures/gen/vit_torch_train.py with the same arguments.
 */
import { XtError } from "../errors.ts";
import { DataLoader, takeFirst, type TensorImageSet } from "../data/dataloader.ts";
import { currentBackend } from "../device.ts";
import { saveCheckpoint } from "../io/checkpoint.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import type { VisionTransformer } from "../models/vision_transformer.ts";
import { crossEntropy } from "../ops/loss.ts";
import { Adam } from "../optim/adam.ts";
import { manualSeed } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";
import type { EventSink } from "./events.ts";
import { buildVit, describeVit, type VitModelConfig } from "./vit_config.ts";
import { argmaxRows, evaluateClassifier } from "./vit_eval.ts";

/** Let pending output flush and signals (Ctrl-C) arrive between steps. */
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

interface StepOutcome {
  loss: number;
  correct: number;
}

/** forward → cross-entropy → zero_grad → backward → Adam step; top-1 from that forward pass. */
function trainStep(model: VisionTransformer, opt: Adam, images: Tensor, labels: Tensor): StepOutcome {
  const out = model.forward(images);
  const loss = crossEntropy(out, labels);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  const n = labels.numel;
  const pred = argmaxRows(out.data(), n, out.shape[1]!);
  const y = labels.data();
  let correct = 0;
  for (let i = 0; i < n; i++) if (pred[i] === y[i]) correct++;
  return { loss: loss.item(), correct };
}

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
  model.train();
  const t0 = performance.now();
  o.sink({
    type: "start", command: "overfit vit", model: describeVit(o.model), params: model.numParameters(),
    device: currentBackend().name, dataset: `${o.dataset}, ${batch.size} images`, totalSteps: o.steps, batchSize: batch.size, lr: o.lr,
  });
  const history: { loss: number; accuracy: number }[] = [];
  let interrupted = false;
  for (let step = 1; step <= o.steps; step++) {
    const r = trainStep(model, opt, batch.images, batch.labels);
    const accuracy = r.correct / batch.size;
    history.push({ loss: r.loss, accuracy });
    o.sink({
      type: "step", step, totalSteps: o.steps, loss: r.loss, lr: o.lr, examples: batch.size, accuracy,
      elapsedMs: performance.now() - t0,
    });
    await tick();
    if (o.signal?.aborted && step < o.steps) {
      interrupted = true;
      break;
    }
  }
  const last = history[history.length - 1]!;
  o.sink({ type: "end", steps: history.length, elapsedMs: performance.now() - t0, loss: last.loss, accuracy: last.accuracy, ...(interrupted ? { interrupted } : {}) });
  return { loss: last.loss, accuracy: last.accuracy, steps: history.length, history, interrupted };
}

// ---------------------------------------------------------------------------------------------
// train

/** The solver's results dict (notebook keys) plus timing. */
export interface VitResults {
  train_loss: number[];
  "train_acc@1": number[];
  test_loss: number[];
  "test_acc@1": number[];
  best_test_acc: number;
  /** Seconds per epoch (training pass + test pass). */
  epoch_seconds: number[];
}

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
  /** Best model's checkpoint (safetensors + JSON sidecar), written when the test accuracy improves. */
  save?: string;
  /** Results JSON, rewritten after every epoch. */
  results?: string;
  sink: EventSink;
  signal?: AbortSignal;
}

export interface TrainVitResult {
  results: VitResults;
  checkpoint?: string;
  steps: number;
  interrupted: boolean;
}

export async function trainVit(o: TrainVitOptions): Promise<TrainVitResult> {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new XtError(`--epochs: expected a positive whole number, got ${o.epochs}`, 2);
  manualSeed(o.seed);
  const model = buildVit(o.model);
  const opt = new Adam(model.parameters(), { lr: o.lr, weightDecay: o.weightDecay });
  const trainLoader = new DataLoader(o.train, { batchSize: o.batchSize, shuffle: true });
  const totalSteps = o.epochs * trainLoader.length;
  const results: VitResults = { train_loss: [], "train_acc@1": [], test_loss: [], "test_acc@1": [], best_test_acc: 0, epoch_seconds: [] };
  const t0 = performance.now();
  o.sink({
    type: "start", command: "train vit", model: describeVit(o.model), params: model.numParameters(), device: currentBackend().name,
    dataset: o.datasetLabel ?? o.datasetName, totalSteps, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr,
  });
  let step = 0;
  let interrupted = false;
  let checkpoint: string | undefined;
  let best = -1;
  for (let epoch = 1; epoch <= o.epochs && !interrupted; epoch++) {
    const te = performance.now();
    model.train();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    for (const batch of trainLoader) {
      const r = trainStep(model, opt, batch.images, batch.labels);
      step++;
      lossSum += r.loss * batch.size;
      correct += r.correct;
      seen += batch.size;
      o.sink({
        type: "step", step, totalSteps, epoch, loss: r.loss, lr: opt.lr, examples: batch.size, accuracy: r.correct / batch.size,
        elapsedMs: performance.now() - t0,
      });
      await tick();
      if (o.signal?.aborted) {
        interrupted = true;
        break;
      }
    }
    if (interrupted) break;
    const ev = await evaluateClassifier(model, o.test, {
      batchSize: o.batchSize, numClasses: o.model.numClasses,
      onBatch: async () => {
        await tick();
      },
    });
    if (o.signal?.aborted) interrupted = true;
    results.train_loss.push(lossSum / seen);
    results["train_acc@1"].push(correct / seen);
    results.test_loss.push(ev.loss);
    results["test_acc@1"].push(ev.accuracy);
    results.epoch_seconds.push((performance.now() - te) / 1000);
    if (ev.accuracy > results.best_test_acc) results.best_test_acc = ev.accuracy;
    o.sink({
      type: "epoch", epoch, epochs: o.epochs, trainLoss: lossSum / seen, trainAcc: correct / seen, testLoss: ev.loss, testAcc: ev.accuracy,
      elapsedMs: performance.now() - t0,
    });
    if (ev.accuracy > best) {
      best = ev.accuracy;
      if (o.save) {
        saveCheckpoint(o.save, model, {
          kind: "vit",
          config: {
            model: o.model, dataset: o.datasetName, classes: o.classes, lr: o.lr, weightDecay: o.weightDecay,
            batchSize: o.batchSize, epochs: o.epochs, seed: o.seed,
          },
          step, epoch, optimizer: opt.stateDict(),
          extra: { test_acc: ev.accuracy, test_loss: ev.loss, train_images: o.train.n, test_images: o.test.n },
        });
        checkpoint = o.save;
      }
    }
    if (o.results) writeFileAtomic(o.results, JSON.stringify(results, null, 1) + "\n");
  }
  const n = results["test_acc@1"].length;
  o.sink({
    type: "end", steps: step, elapsedMs: performance.now() - t0,
    ...(n ? { loss: results.test_loss[n - 1], accuracy: results["test_acc@1"][n - 1], best_test_acc: results.best_test_acc } : {}),
    ...(checkpoint ? { checkpoint } : {}),
    ...(interrupted ? { interrupted } : {}),
  });
  return { results, checkpoint, steps: step, interrupted };
}
