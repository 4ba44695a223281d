/**
 * ViT training throughput (issue 7): the notebook's VisionTransformer() on synthetic 3×32×32
 * images, batch 64, Adam: images/s after warm-up.
 *
 *   bun bench/vit_train.ts [--steps N] [--warmup N] [--json]
 *
 * Reports the best and the median step (the machine may be shared: the best step is the least
 * disturbed one). The event loop turns between steps, as in xt's training loops.
 * XT_KERNELS=ts measures the pure-TypeScript kernels; XT_THREADS=1 one thread.
 */
import { cpuKernelsSummary, describeCpuKernels } from "../backends/cpu/index.ts";
import { peakRssMb } from "../core/train/events.ts";
import { numberArg, tick, timeRuns, vitWorkload } from "./workloads.ts";

const steps = numberArg("--steps", 10);
const warmup = numberArg("--warmup", 3);
const json = process.argv.includes("--json");

const w = vitWorkload(64);
for (let i = 0; i < warmup; i++) {
  w.step();
  await tick();
}
const ms = (await timeRuns(steps, () => w.step())).sort((a, b) => a - b);
const best = ms[0]!;
const median = ms[Math.floor(ms.length / 2)]!;
const result = {
  workload: "vit_train",
  batch: w.batch,
  steps,
  bestMs: best,
  medianMs: median,
  imagesPerSecBest: (w.batch * 1000) / best,
  imagesPerSecMedian: (w.batch * 1000) / median,
  native: describeCpuKernels().native,
  peakRssMb: peakRssMb(),
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(`ViT train step, batch ${w.batch} (${cpuKernelsSummary()}):`);
  console.log(`  best ${best.toFixed(1)} ms = ${result.imagesPerSecBest.toFixed(0)} images/s; median ${median.toFixed(1)} ms = ${result.imagesPerSecMedian.toFixed(0)} images/s`);
}
