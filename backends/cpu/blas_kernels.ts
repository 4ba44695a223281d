/**
 * The BLAS provider of the CPU kernels (blas.ts): matmul and linear through the platform's sgemm,
 * ahead of the native and TypeScript kernels in the table (kernels.ts).
 *
 * It takes a call when every operand is float32, each matrix has a unit stride in one of its two
 * dims (row-major, or transposed: BLAS's N and T) with a leading dim BLAS accepts, and each product
 * is big enough to be worth a library call (BLAS_MIN_WORK multiply-adds; smaller products, such
 * as the notebook checks' tiny layers, stay on the kernels the checks' error floors were measured
 * with). Batches run as one taller product when B is shared and A's entries stack into rows,
 * otherwise one call per entry.
 */
import type { View } from "../../core/backend.ts";
import type { Blas } from "./blas.ts";
import type { CpuKernels, Provider, ProviderSet } from "./kernels.ts";
import { CpuStorage } from "./storage.ts";

/**
 * Multiply-adds (M·N·K) from which a product goes to the library. Below it the native kernel is
 * as fast or faster here (bench/matmul.ts, 64×64×64 and down) and the call's fixed cost shows.
 */
export const BLAS_MIN_WORK = 64 * 64 * 64;

/** BLAS's reading of a [rows, cols] matrix with strides (rs, cs): N or T and its leading dim, or null. */
export interface BlasLayout {
  t: boolean;
  ld: number;
}

export function blasLayout(rows: number, cols: number, rs: number, cs: number): BlasLayout | null {
  // A size-1 dim's stride is never used: it may be anything.
  if (cs === 1 || cols === 1) {
    const ld = rows === 1 ? Math.max(cols, 1) : rs;
    if (ld >= Math.max(cols, 1)) return { t: false, ld };
  }
  if (rs === 1 || rows === 1) {
    const ld = cols === 1 ? Math.max(rows, 1) : cs;
    if (ld >= Math.max(rows, 1)) return { t: true, ld };
  }
  return null;
}

const f32 = (v: View): Float32Array | null => {
  const d = (v.storage as CpuStorage).data;
  return d instanceof Float32Array ? d : null;
};

interface Plan {
  a: BlasLayout;
  b: BlasLayout;
  /** Batch entries folded into the rows of one product. */
  fold: boolean;
}

/** How BLAS runs a [B, M, K] · [B, K, N] product, or null when it does not take it. */
function planMatmul(a: View, b: View): Plan | null {
  if (!f32(a) || !f32(b)) return null;
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2]!;
  if (M * N * K < BLAS_MIN_WORK && B * M * N * K < BLAS_MIN_WORK) return null;
  const lb = blasLayout(K, N, b.strides[1]!, b.strides[2]!);
  if (!lb) return null;
  if (B > 1 && b.strides[0] === 0) {
    // A shared B: the entries of a row-major A stack into B·M rows of one product.
    const la = blasLayout(B * M, K, a.strides[1]!, a.strides[2]!);
    if (la && !la.t && (M === 1 ? a.strides[0]! >= K : a.strides[0] === M * a.strides[1]!)) {
      return { a: M === 1 ? { t: false, ld: a.strides[0]! } : la, b: lb, fold: true };
    }
  }
  if (M * N * K < BLAS_MIN_WORK) return null;
  const la = blasLayout(M, K, a.strides[1]!, a.strides[2]!);
  return la ? { a: la, b: lb, fold: false } : null;
}

export function blasProviders(blas: Blas): ProviderSet {
  const matmul: Provider<CpuKernels["matmul"]> = {
    name: "blas",
    eligible: (a, b) => planMatmul(a, b) !== null,
    run: (a, b) => {
      const p = planMatmul(a, b)!;
      const [B, M, K] = a.shape as [number, number, number];
      const N = b.shape[2]!;
      const out = CpuStorage.allocUninit("float32", B * M * N);
      const ad = f32(a)!, bd = f32(b)!;
      if (p.fold) {
        blas.sgemm(p.a.t, p.b.t, B * M, N, K, ad, a.offset, p.a.ld, bd, b.offset, p.b.ld, 0, out.data as Float32Array, 0, N);
      } else {
        for (let t = 0; t < B; t++) {
          blas.sgemm(p.a.t, p.b.t, M, N, K, ad, a.offset + t * a.strides[0]!, p.a.ld, bd, b.offset + t * b.strides[0]!, p.b.ld, 0, out.data as Float32Array, t * M * N, N);
        }
      }
      return out;
    },
  };

  const linear: Provider<CpuKernels["linear"]> = {
    name: "blas",
    eligible: (x, w, bias) => {
      if (x.shape.length !== 2 || w.shape.length !== 2 || !f32(x) || !f32(w) || (bias !== null && !f32(bias))) return false;
      const [R, K] = x.shape as [number, number];
      const N = w.shape[0]!;
      return R * N * K >= BLAS_MIN_WORK && blasLayout(R, K, x.strides[0]!, x.strides[1]!) !== null &&
        blasLayout(K, N, w.strides[1]!, w.strides[0]!) !== null;
    },
    run: (x, w, bias) => {
      const [R, K] = x.shape as [number, number];
      const N = w.shape[0]!;
      const la = blasLayout(R, K, x.strides[0]!, x.strides[1]!)!;
      const lb = blasLayout(K, N, w.strides[1]!, w.strides[0]!)!;
      const y = CpuStorage.allocUninit("float32", R * N);
      const yd = y.data as Float32Array;
      // PyTorch's addmm does the same: C filled with the bias, then C = x·Wᵀ + C.
      if (bias) fillRows(yd, R, N, f32(bias)!, bias.offset, bias.strides[0]!);
      blas.sgemm(la.t, lb.t, R, N, K, f32(x)!, x.offset, la.ld, f32(w)!, w.offset, lb.ld, bias ? 1 : 0, yd, 0, N);
      return y;
    },
  };
  return { matmul, linear };
}

/** Every row of y [R, N] set to the vector v[off + j·stride]. */
function fillRows(y: Float32Array, R: number, N: number, v: Float32Array, off: number, stride: number): void {
  if (stride === 1) y.set(v.subarray(off, off + N), 0);
  else for (let j = 0; j < N; j++) y[j] = v[off + j * stride]!;
  // Doubling copies: log2(R) calls of memmove.
  for (let filled = 1; filled < R; filled *= 2) y.copyWithin(filled * N, 0, Math.min(filled, R - filled) * N);
}
