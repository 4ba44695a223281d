/**
 * `xt bench <workload>`: time xt's own workloads on this machine (issue 7). In a checkout,
 * `npm run bench:compare` (bench/compare.ts) runs the same workloads in PyTorch beside them and
 * prints the ratios.
 */
import type { Command } from "commander";
import { vitWorkload, timeRuns, tick } from "../../bench/workloads.ts";
import { CHECKS, runChecks } from "../../checks/index.ts";
import { currentBackend, registeredDevices } from "../../core/device.ts";
import { UsageError } from "../../core/errors.ts";
import { randn } from "../../core/index.ts";
import { startCaptioningRun } from "../../core/train/captioning_run.ts";
import { parseIntFlag } from "../flags.ts";
import { statusLine } from "../render/status_line.ts";

export const WORKLOADS = ["vit-train", "caption-overfit", "check-all", "matmul"] as const;
type Workload = (typeof WORKLOADS)[number];

interface BenchOpts {
  json?: boolean;
  steps?: string;
}

/** "cpu (native avx512, 2 threads)", "cpu (TypeScript kernels)", "cuda (NVIDIA …)": the device's own summary. */
function engine(): string {
  const name = currentBackend().name;
  const reg = registeredDevices().find((r) => r.name === name);
  return reg ? `${name} (${reg.report().summary})` : name;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function vitTrain(steps: number): Promise<Record<string, number>> {
  const w = vitWorkload(64);
  for (let i = 0; i < 3; i++) {
    w.step();
    await tick();
  }
  const ms = await timeRuns(steps, () => w.step());
  return { batch: w.batch, steps, images_per_s: (w.batch * 1000) / Math.min(...ms), images_per_s_median: (w.batch * 1000) / median(ms) };
}

/** The notebook's overfit cell on the embedded data, end to end (data loading included). */
async function captionOverfit(): Promise<Record<string, number>> {
  const t0 = performance.now();
  const run = await startCaptioningRun({
    command: "bench caption-overfit", seed: 231, maxTrain: 50, pcaFeatures: true,
    wordvecDim: 256, numHeads: 2, numLayers: 2, maxLength: 30, epochs: 100, batchSize: 25, lr: 1e-3,
  });
  const status = statusLine();
  let r;
  try {
    r = await run.solver.train({
      sink: (e) => void (e.type === "step" && status.update(`caption-overfit: iteration ${e.step}/${e.totalSteps}`)),
    });
  } finally {
    status.done();
  }
  return { seconds: (performance.now() - t0) / 1000, iterations: r.iterations, final_loss: r.finalLoss ?? NaN };
}

function checkAll(): Record<string, number> {
  const t0 = performance.now();
  runChecks(CHECKS);
  const first = performance.now() - t0;
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    runChecks(CHECKS);
    warm.push(performance.now() - t);
  }
  return { first_ms: first, ms: median(warm) };
}

/** GFLOP/s of the models' matmul shapes (ViT batch 64: 1024 tokens × 128/256 wide). */
function matmul(steps: number): Record<string, number> {
  const shapes: [string, number, number, number][] = [
    ["1024x128x128", 1024, 128, 128], ["1024x256x128", 1024, 256, 128], ["1024x128x256", 1024, 128, 256],
    ["512x512x512", 512, 512, 512], ["400x1004x256", 400, 1004, 256],
  ];
  const out: Record<string, number> = {};
  for (const [name, M, N, K] of shapes) {
    const a = randn([M, K]);
    const b = randn([N, K]);
    a.matmul(b.T);
    const ms: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      a.matmul(b.T);
      ms.push(performance.now() - t);
    }
    out[`gflops_${name}`] = (2 * M * N * K) / (Math.min(...ms) * 1e6);
  }
  return out;
}

export async function runBench(workload: string, opts: BenchOpts): Promise<number> {
  if (!(WORKLOADS as readonly string[]).includes(workload)) {
    throw new UsageError(`unknown workload '${workload}'; valid workloads: ${WORKLOADS.join(", ")}`);
  }
  const steps = opts.steps === undefined ? 10 : parseIntFlag("--steps", opts.steps, 1, 10_000);
  const w = workload as Workload;
  const result =
    w === "vit-train" ? await vitTrain(steps) : w === "caption-overfit" ? await captionOverfit() : w === "check-all" ? checkAll() : matmul(steps);
  const doc = { workload: w, engine: engine(), ...result };
  if (opts.json) process.stdout.write(JSON.stringify(doc) + "\n");
  else {
    process.stdout.write(`${w} on ${doc.engine}\n`);
    for (const [k, v] of Object.entries(result)) process.stdout.write(`  ${k.padEnd(22)} ${Number.isInteger(v) ? v : v.toFixed(3)}\n`);
  }
  return 0;
}

export function registerBench(program: Command, exit: (code: number) => void): void {
  program
    .command("bench")
    .argument("<workload>", WORKLOADS.join(", "))
    .description("time one of xt's workloads on this machine (in a checkout of xt, `npm run bench:compare` puts PyTorch beside it)")
    .option("--steps <n>", "timed steps for vit-train and matmul (default 10)")
    .option("--json", "print one JSON object")
    .action(async (workload: string, opts: BenchOpts) => exit(await runBench(workload, opts)));
}
