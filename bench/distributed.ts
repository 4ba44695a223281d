/**
 * Data-parallel ViT training over MPI (issue 18): images/s and the all-reduce time per step, for
 * one process and for N ranks under `mpirun`.
 *
 *   bun bench/distributed.ts [--steps N] [--warmup N] [--rounds N] [--ranks 1,2] [--json]
 *
 * Workload: the notebook's VisionTransformer() on synthetic 3×32×32 images, Adam, a global batch
 * of 64 (strong scaling: N ranks of 64/N) and 64 per rank (weak scaling: DDP's --batch-size per
 * rank). Each configuration runs in its own `mpirun --oversubscribe -np N` job (the "plain" row
 * runs without MPI). Per step, from rank 0: wall time, time in the all-reduce calls made inside
 * backward (copy to host + MPI_Iallreduce start + MPI_Test progress) and in finish() (what was
 * left, waiting, averaging, writing back); plus a bare MPI_Allreduce of the whole gradient.
 * Open MPI binds each rank to one core when N ≤ 2, so a rank's native kernels get one thread;
 * the "-np 1 --bind-to none" row shows one rank with every core.
 *
 * The machine may be shared: compare rows of one run, not absolute times across runs.
 */
import { spawnSync } from "node:child_process";
import { VisionTransformer, crossEntropy, fromArray, manualSeed, randn } from "../core/index.ts";
import { Adam } from "../core/optim/adam.ts";
import { broadcastTensors, GradientAllReducer, openCollective } from "../core/distributed/index.ts";
import { describeCpuKernels } from "../backends/cpu/index.ts";
import { registerMpi } from "../backends/mpi/index.ts";
import { tick } from "./workloads.ts";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}
/** Threads of the native CPU kernels (1 when the TypeScript kernels run). */
function cpuThreads(): number {
  const n = describeCpuKernels().native;
  return n.loaded ? n.threads : 1;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface WorkerResult {
  ranks: number;
  batchPerRank: number;
  threads: number;
  stepMs: number;
  imagesPerSec: number;
  inBackwardMs: number;
  finishMs: number;
  startedInBackward: number;
  buckets: number;
  gradientMB: number;
  bareAllreduceMs: number;
}

async function worker(): Promise<void> {
  registerMpi();
  const c = openCollective(); // a plain process (not under mpirun) gets the single-process collective
  const b = Number(arg("--batch", "64"));
  const steps = Number(arg("--steps", "10"));
  const warmup = Number(arg("--warmup", "3"));
  manualSeed(0);
  const model = new VisionTransformer();
  broadcastTensors(model.parameters(), c);
  model.train();
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const reducer = new GradientAllReducer(model.parameters(), c).attach();
  manualSeed(100 + c.rank); // each rank its own images
  const images = randn([b, 3, 32, 32]);
  const labels = fromArray(Array.from({ length: b }, (_, i) => (i * 7 + c.rank) % 10), [b], "int32");
  const rows: { ms: number; back: number; fin: number; started: number }[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t = performance.now();
    const loss = crossEntropy(model.forward(images), labels);
    opt.zeroGrad();
    loss.backward();
    reducer.finish();
    opt.step();
    loss.item();
    const ms = performance.now() - t;
    const r = reducer.lastTiming;
    if (i >= warmup) rows.push({ ms, back: r.duringBackwardMs, fin: r.finishMs, started: r.startedInBackward });
    await tick();
  }
  const grad = new Float32Array(model.numParameters());
  const bare: number[] = [];
  for (let i = 0; i < 10; i++) {
    c.barrier();
    const t = performance.now();
    c.allreduceSum(grad);
    bare.push(performance.now() - t);
  }
  const stepMs = median(rows.map((r) => r.ms));
  const result: WorkerResult = {
    ranks: c.size, batchPerRank: b, threads: cpuThreads(), stepMs, imagesPerSec: (b * c.size * 1000) / stepMs,
    inBackwardMs: median(rows.map((r) => r.back)), finishMs: median(rows.map((r) => r.fin)),
    startedInBackward: median(rows.map((r) => r.started)), buckets: reducer.buckets.length,
    gradientMB: (grad.length * 4) / 1e6, bareAllreduceMs: c.size > 1 ? median(bare) : 0,
  };
  if (c.rank === 0) console.log(JSON.stringify(result));
  c.finalize();
}

function orchestrate(): void {
  const steps = arg("--steps", "10");
  const warmup = arg("--warmup", "3");
  const ranks = arg("--ranks", "1,2").split(",").map(Number);
  const json = process.argv.includes("--json");
  const mpirun = Bun.which("mpirun");
  if (!mpirun) {
    console.error("bench/distributed: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)");
    process.exit(1);
  }
  const self = [process.execPath, import.meta.path, "--worker", "--steps", steps, "--warmup", warmup];
  const configs: { label: string; cmd: string[] }[] = [
    { label: "plain process (no MPI), batch 64", cmd: [...self, "--batch", "64"] },
  ];
  for (const n of ranks) {
    const mpi = [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", String(n)];
    if (n === 1) {
      configs.push({ label: "mpirun -np 1, batch 64", cmd: [...mpi, ...self, "--batch", "64"] });
      configs.push({ label: "mpirun -np 1 --bind-to none, batch 64", cmd: [...mpi.slice(0, 3), "--bind-to", "none", ...mpi.slice(3), ...self, "--batch", "64"] });
    } else {
      configs.push({ label: `mpirun -np ${n}, ${64 / n} per rank (global 64)`, cmd: [...mpi, ...self, "--batch", String(64 / n)] });
      configs.push({ label: `mpirun -np ${n}, 64 per rank (global ${64 * n})`, cmd: [...mpi, ...self, "--batch", "64"] });
    }
  }
  // Round-robin: every configuration once per round, so that load from other processes on a
  // shared machine spreads over all of them; each figure is the median over rounds.
  const rounds = Number(arg("--rounds", "3"));
  const runs: WorkerResult[][] = configs.map(() => []);
  for (let round = 0; round < rounds; round++) {
    configs.forEach((cfg, i) => {
      const r = spawnSync(cfg.cmd[0]!, cfg.cmd.slice(1), { encoding: "utf8", timeout: 600_000 });
      const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
      if (r.status !== 0 || !line) {
        console.error(`bench/distributed: ${cfg.label} failed (exit ${r.status}):\n${r.stderr}`);
        process.exit(1);
      }
      runs[i]!.push(JSON.parse(line) as WorkerResult);
    });
  }
  const results = configs.map((cfg, i) => {
    const rs = runs[i]!;
    const m = (k: keyof WorkerResult): number => median(rs.map((r) => r[k] as number));
    return {
      ...rs[0]!, label: cfg.label, stepMs: m("stepMs"), imagesPerSec: m("imagesPerSec"), inBackwardMs: m("inBackwardMs"), finishMs: m("finishMs"),
      bareAllreduceMs: m("bareAllreduceMs"),
      // The least disturbed round (the machine may be shared).
      bestStepMs: Math.min(...rs.map((r) => r.stepMs)), bestImagesPerSec: Math.max(...rs.map((r) => r.imagesPerSec)),
    };
  });
  if (json) {
    console.log(JSON.stringify({ workload: "vit_train_data_parallel", steps: Number(steps), rounds, results }));
    return;
  }
  const base = results[0]!.imagesPerSec;
  const bestBase = results[0]!.bestImagesPerSec;
  console.log(`Data-parallel ViT train step (notebook ViT, 3×32×32, Adam): median over ${rounds} rounds of the median of ${steps} steps (${warmup} warm-up):`);
  console.log("configuration                                 threads/rank  ms/step  images/s  vs plain  best round: images/s  vs plain  all-reduce ms/step (in backward + finish)  buckets started in backward  bare all-reduce");
  for (const r of results) {
    const ar = r.ranks > 1 ? `${(r.inBackwardMs + r.finishMs).toFixed(1)} (${r.inBackwardMs.toFixed(1)} + ${r.finishMs.toFixed(1)})` : "-";
    const started = r.ranks > 1 ? `${r.startedInBackward}/${r.buckets}` : "-";
    const bare = r.ranks > 1 ? `${r.bareAllreduceMs.toFixed(2)} ms for ${r.gradientMB.toFixed(1)} MB` : "-";
    console.log(
      `${r.label.padEnd(46)}${String(r.threads).padStart(12)}  ${r.stepMs.toFixed(0).padStart(7)}  ${r.imagesPerSec.toFixed(0).padStart(8)}  ` +
        `${(r.imagesPerSec / base).toFixed(2).padStart(8)}  ${r.bestImagesPerSec.toFixed(0).padStart(20)}  ${(r.bestImagesPerSec / bestBase).toFixed(2).padStart(8)}  ` +
        `${ar.padStart(42)}  ${started.padStart(27)}  ${bare}`,
    );
  }
}

if (process.argv.includes("--worker")) await worker();
else orchestrate();
