/**
 * Throughput of the CPU backend's matmul kernel (backends/cpu/matmul.ts).
 *
 *   bun bench/matmul.ts            a table of GFLOP/s per shape
 *   bun bench/matmul.ts --json     one JSON object { shape name: GFLOP/s, … }
 *   bun bench/matmul.ts --quick    fewer repetitions
 *
 * GFLOP/s = 2·M·N·K·batch / seconds, best of several timed runs after warm-up (the machine may
 * be shared, so the best run is the least disturbed one). Layouts:
 *   NN   A [M,K] row-major · B [K,N] row-major            (forward of a linear layer / plain matmul)
 *   NT   A [M,K] · Bᵀ where B is stored [N,K] row-major     (backward w.r.t. the input: dY·Wᵀ)
 *   TN   Aᵀ · B where A is stored [K,M] row-major           (backward w.r.t. the weight: Xᵀ·dY)
 */
import { batchedGemm, type FloatArray } from "../backends/cpu/matmul.ts";

type Layout = "NN" | "NT" | "TN";
interface Case {
  name: string;
  batch: number; M: number; N: number; K: number;
  layout: Layout;
  dtype: "float32" | "float64";
  /** Batch stride of B is 0 (one B shared by every batch entry). */
  sharedB?: boolean;
}

const CASES: Case[] = [
  { name: "512x512x512 NN f32", batch: 1, M: 512, N: 512, K: 512, layout: "NN", dtype: "float32" },
  { name: "512x512x512 NN f64", batch: 1, M: 512, N: 512, K: 512, layout: "NN", dtype: "float64" },
  { name: "M1024 N128 K128 NN f32", batch: 1, M: 1024, N: 128, K: 128, layout: "NN", dtype: "float32" },
  // ViT: 64 images × 16 patches = 4096 rows through 128→128, 128→256 and 256→128 linear layers.
  { name: "vit 4096x128x128 NN f32", batch: 1, M: 4096, N: 128, K: 128, layout: "NN", dtype: "float32" },
  { name: "vit 4096x256x128 NN f32", batch: 1, M: 4096, N: 256, K: 128, layout: "NN", dtype: "float32" },
  { name: "vit 4096x128x256 NN f32", batch: 1, M: 4096, N: 128, K: 256, layout: "NN", dtype: "float32" },
  // Backward of y = x·Wᵀ with W [out, in] (PyTorch layout): forward is NT, dX = dY·W is NN, dW = dYᵀ·X is TN.
  { name: "vit fwd x·Wᵀ 4096x256x128 NT f32", batch: 1, M: 4096, N: 256, K: 128, layout: "NT", dtype: "float32" },
  { name: "vit dX 4096x128x256 NT f32", batch: 1, M: 4096, N: 128, K: 256, layout: "NT", dtype: "float32" },
  { name: "vit dW 128x128x4096 TN f32", batch: 1, M: 128, N: 128, K: 4096, layout: "TN", dtype: "float32" },
  { name: "vit dW 256x128x4096 TN f32", batch: 1, M: 256, N: 128, K: 4096, layout: "TN", dtype: "float32" },
  { name: "vit dW 128x256x4096 TN f64", batch: 1, M: 128, N: 256, K: 4096, layout: "TN", dtype: "float64" },
  // Linear layer over [64, 16, 128] with a shared weight: batchedGemm folds it into one product.
  { name: "batched 64x(16x128x128) shared-B NN f32", batch: 64, M: 16, N: 128, K: 128, layout: "NN", dtype: "float32", sharedB: true },
  // Attention (batch·heads = 8 here, and 64 images × 8 heads): scores Q·Kᵀ and output P·V.
  { name: "attn 8x(16x16x32) Q·Kᵀ NT f32", batch: 8, M: 16, N: 16, K: 32, layout: "NT", dtype: "float32" },
  { name: "attn 8x(16x32x16) P·V NN f32", batch: 8, M: 16, N: 32, K: 16, layout: "NN", dtype: "float32" },
  { name: "attn 512x(16x16x16) Q·Kᵀ NT f32", batch: 512, M: 16, N: 16, K: 16, layout: "NT", dtype: "float32" },
  { name: "attn 512x(16x16x16) P·V NN f32", batch: 512, M: 16, N: 16, K: 16, layout: "NN", dtype: "float32" },
];

function randomArray(dtype: Case["dtype"], n: number): FloatArray {
  const x = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.random() * 2 - 1;
  return x;
}

function measure(cs: Case, quick: boolean): number {
  const { batch, M, N, K, layout } = cs;
  const a = randomArray(cs.dtype, batch * M * K);
  const b = randomArray(cs.dtype, (cs.sharedB ? 1 : batch) * K * N);
  const c = cs.dtype === "float32" ? new Float32Array(batch * M * N) : new Float64Array(batch * M * N);
  // A [M,K]: NN/NT row-major (rs=K, cs=1); TN stored [K,M] (rs=1, cs=M).
  const [aRs, aCs] = layout === "TN" ? [1, M] : [K, 1];
  // B [K,N]: NN/TN row-major (rs=N, cs=1); NT stored [N,K] (rs=1, cs=K).
  const [bRs, bCs] = layout === "NT" ? [1, K] : [N, 1];
  const aBs = M * K, bBs = cs.sharedB ? 0 : K * N;
  const run = () => batchedGemm(batch, M, N, K, a, 0, aBs, aRs, aCs, b, 0, bBs, bRs, bCs, c, 0);

  const flops = 2 * batch * M * N * K;
  // Repeat small products so one timed sample lasts ≳ 10 ms. Many short samples make it likely
  // that at least one ran undisturbed on a shared machine.
  const t0 = performance.now();
  run();
  const once = Math.max(performance.now() - t0, 1e-3);
  const reps = Math.max(1, Math.min(100000, Math.round(10 / once)));
  for (let w = 0; w < (quick ? 3 : 6); w++) for (let r = 0; r < reps; r++) run(); // warm-up (JIT tiers)
  let best = Infinity;
  for (let s = 0; s < (quick ? 5 : 20); s++) {
    const t = performance.now();
    for (let r = 0; r < reps; r++) run();
    best = Math.min(best, (performance.now() - t) / reps);
  }
  return flops / (best * 1e6); // flops / (ms · 1e6) = GFLOP/s
}

const args = process.argv.slice(2);
const json = args.includes("--json");
const quick = args.includes("--quick");
const results: Record<string, number> = {};
for (const cs of CASES) {
  const g = measure(cs, quick);
  results[cs.name] = Math.round(g * 100) / 100;
  if (!json) console.log(`${cs.name.padEnd(42)} ${g.toFixed(2).padStart(7)} GFLOP/s`);
}
if (json) console.log(JSON.stringify(results));
