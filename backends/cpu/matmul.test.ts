import { describe, expect, test } from "bun:test";
import { batchedGemm, gemm, type FloatArray } from "./matmul.ts";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
type Layout = "row" | "col" | "padded" | "bcastRows" | "bcastCols" | "scalar" | "negRows" | "offset";

interface Strided { data: FloatArray; off: number; rs: number; cs: number }

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
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

/** A rows×cols matrix of values in [-1, 1) stored with the given layout inside a larger buffer. */
function makeMatrix(T: Ctor, rows: number, cols: number, layout: Layout, rand: () => number): Strided {
  const pad = 5;
  let off = pad, rs: number, cs: number, size: number;
  switch (layout) {
    case "row": off = 0; rs = cols; cs = 1; size = rows * cols; break;
    case "col": off = 0; rs = 1; cs = rows; size = rows * cols; break;
    case "padded": rs = 1; cs = rows + 3; size = pad + cols * (rows + 3); break; // col-major, ld > rows
    case "bcastRows": rs = 0; cs = 1; size = pad + cols; break; // every row the same
    case "bcastCols": rs = 1; cs = 0; size = pad + rows; break; // every column the same
    case "scalar": rs = 0; cs = 0; size = pad + 1; break;
    case "negRows": rs = -(cols + 2); cs = 1; off = pad + (rows - 1) * (cols + 2); size = off + cols + 1; break;
    case "offset": off = 11; rs = 2 * cols + 1; cs = 2; size = off + rows * (2 * cols + 1) + 1; break;
  }
  const data = new T(Math.max(size, 1));
  for (let i = 0; i < data.length; i++) data[i] = rand() * 2 - 1;
  return { data, off, rs, cs };
}

/** Naive reference in double precision, plus Σ|a·b| per entry (the scale for tolerances). */
function reference(M: number, N: number, K: number, A: Strided, B: Strided): { ref: Float64Array; mag: Float64Array } {
  const ref = new Float64Array(M * N), mag = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0, m = 0;
      for (let k = 0; k < K; k++) {
        const p = A.data[A.off + i * A.rs + k * A.cs]! * B.data[B.off + k * B.rs + j * B.cs]!;
        s += p;
        m += Math.abs(p);
      }
      ref[i * N + j] = s;
      mag[i * N + j] = m;
    }
  }
  return { ref, mag };
}

function tolerance(T: Ctor): number {
  return T === Float32Array ? 1e-5 : 1e-12;
}

/** Returns a description of the first mismatch, or null when c matches within tolerance. */
function mismatch(c: FloatArray, cOff: number, ref: Float64Array, mag: Float64Array, tol: number): string | null {
  for (let i = 0; i < ref.length; i++) {
    const got = c[cOff + i]!, want = ref[i]!;
    const err = Math.abs(got - want);
    if (!(err <= tol * (mag[i]! + 1e-30) + 1e-300)) {
      return `element ${i}: got ${got}, want ${want} (err ${err}, scale ${mag[i]})`;
    }
  }
  return null;
}

const GUARD = 12345.5;

/** Runs one gemm with C at an offset inside a guarded, NaN-prefilled buffer and checks it. */
function checkGemm(T: Ctor, M: number, N: number, K: number, la: Layout, lb: Layout, seed: number): string | null {
  const rand = rng(seed);
  const A = makeMatrix(T, M, K, la, rand);
  const B = makeMatrix(T, K, N, lb, rand);
  const cOff = 3;
  const c = new T(cOff + M * N + 4).fill(NaN); // C must be overwritten, not accumulated into
  c.fill(GUARD, 0, cOff);
  c.fill(GUARD, cOff + M * N);
  gemm(M, N, K, A.data, A.off, A.rs, A.cs, B.data, B.off, B.rs, B.cs, c, cOff);
  for (let i = 0; i < cOff; i++) if (c[i] !== GUARD) return `wrote before C at ${i}`;
  for (let i = cOff + M * N; i < c.length; i++) if (c[i] !== GUARD) return `wrote after C at ${i}`;
  const { ref, mag } = reference(M, N, K, A, B);
  const bad = mismatch(c, cOff, ref, mag, tolerance(T));
  return bad && `${T.name} M=${M} N=${N} K=${K} A:${la} B:${lb}: ${bad}`;
}

const TYPES: [string, Ctor][] = [["float32", Float32Array], ["float64", Float64Array]];
const LAYOUTS: Layout[] = ["row", "col", "padded", "bcastRows", "bcastCols", "scalar", "negRows", "offset"];

describe("reference checker", () => {
  test("detects a wrong element", () => {
    const rand = rng(1);
    const A = makeMatrix(Float64Array, 5, 6, "row", rand), B = makeMatrix(Float64Array, 6, 7, "row", rand);
    const c = new Float64Array(35);
    gemm(5, 7, 6, A.data, A.off, A.rs, A.cs, B.data, B.off, B.rs, B.cs, c, 0);
    const { ref, mag } = reference(5, 7, 6, A, B);
    expect(mismatch(c, 0, ref, mag, 1e-12)).toBeNull();
    c[17]! += 1e-6;
    expect(mismatch(c, 0, ref, mag, 1e-12)).not.toBeNull();
  });

  test("detects a float32 result that is off by more than the tolerance", () => {
    const ref = new Float64Array([1]), mag = new Float64Array([1]);
    expect(mismatch(new Float32Array([1 + 1e-4]), 0, ref, mag, 1e-5)).not.toBeNull();
    expect(mismatch(new Float32Array([NaN]), 0, ref, mag, 1e-5)).not.toBeNull();
  });
});

for (const [name, T] of TYPES) {
  describe(`gemm ${name}`, () => {
    test("hand-computed 2×3 · 3×2", () => {
      const a = new T([1, 2, 3, 4, 5, 6]), b = new T([7, 8, 9, 10, 11, 12]), c = new T(4);
      gemm(2, 2, 3, a, 0, 3, 1, b, 0, 2, 1, c, 0);
      expect(Array.from(c)).toEqual([58, 64, 139, 154]);
      // Aᵀ (3×2 read as 2×3 column-major) · B
      gemm(2, 2, 3, new T([1, 4, 2, 5, 3, 6]), 0, 1, 2, b, 0, 2, 1, c, 0);
      expect(Array.from(c)).toEqual([58, 64, 139, 154]);
    });

    test("empty sizes: M or N = 0 writes nothing, K = 0 writes zeros", () => {
      const a = new T(16).fill(1), b = new T(16).fill(1);
      const c = new T(8).fill(7);
      gemm(0, 3, 2, a, 0, 2, 1, b, 0, 3, 1, c, 0);
      gemm(3, 0, 2, a, 0, 2, 1, b, 0, 3, 1, c, 0);
      expect(Array.from(c)).toEqual([7, 7, 7, 7, 7, 7, 7, 7]);
      gemm(2, 3, 0, a, 0, 0, 1, b, 0, 3, 1, c, 1);
      expect(Array.from(c)).toEqual([7, 0, 0, 0, 0, 0, 0, 7]);
    });

    test("all small sizes (M, N, K ∈ {1,2,3,4,5,7,8,9,13,17}), row-major", () => {
      const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 13, 17];
      let seed = 100;
      for (const M of sizes) for (const N of sizes) for (const K of sizes) {
        expect(checkGemm(T, M, N, K, "row", "row", seed++)).toBeNull();
      }
    });

    test("every layout pair on ragged sizes", () => {
      const shapes: [number, number, number][] = [
        [1, 1, 1], [7, 13, 17], [13, 7, 33], [17, 33, 7], [33, 17, 13], [9, 12, 5], [37, 29, 45], [6, 70, 300],
      ];
      let seed = 5000;
      for (const [M, N, K] of shapes) for (const la of LAYOUTS) for (const lb of LAYOUTS) {
        expect(checkGemm(T, M, N, K, la, lb, seed++)).toBeNull();
      }
    });

    test("edge sizes around the blocking (127, 129, 257, K > KC = 256, N > NC = 512)", () => {
      const cases: [number, number, number, Layout, Layout][] = [
        [127, 129, 33, "row", "row"],
        [129, 127, 65, "col", "row"],
        [33, 129, 127, "row", "col"],
        [129, 33, 129, "col", "col"],
        [64, 64, 300, "row", "row"], // two K slabs: later slabs accumulate into C
        [130, 40, 513, "col", "offset"], // three K slabs, M > MC
        [257, 24, 20, "negRows", "padded"],
        [5, 2100, 9, "row", "row"], // N > NC: several column blocks
        [6, 2053, 3, "offset", "col"],
        [1, 129, 127, "row", "row"], // row vector times matrix
        [129, 1, 127, "row", "row"], // matrix times column vector
        [3, 3, 1000, "row", "col"], // long dot products
        [200, 200, 1, "col", "row"], // outer product
        [128, 128, 128, "bcastRows", "bcastCols"],
        [96, 64, 64, "scalar", "row"],
      ];
      let seed = 9000;
      for (const [M, N, K, la, lb] of cases) expect(checkGemm(T, M, N, K, la, lb, seed++)).toBeNull();
    });

    test("random shapes and layouts", () => {
      const rand = rng(424242);
      const pick = (n: number) => Math.floor(rand() * n);
      for (let t = 0; t < 60; t++) {
        const M = 1 + pick(70), N = 1 + pick(70), K = 1 + pick(300);
        const la = LAYOUTS[pick(LAYOUTS.length)]!, lb = LAYOUTS[pick(LAYOUTS.length)]!;
        expect(checkGemm(T, M, N, K, la, lb, 20000 + t)).toBeNull();
      }
    });

    test("repeated calls of different sizes reuse scratch correctly", () => {
      const shapes: [number, number, number][] = [[200, 300, 260], [8, 8, 8], [130, 17, 5], [200, 300, 260], [9, 40, 700]];
      let seed = 31000;
      for (const [M, N, K] of shapes) expect(checkGemm(T, M, N, K, "row", "col", seed++)).toBeNull();
    });
  });

  describe(`batchedGemm ${name}`, () => {
    /** Batched check: A is [batch, M, K] from `a` with strides, B likewise; C contiguous [batch, M, N]. */
    function checkBatched(batch: number, M: number, N: number, K: number,
      aBs: number, aRs: number, aCs: number, bBs: number, bRs: number, bCs: number, seed: number): string | null {
      const rand = rng(seed);
      const aOff = 2, bOff = 3, cOff = 1;
      const span = (bs: number, rs: number, cs: number, r: number, k: number) =>
        Math.abs(bs) * (batch - 1) + Math.abs(rs) * (r - 1) + Math.abs(cs) * (k - 1) + 1;
      const a = new T(aOff + span(aBs, aRs, aCs, M, K) + 2), b = new T(bOff + span(bBs, bRs, bCs, K, N) + 2);
      for (let i = 0; i < a.length; i++) a[i] = rand() * 2 - 1;
      for (let i = 0; i < b.length; i++) b[i] = rand() * 2 - 1;
      const c = new T(cOff + batch * M * N + 2).fill(NaN);
      c[0] = GUARD;
      c[c.length - 1] = GUARD;
      c[c.length - 2] = GUARD;
      batchedGemm(batch, M, N, K, a, aOff, aBs, aRs, aCs, b, bOff, bBs, bRs, bCs, c, cOff);
      if (c[0] !== GUARD || c[c.length - 1] !== GUARD || c[c.length - 2] !== GUARD) return "wrote outside C";
      for (let t = 0; t < batch; t++) {
        const A: Strided = { data: a, off: aOff + t * aBs, rs: aRs, cs: aCs };
        const B: Strided = { data: b, off: bOff + t * bBs, rs: bRs, cs: bCs };
        const { ref, mag } = reference(M, N, K, A, B);
        const bad = mismatch(c, cOff + t * M * N, ref, mag, tolerance(T));
        if (bad) return `batch ${t} of ${batch} M=${M} N=${N} K=${K}: ${bad}`;
      }
      return null;
    }

    test("contiguous batches (attention-sized and larger)", () => {
      expect(checkBatched(8, 16, 16, 32, 16 * 32, 32, 1, 32 * 16, 16, 1, 1)).toBeNull();
      expect(checkBatched(8, 16, 32, 16, 16 * 16, 16, 1, 16 * 32, 32, 1, 2)).toBeNull();
      expect(checkBatched(3, 65, 70, 40, 65 * 40, 40, 1, 40 * 70, 70, 1, 3)).toBeNull();
    });

    test("transposed operands per batch (Q·Kᵀ and Aᵀ·B forms)", () => {
      // B[t] = Kmat[t]ᵀ where Kmat[t] is [N, K] row-major: bRs = 1, bCs = K
      expect(checkBatched(8, 16, 16, 32, 16 * 32, 32, 1, 16 * 32, 1, 32, 4)).toBeNull();
      // A[t] = X[t]ᵀ where X[t] is [K, M] row-major: aRs = 1, aCs = M
      expect(checkBatched(5, 24, 9, 37, 37 * 24, 1, 24, 37 * 9, 9, 1, 5)).toBeNull();
    });

    test("broadcast B (batch stride 0): folded into one taller product", () => {
      expect(checkBatched(64, 16, 128, 128, 16 * 128, 128, 1, 0, 128, 1, 6)).toBeNull();
      expect(checkBatched(7, 13, 9, 5, 13 * 5, 5, 1, 0, 1, 5, 7)).toBeNull(); // Bᵀ shared
      expect(checkBatched(9, 1, 20, 11, 30, 3, 2, 0, 20, 1, 8)).toBeNull(); // M = 1, A batches strided
    });

    test("broadcast B with A batches that do not stack into rows", () => {
      expect(checkBatched(4, 6, 10, 7, 6 * 7 + 3, 7, 1, 0, 10, 1, 9)).toBeNull();
      expect(checkBatched(4, 6, 10, 7, 1, 4 * 7, 4, 0, 10, 1, 10)).toBeNull(); // interleaved batches
    });

    test("broadcast A (batch stride 0) and fully broadcast", () => {
      expect(checkBatched(6, 12, 20, 9, 0, 9, 1, 9 * 20, 20, 1, 11)).toBeNull();
      expect(checkBatched(3, 5, 6, 4, 0, 0, 1, 0, 6, 0, 12)).toBeNull();
    });

    test("degenerate batches", () => {
      expect(checkBatched(1, 7, 9, 11, 0, 11, 1, 0, 9, 1, 13)).toBeNull();
      expect(checkBatched(4, 3, 5, 0, 0, 0, 1, 0, 5, 1, 14)).toBeNull(); // K = 0: zeros
      const c = new T(4).fill(GUARD);
      batchedGemm(0, 2, 2, 2, new T(4), 0, 4, 2, 1, new T(4), 0, 4, 2, 1, c, 0);
      batchedGemm(2, 0, 2, 2, new T(4), 0, 4, 2, 1, new T(4), 0, 4, 2, 1, c, 0);
      expect(Array.from(c)).toEqual([GUARD, GUARD, GUARD, GUARD]);
    });
  });
}

test("float32 results are rounded from double accumulation", () => {
  // 1 + 2^-30 is not representable in float32 but the sum of exact float32 products is.
  const K = 3;
  const a = new Float32Array([1, 2 ** -15, -1]), b = new Float32Array([1, 2 ** -15, 1]);
  const c = new Float32Array(1);
  gemm(1, 1, K, a, 0, K, 1, b, 0, 1, 1, c, 0);
  expect(c[0]).toBe(Math.fround(2 ** -30));
});
