/**
 * A few timings of the CUDA backend on the real device, for scripts/gpu-check.sh (information
 * only, no pass/fail). Usage: bun backends/cuda/gpu_bench.ts [--quick]
 * (--quick: tiny sizes, for trying the script out on the CPU emulator of the driver).
 */
import type { Storage, View } from "../../core/backend.ts";
import { createCudaBackend } from "./index.ts";

const quick = process.argv.includes("--quick");
const be = createCudaBackend();
console.log(`device: ${be.device}`);

const v = (s: Storage, shape: number[]): View => {
  const strides: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i]!;
  }
  return { storage: s, shape, strides, offset: 0 };
};
const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

function time(fn: () => void, reps: number): number {
  fn();
  be.synchronize();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  be.synchronize();
  return (performance.now() - t0) / 1000 / reps;
}

for (const n of quick ? [64, 128] : [512, 1024, 2048, 4096]) {
  const a = be.fromHost(rand(n * n), "float32"), b = be.fromHost(rand(n * n), "float32");
  const s = time(() => be.matmul(v(a, [1, n, n]), v(b, [1, n, n])), quick ? 1 : n >= 2048 ? 5 : 20);
  console.log(`matmul f32 ${n}x${n}x${n}: ${(s * 1e3).toFixed(3)} ms, ${((2 * n ** 3) / s / 1e9).toFixed(0)} GFLOP/s`);
}
{
  const side = quick ? 256 : 4096;
  const n = side * side;
  const reps = quick ? 1 : 20;
  const a = be.fromHost(rand(n), "float32"), b = be.fromHost(rand(n), "float32");
  const s = time(() => be.binary("add", v(a, [n]), v(b, [n]), "float32"), reps);
  console.log(`add f32 ${n}: ${(s * 1e3).toFixed(3)} ms, ${((12 * n) / s / 1e9).toFixed(0)} GB/s`);
  const t = time(() => be.contiguous({ storage: a, shape: [side, side], strides: [1, side], offset: 0 }), reps);
  console.log(`transpose f32 ${side}x${side}: ${(t * 1e3).toFixed(3)} ms, ${((8 * n) / t / 1e9).toFixed(0)} GB/s`);
  const r = time(() => be.reduce("sum", v(a, [side, side]), side), reps);
  console.log(`row sum f32 ${side}x${side}: ${(r * 1e3).toFixed(3)} ms, ${((4 * n) / r / 1e9).toFixed(0)} GB/s`);
  const c = time(() => be.reduce("sum", { storage: a, shape: [side, side], strides: [1, side], offset: 0 }, side), reps);
  console.log(`column sum f32 ${side}x${side}: ${(c * 1e3).toFixed(3)} ms, ${((4 * n) / c / 1e9).toFixed(0)} GB/s`);
  const sm = time(() => be.softmax(v(a, [side, side]), false), reps);
  console.log(`softmax f32 ${side}x${side}: ${(sm * 1e3).toFixed(3)} ms, ${((8 * n) / sm / 1e9).toFixed(0)} GB/s`);
}
