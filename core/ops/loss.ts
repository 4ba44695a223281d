/**
 * cross_entropy over integer class targets, composed from log_softmax so autograd comes free (or
 * one fused kernel each way where the backend has it). With label smoothing ε, as PyTorch 1.13's
 * cross_entropy_loss_label_smoothing: (1 − ε)·nll + (ε / C)·smooth, where smooth is
 * −Σ_c log_softmax(logits)[r, c], both reduced the same way.
 */
import { XtError } from "../errors.ts";
import { shapeStr } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { wrap } from "./graph.ts";
import { add, compare, mul, neg, where } from "./elementwise.ts";
import { fusedCrossEntropy } from "./fused.ts";
import { mean, sum } from "./reduce.ts";
import { logSoftmax } from "./softmax.ts";
import { reshape } from "./views.ts";

export type Reduction = "none" | "mean" | "sum";

export function crossEntropy(logits: Tensor, target: Tensor, reduction: Reduction = "mean", labelSmoothing = 0): Tensor {
  if (target.dtype !== "int32") throw new XtError(`cross_entropy: target must be an integer tensor, got ${target.dtype}`);
  if (logits.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== logits.shape[0]) {
    throw new XtError(
      `cross_entropy: expected logits (N, C) and target (N), got ${shapeStr(logits.shape)} and ${shapeStr(target.shape)}`,
    );
  }
  const C = logits.shape[1]!;
  const t = target.toArray();
  const bad = t.find((v) => v < 0 || v >= C);
  if (bad !== undefined) throw new XtError(`cross_entropy: target ${bad} is out of bounds for ${C} classes`);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new XtError(`cross_entropy: label_smoothing must be between 0.0 and 1.0, got ${labelSmoothing}`);
  }
  if (labelSmoothing > 0) {
    const nll = crossEntropy(logits, target, reduction);
    const smoothRows = neg(sum(logSoftmax(logits, 1), 1));
    const smooth = reduction === "none" ? smoothRows : reduction === "sum" ? sum(smoothRows) : mean(smoothRows);
    return add(mul(nll, 1 - labelSmoothing), mul(smooth, labelSmoothing / C));
  }
  const fused = fusedCrossEntropy(logits, target);
  if (fused) {
    if (reduction === "none") return fused;
    return reduction === "sum" ? sum(fused) : mean(fused);
  }
  const classes = wrap(logits, logits.backend.fromHost(Array.from({ length: C }, (_, i) => i), "int32"), [1, C]);
  const onehot = compare("eq", classes, reshape(target, [target.numel, 1]));
  const picked = sum(where(onehot, logSoftmax(logits, 1), 0), 1);
  const losses = neg(picked);
  if (reduction === "none") return losses;
  return reduction === "sum" ? sum(losses) : mean(losses);
}
