/**
 * Two real ranks: `mpirun -np 2 bun testing/worker.ts SCENARIO` with Open MPI, and with MPICH's
 * Hydra launcher (the MPICH ABI) where `mpiexec.hydra` is on PATH. Each rank prints a JSON line.
 * Needs Open MPI's mpirun (.ci/run installs openmpi-bin libopenmpi-dev and mpich); skips, saying
 * so, where a launcher is missing.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const WORKER = join(import.meta.dir, "testing/worker.ts");
const mpirun = Bun.which("mpirun");
const hydra = Bun.which("mpiexec.hydra");
const mpicc = Bun.which("mpicc");
const EMU = join(import.meta.dir, "../cuda/emu/build/libcuda_emu.so");
if (!mpirun) console.log("[mpi ranks] skipped: no mpirun (apt-get install openmpi-bin libopenmpi-dev)");
if (!hydra) console.log("[mpi ranks] MPICH runs skipped: no mpiexec.hydra (apt-get install mpich)");

interface Run {
  status: number | null;
  ranks: Record<string, unknown>[];
  stderr: string;
  ms: number;
}

function launch(launcher: "openmpi" | "mpich", scenario: string, env: Record<string, string> = {}): Run {
  const t0 = performance.now();
  const args = launcher === "openmpi"
    ? [mpirun!, "--allow-run-as-root", "--oversubscribe", "-np", "2", ...Object.keys(env).flatMap((k) => ["-x", k]), process.execPath, WORKER, scenario]
    : [hydra!, "-np", "2", process.execPath, WORKER, scenario];
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } });
  const ranks = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  ranks.sort((a, b) => (a.rank as number) - (b.rank as number));
  return { status: r.status, ranks, stderr: r.stderr, ms: performance.now() - t0 };
}

function expectCollectives(run: Run): void {
  expect(run.status).toBe(0);
  expect(run.ranks.map((r) => r.rank)).toEqual([0, 1]);
  for (const r of run.ranks) {
    expect(r.size).toBe(2);
    expect(r.f32).toEqual([0, 3, 2997]); // i·1 + i·2
    expect(r.f64).toEqual([0.1 + 0.2, 1e300]);
    expect(r.bytes).toEqual([7, 7, 7, 7, 7]); // rank 1's bytes
    expect(r.numbers).toEqual([1, 2]);
    expect(r.json).toEqual({ hello: "from 0", n: [1, 2] });
  }
}

/** Both ranks end bit-identical and on the single-process trajectory of the whole batch. */
function expectReducer(run: Run): void {
  expect(run.status).toBe(0);
  expect(run.ranks.length).toBe(2);
  for (const r of run.ranks) {
    expect(r.sameStart).toBe(true);
    expect(r.identical).toBe(true);
    expect(r.buckets).toBe(3);
    expect(r.startedInBackward).toEqual([3, 3, 3, 3]);
    expect(r.worstGrad as number).toBeLessThan(1e-6);
    expect(r.worstLoss as number).toBeLessThan(1e-6);
    expect(r.worstParam as number).toBeLessThan(1e-6);
  }
}

function expectAbort(run: Run): void {
  expect(run.status).toBe(3);
  expect(run.stderr).toContain("rank 1 fails on purpose");
  expect(run.ranks.some((r) => r.unreachable)).toBe(false);
  expect(run.ms).toBeLessThan(30_000); // ended by MPI_Abort, not by the timeout
}

describe.skipIf(!mpirun)("two ranks under Open MPI's mpirun", () => {
  test("all-reduce (blocking and started), broadcast, barrier", () => {
    const run = launch("openmpi", "collectives");
    expectCollectives(run);
    expect(run.ranks[0]!.description).toMatch(/^Open MPI v\d/);
  });
  test("GradientAllReducer: buckets started in backward; two half batches = one whole batch", () => expectReducer(launch("openmpi", "reducer")));
  test("a failing rank ends every rank with its exit code (MPI_Abort), no hang", () => expectAbort(launch("openmpi", "abort")));

  test.skipIf(!mpicc || !existsSync(EMU))("NCCL path: device pointers of the CUDA backend (emulated), a stand-in NCCL reducing over MPI", () => {
    const so = join(mkdtempSync(join(tmpdir(), "xt-nccl-")), "libnccl_over_mpi.so");
    const cc = spawnSync(mpicc!, ["-DOVER_MPI", "-shared", "-fPIC", "-o", so, join(import.meta.dir, "../nccl/testing/fake_nccl.c")], { encoding: "utf8" });
    expect(cc.stderr).toBe("");
    const run = launch("openmpi", "reducer-device", { XT_CUDA_DRIVER: EMU, XT_NCCL_LIBRARY: so });
    expectReducer(run);
    for (const r of run.ranks) {
      expect(r.backend).toBe("cuda");
      expect(r.path).toMatch(/^NCCL 2\.21\.5/);
    }
  });
});

describe.skipIf(!hydra)("two ranks under MPICH's mpiexec.hydra (integer-handle ABI)", () => {
  test("collectives", () => {
    const run = launch("mpich", "collectives");
    expectCollectives(run);
    expect(run.ranks[0]!.description).toMatch(/^MPICH/);
  });
  test("GradientAllReducer", () => expectReducer(launch("mpich", "reducer")));
  test("a failing rank ends every rank", () => expectAbort(launch("mpich", "abort")));
});
