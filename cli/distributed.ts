/**
 * Data-parallel runs from the command line (docs/distributed.md): `mpirun -np N xt train vit …`.
 *
 * The training commands take --distributed, --allreduce and --bucket-mb (distributedFlags) and
 * ask openDataParallel for this rank's DataParallel, or undefined for a plain one-process run,
 * which never loads MPI. Only rank 0 prints and writes (launchRank() tells the rank from the
 * launcher's variables before MPI starts); a failure on any rank is printed with its rank and
 * ends every rank through MPI_Abort (failRun), so that no rank waits forever for a dead one.
 */
import type { Command } from "commander";
import { writeSync } from "node:fs";
import { ptr, dlopen, FFIType } from "bun:ffi";
import { registerMpi } from "../backends/mpi/index.ts";
import { currentBackend } from "../core/device.ts";
import { activeCollective, detectLaunch, openCollective } from "../core/distributed/launch.ts";
import type { DeviceCollective } from "../core/distributed/collective.ts";
import { UsageError, XtError } from "../core/errors.ts";
import { DataParallel } from "../core/train/data_parallel.ts";
import { requestStop } from "../core/train/stop.ts";
import { parseNumberFlag } from "./flags.ts";

registerMpi();

export interface DistributedFlags {
  distributed?: boolean;
  allreduce?: string;
  bucketMb?: string;
}

export function distributedFlags(cmd: Command): Command {
  return cmd
    .option("--distributed", "train data-parallel even when no MPI launcher is detected (Open MPI's mpirun and MPICH's mpiexec are)")
    .option("--allreduce <how>", "data-parallel gradient all-reduce: auto (NCCL on CUDA when libnccl is there, else MPI), mpi or nccl")
    .option("--bucket-mb <x>", "data-parallel gradient bucket size in MB (default 25, like PyTorch DDP)");
}

/** This process's rank as the launcher announced it (0 for a plain run), before MPI starts. */
export function launchRank(env: Record<string, string | undefined> = process.env): number {
  try {
    return detectLaunch(env)?.rank ?? 0;
  } catch {
    return 0;
  }
}

/** The data-parallel side of a training run, or undefined for a plain process. */
export function openDataParallel(o: DistributedFlags): DataParallel | undefined {
  const how = o.allreduce ?? "auto";
  if (how !== "auto" && how !== "mpi" && how !== "nccl") throw new UsageError(`--allreduce: expected auto, mpi or nccl, got '${how}'`);
  const bucketMb = o.bucketMb === undefined ? undefined : parseNumberFlag("--bucket-mb", o.bucketMb, 0.001);
  if (!detectLaunch(process.env, o.distributed ?? false)) {
    if (o.allreduce !== undefined || o.bucketMb !== undefined) {
      throw new UsageError(`--allreduce and --bucket-mb are for data-parallel runs: start xt with mpirun -np N (or add --distributed)`);
    }
    return undefined;
  }
  const c = openCollective({ distributed: o.distributed ?? false });
  // SIGINT makes Open MPI's mpirun end every rank at once; SIGUSR1, which it forwards, stops cleanly.
  process.on("SIGUSR1", requestStop);
  let device: DeviceCollective | undefined;
  const onCuda = currentBackend().name === "cuda";
  if (how === "nccl" && !onCuda) throw new UsageError("--allreduce nccl: NCCL reduces CUDA memory; run with --device cuda");
  if (onCuda && how !== "mpi" && c.size > 1) device = openNccl(c, how === "nccl");
  return new DataParallel(c, { device, ...(bucketMb !== undefined ? { bucketBytes: Math.round(bucketMb * 1024 * 1024) } : {}) });
}

function openNccl(c: ReturnType<typeof openCollective>, required: boolean): DeviceCollective | undefined {
  // Imported here: the NCCL binding loads the CUDA addon, which only CUDA runs need.
  const { NcclCollective } = require("../backends/nccl/nccl.ts") as typeof import("../backends/nccl/nccl.ts");
  try {
    return NcclCollective.open(c);
  } catch (e) {
    if (required || !(e instanceof XtError)) throw e;
    if (c.rank === 0) process.stderr.write(`xt: ${e.message}; the all-reduce goes through host memory (MPI)\n`);
    return undefined;
  }
}

/**
 * Each rank of a multi-GPU node takes its own GPU: CUDA_VISIBLE_DEVICES = the local rank, set in the
 * C environment (the CUDA driver reads it when it starts) unless the user set it. Call before the
 * device is chosen.
 */
export function pinGpuToLocalRank(env: Record<string, string | undefined> = process.env): void {
  if (env.CUDA_VISIBLE_DEVICES !== undefined || !detectLaunch(env)) return;
  const local = env.OMPI_COMM_WORLD_LOCAL_RANK ?? env.MPI_LOCALRANKID ?? env.SLURM_LOCALID;
  if (local === undefined || !/^\d+$/.test(local)) return;
  try {
    const libc = dlopen("libc.so.6", { setenv: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 } });
    const z = (s: string): Uint8Array => new TextEncoder().encode(`${s}\0`);
    libc.symbols.setenv(ptr(z("CUDA_VISIBLE_DEVICES")), ptr(z(local)), 0);
    process.env.CUDA_VISIBLE_DEVICES = local;
  } catch {
    // Not glibc: the ranks share GPU 0 unless the user sets CUDA_VISIBLE_DEVICES per rank.
  }
}

/**
 * How a run ends when a rank fails: its message, prefixed with the rank when there are several,
 * then MPI_Abort with the exit code so that mpirun ends every rank. Returns false when this process
 * is not part of a multi-rank run (the caller exits as usual).
 */
export function failRun(message: string, code: number): boolean {
  const c = activeCollective();
  if (!c || c.size === 1) return false;
  // Written synchronously: MPI_Abort ends this process before an asynchronous write would land.
  writeSync(2, `xt: rank ${c.rank} of ${c.size}: ${message}\nxt: stopping all ${c.size} ranks (MPI_Abort, exit code ${code})\n`);
  return c.abort(code);
}

/** The normal end of a data-parallel run (MPI_Finalize); nothing for a plain run. */
export function finishRun(): void {
  activeCollective()?.finalize();
}
