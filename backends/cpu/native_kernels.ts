/**
 * The native provider of the CPU kernels (the Rust library, backends/cpu/native): for each kernel,
 * which calls it takes (float32 data, views of at most MAX_DIMS dims, the ranks the library
 * expects) and the call itself, writing the parameter block `meta` (see native.ts and the layout
 * above each function in native/src/lib.rs).
 */
import type { LayerNormSaved, Storage, View, Window2d } from "../../core/backend.ts";
import { windowOutput } from "../../core/shape.ts";
import type { CpuKernels, Provider, ProviderSet } from "./kernels.ts";
import {
  BINARY_CODE, COMPARISONS, MAX_DIMS, REDUCE_CODE, UNARY_CODE, ensureMeta, putView, type NativeAddon,
} from "./native.ts";
import { CpuStorage } from "./storage.ts";
import { isDense, viewSize } from "./strided.ts";

const f32 = (s: Storage): Float32Array | null => {
  const d = (s as CpuStorage).data;
  return d instanceof Float32Array ? d : null;
};
const isF32 = (s: Storage): boolean => (s as CpuStorage).data instanceof Float32Array;
const isI32 = (s: Storage): boolean => (s as CpuStorage).data instanceof Int32Array;
const fits = (v: View): boolean => v.shape.length <= MAX_DIMS;
/** float32 views of one rank (≤ MAX_DIMS): what the elementwise kernels take. */
const sameRankF32 = (a: View, b?: View): boolean =>
  fits(a) && isF32(a.storage) && (b === undefined || (b.shape.length === a.shape.length && isF32(b.storage)));
/** A float32 [R, C] view and an int32 [n] index: what the row gather and scatter take. */
const rowsAndIndex = (x: View, index: View): boolean =>
  x.shape.length === 2 && index.shape.length === 1 && isF32(x.storage) && isI32(index.storage);

const EMPTY_F32 = new Float32Array(0);
const EMPTY_U8 = new Uint8Array(0);

/** float32 q [B, H, S, D], k and v [B, H, T, D], a bool [S, T] mask, a dense [B, H, S, T] dropout mask. */
function attentionViews(q: View, k: View, v: View, blocked: View | null, drop: View | null): boolean {
  if (q.shape.length !== 4 || k.shape.length !== 4 || v.shape.length !== 4) return false;
  if (!isF32(q.storage) || !isF32(k.storage) || !isF32(v.storage)) return false;
  const [B, H, S] = q.shape as [number, number, number];
  const T = k.shape[2]!;
  if (blocked && (blocked.shape.length !== 2 || !((blocked.storage as CpuStorage).data instanceof Uint8Array))) return false;
  const dropShape = [B, H, S, T];
  return !drop || (isF32(drop.storage) && drop.offset === 0 && isDense(drop) && drop.shape.length === 4 && drop.shape.every((d, i) => d === dropShape[i]));
}

const maskData = (blocked: View | null): Uint8Array => (blocked ? ((blocked.storage as CpuStorage).data as Uint8Array) : EMPTY_U8);

/** The attention meta block (native/src/lib.rs attention_dims): dims, flags, q, k, v and the mask's view. */
function attentionMeta(q: View, k: View, v: View, blocked: View | null, drop: View | null, scale: number, size: number): Float64Array {
  const m = ensureMeta(size);
  m[0] = q.shape[0]!; m[1] = q.shape[1]!; m[2] = q.shape[2]!; m[3] = k.shape[2]!; m[4] = q.shape[3]!;
  m[5] = scale; m[6] = blocked ? 1 : 0; m[7] = drop ? 1 : 0;
  let p = 8;
  for (const x of [q, k, v]) {
    m[p++] = x.offset;
    for (let i = 0; i < 4; i++) m[p++] = x.strides[i]!;
  }
  m[23] = blocked ? blocked.offset : 0; m[24] = blocked ? blocked.strides[0]! : 0; m[25] = blocked ? blocked.strides[1]! : 0;
  return m;
}

/** meta[0..10] = [N, C, H, W, kh, kw, sh, sw, ph, pw] (native/src/lib.rs geometry). */
function putWindow(m: Float64Array, shape: readonly number[], w: Window2d): Float64Array {
  m[0] = shape[0]!; m[1] = shape[1]!; m[2] = shape[2]!; m[3] = shape[3]!;
  m[4] = w.kh; m[5] = w.kw; m[6] = w.sh; m[7] = w.sw; m[8] = w.ph; m[9] = w.pw;
  return m;
}

/** [offset, strides…] of a view at meta[p…]. */
function putOffsetStrides(m: Float64Array, p: number, v: View): void {
  m[p] = v.offset;
  v.strides.forEach((s, i) => (m[p + 1 + i] = s));
}

/** Saved layer-norm statistics: per-row mean and 1/σ (float64). */
class NativeLayerNormSaved implements LayerNormSaved {
  constructor(readonly mean: CpuStorage, readonly rstd: CpuStorage) {}
}

function native<K extends keyof CpuKernels>(eligible: Provider<CpuKernels[K]>["eligible"], run: CpuKernels[K]): Provider<CpuKernels[K]> {
  return { name: "native", eligible, run };
}

/** A dense view over a fresh output, for kernels that take a destination view. */
function denseView(storage: Storage, shape: readonly number[]): View {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return { storage, shape, strides, offset: 0 };
}

export function nativeProviders(nat: NativeAddon): ProviderSet {
  return {
    // A dense float32 view is already contiguous: the TypeScript kernel copies it in one call.
    contiguous: native<"contiguous">(
      (v, dtype) => (dtype === undefined || dtype === "float32") && fits(v) && isF32(v.storage) && !isDense(v),
      (v) => {
        const out = CpuStorage.allocUninit("float32", viewSize(v));
        const m = ensureMeta(4 + 4 * v.shape.length);
        putView(m, putView(m, 0, denseView(out, v.shape)), v);
        nat.copy(m, out.data, f32(v.storage)!);
        return out;
      },
    ),

    copyInto: native<"copyInto">(
      (dst, src) => sameRankF32(dst, src),
      (dst, src) => {
        const m = ensureMeta(4 + 4 * dst.shape.length);
        putView(m, putView(m, 0, dst), src);
        nat.copy(m, f32(dst.storage)!, f32(src.storage)!);
      },
    ),

    unary: native<"unary">(
      (_op, x) => sameRankF32(x),
      (op, x) => {
        const out = CpuStorage.allocUninit("float32", viewSize(x));
        const m = ensureMeta(3 + 2 * x.shape.length);
        m[0] = UNARY_CODE[op]!;
        putView(m, 1, x);
        nat.unary(m, f32(x.storage)!, out.data);
        return out;
      },
    ),

    // Comparisons write bool (uint8), the other ops float32.
    binary: native<"binary">(
      (op, a, b, outDtype) => sameRankF32(a, b) && outDtype === (COMPARISONS.has(op) ? "bool" : "float32"),
      (op, a, b, outDtype) => {
        const out = CpuStorage.allocUninit(outDtype, viewSize(a));
        const m = ensureMeta(5 + 4 * a.shape.length);
        m[0] = BINARY_CODE[op]!;
        putView(m, putView(m, 1, a), b);
        nat.binary(m, f32(a.storage)!, f32(b.storage)!, out.data);
        return out;
      },
    ),

    where: native<"where">(
      (cond, a, b, outDtype) =>
        outDtype === "float32" && sameRankF32(a, b) && cond.shape.length === a.shape.length &&
        (cond.storage as CpuStorage).data instanceof Uint8Array,
      (cond, a, b) => {
        const out = CpuStorage.allocUninit("float32", viewSize(a));
        const m = ensureMeta(6 + 6 * a.shape.length);
        putView(m, putView(m, putView(m, 0, cond), a), b);
        nat.where_(m, (cond.storage as CpuStorage).data, f32(a.storage)!, f32(b.storage)!, out.data);
        return out;
      },
    ),

    reduce: native<"reduce">(
      (_op, x) => sameRankF32(x),
      (op, x, inner) => {
        const n = viewSize(x);
        const outer = inner === 0 ? n : n / inner;
        const out = CpuStorage.allocUninit(op === "argmax" ? "int32" : "float32", outer);
        const m = ensureMeta(4 + 2 * x.shape.length);
        m[0] = REDUCE_CODE[op]!;
        m[1] = inner;
        putView(m, 2, x);
        nat.reduce_(m, f32(x.storage)!, out.data);
        return out;
      },
    ),

    // [B, M, K] · [B, K, N], any strides.
    matmul: native<"matmul">(
      (a, b) => isF32(a.storage) && isF32(b.storage),
      (a, b) => {
        const [B, M, K] = a.shape as [number, number, number];
        const N = b.shape[2]!;
        const out = CpuStorage.allocUninit("float32", B * M * N);
        const m = ensureMeta(16);
        m[0] = B; m[1] = M; m[2] = N; m[3] = K;
        m[4] = a.offset; m[5] = a.strides[0]!; m[6] = a.strides[1]!; m[7] = a.strides[2]!;
        m[8] = b.offset; m[9] = b.strides[0]!; m[10] = b.strides[1]!; m[11] = b.strides[2]!;
        m[12] = 0; m[13] = 0;
        nat.matmul(m, f32(a.storage)!, f32(b.storage)!, out.data);
        return out;
      },
    ),

    linear: native<"linear">(
      (x, weight, bias) =>
        x.shape.length === 2 && weight.shape.length === 2 && isF32(x.storage) && isF32(weight.storage) &&
        (bias === null || isF32(bias.storage)),
      (x, weight, bias) => {
        const [R, K] = x.shape as [number, number];
        const N = weight.shape[0]!;
        const y = CpuStorage.allocUninit("float32", R * N);
        const m = ensureMeta(12);
        m[0] = R; m[1] = K; m[2] = N;
        m[3] = x.offset; m[4] = x.strides[0]!; m[5] = x.strides[1]!;
        m[6] = weight.offset; m[7] = weight.strides[0]!; m[8] = weight.strides[1]!;
        m[9] = bias ? bias.offset : 0; m[10] = bias ? bias.strides[0]! : 0; m[11] = bias ? 1 : 0;
        nat.linear(m, f32(x.storage)!, f32(weight.storage)!, bias ? f32(bias.storage)! : EMPTY_F32, y.data);
        return y;
      },
    ),

    softmax: native<"softmax">(
      (x) => sameRankF32(x),
      (x, log) => {
        const out = CpuStorage.allocUninit("float32", viewSize(x));
        const m = ensureMeta(3 + 2 * x.shape.length);
        m[0] = log ? 1 : 0;
        putView(m, 1, x);
        nat.softmax_(m, f32(x.storage)!, out.data);
        return out;
      },
    ),

    softmaxBackward: native<"softmaxBackward">(
      (y, gy) => sameRankF32(y, gy),
      (y, gy, log) => {
        const out = CpuStorage.allocUninit("float32", viewSize(y));
        const m = ensureMeta(5 + 4 * y.shape.length);
        m[0] = log ? 1 : 0;
        putView(m, putView(m, 1, y), gy);
        nat.softmax_backward(m, f32(y.storage)!, f32(gy.storage)!, out.data);
        return out;
      },
    ),

    // The saved state is the float64 log-sum-exp per row.
    crossEntropy: native<"crossEntropy">(
      (logits, target) => rowsAndIndex(logits, target),
      (logits, target) => {
        const N = logits.shape[0]!;
        const loss = CpuStorage.alloc("float32", N);
        const lse = CpuStorage.alloc("float64", N);
        const m = ensureMeta(12);
        const p = putView(m, 0, logits);
        m[p] = target.strides[0]!; m[p + 1] = target.offset;
        nat.cross_entropy(m, f32(logits.storage)!, (target.storage as CpuStorage).data, loss.data, lse.data);
        return { loss, saved: lse };
      },
    ),

    crossEntropyBackward: native<"crossEntropyBackward">(
      (logits, target, saved, gLoss) =>
        rowsAndIndex(logits, target) && (saved as CpuStorage).data instanceof Float64Array && isF32(gLoss.storage),
      (logits, target, saved, gLoss) => {
        const out = CpuStorage.allocUninit("float32", viewSize(logits));
        const m = ensureMeta(14);
        const p = putView(m, 0, logits);
        m[p] = target.strides[0]!; m[p + 1] = target.offset; m[p + 2] = gLoss.strides[0] ?? 0; m[p + 3] = gLoss.offset;
        nat.cross_entropy_backward(
          m, f32(logits.storage)!, (target.storage as CpuStorage).data, (saved as CpuStorage).data, f32(gLoss.storage)!, out.data,
        );
        return out;
      },
    ),

    layerNorm: native<"layerNorm">(
      (x, weight, bias) =>
        x.shape.length > 0 && sameRankF32(x) && (weight === null || isF32(weight.storage)) && (bias === null || isF32(bias.storage)),
      (x, weight, bias, eps) => {
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
        nat.layer_norm(
          m, f32(x.storage)!, weight ? f32(weight.storage)! : EMPTY_F32, bias ? f32(bias.storage)! : EMPTY_F32,
          y.data, mean.data, rstd.data,
        );
        return { y, saved: new NativeLayerNormSaved(mean, rstd) };
      },
    ),

    layerNormBackward: native<"layerNormBackward">(
      (gy, x, weight, saved) =>
        saved instanceof NativeLayerNormSaved && isF32(gy.storage) && isF32(x.storage) && (weight === null || isF32(weight.storage)),
      (gy, x, weight, saved) => {
        const s = saved as NativeLayerNormSaved;
        const n = viewSize(x);
        const C = x.shape[x.shape.length - 1]!;
        const gx = CpuStorage.allocUninit("float32", n);
        const gw = CpuStorage.alloc("float32", C);
        const gb = CpuStorage.alloc("float32", C);
        const m = ensureMeta(8 + 6 * x.shape.length);
        m[0] = weight ? 1 : 0;
        const p = putView(m, putView(m, 1, gy), x);
        if (weight) putView(m, p, weight);
        nat.layer_norm_backward(
          m, f32(gy.storage)!, f32(x.storage)!, weight ? f32(weight.storage)! : EMPTY_F32,
          s.mean.data, s.rstd.data, gx.data, gw.data, gb.data,
        );
        return { gx, gw, gb };
      },
    ),

    // Fused attention (native/src/attention.rs): bit-identical to the composition on these kernels.
    attention: native<"attention">(
      (q, k, v, blocked, drop) => attentionViews(q, k, v, blocked, drop),
      (q, k, v, blocked, drop, scale) => {
        const [B, H, S, D] = q.shape as [number, number, number, number];
        const T = k.shape[2]!;
        const out = CpuStorage.allocUninit("float32", B * S * H * D);
        const weights = CpuStorage.allocUninit("float32", B * H * S * T);
        const m = attentionMeta(q, k, v, blocked, drop, scale, 26);
        nat.attention_(m, f32(q.storage)!, f32(k.storage)!, f32(v.storage)!, maskData(blocked), drop ? f32(drop.storage)! : EMPTY_F32, out.data, weights.data);
        return { out, weights };
      },
    ),

    attentionBackward: native<"attentionBackward">(
      (gOut, q, k, v, blocked, drop, weights) =>
        attentionViews(q, k, v, blocked, drop) && gOut.shape.length === 4 && isF32(gOut.storage) && isF32(weights),
      (gOut, q, k, v, blocked, drop, weights, scale) => {
        const [B, H, S, D] = q.shape as [number, number, number, number];
        const T = k.shape[2]!;
        const gq = CpuStorage.allocUninit("float32", B * S * H * D);
        const gk = CpuStorage.allocUninit("float32", B * T * H * D);
        const gv = CpuStorage.allocUninit("float32", B * T * H * D);
        const m = attentionMeta(q, k, v, blocked, drop, scale, 31);
        m[26] = gOut.offset;
        for (let i = 0; i < 4; i++) m[27 + i] = gOut.strides[i]!;
        nat.attention_backward(
          m, f32(q.storage)!, f32(k.storage)!, f32(v.storage)!, maskData(blocked), drop ? f32(drop.storage)! : EMPTY_F32,
          f32(weights)!, f32(gOut.storage)!, gq.data, gk.data, gv.data,
        );
        return { gq, gk, gv };
      },
    ),

    gatherRows: native<"gatherRows">(rowsAndIndex, (x, index) => {
      const n = index.shape[0]!;
      const C = x.shape[1]!;
      const out = CpuStorage.allocUninit("float32", n * C);
      const m = ensureMeta(8);
      m[0] = x.shape[0]!; m[1] = C; m[2] = x.strides[0]!; m[3] = x.strides[1]!; m[4] = x.offset;
      m[5] = n; m[6] = index.strides[0]!; m[7] = index.offset;
      nat.gather_rows(m, f32(x.storage)!, (index.storage as CpuStorage).data, out.data);
      return out;
    }),

    scatterAddRows: native<"scatterAddRows">(rowsAndIndex, (src, index, rows) => {
      const n = index.shape[0]!;
      const C = src.shape[1]!;
      const out = CpuStorage.alloc("float32", rows * C);
      const m = ensureMeta(8);
      m[0] = C; m[1] = src.strides[0]!; m[2] = src.strides[1]!; m[3] = src.offset;
      m[4] = n; m[5] = index.strides[0]!; m[6] = index.offset; m[7] = rows;
      nat.scatter_add_rows(m, f32(src.storage)!, (index.storage as CpuStorage).data, out.data);
      return out;
    }),

    im2row: native<"im2row">((x) => isF32(x.storage), (x, w) => {
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [Ho, Wo] = windowOutput(H, W, w);
      const out = CpuStorage.allocUninit("float32", N * C * w.kh * w.kw * Ho * Wo);
      const m = putWindow(ensureMeta(15), x.shape, w);
      putOffsetStrides(m, 10, x);
      nat.im2row(m, f32(x.storage)!, out.data);
      return out;
    }),

    row2im: native<"row2im">((rows) => isF32(rows.storage), (rows, w, height, width) => {
      const N = rows.shape[0]!;
      const C = rows.shape[2]! / (w.kh * w.kw);
      const out = CpuStorage.alloc("float32", N * C * height * width);
      const m = putWindow(ensureMeta(14), [N, C, height, width], w);
      putOffsetStrides(m, 10, rows);
      nat.row2im(m, f32(rows.storage)!, out.data);
      return out;
    }),

    maxPool2d: native<"maxPool2d">((x) => isF32(x.storage), (x, w) => {
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [Ho, Wo] = windowOutput(H, W, w);
      const y = CpuStorage.allocUninit("float32", N * C * Ho * Wo);
      const indices = CpuStorage.allocUninit("int32", N * C * Ho * Wo);
      const m = putWindow(ensureMeta(15), x.shape, w);
      putOffsetStrides(m, 10, x);
      nat.max_pool2d(m, f32(x.storage)!, y.data, indices.data);
      return { y, indices };
    }),

    maxPool2dBackward: native<"maxPool2dBackward">(
      (gy, indices) => isF32(gy.storage) && isI32(indices.storage),
      (gy, indices, w, height, width) => {
        const [N, C] = gy.shape as [number, number, number, number];
        const out = CpuStorage.alloc("float32", N * C * height * width);
        const m = putWindow(ensureMeta(20), [N, C, height, width], w);
        putOffsetStrides(m, 10, gy);
        putOffsetStrides(m, 15, indices);
        nat.max_pool2d_backward(m, f32(gy.storage)!, (indices.storage as CpuStorage).data, out.data);
        return out;
      },
    ),

    adamStepInPlace: native<"adamStepInPlace">(
      (param, grad, m_, v) => sameRankF32(grad) && isF32(param) && isF32(m_) && isF32(v),
      (param, grad, m_, v, p) => {
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
        nat.adam_(m, f32(param)!, f32(m_)!, f32(v)!, f32(grad.storage)!);
      },
    ),

    // Bit-identical to core/random's TorchGenerator bernoulli_ (one uniform double from two MT19937
    // words per element, kept iff u < p); ~1.7 ns per element here against ~19 ns in TypeScript.
    bernoulli: native<"bernoulli">(
      (key, _pos, _p, _on, out) => key.length === 624 && out.length > 0,
      (key, pos, p, on, out) => {
        const m = ensureMeta(3);
        m[0] = pos; m[1] = p; m[2] = on;
        return nat.bernoulli_mt(m, key, out) as number;
      },
    ),

    // Bit-identical to TorchGenerator's fillUniform / normalFillAvx2 on float32 (native/src/mt.rs).
    uniformFill: native<"uniformFill">(
      (key, _pos, _from, _range, _mode, out) => key.length === 624 && out.length > 0,
      (key, pos, from, range, mode, out) => {
        const m = ensureMeta(5);
        m[0] = 0; m[1] = pos; m[2] = from; m[3] = range; m[4] = mode;
        return nat.random_fill(m, key, out) as number;
      },
    ),
    normalFill: native<"normalFill">(
      (key, _pos, _mean, _std, out) => key.length === 624 && out.length >= 16,
      (key, pos, mean, std, out) => {
        const m = ensureMeta(5);
        m[0] = 1; m[1] = pos; m[2] = mean; m[3] = std; m[4] = 0;
        return nat.random_fill(m, key, out) as number;
      },
    ),
  };
}
