/**
 * The CUDA backend: the kernel interface of core/backend.ts on an NVIDIA GPU.
 *
 * The work happens in a native addon (backends/cuda/xt_cuda.<platform>.node, Rust, built by
 * scripts/build-native.sh) that loads the CUDA driver at run time, so xt itself runs on machines
 * without a GPU, a driver or even the addon: `probeCuda()` says why CUDA is unusable and
 * `createCudaBackend()` throws an XtError with that reason.
 *
 * Storages hold a device pointer plus a handle whose collection by the GC returns the block to
 * the addon's caching allocator. Kernels run asynchronously on one stream; `toHost` waits.
 */
import type { AdamParams, Backend, BinaryOp, ReduceOp, Storage, UnaryOp, View, Window2d } from "../../core/backend.ts";
import { hostArrayFor, isFloating, type DType, type HostArray } from "../../core/dtype.ts";
import { XtError } from "../../core/errors.ts";
import { contiguousStrides, isContiguous, numel, sameShape, windowOutput } from "../../core/shape.ts";
import { CUDA_ADDON_FILE } from "../native_platform.ts";
import { requireCudaAddon } from "./addon_file.ts";

export type CudaProbe = { ok: true; device: string } | { ok: false; reason: string };

/** The addon's functions (backends/cuda/src/lib.rs); op arguments are packed Float64Arrays. */
interface Addon {
  available(): { ok: boolean; device?: string; reason?: string };
  init(): string;
  alloc(bytes: number, out: Float64Array): object;
  htod(ptr: number, data: ArrayBufferView): void;
  dtoh(ptr: number, data: ArrayBufferView): void;
  sync(): void;
  memory(): { inUse: number; cached: number };
  trim(): number;
  elementwise(args: Float64Array): void;
  reduce(args: Float64Array): void;
  matmul(args: Float64Array): void;
  softmax(args: Float64Array): void;
  full(args: Float64Array): void;
  adam(args: Float64Array): void;
  gatherRows(args: Float64Array): boolean;
  scatterAddRows(args: Float64Array): boolean;
  window2d(args: Float64Array): void;
}

// Literal per-platform paths (addon_file.ts), so `bun build --compile` embeds this platform's addon.
const required = requireCudaAddon();
const addon = required.ok ? (required.module as Addon) : null;
const addonError = required.ok ? "" : required.error;
const addonMissing = !required.ok && required.missing;

/** Whether the addon loaded, and from where or why not (for `xt info`). */
export function addonInfo(): { loaded: true; path: string } | { loaded: false; error: string } {
  return addon ? { loaded: true, path: `backends/cuda/${CUDA_ADDON_FILE}` } : { loaded: false, error: addonError };
}

/** Whether CUDA can be used here, and if not, why (one line). Never throws. */
export function probeCuda(): CudaProbe {
  if (!addon) {
    return {
      ok: false,
      reason: addonMissing
        ? `the CUDA addon ${CUDA_ADDON_FILE} is not built (scripts/build-native.sh builds it; it needs nvcc)`
        : `the CUDA addon backends/cuda/${CUDA_ADDON_FILE} could not be loaded (${addonError})`,
    };
  }
  try {
    const r = addon.available();
    return r.ok ? { ok: true, device: String(r.device) } : { ok: false, reason: String(r.reason) };
  } catch (e) {
    return { ok: false, reason: `probing CUDA failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The CUDA backend, or an XtError saying why CUDA cannot be used on this machine. */
export function createCudaBackend(): CudaBackend {
  const probe = probeCuda();
  if (!probe.ok) throw new XtError(`CUDA is not available: ${probe.reason}`);
  return new CudaBackend();
}

// ---- codes shared with the addon and kernels/common.cuh (same order as the C++ enums) -------------

export const DTYPE_CODES: Record<DType, number> = { float32: 0, float64: 1, int32: 2, bool: 3 };
const DTYPE_BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };
export const UNARY_OPS: readonly UnaryOp[] = [
  "neg", "exp", "log", "sqrt", "rsqrt", "tanh", "erf", "relu", "gelu", "abs", "sign", "square",
];
export const BINARY_OPS: readonly BinaryOp[] = [
  "add", "sub", "mul", "div", "pow", "maximum", "lt", "le", "gt", "ge", "eq", "ne",
  "gelu_grad", "relu_grad", "erf_grad",
];
export const REDUCE_OPS: readonly ReduceOp[] = ["sum", "max", "argmax"];
const EW_COPY = 0, EW_UNARY = 1, EW_BINARY = 2, EW_WHERE = 3;

/** Device memory. `handle` keeps the block alive; when the GC collects it, the block is reused. */
export class CudaStorage implements Storage {
  constructor(
    readonly dtype: DType,
    readonly size: number,
    /** Device address (exact: device addresses are far below 2^53). */
    readonly ptr: number,
    readonly handle: object,
  ) {}
}

/** The one stride that walks dims `shape` (strides `strides`) in row-major order, or null if none does. */
function mergedStride(shape: readonly number[], strides: readonly number[]): number | null {
  let stride: number | null = null;
  let expect = 0;
  for (let i = shape.length - 1; i >= 0; i--) {
    const size = shape[i]!;
    if (size === 1) continue;
    if (size === 0) return 0;
    const st = strides[i]!;
    if (stride === null) stride = st;
    else if (st !== expect) return null;
    expect = st * size;
  }
  return stride ?? 0;
}

/** Number of leading elements when the trailing dims of `shape` holding `inner` elements are removed. */
function outerCount(shape: readonly number[], inner: number): number {
  let suffix = 1;
  for (let k = shape.length; k >= 0; k--) {
    if (k < shape.length) suffix *= shape[k]!;
    if (suffix === inner) return numel(shape.slice(0, k));
  }
  throw new Error(`reduce: no trailing dims of [${shape.join(", ")}] hold ${inner} elements`);
}

/** Packs op arguments for the addon into one reusable Float64Array (see src/ops.rs). */
class Packer {
  private buf = new Float64Array(512);
  private n = 0;

  start(): this {
    this.n = 0;
    return this;
  }
  num(x: number): this {
    if (this.n === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.n++] = x;
    return this;
  }
  /** [ptr, dtype, offset, ndim, shape..., strides...] */
  view(v: View): this {
    const s = storageOf(v.storage);
    if (v.shape.length !== v.strides.length) throw new Error("view: shape and strides differ in length");
    this.num(s.ptr).num(DTYPE_CODES[s.dtype]).num(v.offset).num(v.shape.length);
    for (const d of v.shape) this.num(d);
    for (const d of v.strides) this.num(d);
    return this;
  }
  /** A contiguous view of a fresh output storage. */
  out(s: CudaStorage, shape: readonly number[]): this {
    return this.view({ storage: s, shape, strides: contiguousStrides(shape), offset: 0 });
  }
  done(): Float64Array {
    return this.buf; // the addon reads only as far as the op's layout goes
  }
}

function storageOf(s: Storage): CudaStorage {
  if (!(s instanceof CudaStorage)) throw new Error("the CUDA backend was given a storage from another backend");
  return s;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isOutOfMemory(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "XT_CUDA_OOM";
}

/** Host data converted to the typed array of `dtype` (the input itself when it already is one). */
function toHostArray(data: ArrayLike<number>, dtype: DType): HostArray {
  const out = hostArrayFor(dtype, data.length);
  if (out.constructor === (data as object).constructor && dtype !== "bool") return data as HostArray;
  if (dtype === "bool") {
    for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0 ? 1 : 0; // NaN is true
  } else {
    out.set(data); // float32 rounds, int32 truncates toward zero (NaN -> 0)
  }
  return out;
}

export class CudaBackend implements Backend {
  readonly name = "cuda";
  /** e.g. "NVIDIA H100 80GB HBM3 (sm_90, driver for CUDA 12.8)" */
  readonly device: string;
  private readonly cu: Addon;
  private readonly pack = new Packer();
  private readonly allocOut = new Float64Array(2);

  constructor() {
    if (!addon) {
      const probe = probeCuda();
      throw new XtError(`CUDA is not available: ${probe.ok ? "the addon is missing" : probe.reason}`);
    }
    this.cu = addon;
    try {
      this.device = this.cu.init();
    } catch (e) {
      throw new XtError(`CUDA initialization failed: ${errorMessage(e)}`);
    }
  }

  /** Wait for all queued kernels (timing, error checks). */
  synchronize(): void {
    this.cu.sync();
  }

  /** Bytes held by live storages and by the allocator's cache. */
  memory(): { inUse: number; cached: number } {
    return this.cu.memory();
  }

  /** Give the allocator's cached blocks back to the driver. */
  emptyCache(): number {
    return this.cu.trim();
  }

  // ---- memory ----

  private alloc(dtype: DType, size: number): CudaStorage {
    const bytes = size * DTYPE_BYTES[dtype];
    let handle: object;
    try {
      handle = this.cu.alloc(bytes, this.allocOut);
    } catch (e) {
      if (!isOutOfMemory(e)) throw e;
      // Dead tensors may still hold device memory: a full GC runs their finalizers (synchronously,
      // see src/memory.rs), which hands their blocks back; then try once more.
      (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun?.gc(true);
      try {
        handle = this.cu.alloc(bytes, this.allocOut);
      } catch (e2) {
        if (isOutOfMemory(e2)) throw new XtError(errorMessage(e2));
        throw e2;
      }
    }
    return new CudaStorage(dtype, size, this.allocOut[0]!, handle);
  }

  fromHost(data: ArrayLike<number>, dtype: DType): Storage {
    const host = toHostArray(data, dtype);
    const s = this.alloc(dtype, host.length);
    if (host.length > 0) this.cu.htod(s.ptr, host);
    return s;
  }

  toHost(s: Storage): HostArray {
    const st = storageOf(s);
    const out = hostArrayFor(st.dtype, st.size);
    if (st.size > 0) this.cu.dtoh(st.ptr, out);
    return out;
  }

  full(size: number, value: number, dtype: DType): Storage {
    const s = this.alloc(dtype, size);
    this.cu.full(this.pack.start().num(s.ptr).num(size).num(DTYPE_CODES[dtype]).num(value).done());
    return s;
  }

  contiguous(v: View, dtype: DType = v.storage.dtype): Storage {
    const out = this.alloc(dtype, numel(v.shape));
    this.cu.elementwise(this.pack.start().num(EW_COPY).num(0).out(out, v.shape).view(v).done());
    return out;
  }

  copyInto(dst: View, src: View): void {
    if (!sameShape(dst.shape, src.shape)) {
      throw new Error(`copyInto: shapes [${dst.shape}] and [${src.shape}] differ`);
    }
    this.cu.elementwise(this.pack.start().num(EW_COPY).num(0).view(dst).view(src).done());
  }

  // ---- elementwise ----

  unary(op: UnaryOp, x: View): Storage {
    const code = UNARY_OPS.indexOf(op);
    if (code < 0) throw new Error(`unknown unary op ${op}`);
    const out = this.alloc(x.storage.dtype, numel(x.shape));
    this.cu.elementwise(this.pack.start().num(EW_UNARY).num(code).out(out, x.shape).view(x).done());
    return out;
  }

  binary(op: BinaryOp, a: View, b: View, outDtype: DType): Storage {
    const code = BINARY_OPS.indexOf(op);
    if (code < 0) throw new Error(`unknown binary op ${op}`);
    const out = this.alloc(outDtype, numel(a.shape));
    this.cu.elementwise(this.pack.start().num(EW_BINARY).num(code).out(out, a.shape).view(a).view(b).done());
    return out;
  }

  where(cond: View, a: View, b: View, outDtype: DType): Storage {
    const out = this.alloc(outDtype, numel(cond.shape));
    this.cu.elementwise(this.pack.start().num(EW_WHERE).num(0).out(out, cond.shape).view(cond).view(a).view(b).done());
    return out;
  }

  // ---- reductions ----

  reduce(op: ReduceOp, x: View, inner: number): Storage {
    const code = REDUCE_OPS.indexOf(op);
    if (code < 0) throw new Error(`unknown reduce op ${op}`);
    const xd = x.storage.dtype;
    const outDtype: DType = op === "argmax" ? "int32" : op === "sum" && xd === "bool" ? "int32" : xd;
    const outer = outerCount(x.shape, inner);
    if (inner === 0) {
      if (op === "sum") return this.full(outer, 0, outDtype);
      if (outer > 0) throw new XtError(`${op} of an empty tensor is undefined`);
    }
    const out = this.alloc(outDtype, outer);
    if (outer > 0) {
      this.cu.reduce(this.pack.start().num(code).num(out.ptr).num(DTYPE_CODES[outDtype]).num(inner).view(x).done());
    }
    return out;
  }

  // ---- linear algebra ----

  matmul(a: View, b: View): Storage {
    if (a.shape.length !== 3 || b.shape.length !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
      throw new Error(`matmul: shapes [${a.shape}] and [${b.shape}] are not [B, M, K] and [B, K, N]`);
    }
    // Core has already promoted both operands to one dtype.
    const dtype = a.storage.dtype;
    if (b.storage.dtype !== dtype || !isFloating(dtype)) {
      throw new XtError(`matmul takes two float32 or two float64 operands on CUDA, got ${dtype} and ${b.storage.dtype}`);
    }
    const [B, M] = a.shape as [number, number, number];
    const N = b.shape[2]!;
    const out = this.alloc(dtype, B * M * N);
    this.cu.matmul(this.pack.start().num(out.ptr).view(a).view(b).done());
    return out;
  }

  private asDtype(v: View, dtype: DType): View {
    if (v.storage.dtype === dtype) return v;
    return { storage: this.contiguous(v, dtype), shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 };
  }

  // ---- softmax family ----

  // Core hands these views of any rank (softmax over the last dim, e.g. attention scores
  // [N, H, S, T]); the kernels take [R, C] rows, see asRows.

  softmax(x: View, log: boolean): Storage {
    this.checkFloating(x, "softmax");
    const xr = this.asRows(x);
    const out = this.alloc(x.storage.dtype, numel(x.shape));
    this.cu.softmax(this.pack.start().num(log ? 1 : 0).num(0).num(out.ptr).view(xr).done());
    return out;
  }

  softmaxBackward(y: View, gy: View, log: boolean): Storage {
    this.checkFloating(y, "softmaxBackward");
    if (!sameShape(y.shape, gy.shape)) throw new Error(`softmaxBackward: shapes [${y.shape}] and [${gy.shape}] differ`);
    const yr = this.asRows(y);
    const gyr = this.asRows(this.asDtype(gy, y.storage.dtype));
    const out = this.alloc(y.storage.dtype, numel(y.shape));
    this.cu.softmax(this.pack.start().num(log ? 1 : 0).num(1).num(out.ptr).view(yr).view(gyr).done());
    return out;
  }

  private checkFloating(x: View, what: string): void {
    if (!isFloating(x.storage.dtype)) throw new XtError(`${what} of a ${x.storage.dtype} tensor is not supported`);
  }

  /**
   * x as a logical [R, C] view (C = the last dim, R = the product of the others): the leading dims
   * merged into one row stride when they can be, else a contiguous copy.
   */
  private asRows(x: View): View {
    const nd = x.shape.length;
    if (nd === 2) return x;
    if (nd === 0) return { storage: x.storage, shape: [1, 1], strides: [1, 1], offset: x.offset };
    const C = x.shape[nd - 1]!;
    const cs = x.strides[nd - 1]!;
    const rowStride = mergedStride(x.shape.slice(0, -1), x.strides.slice(0, -1));
    if (rowStride !== null) return { storage: x.storage, shape: [numel(x.shape) / (C || 1), C], strides: [rowStride, cs], offset: x.offset };
    const s = this.contiguous(x);
    return { storage: s, shape: [numel(x.shape) / (C || 1), C], strides: [C, 1], offset: 0 };
  }

  // ---- indexing ----

  gatherRows(x: View, index: View): Storage {
    if (x.shape.length !== 2 || index.shape.length !== 1) {
      throw new Error(`gatherRows: expected [R, C] and [n] views, got [${x.shape}] and [${index.shape}]`);
    }
    const [R, C] = x.shape as [number, number];
    const n = index.shape[0]!;
    const out = this.alloc(x.storage.dtype, n * C);
    const ok = this.cu.gatherRows(this.pack.start().num(out.ptr).view(x).view(index).done());
    if (!ok) throw new XtError(`gatherRows: an index is out of range for ${R} rows`);
    return out;
  }

  scatterAddRows(src: View, index: View, rows: number): Storage {
    if (src.shape.length !== 2 || index.shape.length !== 1 || index.shape[0] !== src.shape[0]) {
      throw new Error(`scatterAddRows: expected [n, C] and [n] views, got [${src.shape}] and [${index.shape}]`);
    }
    const dtype = src.storage.dtype;
    if (!isFloating(dtype)) throw new XtError(`scatterAddRows of ${dtype} rows is not supported on CUDA`);
    const out = this.alloc(dtype, rows * src.shape[1]!);
    const ok = this.cu.scatterAddRows(this.pack.start().num(out.ptr).num(rows).view(src).view(index).done());
    if (!ok) throw new XtError(`scatterAddRows: an index is out of range for ${rows} rows`);
    return out;
  }

  // ---- 2-D windows (src/ops.rs window2d: op 0 im2row, 1 row2im, 2 max pool, 3 its backward) ----

  private window(op: number, out: CudaStorage, aux: CudaStorage | null, N: number, C: number, H: number, W: number, w: Window2d, x: View, indices?: View): void {
    const [Ho, Wo] = windowOutput(H, W, w);
    const p = this.pack.start().num(op).num(out.ptr).num(aux ? aux.ptr : 0);
    for (const v of [N, C, H, W, Ho, Wo, w.kh, w.kw, w.sh, w.sw, w.ph, w.pw]) p.num(v);
    p.view(x);
    if (indices) p.view(indices);
    this.cu.window2d(p.done());
  }

  im2row(x: View, w: Window2d): Storage {
    this.checkFloating(x, "im2row");
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [Ho, Wo] = windowOutput(H, W, w);
    const out = this.alloc(x.storage.dtype, N * C * w.kh * w.kw * Ho * Wo);
    this.window(0, out, null, N, C, H, W, w, x);
    return out;
  }

  row2im(rows: View, w: Window2d, height: number, width: number): Storage {
    this.checkFloating(rows, "row2im");
    const N = rows.shape[0]!;
    const C = rows.shape[2]! / (w.kh * w.kw);
    const out = this.alloc(rows.storage.dtype, N * C * height * width);
    this.window(1, out, null, N, C, height, width, w, rows);
    return out;
  }

  maxPool2d(x: View, w: Window2d): { y: Storage; indices: Storage } {
    this.checkFloating(x, "maxPool2d");
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [Ho, Wo] = windowOutput(H, W, w);
    const y = this.alloc(x.storage.dtype, N * C * Ho * Wo);
    const indices = this.alloc("int32", N * C * Ho * Wo);
    this.window(2, y, indices, N, C, H, W, w, x);
    return { y, indices };
  }

  maxPool2dBackward(gy: View, indices: View, w: Window2d, height: number, width: number): Storage {
    this.checkFloating(gy, "maxPool2dBackward");
    const [N, C] = gy.shape as [number, number, number, number];
    const out = this.alloc(gy.storage.dtype, N * C * height * width);
    this.window(3, out, null, N, C, height, width, w, gy, indices);
    return out;
  }

  // ---- optimizer ----

  adamStepInPlace(param: Storage, grad: View, m: Storage, v: Storage, p: AdamParams): void {
    const ps = storageOf(param), ms = storageOf(m), vs = storageOf(v);
    if (numel(grad.shape) !== ps.size || ms.size !== ps.size || vs.size !== ps.size) {
      throw new Error("adamStepInPlace: param, grad, m and v differ in size");
    }
    if (ms.dtype !== ps.dtype || vs.dtype !== ps.dtype) throw new Error("adamStepInPlace: param, m and v differ in dtype");
    // The kernel reads the gradient as a flat run of elements.
    const g = isContiguous(grad.shape, grad.strides) ? grad : { storage: this.contiguous(grad), shape: grad.shape, strides: [], offset: 0 };
    const gs = storageOf(g.storage);
    this.cu.adam(
      this.pack.start()
        .num(ps.ptr).num(ms.ptr).num(vs.ptr).num(ps.size).num(DTYPE_CODES[ps.dtype])
        .num(gs.ptr).num(g.offset).num(DTYPE_CODES[gs.dtype])
        .num(p.lr).num(p.beta1).num(p.beta2).num(p.eps).num(p.weightDecay).num(p.step)
        .done(),
    );
  }
}
