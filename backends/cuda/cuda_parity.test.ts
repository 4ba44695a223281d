/**
 * Parity of every CUDA kernel with a plain TypeScript reference (computed in float64 from the
 * same inputs), on random inputs, to 1e-4. Runs when CUDA is usable (probeCuda().ok), else skips
 * with the reason. cuda_emulator.test.ts also runs this file against the CPU emulator of the
 * driver (XT_CUDA_DRIVER=…/libcuda_emu.so), so the whole path is exercised without a GPU.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { BinaryOp, Storage, UnaryOp, View, Window2d } from "../../core/backend.ts";
import type { DType } from "../../core/dtype.ts";
import { XtError } from "../../core/errors.ts";
import { BINARY_OPS, CudaBackend, createCudaBackend, probeCuda, UNARY_OPS } from "./index.ts";

const probe = probeCuda();
if (!probe.ok) console.log(`[cuda parity] skipped: ${probe.reason}`);
else console.log(`[cuda parity] device: ${probe.device}`);

const TOL = 1e-4;

// ---- helpers ----------------------------------------------------------------------------------

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(1234);

function uniform(n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * rand());
}
function ints(n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + Math.floor((hi - lo + 1) * rand()));
}

function contiguousStrides(shape: readonly number[]): number[] {
  const st: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i]!;
  }
  return st;
}
function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
function view(storage: Storage, shape: number[], strides = contiguousStrides(shape), offset = 0): View {
  return { storage, shape, strides, offset };
}
/** The elements of a strided view of `host`, in row-major logical order. */
function logical(host: ArrayLike<number>, shape: readonly number[], strides: readonly number[], offset = 0): number[] {
  const out: number[] = [];
  const n = numel(shape);
  for (let i = 0; i < n; i++) {
    let rem = i, off = offset;
    for (let d = shape.length - 1; d >= 0; d--) {
      off += (rem % shape[d]!) * strides[d]!;
      rem = Math.floor(rem / shape[d]!);
    }
    out.push(host[off]!);
  }
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = TOL): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (g === w) continue;
    if (!(Math.abs(g - w) <= tol * (1 + Math.abs(w)))) {
      throw new Error(`${what}: element ${i}: got ${g}, want ${w}`);
    }
  }
}

/** float32 rounding of the inputs, as the device sees them. */
function f32(xs: number[]): number[] {
  return Array.from(Float32Array.from(xs));
}

// erf to ~1e-12 (series for small |x|, continued fraction for the tail).
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x, sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz)
  let f = ax, C = ax, D = 0;
  for (let n = 1; n < 300; n++) {
    const a = n / 2;
    D = ax + a * D;
    D = 1 / D;
    C = ax + a / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return Math.sign(x) * (1 - erfc);
}

function unaryRef(op: UnaryOp, x: number): number {
  switch (op) {
    case "neg": return -x;
    case "exp": return Math.exp(x);
    case "log": return Math.log(x);
    case "sqrt": return Math.sqrt(x);
    case "rsqrt": return 1 / Math.sqrt(x);
    case "tanh": return Math.tanh(x);
    case "erf": return erf(x);
    case "relu": return x > 0 ? x : 0;
    case "gelu": return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case "abs": return Math.abs(x);
    case "sign": return Math.sign(x);
    case "square": return x * x;
  }
}

function binaryRef(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case "add": return a + b;
    case "sub": return a - b;
    case "mul": return a * b;
    case "div": return a / b;
    case "pow": return Math.pow(a, b);
    case "maximum": return Math.max(a, b);
    case "lt": return +(a < b);
    case "le": return +(a <= b);
    case "gt": return +(a > b);
    case "ge": return +(a >= b);
    case "eq": return +(a === b);
    case "ne": return +(a !== b);
    case "gelu_grad": {
      const cdf = 0.5 * (1 + erf(a / Math.SQRT2));
      const pdf = Math.exp(-0.5 * a * a) / Math.sqrt(2 * Math.PI);
      return b * (cdf + a * pdf);
    }
    case "relu_grad": return a <= 0 ? 0 : b;
    case "erf_grad": return (b * 2 * Math.exp(-a * a)) / Math.sqrt(Math.PI);
  }
}

function unaryDomain(op: UnaryOp): [number, number] {
  if (op === "log" || op === "sqrt" || op === "rsqrt") return [0.1, 4];
  return [-3, 3];
}

// ---- tests -------------------------------------------------------------------------------------

describe.skipIf(!probe.ok)("CUDA kernels match the TypeScript reference", () => {
  let be: CudaBackend;
  const up = (xs: ArrayLike<number>, dtype: DType = "float32") => be.fromHost(xs, dtype);
  const down = (s: Storage) => Array.from(be.toHost(s));

  beforeAll(() => {
    be = createCudaBackend();
  });

  test("fromHost / toHost round trip and conversion", () => {
    const xs = [1.5, -2.7, 0, 3, Number.NaN, 1e10];
    const f64 = be.toHost(up(xs, "float64"));
    expect(f64).toBeInstanceOf(Float64Array);
    expect(Array.from(f64)).toEqual(xs);
    const f32s = be.toHost(up(xs, "float32"));
    expect(f32s).toBeInstanceOf(Float32Array);
    expect(Array.from(f32s)).toEqual(Array.from(Float32Array.from(xs)));
    expect(be.toHost(up(xs, "int32"))).toEqual(Int32Array.from(xs));
    expect(be.toHost(up(xs, "bool"))).toEqual(Uint8Array.from([1, 1, 0, 1, 1, 1]));
    expect(be.toHost(up([], "float32")).length).toBe(0);
    // a typed-array window is read from its own start, not its buffer's
    const whole = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(be.toHost(up(whole.subarray(3, 6))))).toEqual([3, 4, 5]);
  });

  test("full", () => {
    expect(be.toHost(be.full(5, 2.5, "float32"))).toEqual(new Float32Array(5).fill(2.5));
    expect(be.toHost(be.full(5, -1.25, "float64"))).toEqual(new Float64Array(5).fill(-1.25));
    expect(be.toHost(be.full(4, 2.7, "int32"))).toEqual(new Int32Array(4).fill(2));
    expect(be.toHost(be.full(3, Number.NaN, "bool"))).toEqual(new Uint8Array(3).fill(1));
    expect(be.toHost(be.full(3, 0, "bool"))).toEqual(new Uint8Array(3));
    expect(be.toHost(be.full(1000, Number.NEGATIVE_INFINITY, "float32")).every((x) => x === -Infinity)).toBe(true);
    expect(be.toHost(be.full(0, 1, "float32")).length).toBe(0);
  });

  test("contiguous gathers strided views (transposed, offset, broadcast, rank 4) and casts", () => {
    const host = uniform(120, -3, 3);
    const s = up(host, "float64");
    const cases: [number[], number[], number][] = [
      [[6, 20], [1, 6], 0], // transposed [20, 6]
      [[3, 4], [20, 2], 7], // offset and steps
      [[4, 5, 6], [0, 6, 1], 0], // broadcast leading dim
      [[2, 3, 4, 5], [60, 1, 15, 3], 0], // permuted rank 4
      [[], [], 17], // scalar
      [[2, 1, 3, 1, 2, 1, 2, 1, 2, 1], [60, 999, 20, 7, 10, 5, 5, 3, 1, 8], 0], // rank 10, size-1 dims
    ];
    for (const [shape, strides, offset] of cases) {
      const want = logical(host, shape, strides, offset);
      expectClose(down(be.contiguous(view(s, shape, strides, offset))), want, `contiguous ${shape}`, 0);
      expectClose(down(be.contiguous(view(s, shape, strides, offset), "float32")), f32(want), `to f32 ${shape}`, 0);
    }
    const x = up([-2.7, -0.5, 0, 0.5, 2.7, 7], "float32");
    expect(be.toHost(be.contiguous(view(x, [6]), "int32"))).toEqual(Int32Array.from([-2, 0, 0, 0, 2, 7]));
    expect(be.toHost(be.contiguous(view(x, [6]), "bool"))).toEqual(Uint8Array.from([1, 1, 0, 1, 1, 1]));
    const b = up([1, 0, 1], "bool");
    expect(be.toHost(be.contiguous(view(b, [3]), "float32"))).toEqual(Float32Array.from([1, 0, 1]));
    const big = ints(50, -(2 ** 30), 2 ** 30);
    const i = up(big, "int32");
    expect(be.toHost(be.contiguous(view(i, [5, 10], [1, 5]), "float64"))).toEqual(
      Float64Array.from(logical(big, [5, 10], [1, 5])),
    );
    expect(be.toHost(be.contiguous(view(i, [50]), "int32"))).toEqual(Int32Array.from(big)); // exact
  });

  test("copyInto writes through the destination's strides, converting dtype", () => {
    const dst = be.full(20, -1, "float32"); // [4, 5]
    const src = uniform(20, -1, 1);
    be.copyInto(view(dst, [5, 4], [1, 5]), view(up(src, "float64"), [5, 4]));
    const want = new Array<number>(20);
    for (let r = 0; r < 5; r++) for (let c = 0; c < 4; c++) want[r + c * 5] = src[r * 4 + c]!;
    expectClose(down(dst), f32(want), "copyInto transposed");
    // into a window [2, 3] at offset 6 with row stride 5, from a broadcast row
    const row = up([7, 8, 9]);
    be.copyInto(view(dst, [2, 3], [5, 1], 6), view(row, [2, 3], [0, 1]));
    const after = f32(want);
    for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) after[6 + r * 5 + c] = [7, 8, 9][c]!;
    expectClose(down(dst), after, "copyInto window");
  });

  for (const dtype of ["float32", "float64"] as const) {
    test(`unary ops (${dtype}, strided input)`, () => {
      for (const op of UNARY_OPS) {
        const [lo, hi] = unaryDomain(op);
        const host = uniform(7 * 33, lo, hi);
        if (op === "sign" || op === "relu" || op === "abs") host[3] = 0;
        const vals = dtype === "float32" ? f32(host) : host;
        const s = up(vals, dtype);
        // the [33, 7] storage read as its transpose [7, 33]
        const out = be.unary(op, view(s, [7, 33], [1, 7]));
        expect(out.dtype).toBe(dtype);
        const want = logical(vals, [7, 33], [1, 7]).map((x) => unaryRef(op, x));
        expectClose(down(out), want, `unary ${op} ${dtype}`);
      }
    });

    test(`binary ops (${dtype}, broadcasting through stride 0)`, () => {
      for (const op of BINARY_OPS) {
        const cmp = ["lt", "le", "gt", "ge", "eq", "ne", "maximum"].includes(op);
        const a = op === "pow" ? uniform(5 * 9, 0.5, 2) : cmp ? ints(5 * 9, -2, 2) : uniform(5 * 9, -3, 3);
        const b = op === "pow" ? uniform(9, -2, 2) : op === "div" ? uniform(9, 0.5, 2) : cmp ? ints(9, -2, 2) : uniform(9, -3, 3);
        if (op === "relu_grad") a[2] = 0;
        const av = dtype === "float32" ? f32(a) : a, bv = dtype === "float32" ? f32(b) : b;
        const outDtype: DType = ["lt", "le", "gt", "ge", "eq", "ne"].includes(op) ? "bool" : dtype;
        const out = be.binary(op, view(up(av, dtype), [5, 9]), view(up(bv, dtype), [5, 9], [0, 1]), outDtype);
        expect(out.dtype).toBe(outDtype);
        const want = av.map((x, i) => binaryRef(op, x, bv[i % 9]!));
        expectClose(down(out), want, `binary ${op} ${dtype}`);
      }
    });
  }

  test("binary ops on int32 and mixed dtypes", () => {
    const a = ints(40, -1000, 1000), b = ints(40, -1000, 1000);
    const ai = up(a, "int32"), bi = up(b, "int32");
    expect(be.toHost(be.binary("add", view(ai, [40]), view(bi, [40]), "int32"))).toEqual(
      Int32Array.from(a.map((x, i) => x + b[i]!)),
    );
    expect(be.toHost(be.binary("mul", view(ai, [40]), view(bi, [40]), "int32"))).toEqual(
      Int32Array.from(a.map((x, i) => x * b[i]!)),
    );
    expect(be.toHost(be.binary("ge", view(ai, [40]), view(bi, [40]), "bool"))).toEqual(
      Uint8Array.from(a.map((x, i) => +(x >= b[i]!))),
    );
    const f = f32(uniform(40, -3, 3));
    const mixed = be.binary("mul", view(up(f), [40]), view(ai, [40]), "float32");
    expectClose(down(mixed), f.map((x, i) => x * a[i]!), "float32 * int32");
    const wide = be.binary("sub", view(up(f), [40]), view(up(b, "float64"), [40]), "float64");
    expectClose(down(wide), f.map((x, i) => x - b[i]!), "float32 - float64");
  });

  test("NaN propagation in maximum and relu", () => {
    const a = up([Number.NaN, 1, 2]), b = up([0, Number.NaN, 1]);
    expect(down(be.binary("maximum", view(a, [3]), view(b, [3]), "float32"))).toEqual([NaN, NaN, 2]);
    expect(down(be.unary("relu", view(a, [3])))).toEqual([NaN, 1, 2]);
  });

  test("where with a broadcast branch", () => {
    const cond = ints(6 * 8, 0, 1), a = uniform(6 * 8, -1, 1), b = uniform(8, -1, 1);
    const out = be.where(view(up(cond, "bool"), [6, 8]), view(up(a, "float64"), [6, 8]), view(up(b), [6, 8], [0, 1]), "float32");
    expectClose(down(out), f32(cond.map((c, i) => (c ? a[i]! : f32(b)[i % 8]!))), "where");
    const ii = be.where(view(up(cond, "bool"), [48]), view(up(ints(48, 0, 9), "int32"), [48], [0]), view(up(a), [48]), "int32");
    expect(ii.dtype).toBe("int32");
  });

  function reduceRef(op: string, xs: number[]): number {
    if (op === "sum") return xs.reduce((s, x) => s + x, 0);
    let best = 0;
    for (let i = 1; i < xs.length; i++) {
      const v = xs[i]!, bv = xs[best]!;
      if (Number.isNaN(bv)) break;
      if (Number.isNaN(v) || v > bv) best = i;
    }
    return op.startsWith("arg") ? best : xs[best]!;
  }

  // [name, storage shape, view shape, layout (0 contiguous, 1 transposed 2-D, 2 permuted 3-D), inner]
  const reduceCases: [string, number[], number[], number, number][] = [
    ["warp per row", [6, 37], [6, 37], 0, 37],
    ["two inner dims", [5, 4, 6], [5, 4, 6], 0, 24],
    ["column reduce, thread per row", [50, 1100], [1100, 50], 1, 50],
    ["long rows, block per row", [2, 5000], [2, 5000], 0, 5000],
    ["many short rows", [2000, 3], [2000, 3], 0, 3],
    ["unmergeable inner dims", [5, 4, 3], [3, 4, 5], 2, 20],
    ["inner 1", [4, 5], [4, 5], 0, 1],
    ["everything", [3, 7, 11], [3, 7, 11], 0, 231],
  ];

  for (const dtype of ["float32", "float64"] as const) {
    test(`reduce sum/max/argmax (${dtype})`, () => {
      for (const [name, sshape, vshape, mode, inner] of reduceCases) {
        const n = numel(sshape);
        const host = dtype === "float32" ? f32(uniform(n, -2, 2)) : uniform(n, -2, 2);
        const strides =
          mode === 0 ? contiguousStrides(vshape)
          : mode === 1 ? [1, sshape[1]!] // transpose of a 2-D storage
          : [1, 3, 12]; // [5,4,3] storage permuted to [3,4,5]
        const xs = logical(host, vshape, strides);
        const s = up(host, dtype);
        for (const op of ["sum", "max", "argmax"] as const) {
          const out = be.reduce(op, view(s, vshape, strides), inner);
          expect(out.dtype).toBe(op.startsWith("arg") ? "int32" : dtype);
          const want: number[] = [];
          for (let r = 0; r < xs.length / inner; r++) want.push(reduceRef(op, xs.slice(r * inner, (r + 1) * inner)));
          expectClose(down(out), want, `${op} ${name} ${dtype}`);
        }
      }
    });
  }

  test("reduce: ties pick the first index, NaN propagates, int and bool sums, empty inner", () => {
    for (const inner of [10, 300, 3000]) {
      const xs = ints(4 * inner, 0, 2);
      const s = up(xs);
      const want = [0, 1, 2, 3].map((r) => reduceRef("argmax", xs.slice(r * inner, (r + 1) * inner)));
      expect(down(be.reduce("argmax", view(s, [4, inner]), inner))).toEqual(want);
    }
    const nan = up([1, Number.NaN, 3, Number.NaN, 0, 5]);
    expect(down(be.reduce("max", view(nan, [2, 3]), 3))).toEqual([NaN, NaN]);
    expect(down(be.reduce("argmax", view(nan, [2, 3]), 3))).toEqual([1, 0]);
    expect(down(be.reduce("argmax", view(nan, [6]), 6))).toEqual([1]);
    const iv = ints(60, -100, 100);
    const isum = be.reduce("sum", view(up(iv, "int32"), [6, 10]), 10);
    expect(isum.dtype).toBe("int32");
    expect(down(isum)).toEqual([0, 1, 2, 3, 4, 5].map((r) => iv.slice(r * 10, r * 10 + 10).reduce((a, b) => a + b, 0)));
    const bsum = be.reduce("sum", view(up([1, 0, 1, 1, 1, 0], "bool"), [2, 3]), 3);
    expect(bsum.dtype).toBe("int32");
    expect(down(bsum)).toEqual([2, 2]);
    expect(down(be.reduce("sum", view(up([]), [3, 0]), 0))).toEqual([0, 0, 0]);
    expect(() => be.reduce("max", view(up([]), [3, 0]), 0)).toThrow(XtError);
  });

  function matmulRef(a: number[], as: number[], b: number[], bs: number[], B: number, M: number, K: number, N: number) {
    const out: number[] = [];
    for (let z = 0; z < B; z++)
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let acc = 0;
          for (let k = 0; k < K; k++) acc += a[z * as[0]! + i * as[1]! + k * as[2]!]! * b[z * bs[0]! + k * bs[1]! + j * bs[2]!]!;
          out.push(acc);
        }
    return out;
  }

  test("batched matmul: shapes, edge tiles, transposed and broadcast operands", () => {
    const shapes: [number, number, number, number][] = [
      [1, 1, 1, 1], [1, 3, 5, 7], [2, 65, 33, 70], [3, 17, 64, 1], [1, 130, 20, 129], [4, 1, 16, 8],
    ];
    for (const [B, M, K, N] of shapes) {
      for (const [ta, tb, bcast] of [[false, false, false], [true, false, false], [false, true, true], [true, true, false]]) {
        const a = f32(uniform(B * M * K, -1, 1));
        const b = f32(uniform((bcast ? 1 : B) * K * N, -1, 1));
        const as = ta ? [M * K, 1, M] : [M * K, K, 1]; // ta: stored as [B, K, M]
        const bs0 = bcast ? 0 : K * N;
        const bs = tb ? [bs0, 1, K] : [bs0, N, 1];
        const out = be.matmul(view(up(a), [B, M, K], as), view(up(b), [B, K, N], bs));
        expectClose(down(out), matmulRef(a, as, b, bs, B, M, K, N), `matmul ${[B, M, K, N]} ${[ta, tb, bcast]}`);
      }
    }
    const a = uniform(2 * 9 * 11, -1, 1), b = uniform(2 * 11 * 5, -1, 1);
    const out = be.matmul(view(up(a, "float64"), [2, 9, 11]), view(up(b, "float64"), [2, 11, 5]));
    expect(out.dtype).toBe("float64");
    expectClose(down(out), matmulRef(a, [99, 11, 1], b, [55, 5, 1], 2, 9, 11, 5), "matmul f64", 1e-12);
    // Core promotes mixed operands before the kernel; the backend takes one floating dtype.
    expect(() => be.matmul(view(up(a), [2, 9, 11]), view(up(b, "float64"), [2, 11, 5]))).toThrow(
      "matmul takes two float32 or two float64 operands on CUDA, got float32 and float64",
    );
    expect(down(be.matmul(view(up([]), [2, 3, 0]), view(up([]), [2, 0, 4])))).toEqual(new Array(24).fill(0));
  });

  function softmaxRef(row: number[], log: boolean): number[] {
    const m = Math.max(...row);
    const s = row.reduce((acc, x) => acc + Math.exp(x - m), 0);
    return row.map((x) => (log ? x - m - Math.log(s) : Math.exp(x - m) / s));
  }

  for (const dtype of ["float32", "float64"] as const) {
    test(`softmax / log_softmax forward and backward (${dtype})`, () => {
      for (const [R, C, transposed] of [[5, 1, false], [7, 33, true], [3, 1000, false], [40, 70, true]] as const) {
        const host = uniform(R * C, -4, 4);
        if (C > 4) for (let r = 0; r < R; r += 2) host[r * C + 1] = host[r * C + 3] = Number.NEGATIVE_INFINITY;
        const vals = dtype === "float32" ? f32(host) : host;
        // transposed: the data sits in a [C, R] storage, read as [R, C]
        const stored = transposed ? logical(vals, [C, R], [1, C]) : vals;
        const xv = view(up(stored, dtype), [R, C], transposed ? [1, R] : [C, 1]);
        const gy = uniform(R * C, -1, 1);
        const gyv = dtype === "float32" ? f32(gy) : gy;
        for (const log of [false, true]) {
          const y = be.softmax(xv, log);
          const want: number[] = [];
          for (let r = 0; r < R; r++) want.push(...softmaxRef(vals.slice(r * C, r * C + C), log));
          expectClose(down(y), want, `softmax log=${log} [${R}, ${C}] ${dtype}`);
          // backward from the reference forward output
          const yRef = dtype === "float32" ? f32(want) : want;
          const gx = be.softmaxBackward(view(up(yRef, dtype), [R, C]), view(up(gyv, dtype), [R, C]), log);
          const wantG: number[] = [];
          for (let r = 0; r < R; r++) {
            const yr = yRef.slice(r * C, r * C + C), gr = gyv.slice(r * C, r * C + C);
            if (log) {
              const sg = gr.reduce((a, b) => a + b, 0);
              wantG.push(...gr.map((g, i) => g - Math.exp(yr[i]!) * sg));
            } else {
              const dot = gr.reduce((a, g, i) => a + g * yr[i]!, 0);
              wantG.push(...gr.map((g, i) => yr[i]! * (g - dot)));
            }
          }
          expectClose(down(gx), wantG, `softmaxBackward log=${log} [${R}, ${C}] ${dtype}`);
        }
      }
    });
  }

  test("softmax of a fully masked row is NaN, as in PyTorch", () => {
    const x = up([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 1]);
    const y = down(be.softmax(view(x, [2, 2]), false));
    expect(Number.isNaN(y[0]!) && Number.isNaN(y[1]!)).toBe(true);
    expectClose(y.slice(2), softmaxRef([0, 1], false), "unmasked row");
  });

  test("gatherRows and scatterAddRows (repeated indices, strided operands, range errors)", () => {
    const R = 10, C = 7;
    const x = uniform(R * C, -1, 1);
    const xs = up(x, "float64");
    const idx = [0, 3, 3, 9, 1, 3];
    const g = be.gatherRows(view(xs, [R, C]), view(up(idx, "int32"), [6]));
    expectClose(down(g), idx.flatMap((r) => x.slice(r * C, r * C + C)), "gatherRows", 0);
    // x read transposed from a [C, R] storage, index read with stride 2
    const xt = logical(x, [C, R], [1, C]); // storage holding x^T
    const idx2 = [4, -7, 2, -7, 8, -7];
    const gt = be.gatherRows(view(up(f32(xt)), [R, C], [1, R]), view(up(idx2, "int32"), [3], [2]));
    expectClose(down(gt), [4, 2, 8].flatMap((r) => f32(x).slice(r * C, r * C + C)), "gatherRows strided", 0);

    const src = f32(uniform(6 * 4, -1, 1));
    const rows = 5, sidx = [4, 0, 4, 2, 4, 0];
    const sc = be.scatterAddRows(view(up(src), [6, 4]), view(up(sidx, "int32"), [6]), rows);
    const want = new Array<number>(rows * 4).fill(0);
    sidx.forEach((r, i) => { for (let c = 0; c < 4; c++) want[r * 4 + c]! += src[i * 4 + c]!; });
    expectClose(down(sc), want, "scatterAddRows");

    expect(() => be.gatherRows(view(xs, [R, C]), view(up([1, 10], "int32"), [2]))).toThrow(XtError);
    expect(() => be.gatherRows(view(xs, [R, C]), view(up([-1], "int32"), [1]))).toThrow(XtError);
    expect(() => be.scatterAddRows(view(up(src), [6, 4]), view(up([0, 1, 2, 3, 4, 5], "int32"), [6]), 5)).toThrow(XtError);
    // the error flag was cleared: the next call succeeds
    expectClose(down(be.gatherRows(view(xs, [R, C]), view(up([2], "int32"), [1]))), x.slice(14, 21), "after error", 0);
  });

  test("2-D windows: im2row, row2im, max pool and its backward (strided input, padding, stride, ties)", () => {
    const [N, C, H, W] = [2, 3, 7, 6];
    // x read through a permuted [N, C, H, W] view of an [N, H, W, C] storage (channels last)
    const xh = uniform(N * H * W * C, -1, 1).map((v) => Math.round(v * 4) / 4); // quarters: many ties
    const xStrides = [H * W * C, 1, W * C, C];
    const at = (n: number, c: number, y: number, x: number) => xh[n * xStrides[0]! + c + y * xStrides[2]! + x * C]!;
    for (const dtype of ["float32", "float64"] as const) {
      const xs = up(xh, dtype);
      const xv = view(xs, [N, C, H, W], xStrides);
      for (const w of [{ kh: 3, kw: 2, sh: 2, sw: 1, ph: 1, pw: 0 }, { kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0 }, { kh: 3, kw: 3, sh: 1, sw: 2, ph: 1, pw: 1 }] as Window2d[]) {
        const Ho = Math.floor((H + 2 * w.ph - w.kh) / w.sh) + 1, Wo = Math.floor((W + 2 * w.pw - w.kw) / w.sw) + 1;
        const K = C * w.kh * w.kw, L = Ho * Wo;
        const src = (n: number, c: number, i: number, j: number, l: number): [number, number] | null => {
          const y = Math.floor(l / Wo) * w.sh - w.ph + i, x = (l % Wo) * w.sw - w.pw + j;
          return y >= 0 && y < H && x >= 0 && x < W ? [y, x] : null;
        };
        // rows[n, l, k]: the patch of position l, column k = (c, i, j)
        const rows = new Array<number>(N * L * K).fill(0);
        for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < w.kh; i++) for (let j = 0; j < w.kw; j++) {
          for (let l = 0; l < L; l++) { const p = src(n, c, i, j, l); rows[(n * L + l) * K + (c * w.kh + i) * w.kw + j] = p ? at(n, c, p[0], p[1]) : 0; }
        }
        const what = `${dtype} ${JSON.stringify(w)}`;
        expectClose(down(be.im2row(xv, w)), rows, `im2row ${what}`, 0);
        // row2im of rows read transposed (a [N, K, L] storage)
        const g = uniform(N * L * K, -1, 1);
        const gT = logical(g, [N, K, L], [K * L, 1, K]);
        const folded = new Array<number>(N * C * H * W).fill(0);
        for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < w.kh; i++) for (let j = 0; j < w.kw; j++) {
          for (let l = 0; l < L; l++) {
            const p = src(n, c, i, j, l);
            if (p) folded[((n * C + c) * H + p[0]) * W + p[1]]! += g[(n * L + l) * K + (c * w.kh + i) * w.kw + j]!;
          }
        }
        const rowsView = view(up(gT, dtype), [N, L, K], [K * L, 1, L]);
        expectClose(down(be.row2im(rowsView, w, H, W)), folded, `row2im ${what}`, 1e-5);
        if (2 * w.ph > w.kh || 2 * w.pw > w.kw) continue;
        // max pool: first maximum in row-major window order
        const ys: number[] = [], idx: number[] = [];
        for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let oy = 0; oy < Ho; oy++) for (let ox = 0; ox < Wo; ox++) {
          let best = -1, m = -Infinity;
          for (let i = 0; i < w.kh; i++) for (let j = 0; j < w.kw; j++) {
            const y = oy * w.sh - w.ph + i, x = ox * w.sw - w.pw + j;
            if (y < 0 || y >= H || x < 0 || x >= W) continue;
            if (at(n, c, y, x) > m || best < 0) { m = at(n, c, y, x); best = y * W + x; }
          }
          ys.push(m); idx.push(best);
        }
        const r = be.maxPool2d(xv, w);
        expectClose(down(r.y), ys, `maxPool2d ${what}`, 0);
        expect(down(r.indices), `maxPool2d indices ${what}`).toEqual(idx);
        const gy = uniform(N * C * L, -1, 1);
        const gx = new Array<number>(N * C * H * W).fill(0);
        idx.forEach((k, o) => { gx[Math.floor(o / L) * H * W + k]! += f32(gy)[o]!; });
        const back = be.maxPool2dBackward(view(up(gy, dtype), [N, C, Ho, Wo]), view(r.indices, [N, C, Ho, Wo]), w, H, W);
        expectClose(down(back), gx, `maxPool2dBackward ${what}`, 1e-5);
      }
    }
  });

  test("Adam steps match PyTorch's update (weight decay, bias correction, strided grad)", () => {
    const n = 1000;
    const p0 = f32(uniform(n, -1, 1));
    const param = up(p0), m = be.full(n, 0, "float32"), v = be.full(n, 0, "float32");
    const ref = { p: [...p0], m: new Array<number>(n).fill(0), v: new Array<number>(n).fill(0) };
    const hp = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    for (let step = 1; step <= 3; step++) {
      const gHost = f32(uniform(n, -1, 1));
      // the gradient arrives as the transpose of a [25, 40] storage: not contiguous
      const gStore = up(logical(gHost, [25, 40], [1, 25]));
      const gView = view(gStore, [40, 25], [1, 40]);
      be.adamStepInPlace(param, gView, m, v, { ...hp, step });
      const bc1 = 1 - hp.beta1 ** step, bc2 = 1 - hp.beta2 ** step;
      for (let i = 0; i < n; i++) {
        const g = gHost[i]! + hp.weightDecay * ref.p[i]!;
        ref.m[i] = hp.beta1 * ref.m[i]! + (1 - hp.beta1) * g;
        ref.v[i] = hp.beta2 * ref.v[i]! + (1 - hp.beta2) * g * g;
        const denom = Math.sqrt(ref.v[i]!) / Math.sqrt(bc2) + hp.eps;
        ref.p[i] = ref.p[i]! - (hp.lr / bc1) * (ref.m[i]! / denom);
      }
    }
    expectClose(down(param), ref.p, "adam param");
    expectClose(down(m), ref.m, "adam m");
    expectClose(down(v), ref.v, "adam v");
  });

  test("dead storages are collected and their device memory reused", () => {
    const before = be.memory().inUse;
    for (let i = 0; i < 200; i++) be.full(1 << 16, i, "float32"); // 256 KiB each, dropped at once
    (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun?.gc(true);
    const after = be.memory();
    expect(after.inUse - before).toBeLessThan(8 << 20);
    expect(after.cached).toBeGreaterThan(0);
  });
});
