/**
 * `train cnn` against `train vit` on Fashion-MNIST-shaped data: one training step (batch 64,
 * forward, cross-entropy, backward, Adam) of each default model, on synthetic 1×28×28 images.
 * The two alternate step by step so that a shared machine disturbs both alike; the ratio of their
 * medians is the figure to read (absolute times depend on the load).
 *
 *   bun bench/cnn_train.ts [--steps N] [--warmup N] [--json]
 *
 * XT_KERNELS=ts measures the pure-TypeScript kernels; XT_THREADS=1 one thread.
 */
import { cpuKernelsSummary, describeCpuKernels } from "../backends/cpu/index.ts";
import { cnnWorkload, fashionVitWorkload, numberArg, tick } from "./workloads.ts";

const steps = numberArg("--steps", 10);
const warmup = numberArg("--warmup", 3);
const json = process.argv.includes("--json");

const runs = { cnn: cnnWorkload(64), vit: fashionVitWorkload(64) };
const ms: Record<keyof typeof runs, number[]> = { cnn: [], vit: [] };
for (let i = 0; i < warmup + steps; i++) {
  for (const k of ["cnn", "vit"] as const) {
    const t = performance.now();
    runs[k].step();
    if (i >= warmup) ms[k].push(performance.now() - t);
    await tick();
  }
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const result = {
  workload: "cnn_vs_vit_train_step",
  batch: 64,
  steps,
  cnnMedianMs: median(ms.cnn),
  vitMedianMs: median(ms.vit),
  cnnOverVit: median(ms.cnn) / median(ms.vit),
  native: describeCpuKernels().native,
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(`train step, batch 64, 1×28×28 (${cpuKernelsSummary()}):`);
  console.log(`  SmallCNN ${result.cnnMedianMs.toFixed(1)} ms, ViT ${result.vitMedianMs.toFixed(1)} ms (medians); CNN/ViT = ${result.cnnOverVit.toFixed(2)}`);
}
