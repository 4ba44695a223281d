/**
 * The CPU backend: host typed arrays as storage. float32 work runs on the native kernels
 * (backends/cpu/native.ts → native/xt_cpu.node) when the addon is loaded; everything else, and
 * every kernel when the addon is missing or disabled, runs on the TypeScript kernels in this folder.
 */
import type { AdamParams, Backend, BinaryOp, LayerNormSaved, ReduceOp, Storage, UnaryOp, View } from "../../core/backend.ts";
import type { DType, HostArray } from "../../core/dtype.ts";
import { adamStepInPlace } from "./adam.ts";
import * as E from "./elementwise.ts";
import { gatherRows, scatterAddRows } from "./gather.ts";
import { batchedGemm } from "./matmul.ts";
import {
  BINARY_CODE, MAX_DIMS, REDUCE_CODE, UNARY_CODE, ensureMeta, native, putView,
} from "./native.ts";
import { reduce } from "./reduce.ts";
import { softmax, softmaxBackward } from "./softmax.ts";
import { CpuStorage, dataOf } from "./storage.ts";
import { isDense, viewSize } from "./strided.ts";

const f32 = (s: Storage): Float32Array | null => {
  const d = (s as CpuStorage).data;
  return d instanceof Float32Array ? d : null;
};
const fits = (v: View): boolean => v.shape.length <= MAX_DIMS;
/** A dense [n] view over a fresh output, for kernels that take a destination view. */
function denseView(storage: Storage, shape: readonly number[]): View {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return { storage, shape, strides, offset: 0 };
}

/** Saved layer-norm statistics: per-row mean and 1/σ (float64). */
class CpuLayerNormSaved implements LayerNormSaved {
  constructor(readonly mean: CpuStorage, readonly rstd: CpuStorage) {}
}

const EMPTY_F32 = new Float32Array(0);

export class CpuBackend implements Backend {
  readonly name = "cpu";

  fromHost(data: ArrayLike<number>, dtype: DType): Storage {
    const s = CpuStorage.allocUninit(dtype, data.length);
    const arr = s.data;
    if (dtype === "bool") for (let i = 0; i < data.length; i++) arr[i] = data[i] ? 1 : 0;
    else arr.set(data as ArrayLike<number>);
    return s;
  }
  toHost(s: Storage): HostArray {
    return dataOf(s).slice();
  }
  full(size: number, value: number, dtype: DType): Storage {
    if (value === 0) return CpuStorage.alloc(dtype, size);
    const s = CpuStorage.allocUninit(dtype, size);
    s.data.fill(dtype === "bool" ? (value ? 1 : 0) : value);
    return s;
  }
  contiguous(v: View, dtype?: DType): Storage {
    const nat = native();
    if (nat && (dtype === undefined || dtype === "float32") && fits(v)) {
      const src = f32(v.storage);
      if (src && !isDense(v)) {
        const out = CpuStorage.allocUninit("float32", viewSize(v));
        const m = ensureMeta(4 + 4 * v.shape.length);
        putView(m, putView(m, 0, denseView(out, v.shape)), v);
        nat.copy(m, out.data, src);
        return out;
      }
    }
    return E.contiguous(v, dtype);
  }
  copyInto(dst: View, src: View): void {
    const nat = native();
    if (nat && fits(dst) && dst.shape.length === src.shape.length) {
      const d = f32(dst.storage);
      const s = f32(src.storage);
      if (d && s) {
        const m = ensureMeta(4 + 4 * dst.shape.length);
        putView(m, putView(m, 0, dst), src);
        nat.copy(m, d, s);
        return;
      }
    }
    E.copyInto(dst, src);
  }
  unary(op: UnaryOp, x: View): Storage {
    const nat = native();
    if (nat && fits(x)) {
      const xd = f32(x.storage);
      if (xd) {
        const out = CpuStorage.allocUninit("float32", viewSize(x));
        const m = ensureMeta(3 + 2 * x.shape.length);
        m[0] = UNARY_CODE[op]!;
        putView(m, 1, x);
        nat.unary(m, xd, out.data);
        return out;
      }
    }
    return E.unary(op, x);
  }
  binary(op: BinaryOp, a: View, b: View, outDtype: DType): Storage {
    const nat = native();
    if (nat && fits(a) && a.shape.length === b.shape.length) {
      const ad = f32(a.storage);
      const bd = f32(b.storage);
      const code = BINARY_CODE[op]!;
      const compare = code >= 7 && code <= 12;
      if (ad && bd && outDtype === (compare ? "bool" : "float32")) {
        const out = CpuStorage.allocUninit(outDtype, viewSize(a));
        const m = ensureMeta(5 + 4 * a.shape.length);
        m[0] = code;
        putView(m, putView(m, 1, a), b);
        nat.binary(m, ad, bd, out.data);
        return out;
      }
    }
    return E.binary(op, a, b, outDtype);
  }
  where(cond: View, a: View, b: View, outDtype: DType): Storage {
    const nat = native();
    if (nat && outDtype === "float32" && fits(a) && cond.shape.length === a.shape.length && b.shape.length === a.shape.length) {
      const cd = (cond.storage as CpuStorage).data;
      const ad = f32(a.storage);
      const bd = f32(b.storage);
      if (ad && bd && cd instanceof Uint8Array) {
        const out = CpuStorage.allocUninit("float32", viewSize(a));
        const m = ensureMeta(6 + 6 * a.shape.length);
        putView(m, putView(m, putView(m, 0, cond), a), b);
        nat.where_(m, cd, ad, bd, out.data);
        return out;
      }
    }
    return E.where(cond, a, b, outDtype);
  }
  reduce(op: ReduceOp, x: View, inner: number): Storage {
    const nat = native();
    if (nat && fits(x)) {
      const xd = f32(x.storage);
      if (xd) {
        const n = viewSize(x);
        const outer = inner === 0 ? n : n / inner;
        const arg = op === "argmax" || op === "argmin";
        const out = CpuStorage.allocUninit(arg ? "int32" : "float32", outer);
        const m = ensureMeta(4 + 2 * x.shape.length);
        m[0] = REDUCE_CODE[op]!;
        m[1] = inner;
        putView(m, 2, x);
        nat.reduce_(m, xd, out.data);
        return out;
      }
    }
    return reduce(op, x, inner);
  }
  matmul(a: View, b: View): Storage {
    const [B, M, K] = a.shape as [number, number, number];
    const N = b.shape[2]!;
    const dtype = a.storage.dtype;
    const ad = dataOf(a.storage) as Float32Array | Float64Array;
    const bd = dataOf(b.storage) as Float32Array | Float64Array;
    const [as0, as1, as2] = a.strides as [number, number, number];
    const [bs0, bs1, bs2] = b.strides as [number, number, number];
    const nat = native();
    if (nat && ad instanceof Float32Array && bd instanceof Float32Array) {
      const out = CpuStorage.allocUninit("float32", B * M * N);
      const m = ensureMeta(16);
      m[0] = B; m[1] = M; m[2] = N; m[3] = K;
      m[4] = a.offset; m[5] = as0; m[6] = as1; m[7] = as2;
      m[8] = b.offset; m[9] = bs0; m[10] = bs1; m[11] = bs2;
      m[12] = 0; m[13] = 0;
      nat.matmul(m, ad, bd, out.data);
      return out;
    }
    const out = CpuStorage.alloc(dtype, B * M * N);
    batchedGemm(B, M, N, K, ad, a.offset, as0, as1, as2, bd, b.offset, bs0, bs1, bs2, out.data as Float32Array | Float64Array, 0);
    return out;
  }
  softmax(x: View, log: boolean): Storage {
    const nat = native();
    if (nat && fits(x)) {
      const xd = f32(x.storage);
      if (xd) {
        const out = CpuStorage.allocUninit("float32", viewSize(x));
        const m = ensureMeta(3 + 2 * x.shape.length);
        m[0] = log ? 1 : 0;
        putView(m, 1, x);
        nat.softmax_(m, xd, out.data);
        return out;
      }
    }
    return softmax(x, log);
  }
  softmaxBackward(y: View, gy: View, log: boolean): Storage {
    const nat = native();
    if (nat && fits(y) && y.shape.length === gy.shape.length) {
      const yd = f32(y.storage);
      const gd = f32(gy.storage);
      if (yd && gd) {
        const out = CpuStorage.allocUninit("float32", viewSize(y));
        const m = ensureMeta(5 + 4 * y.shape.length);
        m[0] = log ? 1 : 0;
        putView(m, putView(m, 1, y), gy);
        nat.softmax_backward(m, yd, gd, out.data);
        return out;
      }
    }
    return softmaxBackward(y, gy, log);
  }
  gatherRows(x: View, index: View): Storage {
    const nat = native();
    const xd = f32(x.storage);
    const id = (index.storage as CpuStorage).data;
    if (nat && xd && id instanceof Int32Array && x.shape.length === 2 && index.shape.length === 1) {
      const n = index.shape[0]!;
      const C = x.shape[1]!;
      const out = CpuStorage.allocUninit("float32", n * C);
      const m = ensureMeta(8);
      m[0] = x.shape[0]!; m[1] = C; m[2] = x.strides[0]!; m[3] = x.strides[1]!; m[4] = x.offset;
      m[5] = n; m[6] = index.strides[0]!; m[7] = index.offset;
      nat.gather_rows(m, xd, id, out.data);
      return out;
    }
    return gatherRows(x, index);
  }
  scatterAddRows(src: View, index: View, rows: number): Storage {
    const nat = native();
    const sd = f32(src.storage);
    const id = (index.storage as CpuStorage).data;
    if (nat && sd && id instanceof Int32Array && src.shape.length === 2 && index.shape.length === 1) {
      const n = index.shape[0]!;
      const C = src.shape[1]!;
      const out = CpuStorage.alloc("float32", rows * C);
      const m = ensureMeta(8);
      m[0] = C; m[1] = src.strides[0]!; m[2] = src.strides[1]!; m[3] = src.offset;
      m[4] = n; m[5] = index.strides[0]!; m[6] = index.offset; m[7] = rows;
      nat.scatter_add_rows(m, sd, id, out.data);
      return out;
    }
    return scatterAddRows(src, index, rows);
  }
  adamStepInPlace(param: Storage, grad: View, m_: Storage, v: Storage, p: AdamParams): void {
    const nat = native();
    const w = f32(param);
    const g = f32(grad.storage);
    const ma = f32(m_);
    const va = f32(v);
    if (nat && w && g && ma && va && fits(grad)) {
      // The scalar constants exactly as backends/cpu/adam.ts forms them.
      const f = Math.fround;
      const b1 = p.beta1;
      const b2 = p.beta2;
      const bc1 = 1 - b1 ** p.step;
      const bc2 = 1 - b2 ** p.step;
      const stepSize = p.lr / bc1;
      const m = ensureMeta(11 + 2 * grad.shape.length);
      m[0] = f(b1); m[1] = f(1 - b1); m[2] = f(b2); m[3] = f(1 - b2);
      m[4] = f(p.weightDecay); m[5] = p.weightDecay !== 0 ? 1 : 0; m[6] = f(p.eps);
      m[7] = f(Math.sqrt(bc2)); m[8] = f(-stepSize);
      putView(m, 9, grad);
      nat.adam_(m, w, ma, va, g);
      return;
    }
    adamStepInPlace(param, grad, m_, v, p);
  }

  // ---- optional fused kernels (native only; null → core composes the op) ----

  linear(x: View, weight: View, bias: View | null): Storage | null {
    const nat = native();
    const xd = f32(x.storage);
    const wd = f32(weight.storage);
    const bd = bias ? f32(bias.storage) : EMPTY_F32;
    if (!nat || !xd || !wd || !bd || x.shape.length !== 2 || weight.shape.length !== 2) return null;
    const [R, K] = x.shape as [number, number];
    const N = weight.shape[0]!;
    const y = CpuStorage.allocUninit("float32", R * N);
    const m = ensureMeta(12);
    m[0] = R; m[1] = K; m[2] = N;
    m[3] = x.offset; m[4] = x.strides[0]!; m[5] = x.strides[1]!;
    m[6] = weight.offset; m[7] = weight.strides[0]!; m[8] = weight.strides[1]!;
    m[9] = bias ? bias.offset : 0; m[10] = bias ? bias.strides[0]! : 0; m[11] = bias ? 1 : 0;
    nat.linear(m, xd, wd, bd, y.data);
    return y;
  }

  layerNorm(x: View, weight: View | null, bias: View | null, eps: number): { y: Storage; saved: LayerNormSaved } | null {
    const nat = native();
    const xd = f32(x.storage);
    if (!nat || !xd || !fits(x) || x.shape.length === 0) return null;
    const wd = weight ? f32(weight.storage) : EMPTY_F32;
    const bd = bias ? f32(bias.storage) : EMPTY_F32;
    if (!wd || !bd) return null;
    const n = viewSize(x);
    const C = x.shape[x.shape.length - 1]!;
    const rows = C === 0 ? 0 : n / C;
    const y = CpuStorage.allocUninit("float32", n);
    const mean = CpuStorage.alloc("float64", rows);
    const rstd = CpuStorage.alloc("float64", rows);
    const m = ensureMeta(16 + 2 * x.shape.length);
    m[0] = eps; m[1] = weight ? 1 : 0; m[2] = bias ? 1 : 0;
    let p = putView(m, 3, x);
    if (weight) p = putView(m, p, weight);
    if (bias) putView(m, p, bias);
    nat.layer_norm(m, xd, wd, bd, y.data, mean.data, rstd.data);
    return { y, saved: new CpuLayerNormSaved(mean, rstd) };
  }

  layerNormBackward(gy: View, x: View, weight: View | null, saved: LayerNormSaved): { gx: Storage; gw: Storage; gb: Storage } {
    const nat = native();
    const gd = f32(gy.storage);
    const xd = f32(x.storage);
    const wd = weight ? f32(weight.storage) : EMPTY_F32;
    if (!nat || !gd || !xd || !wd || !(saved instanceof CpuLayerNormSaved)) {
      throw new Error("cpu backend: layerNormBackward needs the native kernels and a native layerNorm forward");
    }
    const n = viewSize(x);
    const C = x.shape[x.shape.length - 1]!;
    const gx = CpuStorage.allocUninit("float32", n);
    const gw = CpuStorage.alloc("float32", C);
    const gb = CpuStorage.alloc("float32", C);
    const m = ensureMeta(8 + 6 * x.shape.length);
    m[0] = weight ? 1 : 0;
    const p = putView(m, putView(m, 1, gy), x);
    if (weight) putView(m, p, weight);
    nat.layer_norm_backward(m, gd, xd, wd, saved.mean.data, saved.rstd.data, gx.data, gw.data, gb.data);
    return { gx, gw, gb };
  }

  crossEntropy(logits: View, target: View): { loss: Storage; saved: Storage } | null {
    const nat = native();
    const xd = f32(logits.storage);
    const td = (target.storage as CpuStorage).data;
    if (!nat || !xd || !(td instanceof Int32Array) || logits.shape.length !== 2 || target.shape.length !== 1) return null;
    const N = logits.shape[0]!;
    const loss = CpuStorage.alloc("float32", N);
    const lse = CpuStorage.alloc("float64", N);
    const m = ensureMeta(12);
    const p = putView(m, 0, logits);
    m[p] = target.strides[0]!; m[p + 1] = target.offset;
    nat.cross_entropy(m, xd, td, loss.data, lse.data);
    return { loss, saved: lse };
  }

  crossEntropyBackward(logits: View, target: View, saved: Storage, gLoss: View): Storage {
    const nat = native();
    const xd = f32(logits.storage);
    const td = (target.storage as CpuStorage).data;
    const sd = (saved as CpuStorage).data;
    const gd = f32(gLoss.storage);
    if (!nat || !xd || !gd || !(td instanceof Int32Array) || !(sd instanceof Float64Array)) {
      throw new Error("cpu backend: crossEntropyBackward needs the native kernels and a native crossEntropy forward");
    }
    const out = CpuStorage.allocUninit("float32", viewSize(logits));
    const m = ensureMeta(14);
    const p = putView(m, 0, logits);
    m[p] = target.strides[0]!; m[p + 1] = target.offset; m[p + 2] = gLoss.strides[0] ?? 0; m[p + 3] = gLoss.offset;
    nat.cross_entropy_backward(m, xd, td, sd, gd, out.data);
    return out;
  }
}
