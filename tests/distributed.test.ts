/**
 * Data-parallel training under a real `mpirun` (issue 18), on this machine's 2 cores:
 *  - `train vit` on 2 ranks × batch 32 and on 1 rank × batch 64 give the same steps, losses and
 *    test accuracy (the DistributedSampler's shards interleave into the same global batches);
 *  - a checkpoint of a 2-rank run resumes in one plain process (and the other way round);
 *  - `train captioning`'s minibatch shards: 2 ranks × 25 = 1 rank × 50 (dropout 0);
 *  - a rank that fails ends the whole job with its message, quickly (MPI_Abort), never a hang;
 *  - only rank 0 prints and writes.
 * Needs Open MPI's mpirun (.ci/run installs openmpi-bin libopenmpi-dev) and Fashion-MNIST
 * (dataset-fashion-mnist); skips with the reason where either is missing.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CPU_LIBRARY_FILE } from "../backends/native_platform.ts";

const ROOT = join(import.meta.dir, "..");
const MAIN = join(ROOT, "cli/main.ts");
const FASHION = "/usr/share/datasets/fashion-mnist";
const mpirun = Bun.which("mpirun");
if (!mpirun) console.log("[distributed] skipped: no mpirun (apt-get install openmpi-bin libopenmpi-dev)");
if (!existsSync(FASHION)) console.log(`[distributed] ViT runs skipped: ${FASHION} is missing (apt-get install dataset-fashion-mnist)`);
const env = { ...process.env, NO_COLOR: "1" };
/** The TypeScript CPU kernels run the model (XT_KERNELS=ts, or no native library): ~10× slower. */
const TS_KERNELS = process.env.XT_KERNELS?.trim() === "ts" || !existsSync(join(ROOT, "backends/cpu/native", CPU_LIBRARY_FILE));

interface Run {
  code: number;
  out: string;
  err: string;
  ms: number;
}

/** `mpirun -np n bun cli/main.ts …` (n = 0: a plain process, no mpirun), in `cwd`. */
function launch(n: number, args: string[], cwd: string): Run {
  const t0 = performance.now();
  const cmd = n === 0
    ? [process.execPath, MAIN, ...args]
    : [mpirun!, "--allow-run-as-root", "--oversubscribe", "-np", String(n), process.execPath, MAIN, ...args];
  const p = Bun.spawnSync(cmd, { cwd, env });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString(), ms: performance.now() - t0 };
}
type Ev = Record<string, number | string | boolean | undefined>;
const events = (r: Run): Ev[] => r.out.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Ev);
const steps = (ev: Ev[]): Ev[] => ev.filter((e) => e.type === "step");
const epochs = (ev: Ev[]): Ev[] => ev.filter((e) => e.type === "epoch");
const maxDiff = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

function inTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "xt-dp-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts cmd, sends `signal` once its first step event is out, expects exit 130; returns its events. */
async function stopAfterFirstStep(cmd: string[], cwd: string, signal: "SIGINT" | "SIGUSR1"): Promise<Ev[]> {
  const proc = Bun.spawn(cmd, { cwd, env, stdout: "pipe", stderr: "pipe" });
  const reader = proc.stdout.getReader();
  let out = "";
  let signalled = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
    if (!signalled && out.includes('"type":"step"')) {
      proc.kill(signal);
      signalled = true;
    }
  }
  expect(await proc.exited).toBe(130);
  return events({ code: 130, out, err: "", ms: 0 });
}

const VIT = ["train", "vit", "--dataset", "fashion-mnist", "--dropout", "0", "--json"];

describe.skipIf(!mpirun || !existsSync(FASHION))("train vit, data-parallel", () => {
  test("2 ranks × batch 32 = 1 rank × batch 64: every step's loss within 1e-4, the same test accuracy", () => inTemp((dir) => {
    const size = ["--max-train", "2048", "--max-test", "1000", "--epochs", "1"];
    const two = launch(2, [...VIT, ...size, "--batch-size", "32"], dir);
    expect(two.code).toBe(0);
    const one = launch(1, [...VIT, ...size, "--batch-size", "64"], dir);
    expect(one.code).toBe(0);
    const [a, b] = [events(two), events(one)];
    // Rank 0 alone reports: one start, one end; the others print nothing.
    expect(a.filter((e) => e.type === "start").length).toBe(1);
    expect(a.filter((e) => e.type === "end").length).toBe(1);
    expect(String(a[0]!.device)).toMatch(/^cpu, 2 ranks \(host memory, Open MPI v\d/);
    expect(steps(a).length).toBe(32);
    expect(steps(b).length).toBe(32);
    expect(steps(a).every((e) => e.examples === 64)).toBe(true);
    expect(maxDiff(steps(a).map((e) => e.loss as number), steps(b).map((e) => e.loss as number))).toBeLessThan(1e-4);
    const [ea, eb] = [epochs(a)[0]!, epochs(b)[0]!];
    expect(Math.abs((ea.trainLoss as number) - (eb.trainLoss as number))).toBeLessThan(1e-4);
    expect(Math.abs((ea.testLoss as number) - (eb.testLoss as number))).toBeLessThan(1e-4);
    expect(Math.abs((ea.testAcc as number) - (eb.testAcc as number))).toBeLessThanOrEqual(0.002);
    // One run folder per run: rank 1 wrote nothing of its own.
    expect(readdirSync(join(dir, "runs")).sort()).toEqual(["train-vit-fashion-mnist", "train-vit-fashion-mnist-2"]);
  }), TS_KERNELS ? 900_000 : 180_000);

  test("stopped with SIGUSR1 (mpirun forwards it), a 2-rank run resumes in one plain process (batch 64) as if never stopped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xt-dp-"));
    try {
      const size = ["--max-train", "256", "--max-test", "100", "--epochs", "2"];
      const whole = launch(2, [...VIT, ...size, "--batch-size", "32"], dir);
      expect(whole.code).toBe(0);
      // Stop the same run after its first step: every rank stops at the same step and rank 0 saves.
      const stopped = await stopAfterFirstStep([
        mpirun!, "--allow-run-as-root", "--oversubscribe", "-np", "2", process.execPath, MAIN, ...VIT, ...size, "--batch-size", "32", "--save", join(dir, "half"),
      ], dir, "SIGUSR1");
      const end = stopped.find((e) => e.type === "end")!;
      expect(end.interrupted).toBe(true);
      const k = end.steps as number;
      expect(k).toBeGreaterThanOrEqual(1);
      expect(k).toBeLessThan(8);
      const rest = launch(0, ["train", "vit", "--resume", join(dir, "half"), "--json"], dir);
      expect(rest.code).toBe(0);
      const [w, r] = [events(whole), events(rest)];
      expect(r[0]!.batchSize).toBe(64);
      expect(r[0]!.resumedAt).toBe(k);
      expect(steps(r).length).toBe(8 - k);
      expect(maxDiff(steps(w).slice(k).map((e) => e.loss as number), steps(r).map((e) => e.loss as number))).toBeLessThan(1e-4);
      expect(Math.abs((epochs(w)[1]!.testLoss as number) - (epochs(r).at(-1)!.testLoss as number))).toBeLessThan(1e-4);
      expect(Math.abs((epochs(w)[1]!.testAcc as number) - (epochs(r).at(-1)!.testAcc as number))).toBeLessThanOrEqual(0.002);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  test("a one-process checkpoint resumes on 2 ranks from its epoch's end (the distributed sampler from then on)", () => inTemp((dir) => {
    const size = ["--max-train", "256", "--max-test", "100"];
    // The other way: one plain process (the notebook's loader shuffle), then 2 ranks from its epoch's end.
    const plain = launch(0, [...VIT, ...size, "--batch-size", "64", "--epochs", "1", "--save", join(dir, "plain")], dir);
    expect(plain.code).toBe(0);
    const onTwo = launch(2, ["train", "vit", "--resume", join(dir, "plain"), "--epochs", "2", "--json"], dir);
    expect(onTwo.code).toBe(0);
    const t = events(onTwo);
    expect(t[0]!.batchSize).toBe(32);
    expect(steps(t).length).toBe(4);
    expect(epochs(t).map((e) => e.epoch)).toEqual([2]);
    expect(Number.isFinite(epochs(t)[0]!.testLoss as number)).toBe(true);
    const saved = JSON.parse(readFileSync(join(dir, "plain.json"), "utf8")) as { config: { ranks?: number; batchSize: number; sampler?: string } };
    expect(saved.config).toMatchObject({ ranks: 2, batchSize: 32, sampler: "distributed" });
  }), 240_000);

  test("a one-process run stopped inside an epoch does not resume on 2 ranks (its shuffle cannot be split): a clear refusal", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xt-dp-"));
    try {
      await stopAfterFirstStep([process.execPath, MAIN, ...VIT, "--max-train", "1024", "--max-test", "100", "--epochs", "1", "--batch-size", "32", "--save", join(dir, "p")], dir, "SIGINT");
      const r = launch(2, ["train", "vit", "--resume", join(dir, "p"), "--json"], dir);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--resume: .*p stopped inside epoch 1 of a one-process run, whose shuffle cannot be split over 2 ranks; resume it in one process/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test("a rank that fails stops every rank with its message (MPI_Abort), not a hang", () => inTemp((dir) => {
    const args = ["train", "vit", "--dataset", "fashion-mnist", "--max-train", "256", "--max-test", "100", "--epochs", "1", "--json"];
    // MPMD: rank 1 gets a data folder that does not exist; rank 0 loads its data and waits for rank 1.
    const t0 = performance.now();
    const p = Bun.spawnSync([
      mpirun!, "--allow-run-as-root", "--oversubscribe", "-np", "1", process.execPath, MAIN, ...args,
      ":", "-np", "1", process.execPath, MAIN, ...args, "--data-dir", join(dir, "nowhere"),
    ], { cwd: dir, env, timeout: 60_000 });
    const err = p.stderr.toString();
    expect(p.exitCode).toBe(1);
    expect(err).toContain(`xt: rank 1 of 2: ${join(dir, "nowhere")}: data folder not found`);
    expect(err).toContain("xt: stopping all 2 ranks (MPI_Abort, exit code 1)");
    expect(performance.now() - t0).toBeLessThan(30_000);
  }), 120_000);
});

describe.skipIf(!mpirun)("data-parallel flags and captioning", () => {
  test("--allreduce nccl needs CUDA; the data-parallel flags need a launch", () => inTemp((dir) => {
    const bad = launch(2, ["train", "captioning", "--max-train", "50", "--epochs", "1", "--allreduce", "nccl"], dir);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--allreduce nccl: NCCL reduces CUDA memory; run with --device cuda");
    const plain = launch(0, ["train", "captioning", "--max-train", "50", "--epochs", "1", "--bucket-mb", "4"], dir);
    expect(plain.code).toBe(2);
    expect(plain.err).toContain("--allreduce and --bucket-mb are for data-parallel runs");
  }), 60_000);

  test("captioning: 2 ranks × 25 captions = 1 rank × 50 (minibatch draws sharded, dropout 0)", () => inTemp((dir) => {
    const worker = join(ROOT, "tests/distributed/captioning_worker.ts");
    const run = (n: number): { losses: number[]; val: number[]; ipe: number } => {
      const p = Bun.spawnSync([mpirun!, "--allow-run-as-root", "--oversubscribe", "-np", String(n), process.execPath, worker], { cwd: dir, env });
      expect(p.exitCode).toBe(0);
      return JSON.parse(p.stdout.toString().trim().split("\n").find((l) => l.startsWith("{"))!);
    };
    const [two, one] = [run(2), run(1)];
    expect(two.ipe).toBe(4); // 200 // 50
    expect(two.losses.length).toBe(8);
    expect(maxDiff(two.losses, one.losses)).toBeLessThan(1e-4);
    expect(maxDiff(two.val, one.val)).toBeLessThan(1e-4);
  }), 120_000);

  test("train captioning on 2 ranks: one run folder, rank 0's events only", () => inTemp((dir) => {
    const r = launch(2, ["train", "captioning", "--max-train", "100", "--epochs", "1", "--batch-size", "25", "--json"], dir);
    expect(r.code).toBe(0);
    const ev = events(r);
    expect(ev.filter((e) => e.type === "start").length).toBe(1);
    expect(steps(ev).every((e) => e.examples === 50)).toBe(true);
    expect(steps(ev).length).toBe(2); // 100 // (2 × 25)
    expect(readdirSync(join(dir, "runs"))).toEqual(["train-captioning-coco-mini"]);
    const saved = JSON.parse(readFileSync(join(dir, "runs/train-captioning-coco-mini/last.json"), "utf8")) as { extra: { run: { ranks: number; batchSize: number } } };
    expect(saved.extra.run).toMatchObject({ ranks: 2, batchSize: 25 });
  }), 120_000);
});

test("each rank of a launch takes its node-local GPU (CUDA_VISIBLE_DEVICES in the C environment), unless the user chose", () => {
  const script = `
    import { dlopen, FFIType, CString } from "bun:ffi";
    import { pinGpuToLocalRank } from "${join(ROOT, "cli/distributed.ts")}";
    pinGpuToLocalRank(process.env);
    const libc = dlopen("libc.so.6", { getenv: { args: [FFIType.cstring], returns: FFIType.ptr } });
    const p = libc.symbols.getenv(Buffer.from("CUDA_VISIBLE_DEVICES\\0"));
    console.log(p ? new CString(p).toString() : "unset");`;
  const run = (extra: Record<string, string>): string => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OMPI_|PMI_|CUDA_VISIBLE)/.test(k)));
    const p = Bun.spawnSync([process.execPath, "-e", script], { env: { ...base, ...extra } as Record<string, string> });
    return p.stdout.toString().trim();
  };
  expect(run({ OMPI_COMM_WORLD_RANK: "3", OMPI_COMM_WORLD_SIZE: "4", OMPI_COMM_WORLD_LOCAL_RANK: "1" })).toBe("1");
  expect(run({ PMI_RANK: "2", PMI_SIZE: "4", MPI_LOCALRANKID: "0" })).toBe("0");
  expect(run({ OMPI_COMM_WORLD_RANK: "1", OMPI_COMM_WORLD_SIZE: "2", OMPI_COMM_WORLD_LOCAL_RANK: "1", CUDA_VISIBLE_DEVICES: "5" })).toBe("5");
  expect(run({})).toBe("unset");
});

test("a plain run never loads an MPI library; --distributed without one says what to install", () => inTemp((dir) => {
  const args = ["train", "captioning", "--max-train", "50", "--epochs", "1", "--json"];
  // The dynamic loader lists every library it opens (LD_DEBUG=files, on stderr).
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], { cwd: dir, env: { ...env, LD_DEBUG: "files" } });
  expect(p.exitCode).toBe(0);
  const opened = p.stderr.toString().split("\n").filter((l) => l.includes("file="));
  expect(opened.length).toBeGreaterThan(0);
  expect(opened.filter((l) => /libmpi|libmpich|libnccl/.test(l))).toEqual([]);
  const none = Bun.spawnSync([process.execPath, MAIN, ...args, "--distributed"], { cwd: dir, env: { ...env, XT_MPI_LIBRARY: "/nonexistent/libmpi.so.40" } });
  expect(none.exitCode).toBe(1);
  expect(none.stderr.toString()).toContain("xt: no MPI library could be loaded (tried /nonexistent/libmpi.so.40: ");
  expect(none.stderr.toString()).toContain("install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev)");
}), 60_000);
