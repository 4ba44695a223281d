/**
 * Fused ops: one backend kernel forward and one backward instead of a chain of elementwise and
 * reduction kernels. Each returns null when the backend has no such kernel (or declines these
 * inputs); the caller then composes the op from basic ops, with the same results up to rounding.
 */
import { XtError } from "../errors.ts";
import type { Tensor } from "../tensor.ts";
import { record, wrap } from "./graph.ts";
import { matmul } from "./matmul.ts";
import { sum } from "./reduce.ts";
import { reshape, transpose } from "./views.ts";

/**
 * nn.Linear's y = x·Wᵀ + b in one kernel (the bias added as the product is stored), or null.
 * x [..., K], weight [N, K], bias [N] or null. Backward: dx = g·W, dW = gᵀ·x over all rows at
 * once, db = the column sums of g.
 */
export function fusedLinear(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor | null {
  const be = x.backend;
  if (!be.linear || x.ndim < 1 || weight.ndim !== 2) return null;
  const K = x.shape[x.ndim - 1]!;
  const N = weight.shape[0]!;
  if (weight.shape[1] !== K || weight.backend !== be || weight.dtype !== x.dtype) return null;
  if (bias && (bias.backend !== be || bias.dtype !== x.dtype || bias.ndim !== 1 || bias.shape[0] !== N)) return null;
  const lead = x.shape.slice(0, -1);
  const R = lead.reduce((a, b) => a * b, 1);
  const x2 = reshape(x.detach(), [R, K]);
  const y = be.linear(x2, weight, bias);
  if (!y) return null;
  const out = wrap(x, y, [...lead, N]);
  const wd = weight.detach();
  const xShape = x.shape;
  return record(out, "LinearBackward", [x, weight, bias], (g) => {
    const g2 = reshape(g, [R, N]);
    return [
      x.requiresGrad ? reshape(matmul(g2, wd), xShape) : null,
      weight.requiresGrad ? matmul(transpose(g2, 0, 1), x2) : null,
      bias && bias.requiresGrad ? sum(g2, 0) : null,
    ];
  });
}

/** Layer norm over the last dim (biased variance, eps inside the root), or null. */
export function fusedLayerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor | null {
  const be = x.backend;
  if (!be.layerNorm || !be.layerNormBackward || x.ndim === 0) return null;
  const C = x.shape[x.ndim - 1]!;
  for (const p of [weight, bias]) {
    if (p && (p.backend !== be || p.dtype !== x.dtype || p.ndim !== 1 || p.shape[0] !== C)) return null;
  }
  const r = be.layerNorm(x, weight, bias, eps);
  if (!r) return null;
  const out = wrap(x, r.y, x.shape);
  const xd = x.detach();
  const wd = weight ? weight.detach() : null;
  const inShape = x.shape;
  return record(out, "LayerNormBackward", [x, weight, bias], (g) => {
    const gr = be.layerNormBackward!(g, xd, wd, r.saved);
    return [
      wrap(g, gr.gx, inShape),
      weight ? wrap(g, gr.gw, [C]) : null,
      bias ? wrap(g, gr.gb, [C]) : null,
    ];
  });
}

/**
 * Per-row cross-entropy losses [N] of logits [N, C] against int32 targets [N] (already
 * range-checked by the caller), or null.
 */
export function fusedCrossEntropy(logits: Tensor, target: Tensor): Tensor | null {
  const be = logits.backend;
  if (!be.crossEntropy || !be.crossEntropyBackward) return null;
  if (target.backend !== be) throw new XtError(`cross_entropy: tensors are on different devices (${be.name} and ${target.backend.name})`);
  const r = be.crossEntropy(logits, target);
  if (!r) return null;
  const N = logits.shape[0]!;
  const losses = wrap(logits, r.loss, [N]);
  const xd = logits.detach();
  const td = target.detach();
  const shape = logits.shape;
  return record(losses, "CrossEntropyBackward", [logits], (g) => [wrap(g, be.crossEntropyBackward!(xd, td, r.saved, g), shape)]);
}
