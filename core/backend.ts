/**
 * The kernel interface every device implements (see docs/architecture.md).
 *
 * Core never reads a backend's storage: it hands the backend strided *views* of storages the
 * backend allocated and gets new storages back. Data reaches the host only through `toHost`.
 * Every kernel writes a fresh, contiguous (row-major) output unless its name says "Into"/"InPlace".
 */
import type { DType, HostArray } from "./dtype.ts";

/** Opaque device memory. Only the backend that made it may look inside. */
export interface Storage {
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
}

/** A strided window onto a storage: element [i0, i1, …] lives at offset + Σ ik·strides[k]. */
export interface View {
  storage: Storage;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

export type UnaryOp =
  | "neg" | "exp" | "log" | "sqrt" | "rsqrt" | "tanh" | "erf" | "relu" | "gelu" | "abs" | "sign" | "square";

/**
 * Binary ops. The comparison ops produce bool. The `*_grad` ops are the backward of the
 * matching unary op: a = the forward input x, b = the upstream gradient.
 */
export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "pow" | "maximum"
  | "lt" | "le" | "gt" | "ge" | "eq" | "ne"
  | "gelu_grad" | "relu_grad" | "erf_grad";

export type ReduceOp = "sum" | "max" | "argmax";

export interface AdamParams {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  /** 1-based step count after this update. */
  step: number;
}

/**
 * The geometry of a 2-D window op over x [N, C, H, W]: a kh×kw window moved by sh rows / sw
 * columns over the image with ph rows / pw columns of padding on each side. The output is
 * Ho×Wo with Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1 (and the same for Wo).
 */
export interface Window2d {
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
}

/** What a fused layer norm forward keeps for its backward (opaque: only its backend reads it). */
export interface LayerNormSaved {
  readonly mean: Storage;
  readonly rstd: Storage;
}

export interface Backend {
  readonly name: string;

  // ---- memory ----
  /** Upload host data (converted to dtype). */
  fromHost(data: ArrayLike<number>, dtype: DType): Storage;
  /** Copy a whole storage back to the host. */
  toHost(s: Storage): HostArray;
  /** A new storage of `size` elements, all equal to `value`. */
  full(size: number, value: number, dtype: DType): Storage;
  /** Gather a strided view into a new contiguous storage, converting to `dtype` (default: same). */
  contiguous(v: View, dtype?: DType): Storage;
  /** Write `src` (already broadcast to dst.shape) into the strided view `dst`, converting dtype. */
  copyInto(dst: View, src: View): void;

  // ---- elementwise (inputs are views already broadcast to the output shape) ----
  unary(op: UnaryOp, x: View): Storage;
  binary(op: BinaryOp, a: View, b: View, outDtype: DType): Storage;
  /** out = cond ? a : b. */
  where(cond: View, a: View, b: View, outDtype: DType): Storage;

  // ---- reductions over the innermost `inner` elements of a view's logical order ----
  /**
   * x's logical shape is [...outer, ...reduced] where the reduced dims are the last ones; the
   * result has prod(outer) elements. argmax returns int32 flat indices into the reduced part.
   */
  reduce(op: ReduceOp, x: View, inner: number): Storage;

  // ---- linear algebra ----
  /** Batched matmul: a [B, M, K] · b [B, K, N] → [B, M, N] (any strides; 0 strides broadcast). */
  matmul(a: View, b: View): Storage;

  // ---- softmax family, over the last dim of a logical [R, C] view ----
  softmax(x: View, log: boolean): Storage;
  /** Backward of softmax (log=false, y = softmax out) or log_softmax (log=true, y = its out). */
  softmaxBackward(y: View, gy: View, log: boolean): Storage;

  // ---- indexing ----
  /** Rows of a logical [R, C] view picked by int32 indices [n] → [n, C]. */
  gatherRows(x: View, index: View): Storage;
  /** [R, C] zeros with src rows [n, C] added at rows index [n] (the backward of gatherRows). */
  scatterAddRows(src: View, index: View, rows: number): Storage;

  // ---- 2-D windows (convolution as im2row + one matmul, max pooling) ----
  /**
   * The window patches as rows: x [N, C, H, W] (any strides) → [N, Ho·Wo, C·kh·kw], row
   * oy·Wo + ox holding pixel (c, oy·sh − ph + i, ox·sw − pw + j) at column (c·kh + i)·kw + j, 0 in
   * the padding (F.unfold transposed: each row is one position's patch, ready for x·Wᵀ).
   */
  im2row(x: View, w: Window2d): Storage;
  /** im2row's backward (F.fold): rows [N, Ho·Wo, C·kh·kw] → [N, C, H, W], each value added to the pixel it came from. */
  row2im(rows: View, w: Window2d, height: number, width: number): Storage;
  /**
   * Max pooling x [N, C, H, W] → y [N, C, Ho, Wo] and int32 indices [N, C, Ho, Wo], each the
   * flat position h·W + w in its plane of the window's maximum: the first in row-major window
   * order on ties, the last NaN if there is one (PyTorch's CPU kernel). Padding never wins.
   */
  maxPool2d(x: View, w: Window2d): { y: Storage; indices: Storage };
  /** maxPool2d's backward: gy and indices [N, C, Ho, Wo] of window w → gx [N, C, H, W], each gradient added at its index. */
  maxPool2dBackward(gy: View, indices: View, w: Window2d, height: number, width: number): Storage;

  // ---- optimizer ----
  /** PyTorch Adam (L2 weight decay added to the gradient), updating param, m and v in place. */
  adamStepInPlace(param: Storage, grad: View, m: Storage, v: Storage, p: AdamParams): void;

  // ---- optional fused kernels ----
  // Core uses these when a backend has them and they return non-null, and otherwise composes the
  // op from the required kernels above (same results up to rounding). A backend may return null
  // for inputs it does not handle (e.g. a dtype), and core then composes.

  /** y = x·weightᵀ + bias with x [R, K], weight [N, K], bias [N] or null → y [R, N] contiguous. */
  linear?(x: View, weight: View, bias: View | null): Storage | null;

  /**
   * Layer norm over the last dim of x: y = (x − mean)/√(var + eps)·weight + bias (biased var;
   * weight, bias [C] or null). y is contiguous in x's shape; `saved` goes to layerNormBackward.
   */
  layerNorm?(x: View, weight: View | null, bias: View | null, eps: number): { y: Storage; saved: LayerNormSaved } | null;
  /** Gradients of layerNorm w.r.t. x (contiguous, x's shape), weight and bias ([C] each). */
  layerNormBackward?(gy: View, x: View, weight: View | null, saved: LayerNormSaved): { gx: Storage; gw: Storage; gb: Storage };
  /**
   * Cross-entropy of logits [N, C] against int32 class targets [N] (already range-checked):
   * loss [N] = logsumexp(logits[r]) − logits[r, target[r]]; `saved` goes to crossEntropyBackward.
   */
  crossEntropy?(logits: View, target: View): { loss: Storage; saved: Storage } | null;
  /** d(loss)/d(logits) [N, C] contiguous, given gLoss [N] = d(out)/d(loss). */
  crossEntropyBackward?(logits: View, target: View, saved: Storage, gLoss: View): Storage;

  /**
   * Scaled dot-product attention of every (batch, head) in one kernel: weights = softmax over the
   * last dim of Q·Kᵀ / scale with the `blocked` entries at −∞, out = (weights ⊙ drop)·V.
   * q [B, H, S, D], k and v [B, H, T, D] (any strides), blocked a bool [S, T] view (true: blocked)
   * or null, drop the dropout multipliers (0 or 1/(1−p)) as a contiguous [B, H, S, T] view or null.
   * out is [B, S, H, D] contiguous (the heads side by side, as the output projection reads them);
   * `weights` [B, H, S, T] (before dropout) goes to attentionBackward. The same numbers as core's
   * composition (matmul, div, masked fill, softmax, mul, matmul) up to rounding.
   */
  attention?(q: View, k: View, v: View, blocked: View | null, drop: View | null, scale: number): { out: Storage; weights: Storage } | null;
  /** Gradients of attention given gOut [B, S, H, D] (any strides): gq [B, S, H, D], gk and gv [B, T, H, D], contiguous. */
  attentionBackward?(
    gOut: View, q: View, k: View, v: View, blocked: View | null, drop: View | null, weights: Storage, scale: number,
  ): { gq: Storage; gk: Storage; gv: Storage };
}
