/** matmul with PyTorch's semantics: 1-D promotion, batch broadcasting, and its gradient. */
import { promote } from "../dtype.ts";
import { XtError } from "../errors.ts";
import { broadcastShapes, numel, shapeStr } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { record, wrap } from "./graph.ts";
import { sumTo } from "./reduce.ts";
import { cast } from "./elementwise.ts";
import { expandTo, reshape, squeeze, transpose, unsqueeze } from "./views.ts";

/** Can the batch dims [0, n) of x be addressed with one stride? Returns it, or null. */
function mergedBatchStride(x: Tensor, n: number): number | null {
  let stride: number | null = null;
  let expect = -1;
  for (let i = n - 1; i >= 0; i--) {
    const size = x.shape[i]!;
    if (size === 1) continue;
    const st = x.strides[i]!;
    if (stride === null) {
      stride = st;
      expect = st * size;
    } else {
      if (st !== expect) return null;
      expect = st * size;
    }
  }
  return stride ?? 0;
}

/** Batched [..., M, K] · [..., K, N] → [..., M, N] with broadcast batch dims, no autograd. */
function bmmRaw(a: Tensor, b: Tensor, batch: number[]): Tensor {
  const M = a.shape[a.ndim - 2]!;
  const K = a.shape[a.ndim - 1]!;
  const N = b.shape[b.ndim - 1]!;
  const B = numel(batch);
  const view3 = (x: Tensor, r: number, c: number): Tensor => {
    let e = expandTo(x, [...batch, r, c]);
    let bs = mergedBatchStride(e, batch.length);
    if (bs === null) {
      e = wrap(e, e.backend.contiguous(e), e.shape);
      bs = r * c;
    }
    return new Tensor(e.backend, e.storage, [B, r, c], [bs, e.strides[e.ndim - 2]!, e.strides[e.ndim - 1]!], e.offset);
  };
  const out = a.backend.matmul(view3(a, M, K), view3(b, K, N));
  return wrap(a, out, [...batch, M, N]);
}

function matmulNd(a: Tensor, b: Tensor): Tensor {
  const K = a.shape[a.ndim - 1]!;
  if (b.shape[b.ndim - 2] !== K) {
    throw new XtError(
      `matmul: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be multiplied ` +
        `(${a.shape[a.ndim - 2]}x${K} and ${b.shape[b.ndim - 2]}x${b.shape[b.ndim - 1]})`,
    );
  }
  let batch: number[];
  try {
    batch = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new XtError(`matmul: batch dims of ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be broadcast together`);
  }
  const out = bmmRaw(a, b, batch);
  const ad = a.detach();
  const bd = b.detach();
  return record(out, "MatmulBackward", [a, b], (g) => [
    a.requiresGrad ? sumTo(bmmRaw(g, transpose(bd, -1, -2), batch), a.shape) : null,
    b.requiresGrad ? (foldedGradB(ad, g, bd, batch) ?? sumTo(bmmRaw(transpose(ad, -1, -2), g, batch), b.shape)) : null,
  ]);
}

/**
 * Fused matmul + batch sum for the gradient of a B shared by every batch entry (a linear layer's
 * weight): Σ_t A[t]ᵀ·G[t] is one product A_flatᵀ·G_flat over the rows of all entries, instead of
 * a batch of products and a sum over the batch. When B is itself a transposed view (x·Wᵀ), the
 * product is formed as (G_flatᵀ·A_flat)ᵀ so that W's gradient comes out contiguous, as PyTorch's
 * grad_weight = grad_outputᵀ·input does. null when B has batch entries of its own.
 */
function foldedGradB(a: Tensor, g: Tensor, b: Tensor, batch: number[]): Tensor | null {
  const bShape = b.shape;
  if (batch.length === 0 || !bShape.slice(0, -2).every((d) => d === 1)) return null;
  const K = a.shape[a.ndim - 1]!;
  const N = g.shape[g.ndim - 1]!;
  const a2 = reshape(a, [-1, K]);
  const g2 = reshape(g, [-1, N]);
  const bTransposed = b.ndim === 2 && N > 1 && b.strides[0] === 1 && b.strides[1] === K;
  if (bTransposed) return transpose(bmmRaw(transpose(g2, 0, 1), a2, []), 0, 1);
  return reshape(bmmRaw(transpose(a2, 0, 1), g2, []), [...bShape]);
}

export function matmul(a0: Tensor, b0: Tensor): Tensor {
  if (a0.ndim === 0 || b0.ndim === 0) {
    throw new XtError(`matmul: both arguments need at least 1 dimension, got ${shapeStr(a0.shape)} and ${shapeStr(b0.shape)}`);
  }
  const dtype = promote(a0.dtype, b0.dtype);
  const a = cast(a0, dtype);
  const b = cast(b0, dtype);
  if (a.ndim === 1 && b.ndim === 1) {
    if (a.shape[0] !== b.shape[0]) {
      throw new XtError(`matmul: 1-D tensors must have the same size, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
    }
    return reshape(matmulNd(unsqueeze(a, 0), unsqueeze(b, 1)), []);
  }
  const inner = b.ndim === 1 ? b.shape[0]! : b.shape[b.ndim - 2]!;
  if (a.shape[a.ndim - 1] !== inner) {
    throw new XtError(`matmul: shapes ${shapeStr(a0.shape)} and ${shapeStr(b0.shape)} cannot be multiplied (inner sizes ${a.shape[a.ndim - 1]} and ${inner})`);
  }
  if (a.ndim === 1) return squeeze(matmulNd(unsqueeze(a, 0), b), -2);
  if (b.ndim === 1) return squeeze(matmulNd(a, unsqueeze(b, 1)), -1);
  return matmulNd(a, b);
}


