/**
 * xt on CUDA, on issue 7's two training workloads (bench/workloads.ts), for a side-by-side with
 * PyTorch CUDA eager on the same GPU (bench/gpu_compare.py runs the same workloads in PyTorch):
 *
 *   vit_train           the notebook's VisionTransformer(), batch 64 of 3×32×32, Adam: images/s
 *   captioning_overfit  the notebook's overfit CaptioningTransformer, 200 iterations: seconds
 *
 *   bun bench/gpu_compare.ts [--torch-json FILE] [--steps N] [--warmup N] [--batch N]
 *                            [--iterations N] [--only vit|captioning] [--quick]
 *
 * Prints one JSON line per workload (engine "xt cuda"), then, with --torch-json (the JSON lines
 * bench/gpu_compare.py printed), one "RATIO" line per workload: xt's speed over PyTorch's, so
 * > 1 means xt is faster. Each step ends with loss.item(), which waits for the GPU, as the
 * PyTorch twin does. --quick: tiny sizes for trying it out on the CPU emulator of the driver
 * (whose timings mean nothing).
 */
import { existsSync, readFileSync } from "node:fs";
import { createCudaBackend } from "../backends/cuda/index.ts";
import { setBackend } from "../core/device.ts";
import { CaptioningTransformer, fromArray, manualSeed, randn } from "../core/index.ts";
import { Adam } from "../core/optim/adam.ts";
import { temporalSoftmaxLoss } from "../core/train/captioning_solver.ts";
import { captioningWorkload, CAPTIONING, tick, timeRuns, vitWorkload } from "./workloads.ts";

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const quick = process.argv.includes("--quick");
const num = (name: string, dflt: number, quickDflt: number): number => {
  const v = Number(opt(name) ?? (quick ? quickDflt : dflt));
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name}: expected a whole number, got ${opt(name)}`);
  return v;
};
const only = opt("--only");
const steps = Math.max(1, num("--steps", 10, 1));
const warmup = num("--warmup", 3, 0);
const batch = Math.max(1, num("--batch", 64, 2));
const iterations = Math.max(1, num("--iterations", CAPTIONING.iterations, 1));
const torchJson = opt("--torch-json");

const be = createCudaBackend();
setBackend(be);
const engine = `xt cuda (${be.device})`;
type Json = Record<string, unknown>;
const results: Json[] = [];

if (only === undefined || only === "vit") {
  const w = vitWorkload(batch);
  for (let i = 0; i < warmup; i++) {
    w.step();
    await tick();
  }
  be.synchronize();
  const ms = (await timeRuns(steps, () => w.step())).sort((a, b) => a - b);
  const best = ms[0]!;
  const median = ms[Math.floor(ms.length / 2)]!;
  results.push({
    workload: "vit_train", engine, batch, steps, bestMs: best, medianMs: median,
    imagesPerSecBest: (batch * 1000) / best, imagesPerSecMedian: (batch * 1000) / median,
    memory: be.memory(),
  });
}

/** --quick: the captioning workload's code path on a tiny model (the real one takes minutes per iteration on the emulator). */
function tinyCaptioningWorkload(): { step(): number } {
  manualSeed(0);
  const V = 20, D = 16, W = 8, N = 3, T = 6;
  const wordToIdx: Record<string, number> = { "<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3 };
  for (let i = 4; i < V; i++) wordToIdx[`w${i}`] = i;
  const model = new CaptioningTransformer(wordToIdx, D, W, 2, 1, 10);
  model.train();
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const features = randn([N, D]);
  const captionsIn = Int32Array.from({ length: N * T }, (_, i) => (i % T === 0 ? 1 : 4 + (i % (V - 4))));
  const captionsOut = Int32Array.from({ length: N * T }, (_, i) => (i % T === T - 1 ? 2 : 4 + ((i + 1) % (V - 4))));
  const mask = Float32Array.from({ length: N * T }, () => 1);
  const capIn = fromArray(captionsIn, [N, T], "int32");
  return {
    step() {
      const loss = temporalSoftmaxLoss(model.forward(features, capIn), captionsOut, mask);
      const v = loss.item();
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return v;
    },
  };
}

if (only === undefined || only === "captioning") {
  const w = quick ? tinyCaptioningWorkload() : captioningWorkload();
  if (!quick) {
    w.step(); // one warm-up iteration, not counted (as the PyTorch twin)
    await tick();
  }
  be.synchronize();
  const t0 = performance.now();
  let loss = 0;
  for (let i = 0; i < iterations; i++) {
    loss = w.step();
    await tick();
  }
  const seconds = (performance.now() - t0) / 1000;
  results.push({ workload: "captioning_overfit", engine, ...(quick ? { model: "tiny (--quick)" } : {}), iterations, seconds, msPerIteration: (seconds * 1000) / iterations, finalLoss: loss });
}

for (const r of results) console.log(JSON.stringify(r));

if (torchJson) {
  if (!existsSync(torchJson)) {
    console.log(`RATIO skipped: ${torchJson} does not exist`);
  } else {
    const torch = readFileSync(torchJson, "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Json);
    const find = (w: string) => torch.find((t) => t.workload === w && t.error === undefined);
    for (const r of results) {
      const t = find(r.workload as string);
      if (!t) {
        console.log(`RATIO ${r.workload}: no PyTorch result`);
        continue;
      }
      if (r.workload === "vit_train") {
        if (t.batch !== r.batch) console.log(`RATIO note: PyTorch ran batch ${t.batch}, xt batch ${r.batch}`);
        const xs = r.imagesPerSecMedian as number, ts = t.imagesPerSecMedian as number;
        console.log(
          `RATIO vit_train (batch ${r.batch}, median step): xt ${xs.toFixed(0)} images/s (${(r.medianMs as number).toFixed(2)} ms), ` +
            `PyTorch ${ts.toFixed(0)} images/s (${(t.medianMs as number).toFixed(2)} ms): xt/PyTorch speed = ${(xs / ts).toFixed(3)}`,
        );
      } else {
        if (r.model !== undefined) console.log("RATIO note: xt ran the tiny --quick captioning model, so this ratio compares nothing");
        const xm = r.msPerIteration as number, tm = ((t.seconds as number) * 1000) / (t.iterations as number);
        console.log(
          `RATIO captioning_overfit (${r.iterations} vs ${t.iterations} iterations): xt ${xm.toFixed(2)} ms/iteration, ` +
            `PyTorch ${tm.toFixed(2)} ms/iteration: xt/PyTorch speed = ${(tm / xm).toFixed(3)}`,
        );
      }
    }
  }
}
