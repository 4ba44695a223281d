/**
 * The CPU backend's matrix multiply, in plain TypeScript (no WASM, no native code).
 *
 * Design (GotoBLAS / BLIS style, scaled down to what a JS engine can do with scalar doubles):
 *
 *  - Cache blocking. K is split into KC-deep slabs, N into NC-wide blocks and M into MC-tall
 *    blocks. For each (NC, KC) block of B and each (MC, KC) block of A, the operands are copied
 *    ("packed") into contiguous scratch so the inner loops read memory strictly sequentially,
 *    whatever the caller's strides were (row-major, transposed, 0-stride broadcast, offsets).
 *    A is packed as MR-row micro-panels (for each k: MR values), B as NR-column micro-panels
 *    (for each k: NR values); ragged edges are zero-padded.
 *  - Register tiling. An MR×NR = 4×8 micro-kernel keeps 32 accumulators in local variables,
 *    fully unrolled, and streams one micro-panel of A and one of B. It is generated once at load
 *    time from a template (`microKernelSource`) so the unrolling is not written out by hand.
 *  - The packed scratch is always Float64Array, also for float32 inputs: JavaScriptCore converts
 *    a Float32Array load to double on every read, and measured on this project's machine a
 *    4×8 kernel reading Float32Array panels ran at ~7.2 GFLOP/s against ~9.9 with Float64Array
 *    panels. Packing float32 into float64 is exact; float32 products are accumulated in doubles
 *    and rounded once when stored into C (per KC slab when K > KC).
 *  - Scratch buffers are module-level, grown on demand and reused: no allocation per call in
 *    steady state.
 *  - Monomorphism. The micro-kernel is compiled twice (one copy only ever stores into
 *    Float32Array C, the other only into Float64Array C and the Float64Array edge tile) so its
 *    typed-array stores stay monomorphic in JSC.
 *  - Edges. Full MR×NR tiles are written straight into C; edge tiles are computed into a small
 *    tile buffer (padded operands are zero) and the valid part is copied out.
 *  - Small or skinny products (tiny M·N·K, or M or N below one tile) skip packing and use a
 *    direct strided kernel, which has less fixed overhead (see `useDirect`).
 *
 * C is overwritten, never accumulated into, and is written contiguous row-major.
 */

export type FloatArray = Float32Array | Float64Array;

/** Micro-tile rows / columns (register block). */
const MR = 4;
const NR = 8;
/** Depth of one packed slab of K. */
const KC = 256;
/** Rows of A packed per block (MC·KC doubles = 128 KiB, kept in L2). KC/MC in 128…512 measured alike. */
const MC = 64;
/** Columns of B packed per block (NC·KC doubles = 1 MiB; 256…2048 measured alike). */
const NC = 512;

/**
 * Emits the source of an MR×NR micro-kernel:
 *   kernel(kc, ap, pa, bp, pb, c, co, ldc, acc)
 * computes Σ_p ap[pa + p·MR + i] · bp[pb + p·NR + j] for the MR×NR tile and writes it to
 * c[co + i·ldc + j] (added to what is there when `acc`, overwriting otherwise).
 */
function microKernelSource(mr: number, nr: number, tag: string): string {
  const L: string[] = [];
  L.push(`"use strict"; // micro-kernel ${mr}x${nr} storing into ${tag}`);
  L.push(`return function microKernel_${tag}(kc, ap, pa, bp, pb, c, co, ldc, acc) {`);
  for (let i = 0; i < mr; i++) {
    L.push(`  let ${Array.from({ length: nr }, (_, j) => `c${i}_${j} = 0`).join(", ")};`);
  }
  L.push(`  for (let p = 0; p < kc; p++) {`);
  L.push(`    const ${Array.from({ length: mr }, (_, i) => `a${i} = ap[pa + ${i}]`).join(", ")};`);
  for (let j = 0; j < nr; j++) {
    L.push(`    { const b = bp[pb + ${j}];`);
    L.push(`      ${Array.from({ length: mr }, (_, i) => `c${i}_${j} += a${i} * b;`).join(" ")} }`);
  }
  L.push(`    pa += ${mr}; pb += ${nr};`);
  L.push(`  }`);
  for (const [cond, op] of [["if (acc)", "+="], ["else", "="]] as const) {
    L.push(`  ${cond} {`);
    for (let i = 0; i < mr; i++) {
      L.push(`    { const o = co + ${i} * ldc;`);
      L.push(`      ${Array.from({ length: nr }, (_, j) => `c[o + ${j}] ${op} c${i}_${j};`).join(" ")} }`);
    }
    L.push(`  }`);
  }
  L.push(`};`);
  return L.join("\n");
}

type MicroKernel = (
  kc: number, ap: Float64Array, pa: number, bp: Float64Array, pb: number,
  c: FloatArray, co: number, ldc: number, acc: boolean,
) => void;

function compileMicroKernel(tag: string): MicroKernel {
  // One compiled copy per destination type keeps each copy's stores monomorphic.
  return new Function(microKernelSource(MR, NR, tag))() as MicroKernel;
}

const kernel32 = compileMicroKernel("Float32Array");
const kernel64 = compileMicroKernel("Float64Array");

/**
 * Returns a separately compiled copy of `f`, so JavaScriptCore profiles (and specialises) its
 * typed-array accesses apart from the original's: one copy then only ever sees Float32Array
 * operands and the other Float64Array ones. Measured here, sharing one copy between float32 and
 * float64 callers made the small-matrix kernel run at about half speed.
 * `f` must be self-contained: it may refer only to its parameters, its locals and globals
 * (the copy is rebuilt from `f.toString()` outside this module's scope, so a reference to a
 * module-level name would throw a ReferenceError when the copy runs; the float64 tests run
 * every copied path). If the copy cannot be built, the shared original is used (only slower).
 */
function specialise<F extends (...args: never[]) => unknown>(f: F): F {
  try {
    const copy: unknown = new Function(`"use strict"; return (${f.toString()});`)();
    if (typeof copy === "function") return copy as F;
  } catch {
    // fall through
  }
  return f;
}

// ---- scratch (reused across calls, grown on demand) ----
let packedA = new Float64Array(MR * KC);
let packedB = new Float64Array(NR * KC);
const tile = new Float64Array(MR * NR);

// packA, packB, storeEdge and gemmDirect are specialised per element type (see `specialise`),
// so they must stay self-contained: MR = 4 and NR = 8 are written as literals inside them.
if (MR !== 4 || NR !== 8) throw new Error("matmul: packA/packB/storeEdge are written for a 4×8 tile");

/**
 * Packs the mc×kc block A[i, k] = a[off + i·rs + k·cs] into dst as 4-row (MR) micro-panels:
 * panel r holds, for each k, rows 4r … 4r+3 (zero beyond mc).
 */
function packA(a: FloatArray, off: number, rs: number, cs: number, mc: number, kc: number,
  dst: Float64Array): void {
  let q = 0;
  let ir = 0;
  const rs2 = 2 * rs, rs3 = 3 * rs;
  for (; ir + 4 <= mc; ir += 4) {
    let s = off + ir * rs;
    for (let p = 0; p < kc; p++) {
      dst[q] = a[s];
      dst[q + 1] = a[s + rs];
      dst[q + 2] = a[s + rs2];
      dst[q + 3] = a[s + rs3];
      q += 4;
      s += cs;
    }
  }
  if (ir < mc) {
    const mr = mc - ir;
    for (let p = 0; p < kc; p++) {
      const s = off + ir * rs + p * cs;
      let i = 0;
      for (; i < mr; i++) dst[q + i] = a[s + i * rs];
      for (; i < 4; i++) dst[q + i] = 0;
      q += 4;
    }
  }
}

/**
 * Packs the kc×nc block B[k, j] = b[off + k·rs + j·cs] into dst as 8-column (NR) micro-panels:
 * panel r holds, for each k, columns 8r … 8r+7 (zero beyond nc).
 */
function packB(b: FloatArray, off: number, rs: number, cs: number, kc: number, nc: number,
  dst: Float64Array): void {
  let q = 0;
  let jr = 0;
  if (cs === 1) {
    for (; jr + 8 <= nc; jr += 8) {
      let s = off + jr;
      for (let p = 0; p < kc; p++) {
        dst[q] = b[s]; dst[q + 1] = b[s + 1]; dst[q + 2] = b[s + 2]; dst[q + 3] = b[s + 3];
        dst[q + 4] = b[s + 4]; dst[q + 5] = b[s + 5]; dst[q + 6] = b[s + 6]; dst[q + 7] = b[s + 7];
        q += 8;
        s += rs;
      }
    }
  } else {
    const cs2 = 2 * cs, cs3 = 3 * cs, cs4 = 4 * cs, cs5 = 5 * cs, cs6 = 6 * cs, cs7 = 7 * cs;
    for (; jr + 8 <= nc; jr += 8) {
      let s = off + jr * cs;
      for (let p = 0; p < kc; p++) {
        dst[q] = b[s]; dst[q + 1] = b[s + cs]; dst[q + 2] = b[s + cs2]; dst[q + 3] = b[s + cs3];
        dst[q + 4] = b[s + cs4]; dst[q + 5] = b[s + cs5]; dst[q + 6] = b[s + cs6];
        dst[q + 7] = b[s + cs7];
        q += 8;
        s += rs;
      }
    }
  }
  if (jr < nc) {
    const nr = nc - jr;
    for (let p = 0; p < kc; p++) {
      const s = off + p * rs + jr * cs;
      let j = 0;
      for (; j < nr; j++) dst[q + j] = b[s + j * cs];
      for (; j < 8; j++) dst[q + j] = 0;
      q += 8;
    }
  }
}

/** Copies the valid mr×nr corner of an edge tile (row stride NR = 8) into C. */
function storeEdge(tile: Float64Array, c: FloatArray, co: number, ldc: number, mr: number, nr: number,
  acc: boolean): void {
  for (let i = 0; i < mr; i++) {
    const o = co + i * ldc, t = i * 8;
    if (acc) for (let j = 0; j < nr; j++) c[o + j] += tile[t + j];
    else for (let j = 0; j < nr; j++) c[o + j] = tile[t + j];
  }
}

/** The blocked, packed path. Requires M, N, K ≥ 1. */
function gemmPacked(M: number, N: number, K: number,
  a: FloatArray, aOff: number, aRs: number, aCs: number,
  b: FloatArray, bOff: number, bRs: number, bCs: number,
  c: FloatArray, cOff: number): void {
  const c32 = c instanceof Float32Array;
  const kernel = c32 ? kernel32 : kernel64;
  const store = c32 ? storeEdge32 : storeEdge64;
  const packA_ = a instanceof Float32Array ? packA32 : packA64;
  const packB_ = b instanceof Float32Array ? packB32 : packB64;
  const kcMax = Math.min(KC, K);
  const ncMax = Math.min(NC, Math.ceil(N / NR) * NR);
  const mcMax = Math.min(MC, Math.ceil(M / MR) * MR);
  if (packedA.length < mcMax * kcMax) packedA = new Float64Array(mcMax * kcMax);
  if (packedB.length < ncMax * kcMax) packedB = new Float64Array(ncMax * kcMax);
  const ap = packedA, bp = packedB;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      const acc = pc > 0;
      packB_(b, bOff + pc * bRs + jc * bCs, bRs, bCs, kc, nc, bp);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        packA_(a, aOff + ic * aRs + pc * aCs, aRs, aCs, mc, kc, ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const pb = jr * kc;
          let co = cOff + ic * N + jc + jr;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            if (mr === MR && nr === NR) {
              kernel(kc, ap, ir * kc, bp, pb, c, co, N, acc);
            } else {
              kernel64(kc, ap, ir * kc, bp, pb, tile, 0, NR, false);
              store(tile, c, co, N, mr, nr, acc);
            }
            co += MR * N;
          }
        }
      }
    }
  }
}

/**
 * Direct strided kernel without packing, for products too small (or too skinny) for packing to
 * pay off. Computes 4×4 blocks of C (then 2×4, 1×4 and single columns at the edges), reading
 * the operands through their strides. Requires M, N, K ≥ 1.
 */
function gemmDirect(M: number, N: number, K: number,
  a: FloatArray, aOff: number, aRs: number, aCs: number,
  b: FloatArray, bOff: number, bRs: number, bCs: number,
  c: FloatArray, cOff: number): void {
  const bCs2 = 2 * bCs, bCs3 = 3 * bCs;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = aOff + i * aRs, a1 = a0 + aRs, a2 = a1 + aRs, a3 = a2 + aRs;
    const c0 = cOff + i * N, c1 = c0 + N, c2 = c1 + N, c3 = c2 + N;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      let pa = 0, pb = bOff + j * bCs;
      for (let k = 0; k < K; k++) {
        const y0 = b[pb], y1 = b[pb + bCs], y2 = b[pb + bCs2], y3 = b[pb + bCs3];
        let x = a[a0 + pa];
        s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3;
        x = a[a1 + pa];
        s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3;
        x = a[a2 + pa];
        s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3;
        x = a[a3 + pa];
        s30 += x * y0; s31 += x * y1; s32 += x * y2; s33 += x * y3;
        pa += aCs; pb += bRs;
      }
      c[c0 + j] = s00; c[c0 + j + 1] = s01; c[c0 + j + 2] = s02; c[c0 + j + 3] = s03;
      c[c1 + j] = s10; c[c1 + j + 1] = s11; c[c1 + j + 2] = s12; c[c1 + j + 3] = s13;
      c[c2 + j] = s20; c[c2 + j + 1] = s21; c[c2 + j + 2] = s22; c[c2 + j + 3] = s23;
      c[c3 + j] = s30; c[c3 + j + 1] = s31; c[c3 + j + 2] = s32; c[c3 + j + 3] = s33;
    }
    for (; j < N; j++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let pa = 0, pb = bOff + j * bCs;
      for (let k = 0; k < K; k++) {
        const y = b[pb];
        s0 += a[a0 + pa] * y; s1 += a[a1 + pa] * y; s2 += a[a2 + pa] * y; s3 += a[a3 + pa] * y;
        pa += aCs; pb += bRs;
      }
      c[c0 + j] = s0; c[c1 + j] = s1; c[c2 + j] = s2; c[c3 + j] = s3;
    }
  }
  for (; i + 2 <= M; i += 2) {
    const a0 = aOff + i * aRs, a1 = a0 + aRs;
    const c0 = cOff + i * N, c1 = c0 + N;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let pa = 0, pb = bOff + j * bCs;
      for (let k = 0; k < K; k++) {
        const x0 = a[a0 + pa], x1 = a[a1 + pa];
        const y0 = b[pb], y1 = b[pb + bCs], y2 = b[pb + bCs2], y3 = b[pb + bCs3];
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        pa += aCs; pb += bRs;
      }
      c[c0 + j] = s00; c[c0 + j + 1] = s01; c[c0 + j + 2] = s02; c[c0 + j + 3] = s03;
      c[c1 + j] = s10; c[c1 + j + 1] = s11; c[c1 + j + 2] = s12; c[c1 + j + 3] = s13;
    }
    for (; j < N; j++) {
      let s0 = 0, s1 = 0;
      let pa = 0, pb = bOff + j * bCs;
      for (let k = 0; k < K; k++) {
        const y = b[pb];
        s0 += a[a0 + pa] * y; s1 += a[a1 + pa] * y;
        pa += aCs; pb += bRs;
      }
      c[c0 + j] = s0; c[c1 + j] = s1;
    }
  }
  if (i < M) {
    const a0 = aOff + i * aRs, c0 = cOff + i * N;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let pa = a0, pb = bOff + j * bCs;
      for (let k = 0; k < K; k++) {
        const x = a[pa];
        s0 += x * b[pb]; s1 += x * b[pb + bCs]; s2 += x * b[pb + bCs2]; s3 += x * b[pb + bCs3];
        pa += aCs; pb += bRs;
      }
      c[c0 + j] = s0; c[c0 + j + 1] = s1; c[c0 + j + 2] = s2; c[c0 + j + 3] = s3;
    }
    for (; j < N; j++) {
      let s = 0;
      let pa = a0, pb = bOff + j * bCs;
      for (let k = 0; k < K; k++) { s += a[pa] * b[pb]; pa += aCs; pb += bRs; }
      c[c0 + j] = s;
    }
  }
}

const packA32 = packA, packA64 = specialise(packA);
const packB32 = packB, packB64 = specialise(packB);
const storeEdge32 = storeEdge, storeEdge64 = specialise(storeEdge);
const gemmDirect32 = gemmDirect, gemmDirect64 = specialise(gemmDirect);

/**
 * Up to this many multiply-adds the direct kernel beats packing. Measured per matrix in batches
 * (Bun 1.4, one core): 8×8×16 direct 5.7 vs packed 5.0 GFLOP/s; 16×16×16 direct 5.8 vs packed 6.3.
 */
const DIRECT_MAX_WORK = 2048;

function useDirect(M: number, N: number, K: number): boolean {
  // Less than one full micro-tile of rows or columns: packing would compute mostly padding.
  return M < MR || N < NR || M * N * K <= DIRECT_MAX_WORK;
}

/**
 * C[i,j] = Σ_k A[i,k]·B[k,j]; A[i,k] = a[aOff + i*aRs + k*aCs]; B[k,j] = b[bOff + k*bRs + j*bCs];
 * C is written contiguous row-major at c[cOff + i*N + j] (overwritten, not accumulated).
 * Any strides are allowed, including 0 (broadcast) and negative ones.
 */
export function gemm(M: number, N: number, K: number,
  a: FloatArray, aOff: number, aRs: number, aCs: number,
  b: FloatArray, bOff: number, bRs: number, bCs: number,
  c: FloatArray, cOff: number): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { c.fill(0, cOff, cOff + M * N); return; }
  if (useDirect(M, N, K)) {
    const direct = c instanceof Float32Array ? gemmDirect32 : gemmDirect64;
    direct(M, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff);
  } else {
    gemmPacked(M, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff);
  }
}

/**
 * Batched GEMM: for each t < batch, C[t] = A[t]·B[t] with A[t][i,k] = a[aOff + t*aBs + i*aRs + k*aCs]
 * and B[t][k,j] = b[bOff + t*bBs + k*bRs + j*bCs]; C is written contiguous [batch, M, N] at cOff.
 * Batch strides may be 0 (broadcast).
 */
export function batchedGemm(batch: number, M: number, N: number, K: number,
  a: FloatArray, aOff: number, aBs: number, aRs: number, aCs: number,
  b: FloatArray, bOff: number, bBs: number, bRs: number, bCs: number,
  c: FloatArray, cOff: number): void {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  if (batch === 1) { gemm(M, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff); return; }
  // A shared B whose A batches stack into rows (e.g. a linear layer over [batch, M, K]) is one
  // taller product: C's [batch, M, N] layout is exactly [batch·M, N].
  if (bBs === 0 && (M === 1 || aBs === M * aRs)) {
    gemm(batch * M, N, K, a, aOff, M === 1 ? aBs : aRs, aCs, b, bOff, bRs, bCs, c, cOff);
    return;
  }
  const cBs = M * N;
  for (let t = 0; t < batch; t++) {
    gemm(M, N, K, a, aOff + t * aBs, aRs, aCs, b, bOff + t * bBs, bRs, bCs, c, cOff + t * cBs);
  }
}
