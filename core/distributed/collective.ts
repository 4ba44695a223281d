/**
 * What data-parallel training needs from a message-passing engine (MPI): the rank and the number
 * of ranks, a sum all-reduce (blocking and started-now-waited-later), a broadcast, and an abort
 * that ends every rank. Core defines this interface and a one-process stand-in; the MPI binding
 * lives in backends/mpi and registers itself (core/distributed/launch.ts), so core never loads it.
 *
 * A DeviceCollective does the all-reduce on device memory (NCCL on CUDA storages, backends/nccl).
 */
import type { Backend, Storage } from "../backend.ts";

export type ReduceBuffer = Float32Array | Float64Array;

/** A started all-reduce. The buffer must stay untouched until wait() returns. */
export interface PendingReduction {
  /** Lets the engine make progress; true once the result is in the buffer. */
  test(): boolean;
  /** Blocks until the result is in the buffer. */
  wait(): void;
}

export interface Collective {
  /** This process's rank, 0 … size−1. */
  readonly rank: number;
  /** The number of ranks. */
  readonly size: number;
  /** The engine in words, e.g. "Open MPI v4.1.4 (libmpi.so.40)". */
  readonly description: string;
  /** Element-wise sum over all ranks, in place. */
  allreduceSum(buf: ReduceBuffer): void;
  /** The same, started now (MPI_Iallreduce); every rank must start reductions in the same order. */
  startAllreduceSum(buf: ReduceBuffer): PendingReduction;
  /** Overwrite `buf` on every rank with root's bytes. */
  broadcast(buf: Uint8Array, root: number): void;
  barrier(): void;
  /** End every rank now (MPI_Abort) with this exit code. Never returns. */
  abort(code: number): never;
  /** Shut the engine down cleanly (MPI_Finalize); the last call. */
  finalize(): void;
}

/** A collective over device memory (NCCL): the all-reduce runs in the device's stream order. */
export interface DeviceCollective {
  readonly description: string;
  /** Whether storages of this backend can be reduced here (e.g. NCCL takes CUDA storages). */
  supports(backend: Backend): boolean;
  /** Sum `count` elements of a float32 or float64 storage over all ranks, in place. */
  allreduceSum(storage: Storage, count: number): void;
  /** Release the communicator. */
  destroy(): void;
}

const DONE: PendingReduction = { test: () => true, wait: () => {} };

/** One process, no engine: every collective is the identity. What a plain `xt train …` uses. */
export class SingleProcess implements Collective {
  readonly rank = 0;
  readonly size = 1;
  readonly description = "single process";
  allreduceSum(): void {}
  startAllreduceSum(): PendingReduction {
    return DONE;
  }
  broadcast(): void {}
  barrier(): void {}
  abort(code: number): never {
    process.exit(code);
  }
  finalize(): void {}
}

/** Bytes of a typed array (same memory), for broadcast. */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Sums of a few numbers over all ranks, in float64 (losses, counts, a stop flag). */
export function allreduceNumbers(c: Collective, values: number[]): number[] {
  if (c.size === 1) return values;
  const buf = Float64Array.from(values);
  c.allreduceSum(buf);
  return Array.from(buf);
}

/** root's bytes on every rank: the length first, then the bytes (null on the other ranks). */
export function broadcastBytes(c: Collective, data: Uint8Array | null, root = 0): Uint8Array {
  if (c.size === 1) return data ?? new Uint8Array(0);
  const len = new Float64Array([c.rank === root ? data!.length : 0]);
  c.broadcast(bytesOf(len), root);
  const out = c.rank === root ? data! : new Uint8Array(len[0]!);
  c.broadcast(out, root);
  return out;
}

/** root's JSON value on every rank. */
export function broadcastJson<T>(c: Collective, value: T | null, root = 0): T {
  if (c.size === 1) return value as T;
  const bytes = broadcastBytes(c, c.rank === root ? new TextEncoder().encode(JSON.stringify(value)) : null, root);
  return JSON.parse(new TextDecoder().decode(bytes)) as T;
}
