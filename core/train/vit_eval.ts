/**
 * Classification metrics for the ViT: loss, top-1 accuracy and the confusion matrix over a data
 * set, computed like the starter's `train_val` in evaluation mode (model.eval(), no grad, the
 * test loader in order; the loss is the mean of the batch losses weighted by batch size).
 */
import { noGrad } from "../autograd.ts";
import { DataLoader, type TensorImageSet } from "../data/dataloader.ts";
import type { Module } from "../nn/module.ts";
import { crossEntropy } from "../ops/loss.ts";
import type { TorchGenerator } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";

export interface ClassifierModel extends Module {
  forward(x: Tensor): Tensor;
}

export interface EvalResult {
  loss: number;
  accuracy: number;
  correct: number;
  n: number;
  /** confusion[true class][predicted class] = count. */
  confusion: number[][];
}

/** Index of the largest score in each row of an (N, C) array; the first one on ties, like torch. */
export function argmaxRows(scores: ArrayLike<number>, n: number, c: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = scores[i * c]!;
    for (let j = 1; j < c; j++) {
      const v = scores[i * c + j]!;
      if (v > bv || (Number.isNaN(v) && !Number.isNaN(bv))) {
        best = j;
        bv = v;
      }
    }
    out[i] = best;
  }
  return out;
}

export interface EvaluateOptions {
  batchSize: number;
  numClasses: number;
  /** Where the test loader's base-seed draw comes from (defaults to the global generator). */
  generator?: TorchGenerator;
  /** Called after each batch with the number of images done so far. */
  onBatch?: (done: number, total: number) => void | Promise<void>;
}

/** Runs the model over the whole set in order. Leaves the model in eval mode. */
export async function evaluateClassifier(model: ClassifierModel, ds: TensorImageSet, opts: EvaluateOptions): Promise<EvalResult> {
  model.eval();
  const C = opts.numClasses;
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let totalLoss = 0;
  let correct = 0;
  let n = 0;
  const loader = new DataLoader(ds, { batchSize: opts.batchSize, shuffle: false, generator: opts.generator });
  for (const batch of loader) {
    const { loss, pred } = noGrad(() => {
      const out = model.forward(batch.images);
      const l = crossEntropy(out, batch.labels).item();
      return { loss: l, pred: argmaxRows(out.data(), batch.size, out.shape[1]!) };
    });
    const labels = batch.labels.data();
    for (let i = 0; i < batch.size; i++) {
      const t = labels[i]!;
      const p = pred[i]!;
      if (t === p) correct++;
      if (t < C && p < C) confusion[t]![p]!++;
    }
    totalLoss += loss * batch.size;
    n += batch.size;
    if (opts.onBatch) await opts.onBatch(n, ds.n);
  }
  return { loss: totalLoss / n, accuracy: correct / n, correct, n, confusion };
}
