/**
 * The platform BLAS alone at `xt bench matmul`'s shapes: the reference its matmul row in
 * bench/compare.ts is held against. The library is called through bun:ffi with the binding xt's
 * BLAS provider uses (backends/cpu/blas.ts), on preallocated operands, as x·Wᵀ (x [M, K], W [N, K]
 * row-major), best of --steps samples per shape (bench/workloads.ts bestGflops).
 *
 *   bun bench/blas_matmul.ts [--steps N] [--json]
 *
 * XT_BLAS picks the library (default: the first found of oneDNN, MKL, OpenBLAS, BLIS, Accelerate);
 * its threads are xt's (XT_THREADS, else the cores) unless OMP_NUM_THREADS & co. are set.
 */
import { loadBlas } from "../backends/cpu/blas.ts";
import { bestGflops, MATMUL_SHAPES, numberArg } from "./workloads.ts";

const steps = numberArg("--steps", 10);
const json = process.argv.includes("--json");

const load = loadBlas();
if (!load.blas) {
  console.error(`blas_matmul: ${load.error}`);
  process.exit(1);
}
const blas = load.blas;
const result: Record<string, unknown> = { library: blas.name, path: blas.path, entry: blas.entry, threads: blas.threads, threadNote: blas.threadNote };
for (const [M, N, K] of MATMUL_SHAPES) {
  const x = Float32Array.from({ length: M * K }, () => Math.random() - 0.5);
  const w = Float32Array.from({ length: N * K }, () => Math.random() - 0.5);
  const c = new Float32Array(M * N);
  result[`gflops_${M}x${N}x${K}`] = await bestGflops(2 * M * N * K, steps, () => blas.sgemm(false, true, M, N, K, x, 0, K, w, 0, K, 0, c, 0, N));
}
if (json) console.log(JSON.stringify(result));
else {
  console.log(`${blas.name} (${blas.entry}, ${blas.threadNote}):`);
  for (const [k, v] of Object.entries(result)) if (k.startsWith("gflops_")) console.log(`  ${k.padEnd(22)} ${(v as number).toFixed(1)}`);
}
