/**
 * Captioning overfit run (issue 7): the notebook's CaptioningTransformer (input 512, wordvec 256,
 * 2 heads, 2 layers, max_length 30), vocabulary 1004, batch 25, captions of 17 tokens, Adam lr 1e-3,
 * 200 iterations on synthetic data: total seconds (after one warm-up iteration).
 *
 *   bun bench/captioning_train.ts [--iterations N] [--json]
 *
 * The event loop turns between iterations, as in the training loop (core/train/loop.ts).
 */
import { cpuKernelsSummary, describeCpuKernels } from "../backends/cpu/index.ts";
import { peakRssMb } from "../core/train/events.ts";
import { captioningWorkload, numberArg, tick } from "./workloads.ts";

const w = captioningWorkload();
const iterations = numberArg("--iterations", w.iterations);
const json = process.argv.includes("--json");

w.step();
await tick();
const t0 = performance.now();
let loss = 0;
for (let i = 0; i < iterations; i++) {
  loss = w.step();
  await tick();
}
const seconds = (performance.now() - t0) / 1000;
const result = { workload: "captioning_overfit", iterations, seconds, finalLoss: loss, native: describeCpuKernels().native, peakRssMb: peakRssMb() };
if (json) console.log(JSON.stringify(result));
else {
  console.log(`Captioning overfit, ${iterations} iterations (${cpuKernelsSummary()}):`);
  console.log(`  ${seconds.toFixed(2)} s (${((seconds * 1000) / iterations).toFixed(1)} ms/iteration), final loss ${loss.toFixed(3)}`);
}
