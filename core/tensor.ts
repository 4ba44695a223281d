/**
 * Tensor: a strided view onto backend storage, plus the autograd fields. The math lives in
 * core/ops/*; the methods here are the PyTorch-style spelling of those functions.
 */
import type { Backend, Storage, View } from "./backend.ts";
import type { DType, HostArray } from "./dtype.ts";
import { isFloating } from "./dtype.ts";
import { runBackward, type GradFn } from "./autograd.ts";
import { XtError } from "./errors.ts";
import { contiguousStrides, isContiguous, numel, shapeStr, type Shape } from "./shape.ts";
import * as E from "./ops/elementwise.ts";
import * as R from "./ops/reduce.ts";
import * as V from "./ops/views.ts";
import * as M from "./ops/matmul.ts";
import * as S from "./ops/softmax.ts";
import * as I from "./ops/indexing.ts";

export type Scalar = number;
export type TensorLike = Tensor | Scalar;

export class Tensor implements View {
  grad: Tensor | null = null;
  gradFn: GradFn | null = null;
  /** Keep .grad on a non-leaf (PyTorch's retain_grad()). */
  retainsGrad = false;
  /** Called after backward() has accumulated this leaf's .grad (register_post_accumulate_grad_hook). */
  postAccumulateGradHooks: ((t: Tensor) => void)[] | null = null;
  private _requiresGrad = false;

  constructor(
    readonly backend: Backend,
    readonly storage: Storage,
    readonly shape: number[],
    readonly strides: number[] = contiguousStrides(shape),
    readonly offset = 0,
  ) {}

  get dtype(): DType {
    return this.storage.dtype;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return numel(this.shape);
  }
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(v: boolean) {
    if (v && !isFloating(this.dtype)) {
      throw new XtError(`only floating-point tensors can require gradients (this one is ${this.dtype})`);
    }
    this._requiresGrad = v;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }
  size(dim?: number): number | number[] {
    if (dim === undefined) return [...this.shape];
    return this.shape[dim < 0 ? dim + this.ndim : dim]!;
  }

  requiresGrad_(v = true): this {
    this.requiresGrad = v;
    return this;
  }
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }
  /**
   * PyTorch's register_post_accumulate_grad_hook: `hook(this)` runs during backward() as soon as
   * this leaf's .grad holds its final value for that backward (data-parallel training starts a
   * bucket's all-reduce there). Returns a function that removes the hook.
   */
  registerPostAccumulateGradHook(hook: (t: Tensor) => void): () => void {
    if (!this.isLeaf) throw new XtError("registerPostAccumulateGradHook: only leaf tensors accumulate gradients");
    (this.postAccumulateGradHooks ??= []).push(hook);
    return () => {
      const hooks = this.postAccumulateGradHooks;
      const i = hooks ? hooks.indexOf(hook) : -1;
      if (i >= 0) hooks!.splice(i, 1);
      if (hooks && hooks.length === 0) this.postAccumulateGradHooks = null;
    };
  }
  /** A tensor sharing storage but cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.backend, this.storage, this.shape, this.strides, this.offset);
  }

  // ---- host access ----
  /** Elements in row-major order, as a fresh typed array of the tensor's dtype. */
  data(): HostArray {
    const s = this.isContiguous() && this.offset === 0 && this.storage.size === this.numel
      ? this.storage
      : this.backend.contiguous(this);
    return this.backend.toHost(s);
  }
  /** Elements in row-major order as plain numbers. */
  toArray(): number[] {
    return Array.from(this.data());
  }
  /** Nested arrays like torch's tolist(). */
  tolist(): unknown {
    const flat = this.toArray();
    const build = (dim: number, off: number): unknown => {
      if (dim === this.ndim) return flat[off];
      const step = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, off + i * step));
    };
    return build(0, 0);
  }
  item(): number {
    if (this.numel !== 1) throw new XtError(`item(): tensor of shape ${shapeStr(this.shape)} has ${this.numel} elements, not 1`);
    return this.data()[0]!;
  }
  toString(): string {
    return `tensor(${JSON.stringify(this.tolist())}, dtype=${this.dtype})`;
  }

  // ---- autograd ----
  backward(grad?: Tensor): void {
    if (!this.requiresGrad) throw new XtError("backward(): tensor does not require grad and has no grad_fn");
    let g = grad;
    if (!g) {
      if (this.numel !== 1) {
        throw new XtError(`backward(): grad can be implicitly created only for scalar outputs (shape ${shapeStr(this.shape)})`);
      }
      g = E.fullLike(this, 1);
    } else if (!V.sameShapeAs(g, this)) {
      throw new XtError(`backward(): gradient shape ${shapeStr(g.shape)} does not match output shape ${shapeStr(this.shape)}`);
    }
    runBackward(this, g, E.add);
  }

  // ---- elementwise ----
  add(o: TensorLike): Tensor { return E.add(this, o); }
  sub(o: TensorLike): Tensor { return E.sub(this, o); }
  mul(o: TensorLike): Tensor { return E.mul(this, o); }
  div(o: TensorLike): Tensor { return E.div(this, o); }
  pow(o: TensorLike): Tensor { return E.pow(this, o); }
  maximum(o: TensorLike): Tensor { return E.maximum(this, o); }
  neg(): Tensor { return E.neg(this); }
  exp(): Tensor { return E.exp(this); }
  log(): Tensor { return E.log(this); }
  sqrt(): Tensor { return E.sqrt(this); }
  rsqrt(): Tensor { return E.rsqrt(this); }
  tanh(): Tensor { return E.tanh(this); }
  erf(): Tensor { return E.erf(this); }
  relu(): Tensor { return E.relu(this); }
  gelu(): Tensor { return E.gelu(this); }
  abs(): Tensor { return E.abs(this); }
  square(): Tensor { return E.square(this); }
  lt(o: TensorLike): Tensor { return E.compare("lt", this, o); }
  le(o: TensorLike): Tensor { return E.compare("le", this, o); }
  gt(o: TensorLike): Tensor { return E.compare("gt", this, o); }
  ge(o: TensorLike): Tensor { return E.compare("ge", this, o); }
  eq(o: TensorLike): Tensor { return E.compare("eq", this, o); }
  ne(o: TensorLike): Tensor { return E.compare("ne", this, o); }
  maskedFill(mask: Tensor, value: number): Tensor { return E.maskedFill(this, mask, value); }
  to(dtype: DType): Tensor { return E.cast(this, dtype); }
  float(): Tensor { return E.cast(this, "float32"); }
  double(): Tensor { return E.cast(this, "float64"); }

  // ---- reductions ----
  sum(dim?: number | number[] | null, keepdim = false): Tensor { return R.sum(this, dim, keepdim); }
  mean(dim?: number | number[] | null, keepdim = false): Tensor { return R.mean(this, dim, keepdim); }
  var(dim?: number | number[] | null, unbiased = true, keepdim = false): Tensor { return R.variance(this, dim, unbiased, keepdim); }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return dim === undefined ? R.maxAll(this) : R.maxDim(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor { return R.argmax(this, dim, keepdim); }

  // ---- views ----
  reshape(...shape: (number | number[])[]): Tensor { return V.reshape(this, V.flatShapeArgs(shape)); }
  view(...shape: (number | number[])[]): Tensor { return V.view(this, V.flatShapeArgs(shape)); }
  permute(...dims: (number | number[])[]): Tensor { return V.permute(this, V.flatShapeArgs(dims)); }
  transpose(d0: number, d1: number): Tensor { return V.transpose(this, d0, d1); }
  get T(): Tensor { return V.transpose(this, 0, 1); }
  unsqueeze(dim: number): Tensor { return V.unsqueeze(this, dim); }
  squeeze(dim?: number): Tensor { return V.squeeze(this, dim); }
  expand(...shape: (number | number[])[]): Tensor { return V.expand(this, V.flatShapeArgs(shape)); }
  narrow(dim: number, start: number, length: number): Tensor { return V.narrow(this, dim, start, length); }
  contiguous(): Tensor { return V.contiguous(this); }
  flatten(startDim = 0, endDim = -1): Tensor { return V.flatten(this, startDim, endDim); }

  // ---- the rest ----
  matmul(o: Tensor): Tensor { return M.matmul(this, o); }
  softmax(dim: number): Tensor { return S.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return S.logSoftmax(this, dim); }
  indexSelect(dim: number, index: Tensor): Tensor { return I.indexSelect(this, dim, index); }
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}

/** Shape helper used in messages. */
export function describe(t: Tensor): string {
  return shapeStr(t.shape as Shape);
}
