/**
 * The native fast path (backends/cpu/native/xt_cpu.<platform>.node) against the pure-TypeScript kernels:
 * every kernel runs both ways on random strided, offset and broadcast views, and the results must
 * agree within 1e-5 (relative to max(1, |value|)); bool/int outputs and Adam exactly. Then whole
 * models: outputs and every parameter gradient of both paths, and the fused layer norm and
 * cross-entropy against their composed forms.
 *
 * Skipped (with a note) when the addon is not built: scripts/build-native-cpu.sh builds it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BinaryOp, ReduceOp, Storage, UnaryOp, View, Window2d } from "../../core/backend.ts";
import { CpuBackend, describeCpuKernels, fillsMt, withKernels } from "./index.ts";
import { cpuKernels } from "./kernels.ts";
import { loadNative } from "./native.ts";
import { CpuStorage } from "./storage.ts";
import { crossEntropy, defaultGenerator, manualSeed, randn, randint, Tensor, noGrad, matmul, add, transpose } from "../../core/index.ts";
import { fusedLinear } from "../../core/ops/fused.ts";
import { attention } from "../../core/ops/attention.ts";
import { compare } from "../../core/ops/elementwise.ts";
import { dropoutMultipliers } from "../../core/nn/dropout.ts";
import { setBulkBernoulli, setBulkFills, TorchGenerator } from "../../core/random/index.ts";
import { installHostSampler } from "./register.ts";
import { LayerNorm } from "../../core/nn/layer_norm.ts";
import { TransformerEncoderLayer } from "../../core/models/encoder_layer.ts";
import { CaptioningTransformer } from "../../core/models/captioning_transformer.ts";

const be = new CpuBackend();
const load = loadNative();
const ready = load.addon !== null;
if (!load.addon) console.log(`[native] skipped: ${load.error} (run scripts/build-native-cpu.sh)`);
const t = ready ? test : test.skip;

// The model tests seed the global generator: leave it as other test files expect to find it.
let savedRng: ReturnType<typeof defaultGenerator.getState>;
beforeAll(() => {
  savedRng = defaultGenerator.getState();
});
afterAll(() => {
  defaultGenerator.setState(savedRng);
});

// ---- helpers ----

let seed = 12345;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}
function randomData(n: number, lo = -3, hi = 3): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rnd();
  return a;
}
function storageOf(a: Float32Array | Int32Array | Uint8Array, dtype: "float32" | "int32" | "bool" = "float32"): CpuStorage {
  return new CpuStorage(dtype, a);
}
function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}
function view(storage: Storage, shape: number[], strides = contiguousStrides(shape), offset = 0): View {
  return { storage, shape, strides, offset };
}

/** A few layouts of a logical shape over fresh random storage. */
function layouts(shape: number[], lo = -3, hi = 3): { name: string; v: View }[] {
  const n = shape.reduce((a, b) => a * b, 1);
  const out: { name: string; v: View }[] = [];
  out.push({ name: "contiguous", v: view(storageOf(randomData(n, lo, hi)), shape) });
  if (shape.length >= 2) {
    // Stored transposed (last two dims swapped), viewed back in the logical order.
    const nd = shape.length;
    const stored = [...shape];
    [stored[nd - 2], stored[nd - 1]] = [stored[nd - 1]!, stored[nd - 2]!];
    const st = contiguousStrides(stored);
    const strides = [...st];
    [strides[nd - 2], strides[nd - 1]] = [st[nd - 1]!, st[nd - 2]!];
    out.push({ name: "transposed", v: view(storageOf(randomData(n, lo, hi)), shape, strides) });
  }
  // Every other element, at an offset.
  const strided = contiguousStrides(shape).map((s) => 2 * s);
  out.push({ name: "strided+offset", v: view(storageOf(randomData(2 * n + 5, lo, hi)), shape, strided, 5) });
  if (shape.length >= 1) {
    // Broadcast along the first dim (stride 0).
    const inner = shape.slice(1);
    const m = inner.reduce((a, b) => a * b, 1);
    out.push({ name: "broadcast", v: view(storageOf(randomData(m, lo, hi)), shape, [0, ...contiguousStrides(inner)]) });
  }
  return out;
}

/** fn on the native kernels, then on the TypeScript ones. */
function both<T>(fn: () => T): [T, T] {
  return [withKernels("native", fn), withKernels("ts", fn)];
}

function data(s: Storage): ArrayLike<number> {
  return (s as CpuStorage).data;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (Number.isNaN(b)) {
      if (!Number.isNaN(a)) throw new Error(`${what}[${i}]: native ${a}, TypeScript NaN`);
      continue;
    }
    if (!Number.isFinite(b)) {
      if (a !== b) throw new Error(`${what}[${i}]: native ${a}, TypeScript ${b}`);
      continue;
    }
    if (!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)))) {
      throw new Error(`${what}[${i}]: native ${a}, TypeScript ${b} (diff ${Math.abs(a - b)})`);
    }
  }
}

function expectEqual(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (!(a === b || (Number.isNaN(a) && Number.isNaN(b)))) throw new Error(`${what}[${i}]: native ${a}, TypeScript ${b}`);
  }
}

// ---- kernels ----

describe("native kernels match the TypeScript kernels", () => {
  t("the addon is loaded and reports its ISA and threads", () => {
    const info = withKernels("native", describeCpuKernels);
    if (!info.native.loaded) throw new Error("not loaded");
    expect(["avx512", "avx2", "scalar"]).toContain(info.native.isa);
    expect(info.native.threads).toBeGreaterThanOrEqual(1);
    expect(info.groups.every((g) => g.provider === "native")).toBe(true);
  });

  const UNARY: UnaryOp[] = ["neg", "exp", "log", "sqrt", "rsqrt", "tanh", "erf", "relu", "gelu", "abs", "sign", "square"];
  for (const op of UNARY) {
    t(`unary ${op}`, () => {
      const positive = op === "log" || op === "sqrt" || op === "rsqrt";
      const [lo, hi] = positive ? [0.01, 20] : op === "exp" ? [-80, 80] : [-6, 6];
      for (const shape of [[37, 19], [3, 5, 33], [1], [1000]]) {
        for (const { name, v } of layouts(shape, lo, hi)) {
          const [a, b] = both(() => be.unary(op, v));
          expectClose(data(a), data(b), `${op} ${name} [${shape}]`);
        }
      }
      // 0-d and special values
      const special = new Float32Array([0, -0, 1e-30, -1e-30, 0.5, -0.5, 0.921875, -0.921875, 3.9, -3.9, 10, -10, 88, -88, -100, -104, 1e6, -1e6, Infinity, -Infinity, NaN]);
      const sv = view(storageOf(special), [special.length]);
      const [a, b] = both(() => be.unary(op, sv));
      expectClose(data(a), data(b), `${op} special values`);
      const s0 = view(storageOf(new Float32Array([0.75])), [], []);
      const [c, d] = both(() => be.unary(op, s0));
      expectClose(data(c), data(d), `${op} 0-d`);
    });
  }

  const BINARY: BinaryOp[] = ["add", "sub", "mul", "div", "pow", "maximum", "lt", "le", "gt", "ge", "eq", "ne", "gelu_grad", "relu_grad", "erf_grad"];
  for (const op of BINARY) {
    t(`binary ${op}`, () => {
      const compare = ["lt", "le", "gt", "ge", "eq", "ne"].includes(op);
      const outDtype = compare ? "bool" : "float32";
      for (const shape of [[33, 17], [4, 3, 40]]) {
        const A = layouts(shape, op === "pow" ? 0.1 : -4, 4);
        const B = layouts(shape, -4, 4);
        // Scalar b (all strides 0) and a row broadcast (bias-like) too.
        const n = shape.length;
        B.push({ name: "scalar", v: view(storageOf(new Float32Array([1.25])), shape, new Array(n).fill(0)) });
        const last = shape[n - 1]!;
        B.push({ name: "row", v: view(storageOf(randomData(last)), shape, [...new Array(n - 1).fill(0), 1]) });
        for (const a of A) {
          for (const b of B) {
            if (compare) {
              // Make some elements equal.
              const ad = (a.v.storage as CpuStorage).data as Float32Array;
              const bd = (b.v.storage as CpuStorage).data as Float32Array;
              for (let i = 0; i < Math.min(ad.length, bd.length); i += 3) ad[i] = bd[i]!;
            }
            const [x, y] = both(() => be.binary(op, a.v, b.v, outDtype));
            if (compare) expectEqual(data(x), data(y), `${op} ${a.name}·${b.name}`);
            else expectClose(data(x), data(y), `${op} ${a.name}·${b.name}`);
          }
        }
      }
      const special = new Float32Array([0, -0, 1, -1, Infinity, -Infinity, NaN, 2.5]);
      const sa = view(storageOf(special), [8, 8], [1, 0]);
      const sb = view(storageOf(special.slice()), [8, 8], [0, 1]);
      const [x, y] = both(() => be.binary(op, sa, sb, outDtype));
      if (compare) expectEqual(data(x), data(y), `${op} specials`);
      else expectClose(data(x), data(y), `${op} specials`);
    });
  }

  t("where", () => {
    const shape = [9, 31];
    const n = 9 * 31;
    const cond = new Uint8Array(n).map(() => (rnd() < 0.5 ? 1 : 0));
    const cv = view(storageOf(cond, "bool"), shape);
    const ct = view(storageOf(cond, "bool"), shape, [1, 9]);
    for (const a of layouts(shape)) {
      for (const b of layouts(shape)) {
        for (const c of [cv, ct]) {
          const [x, y] = both(() => be.where(c, a.v, b.v, "float32"));
          expectEqual(data(x), data(y), `where ${a.name}/${b.name}`);
        }
      }
    }
  });

  t("contiguous and copyInto", () => {
    for (const shape of [[5, 7, 9], [64, 4, 16, 8]]) {
      for (const { name, v } of layouts(shape)) {
        const [x, y] = both(() => be.contiguous(v));
        expectEqual(data(x), data(y), `contiguous ${name}`);
        const n = shape.reduce((p, q) => p * q, 1);
        const [d1, d2] = both(() => {
          const dst = new CpuStorage("float32", new Float32Array(2 * n + 3));
          be.copyInto(view(dst, shape, contiguousStrides(shape).map((s) => 2 * s), 3), v);
          return dst;
        });
        expectEqual(data(d1), data(d2), `copyInto ${name}`);
      }
    }
  });

  t("2-D windows: im2row, row2im, max pool and its backward, bit for bit (strided inputs, padding, ties, NaN)", () => {
    const windows: Window2d[] = [
      { kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1 },
      { kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0 },
      { kh: 3, kw: 2, sh: 2, sw: 1, ph: 1, pw: 0 },
      { kh: 5, kw: 4, sh: 3, sw: 2, ph: 2, pw: 1 },
    ];
    const shape = [3, 4, 9, 8];
    for (const w of windows) {
      for (const { name, v } of layouts(shape)) {
        const d = (v.storage as CpuStorage).data as Float32Array;
        for (let i = 0; i < d.length; i += 7) d[i] = Math.round(d[i]!); // ties
        d[11] = NaN;
        const what = `${name} ${JSON.stringify(w)}`;
        const [c1, c2] = both(() => be.im2row(v, w));
        expectEqual(data(c1), data(c2), `im2row ${what}`);
        const [Ho, Wo] = [Math.floor((9 + 2 * w.ph - w.kh) / w.sh) + 1, Math.floor((8 + 2 * w.pw - w.kw) / w.sw) + 1];
        const K = 4 * w.kh * w.kw;
        for (const rows of layouts([3, Ho * Wo, K])) {
          const [f1, f2] = both(() => be.row2im(rows.v, w, 9, 8));
          expectEqual(data(f1), data(f2), `row2im ${rows.name} ${what}`);
        }
        if (2 * w.ph > w.kh || 2 * w.pw > w.kw) continue;
        const [p1, p2] = both(() => be.maxPool2d(v, w));
        expectEqual(data(p1.y), data(p2.y), `maxPool2d ${what}`);
        expectEqual(data(p1.indices), data(p2.indices), `maxPool2d indices ${what}`);
        for (const g of layouts([3, 4, Ho, Wo])) {
          const idx = view(p2.indices, [3, 4, Ho, Wo]);
          const [b1, b2] = both(() => be.maxPool2dBackward(g.v, idx, w, 9, 8));
          expectEqual(data(b1), data(b2), `maxPool2dBackward ${g.name} ${what}`);
        }
      }
    }
  });

  const REDUCE: ReduceOp[] = ["sum", "max", "argmax"];
  for (const op of REDUCE) {
    t(`reduce ${op}`, () => {
      // (shape, permutation moving reduced dims last, number of reduced dims)
      const cases: [number[], number[], number][] = [
        [[13, 50], [0, 1], 1],
        [[13, 50], [1, 0], 1],
        [[64, 16, 40], [2, 0, 1], 2], // bias-gradient layout: column sums
        [[6, 7, 8], [0, 2, 1], 1],
        [[6, 7, 8], [0, 1, 2], 3],
        [[300], [0], 1],
      ];
      for (const [shape, perm, nred] of cases) {
        for (const { name, v } of layouts(shape)) {
          const pv: View = { storage: v.storage, offset: v.offset, shape: perm.map((d) => v.shape[d]!), strides: perm.map((d) => v.strides[d]!) };
          const inner = pv.shape.slice(pv.shape.length - nred).reduce((a, b) => a * b, 1);
          const [x, y] = both(() => be.reduce(op, pv, inner));
          if (op.startsWith("arg")) expectEqual(data(x), data(y), `${op} ${name} [${shape}] perm ${perm}`);
          else expectClose(data(x), data(y), `${op} ${name} [${shape}] perm ${perm}`);
        }
      }
      const nan = view(storageOf(new Float32Array([1, NaN, 3, 3, 2, -1, 5, 5, NaN])), [3, 3]);
      const [x, y] = both(() => be.reduce(op, nan, 3));
      expectEqual(data(x), data(y), `${op} NaN rows`);
    });
  }

  t("matmul: layouts, batches, broadcasts, edges", () => {
    const shapes: [number, number, number, number][] = [
      [1, 1, 1, 1], [1, 13, 17, 29], [1, 64, 128, 128], [1, 128, 40, 300], [1, 37, 100, 16], [1, 5, 1004, 64],
      [8, 16, 16, 32], [8, 16, 32, 16], [3, 25, 33, 7], [1, 600, 20, 3],
    ];
    for (const [B, M, N, K] of shapes) {
      for (const la of ["N", "T"]) {
        for (const lb of ["N", "T"]) {
          for (const shared of [false, true]) {
            const A = storageOf(randomData(B * M * K + 3, -1, 1));
            const Bs = storageOf(randomData(B * K * N + 2, -1, 1));
            const av: View = la === "N"
              ? view(A, [B, M, K], [M * K, K, 1], 3)
              : view(A, [B, M, K], [M * K, 1, M], 3);
            const bBs = shared ? 0 : K * N;
            const bv: View = lb === "N" ? view(Bs, [B, K, N], [bBs, N, 1], 2) : view(Bs, [B, K, N], [bBs, 1, K], 2);
            const [x, y] = both(() => be.matmul(av, bv));
            expectClose(data(x), data(y), `matmul ${B}x${M}x${N}x${K} ${la}${lb}${shared ? " shared" : ""}`);
          }
        }
      }
    }
  });

  t("softmax and log_softmax, forward and backward", () => {
    for (const shape of [[7, 10], [64, 4, 16, 16], [3, 1004], [5, 1]]) {
      for (const log of [false, true]) {
        for (const { name, v } of layouts(shape, -8, 8)) {
          const [y1, y2] = both(() => be.softmax(v, log));
          expectClose(data(y1), data(y2), `${log ? "log_" : ""}softmax ${name} [${shape}]`);
          const g = layouts(shape, -1, 1);
          for (const gv of g) {
            const yv = view(y2, shape);
            const [g1, g2] = both(() => be.softmaxBackward(yv, gv.v, log));
            expectClose(data(g1), data(g2), `${log ? "log_" : ""}softmax backward ${name}/${gv.name} [${shape}]`);
          }
        }
      }
    }
    const inf = view(storageOf(new Float32Array([-Infinity, -Infinity, 1, -Infinity, 0, 2])), [2, 3]);
    for (const log of [false, true]) {
      const [a, b] = both(() => be.softmax(inf, log));
      expectClose(data(a), data(b), "softmax -inf rows");
    }
  });

  t("gatherRows and scatterAddRows", () => {
    const W = storageOf(randomData(50 * 12));
    const idx = storageOf(new Int32Array([3, 0, 49, 3, -1, 7, 7, 20]), "int32");
    const idx25 = storageOf(new Int32Array([3, 0, 24, 3, -1, 7, 7, 20]), "int32");
    for (const wv of [view(W, [50, 12]), view(W, [50, 12], [1, 50]), view(W, [25, 12], [24, 1], 6)]) {
      const iv = wv.shape[0] === 25 ? view(idx25, [4], [2]) : view(idx, [8]);
      const [a, b] = both(() => be.gatherRows(wv, iv));
      expectEqual(data(a), data(b), "gatherRows");
      const src = view(storageOf(randomData(iv.shape[0]! * 12)), [iv.shape[0]!, 12]);
      const [c, d] = both(() => be.scatterAddRows(src, iv, wv.shape[0]!));
      expectEqual(data(c), data(d), "scatterAddRows");
    }
    const bad = view(storageOf(new Int32Array([50]), "int32"), [1]);
    for (const mode of ["native", "ts"] as const) expect(() => withKernels(mode, () => be.gatherRows(view(W, [50, 12]), bad))).toThrow();
  });

  t("linear (gemm with the bias added as C is stored) vs matmul + add", () => {
    for (const [R, K, N] of [[1, 1, 1], [37, 29, 45], [1024, 128, 128], [400, 256, 1004], [7, 300, 33], [5, 0, 9]] as const) {
      const x = view(storageOf(randomData(R * K + 1, -1, 1)), [R, K], [K, 1], 1);
      const xt = view(storageOf(randomData(R * K, -1, 1)), [R, K], [1, R]);
      const w = view(storageOf(randomData(N * K, -1, 1)), [N, K]);
      const wt = view(storageOf(randomData(N * K, -1, 1)), [N, K], [1, N]);
      const bias = view(storageOf(randomData(2 * N, -1, 1)), [N], [2]);
      for (const xv of [x, xt]) {
        for (const wv of [w, wt]) {
          for (const bv of [bias, null]) {
            const y = withKernels("native", () => be.linear(xv, wv, bv))!;
            // Reference: the TypeScript matmul of x·wᵀ plus the bias.
            const ref = withKernels("ts", () => {
              const prod = be.matmul(
                { ...xv, shape: [1, R, K], strides: [0, ...xv.strides] },
                { storage: wv.storage, offset: wv.offset, shape: [1, K, N], strides: [0, wv.strides[1]!, wv.strides[0]!] },
              );
              return bv ? be.binary("add", view(prod, [R, N]), { ...bv, shape: [R, N], strides: [0, bv.strides[0]!] }, "float32") : prod;
            });
            // float32 sums of K products against the double-accumulating TypeScript gemm: over the
            // 400k outputs of the K = 256 case the largest difference reaches ~1.2e-5.
            expectClose(data(y), data(ref), `linear R${R} K${K} N${N}${bv ? " +bias" : ""}`, K >= 256 ? 2e-5 : 1e-5);
          }
        }
      }
    }
  });

  t("layerNorm / layerNormBackward kernels vs a double-precision reference (strided x, with and without affine)", () => {
    const R = 13;
    const C = 37;
    const eps = 1e-5;
    for (const { name, v: x } of layouts([R, C])) {
      for (const affine of [true, false]) {
        const w = affine ? view(storageOf(randomData(C)), [C]) : null;
        const b = affine ? view(storageOf(randomData(2 * C)), [C], [2], 1) : null;
        const gy = layouts([R, C])[2]!.v;
        const [r, gr] = withKernels("native", () => {
          const f = be.layerNorm(x, w, b, eps)!;
          return [f, be.layerNormBackward(gy, x, w, f.saved)] as const;
        });
        const X = (i: number, j: number): number => data(x.storage)[x.offset + i * x.strides[0]! + j * x.strides[1]!]!;
        const G = (i: number, j: number): number => data(gy.storage)[gy.offset + i * gy.strides[0]! + j * gy.strides[1]!]!;
        const W = (j: number): number => (w ? data(w.storage)[j]! : 1);
        const B = (j: number): number => (b ? data(b.storage)[1 + 2 * j]! : 0);
        const y = new Float64Array(R * C), gx = new Float64Array(R * C), gw = new Float64Array(C), gb = new Float64Array(C);
        for (let i = 0; i < R; i++) {
          let mu = 0;
          for (let j = 0; j < C; j++) mu += X(i, j);
          mu /= C;
          let vr = 0;
          for (let j = 0; j < C; j++) vr += (X(i, j) - mu) ** 2;
          vr /= C;
          const rs = 1 / Math.sqrt(vr + eps);
          let a = 0, c = 0;
          for (let j = 0; j < C; j++) {
            const xh = (X(i, j) - mu) * rs;
            y[i * C + j] = xh * W(j) + B(j);
            gw[j] += G(i, j) * xh;
            gb[j] += G(i, j);
            a += G(i, j) * W(j);
            c += G(i, j) * W(j) * xh;
          }
          for (let j = 0; j < C; j++) {
            const xh = (X(i, j) - mu) * rs;
            gx[i * C + j] = rs * (G(i, j) * W(j) - a / C - (xh * c) / C);
          }
        }
        expectClose(data(r.y), y, `layerNorm y ${name}${affine ? "" : " (no affine)"}`);
        expectClose(data(gr.gx), gx, `layerNorm gx ${name}`);
        expectClose(data(gr.gw), gw, `layerNorm gw ${name}`);
        expectClose(data(gr.gb), gb, `layerNorm gb ${name}`);
      }
    }
  });

  t("bernoulli masks are bit-identical to the TypeScript generator", () => {
    // The TypeScript draws with no bulk kernel installed (the CPU device installs the native one).
    setBulkBernoulli(null);
    try {
      // Dropout p = 0.1 (keep 0.9, not a multiple of 2⁻⁵³ times an integer), and keep-probabilities
      // where p·2⁵³ is an integer (the edge of the native kernel's integer comparison).
      for (const [n, drop] of [[1, 0.1], [311, 0.1], [312, 0.1], [313, 0.1], [100003, 0.1], [5000, 0.5], [5001, 0.75], [4099, 2 / 3]] as const) {
        bernoulliMatches(n, drop);
      }
    } finally {
      installHostSampler();
    }
  });

  t("uniform_ and normal_ fills are bit-identical to the TypeScript generator", () => {
    setBulkFills(null);
    try {
      for (const n of [1, 15, 16, 17, 623, 624, 625, 5000, 100003]) {
        for (const [kind, a, b] of [["uniform", 0, 1], ["uniform", -0.3, 0.7], ["uniform", -2, 2], ["normal", 0, 1], ["normal", 0, 0.02], ["normal", 1.5, 3]] as const) {
          for (const fma of [true, false]) {
            if (kind === "normal" && !fma) continue;
            const want = new TorchGenerator({ seed: n + 7, uniformFma: fma });
            const got = new TorchGenerator({ seed: n + 7, uniformFma: fma });
            const w = new Float32Array(n);
            const g = new Float32Array(n);
            for (let rep = 0; rep < 2; rep++) {
              if (kind === "uniform") want.fillUniform(w, a, b);
              else want.fillNormal(w, a, b);
              setBulkFills(fillsMt);
              try {
                withKernels("native", () => (kind === "uniform" ? got.fillUniform(g, a, b) : got.fillNormal(g, a, b)));
              } finally {
                setBulkFills(null);
              }
              expectEqual(g, w, `${kind}(${a}, ${b}) n=${n} fma=${fma} rep ${rep}`);
            }
            expect(got.random()).toBe(want.random());
          }
        }
      }
    } finally {
      installHostSampler();
    }
  });

  function bernoulliMatches(n: number, drop: number): void {
    {
      const a = new TorchGenerator({ seed: 1234 + n });
      const b = new TorchGenerator({ seed: 1234 + n });
      const want = new Float32Array(n);
      const got = new Float32Array(n);
      const keep = 1 - drop;
      for (let rep = 0; rep < 3; rep++) {
        a.dropoutMaskInto(want, drop);
        // The TorchGenerator keeps its MT19937 private; reach in (test only).
        const mt = (b as unknown as { mt: { mt: Uint32Array; pos: number } }).mt;
        const pos = withKernels("native", () => cpuKernels().bernoulli(mt.mt, mt.pos, keep, Math.fround(1 / Math.fround(keep)), got));
        expect(pos).not.toBeNull();
        mt.pos = pos!;
        expectEqual(got, want, `bernoulli n=${n} p=${drop} rep ${rep}`);
      }
      expect((a as unknown as { mt: { nextU32(): number } }).mt.nextU32()).toBe((b as unknown as { mt: { nextU32(): number } }).mt.nextU32());
    }
  }

  t("Adam step is bit-identical", () => {
    for (const wd of [0, 0.01]) {
      const n = 1000;
      const w0 = randomData(n);
      const g = randomData(n);
      const run = (): Float32Array[] => {
        const w = storageOf(w0.slice());
        const m = storageOf(new Float32Array(n));
        const v = storageOf(new Float32Array(n));
        for (let step = 1; step <= 5; step++) {
          be.adamStepInPlace(w, view(storageOf(g), [n]), m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd, step });
        }
        // And a broadcast gradient view.
        be.adamStepInPlace(w, view(storageOf(g), [10, 100], [0, 1]), m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd, step: 6 });
        return [w.data as Float32Array, m.data as Float32Array, v.data as Float32Array];
      };
      const [a, b] = both(run);
      for (let i = 0; i < 3; i++) expectEqual(a[i]!, b[i]!, `adam (wd ${wd}) array ${i}`);
    }
  });

  t("vector exp / erf / GELU stay within a few float32 ulps of double precision", () => {
    const nat = load.addon!;
    const ulp = (v: number): number => {
      const a = Math.abs(Math.fround(v));
      if (a < 1.1754943508222875e-38) return 1.401298464324817e-45;
      return 2 ** (Math.floor(Math.log2(a)) - 23);
    };
    const meta = new Float64Array(4);
    const check = (code: number, lo: number, hi: number, ref: (x: number) => number, maxUlps: number, maxRel = 0): void => {
      const xs = new Float32Array(100001);
      for (let i = 0; i < xs.length; i++) xs[i] = lo + ((hi - lo) * i) / (xs.length - 1);
      const out = new Float32Array(xs.length);
      meta[0] = code;
      nat.math_check(meta, xs, out);
      let worst = 0;
      let worstRel = 0;
      for (let i = 0; i < xs.length; i++) {
        const want = ref(xs[i]!);
        const err = Math.abs(out[i]! - want);
        worst = Math.max(worst, err / ulp(want));
        if (want !== 0) worstRel = Math.max(worstRel, err / Math.abs(want));
      }
      if (maxRel > 0) expect(worstRel, `op ${code} on [${lo}, ${hi}]: worst relative error`).toBeLessThan(maxRel);
      else expect(worst, `op ${code} on [${lo}, ${hi}]: worst ulps`).toBeLessThan(maxUlps);
    };
    check(1, -103, 88.7, Math.exp, 2); // exp
    check(6, -10, 10, erfRef, 4); // erf
    const gelu = (x: number): number => 0.5 * x * erfcRef(-x * Math.SQRT1_2);
    check(8, -3, 12, gelu, 16); // GELU, main range
    check(8, -12, -3, gelu, 0, 2e-4); // GELU's far lower tail (values below 4e-3): relative error
  });
});

/** erfc to double precision in relative terms (for the tail checks). */
function erfcRef(t: number): number {
  if (t < 3) return 1 - erfRef(t);
  let f = t;
  let c = t;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    d = t + an * d;
    c = t + an / c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (0.5641895835477563 * Math.exp(-t * t)) / f;
}

/** erf to double precision (series / continued fraction), for the ulp check. */
function erfRef(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  if (ax < 3) {
    const x2 = x * x;
    let term = x;
    let s = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      s += term;
      if (Math.abs(term) < 1e-17 * Math.abs(s)) break;
    }
    return 1.1283791670955126 * Math.exp(-x2) * s;
  }
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = ax + an * d;
    c = ax + an / c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = (0.5641895835477563 * Math.exp(-ax * ax)) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

// ---- fused ops and whole models ----

function grads(ts: Tensor[]): number[][] {
  return ts.map((p) => (p.grad ? p.grad.toArray() : []));
}

describe("fused ops and models: native path vs TypeScript path", () => {
  t("layer norm (fused) vs composed: output and gradients", () => {
    const run = (): number[][] => {
      manualSeed(3);
      const ln = new LayerNorm(40);
      noGrad(() => {
        ln.weight.data().set(randn([40]).data());
      });
      const x = randn([6, 7, 40]).requiresGrad_();
      // Perturb weight/bias so they matter.
      const w = ln.weight;
      const y = ln.forward(x);
      const g = randn([6, 7, 40]);
      y.backward(g);
      return [y.toArray(), x.grad!.toArray(), w.grad!.toArray(), ln.bias.grad!.toArray()];
    };
    const [a, b] = both(run);
    for (let i = 0; i < a.length; i++) expectClose(a[i]!, b[i]!, `layer norm output/grad ${i}`);
  });

  t("linear (fused) vs matmul + add: output and gradients", () => {
    const run = (fused: boolean): number[][] => {
      manualSeed(9);
      const x = randn([4, 6, 24]).requiresGrad_();
      const w = randn([10, 24]).requiresGrad_();
      const b = randn([10]).requiresGrad_();
      const y = fused ? fusedLinear(x, w, b)! : add(matmul(x, transpose(w, 0, 1)), b);
      expect(y).not.toBeNull();
      y.backward(randn([4, 6, 10]));
      return [y.toArray(), x.grad!.toArray(), w.grad!.toArray(), b.grad!.toArray()];
    };
    const a = withKernels("native", () => run(true));
    const b = withKernels("ts", () => run(false));
    for (let i = 0; i < a.length; i++) expectClose(a[i]!, b[i]!, `linear output/grad ${i}`);
  });

  t("cross-entropy (fused) vs composed: loss and gradient, all reductions", () => {
    for (const reduction of ["mean", "sum", "none"] as const) {
      const run = (): number[][] => {
        manualSeed(5);
        const logits = randn([23, 11]).mul(4).requiresGrad_();
        const leaf = logits;
        const target = randint(0, 11, [23]);
        const l = crossEntropy(leaf, target, reduction);
        (reduction === "none" ? l.sum() : l).backward();
        return [l.toArray(), leaf.grad!.toArray()];
      };
      const [a, b] = both(run);
      expectClose(a[0]!, b[0]!, `cross-entropy ${reduction} loss`);
      expectClose(a[1]!, b[1]!, `cross-entropy ${reduction} grad`);
    }
  });

  const cpuKernelsTable = (): string => describeCpuKernels().groups.find((g) => g.group === "attention")!.provider;

  t("attention (fused) vs composed: bit-identical on the native kernels, close to TypeScript", () => {
    // [N, H, S, T, D]: the ViT's heads, the captioning decoder's (causal mask, cross-attention with
    // T = 1), products small enough for the double-accumulating tiny kernel, and empty ones.
    const cases: [number, number, number, number, number, boolean, number][] = [
      [3, 4, 16, 16, 32, false, 0.1], [2, 2, 16, 16, 128, true, 0.1], [2, 2, 16, 1, 128, false, 0.1],
      [2, 2, 3, 4, 2, false, 0.1], [1, 3, 5, 5, 8, true, 0], [2, 1, 7, 9, 40, false, 0.5], [1, 1, 0, 3, 4, false, 0.1],
    ];
    for (const [N, H, S, T, D, causal, p] of cases) {
      const run = (fused: boolean): number[][] => {
        manualSeed(17);
        // q, k, v as the projections lay them out: [N, S, H, D] storage viewed [N, H, S, D].
        const q = randn([N, S, H * D]).requiresGrad_();
        const k = randn([N, T, H * D]).requiresGrad_();
        const v = randn([N, T, H * D]).requiresGrad_();
        const heads = (x: Tensor, rows: number) => transpose(x.view(N, rows, H, D), 1, 2);
        const blocked = causal ? compare("eq", randn([S, T]).gt(0), 0) : null;
        const drop = p > 0 && N * H * S * T > 0 ? dropoutMultipliers(q.backend, [N, H, S, T], "float32", p) : null;
        const out = attention(heads(q, S), heads(k, T), heads(v, T), {
          blocked, drop, scale: Math.fround(Math.sqrt(D)), onWeights: fused ? null : () => {},
        });
        // The fused kernel ran (or, composed, did not).
        expect(out.gradFn?.name === "AttentionBackward").toBe(fused && cpuKernelsTable() === "native");
        out.backward(randn([N, S, H * D]));
        return [out.toArray(), q.grad!.toArray(), k.grad!.toArray(), v.grad!.toArray()];
      };
      const name = `attention [${N}, ${H}, ${S}, ${T}, ${D}]${causal ? " masked" : ""} p=${p}`;
      const fused = withKernels("native", () => run(true));
      const composed = withKernels("native", () => run(false));
      for (let i = 0; i < fused.length; i++) expectEqual(fused[i]!, composed[i]!, `${name} output/grad ${i}`);
      const ts = withKernels("ts", () => run(false));
      for (let i = 0; i < fused.length; i++) expectClose(fused[i]!, ts[i]!, `${name} vs TypeScript ${i}`);
    }
  });

  t("transformer encoder layer: output and every parameter gradient", () => {
    const run = (): number[][] => {
      manualSeed(11);
      const layer = new TransformerEncoderLayer(32, 4, 64, 0.1);
      const x = randn([5, 9, 32]).requiresGrad_();
      const y = layer.forward(x);
      y.backward(randn([5, 9, 32]));
      return [y.toArray(), x.grad!.toArray(), ...grads(layer.parameters())];
    };
    const [a, b] = both(run);
    for (let i = 0; i < a.length; i++) expectClose(a[i]!, b[i]!, `encoder output/grad ${i}`);
  });

  t("captioning transformer: loss and every parameter gradient", () => {
    const run = (): number[][] => {
      manualSeed(2);
      const words: Record<string, number> = { "<NULL>": 0, "<START>": 1, "<END>": 2 };
      for (let i = 3; i < 30; i++) words[`w${i}`] = i;
      const model = new CaptioningTransformer(words, 20, 16, 2, 2, 12);
      const feats = randn([4, 20]);
      const caps = randint(0, 30, [4, 7]);
      const logits = model.forward(feats, caps);
      const loss = crossEntropy(logits.reshape(28, 30), randint(0, 30, [28]));
      loss.backward();
      return [logits.toArray(), [loss.item()], ...grads(model.parameters())];
    };
    const [a, b] = both(run);
    for (let i = 0; i < a.length; i++) expectClose(a[i]!, b[i]!, `captioning output/grad ${i}`);
  });
});
