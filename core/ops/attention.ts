/**
 * Multi-head scaled dot-product attention, as the notebook's MultiHeadAttention computes it:
 * softmax(Q·Kᵀ / scale, blocked entries −∞) → dropout → ·V, heads side by side in the output.
 *
 * One backend kernel each way when the backend has it (Backend.attention), else the composition
 * of matmul, div, masked fill, softmax, mul and matmul. The dropout multipliers are drawn by the
 * caller before either runs, so that the random stream is the same whichever path runs.
 */
import { Tensor } from "../tensor.ts";
import { div, maskedFill, mul } from "./elementwise.ts";
import { record, wrap } from "./graph.ts";
import { matmul } from "./matmul.ts";
import { softmax } from "./softmax.ts";
import { contiguous, reshape, transpose } from "./views.ts";

export interface AttentionOptions {
  /** Bool [S, T] (broadcast over batch and heads): true where attention is blocked; or null. */
  blocked: Tensor | null;
  /** Dropout multipliers (0 or 1/(1−p)) [N, H, S, T], contiguous, or null (no dropout). */
  drop: Tensor | null;
  /** The scores' divisor (√D). */
  scale: number;
  /** Receives the softmax weights [N, H, S, T] before dropout (forces the composed path). */
  onWeights?: ((weights: Tensor) => void) | null;
}

/** q [N, H, S, D], k and v [N, H, T, D] → [N, S, H·D]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  return (o.onWeights ? null : fusedAttention(q, k, v, o)) ?? composedAttention(q, k, v, o);
}

function composedAttention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  const [N, H, S, D] = q.shape as [number, number, number, number];
  let scores = div(matmul(q, transpose(k, -2, -1)), o.scale);
  if (o.blocked) scores = maskedFill(scores, o.blocked, -Infinity);
  const weights = softmax(scores, -1);
  o.onWeights?.(weights);
  const attn = o.drop ? mul(weights, o.drop) : weights;
  return reshape(contiguous(transpose(matmul(attn, v), 1, 2)), [N, S, H * D]);
}

function fusedAttention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor | null {
  const be = q.backend;
  if (!be.attention || !be.attentionBackward || q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) return null;
  if (k.backend !== be || v.backend !== be || k.dtype !== q.dtype || v.dtype !== q.dtype) return null;
  if (o.blocked && (o.blocked.ndim !== 2 || o.blocked.backend !== be)) return null;
  if (o.drop && (o.drop.backend !== be || o.drop.dtype !== q.dtype)) return null;
  const [N, H, S, D] = q.shape as [number, number, number, number];
  const T = k.shape[2]!;
  const r = be.attention(q, k, v, o.blocked, o.drop, o.scale);
  if (!r) return null;
  const out = wrap(q, r.out, [N, S, H * D]);
  const [qd, kd, vd] = [q.detach(), k.detach(), v.detach()];
  const { blocked, drop, scale } = o;
  // The gradients come back in the projections' layout [N, S|T, H, D]: as [N, H, S|T, D] tensors
  // they are transposed views, whose backward through view/transpose costs no copy.
  const headsView = (s: Tensor["storage"], rows: number): Tensor =>
    new Tensor(be, s, [N, H, rows, D], [rows * H * D, D, H * D, 1]);
  return record(out, "AttentionBackward", [q, k, v], (g) => {
    // g [N, S, H·D] as [N, S, H, D] (splitting the last dim never needs a copy).
    const g4 = new Tensor(be, g.storage, [N, S, H, D], [g.strides[0]!, g.strides[1]!, D * g.strides[2]!, g.strides[2]!], g.offset);
    const gr = be.attentionBackward!(g4, qd, kd, vd, blocked, drop, r.weights, scale);
    return [headsView(gr.gq, S), headsView(gr.gk, T), headsView(gr.gv, T)];
  });
}
