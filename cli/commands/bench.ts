/**
 * `xt bench <workload>`: time xt's own workloads on this machine (issue 7). In a checkout,
 * `npm run bench:compare` (bench/compare.ts) runs the same workloads in PyTorch beside them and
 * prints the ratios.
 */
import type { Command } from "commander";
import { bestGflops, MATMUL_SHAPES, vitWorkload, timeRuns, tick } from "../../bench/workloads.ts";
import { CHECKS, runChecks } from "../../checks/index.ts";
import { currentBackend, registeredDevices } from "../../core/device.ts";
import { UsageError } from "../../core/errors.ts";
import { randn } from "../../core/index.ts";
import { formatProfile, Profiler, type Profile } from "../../core/profiler.ts";
import { startCaptioningRun } from "../../core/train/captioning_run.ts";
import { parseIntFlag } from "../flags.ts";
import { statusLine } from "../render/status_line.ts";

export const WORKLOADS = ["vit-train", "caption-overfit", "check-all", "matmul"] as const;
type Workload = (typeof WORKLOADS)[number];

interface BenchOpts {
  json?: boolean;
  steps?: string;
  profile?: boolean;
}

/** "cpu (native avx512, 2 threads)", "cpu (TypeScript kernels)", "cuda (NVIDIA …)": the device's own summary. */
function engine(): string {
  const name = currentBackend().name;
  const reg = registeredDevices().find((r) => r.name === name);
  return reg ? `${name} (${reg.report().summary})` : name;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function vitTrain(steps: number, profiler: Profiler | null): Promise<Record<string, number>> {
  profiler?.install();
  try {
    const w = vitWorkload(64, 0, profiler ? (p) => profiler.enter(p) : undefined);
    for (let i = 0; i < 3; i++) {
      w.step();
      profiler?.leave();
      await tick();
    }
    profiler?.reset();
    const ms = await timeRuns(steps, () => {
      w.step();
      profiler?.leave();
    });
    return { batch: w.batch, steps, images_per_s: (w.batch * 1000) / Math.min(...ms), images_per_s_median: (w.batch * 1000) / median(ms) };
  } finally {
    profiler?.uninstall();
  }
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

/**
 * GFLOP/s of the models' matmul shapes through the device's matmul kernel (the provider the CPU
 * kernel table picks), as a linear layer's forward x·Wᵀ: x [M, K] and W [N, K] row-major. The
 * kernel level, as a library's sgemm is timed (a fresh output per call included); the tensor
 * API's own cost per op is the ViT step's business.
 */
async function matmul(steps: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const be = currentBackend();
  for (const [M, N, K] of MATMUL_SHAPES) {
    const x = randn([M, K]);
    const w = randn([N, K]);
    const a = { storage: x.storage, shape: [1, M, K], strides: [0, K, 1], offset: 0 };
    const b = { storage: w.storage, shape: [1, K, N], strides: [0, 1, K], offset: 0 };
    out[`gflops_${M}x${N}x${K}`] = await bestGflops(2 * M * N * K, steps, () => void be.matmul(a, b));
  }
  return out;
}

export async function runBench(workload: string, opts: BenchOpts): Promise<number> {
  if (!(WORKLOADS as readonly string[]).includes(workload)) {
    throw new UsageError(`unknown workload '${workload}'; valid workloads: ${WORKLOADS.join(", ")}`);
  }
  const steps = opts.steps === undefined ? 10 : parseIntFlag("--steps", opts.steps, 1, 10_000);
  const w = workload as Workload;
  if (opts.profile && w !== "vit-train") throw new UsageError(`--profile: only the vit-train workload can be profiled, not '${w}'`);
  const profiler = opts.profile ? new Profiler() : null;
  const result =
    w === "vit-train" ? await vitTrain(steps, profiler) : w === "caption-overfit" ? await captionOverfit() : w === "check-all" ? checkAll() : await matmul(steps);
  const profile = profiler?.result();
  const doc = { workload: w, engine: engine(), ...result, ...(profile ? { profile: profileJson(profile, steps) } : {}) };
  if (opts.json) process.stdout.write(JSON.stringify(doc) + "\n");
  else {
    process.stdout.write(`${w} on ${doc.engine}\n`);
    for (const [k, v] of Object.entries(result)) process.stdout.write(`  ${k.padEnd(22)} ${Number.isInteger(v) ? v : v.toFixed(3)}\n`);
    if (profile) {
      process.stdout.write(`time per step by phase and kernel kind (wall time of each call, mean over ${steps} steps, the profiler's own cost included):\n`);
      for (const line of formatProfile(profile, steps)) process.stdout.write(`  ${line}\n`);
    }
  }
  return 0;
}

/** Per-step milliseconds by phase and kind, for --json. */
function profileJson(p: Profile, steps: number): { phases: Record<string, number>; kernels: { phase: string; kind: string; calls: number; ms: number }[] } {
  const phases = Object.fromEntries(Object.entries(p.phaseMs).map(([k, v]) => [k, v / steps]));
  return { phases, kernels: p.rows.map((r) => ({ phase: r.phase, kind: r.kind, calls: r.calls / steps, ms: r.ms / steps })) };
}

export function registerBench(program: Command, exit: (code: number) => void): void {
  program
    .command("bench")
    .argument("<workload>", WORKLOADS.join(", "))
    .description("time one of xt's workloads on this machine (in a checkout of xt, `npm run bench:compare` puts PyTorch beside it)")
    .option("--steps <n>", "timed steps for vit-train and matmul (default 10)")
    .option("--profile", "vit-train: time per kernel kind, forward, backward and optimizer")
    .option("--json", "print one JSON object")
    .action(async (workload: string, opts: BenchOpts) => exit(await runBench(workload, opts)));
}
