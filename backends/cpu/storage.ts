/**
 * CPU storage: a host typed array. Only backends/cpu reads `data`.
 *
 * Large float32 arrays are recycled. A training step allocates hundreds of megabytes of
 * activations and gradients that die within the step; fresh typed arrays cost page faults and
 * cache misses (measured here: ~4× the cost of the elementwise kernel that fills them). So
 * CpuStorage.alloc registers each large array with a FinalizationRegistry, and when the storage
 * is collected its array goes to a free list (by length) that later allocations of that length
 * take from. Cleanup callbacks run between event-loop turns (training loops yield between steps);
 * when the free lists run dry, a young-generation collection is queued for the next turn so that
 * the storages that died during the step are found promptly.
 *
 * Bounds (XT_POOL_MB, default 512): arrays stop being tracked once that much has been registered
 * without any cleanup callback running (a loop that never yields keeps at most that much alive
 * for the registry), tracked arrays never exceed 4× that, and the free lists hold at most that
 * much (making room by dropping lengths nobody asks for any more: free_lists.ts). XT_POOL_MB=0
 * turns recycling off.
 *
 * Rule for this folder: never keep a storage's `data` array after dropping the storage.
 */
import type { Storage } from "../../core/backend.ts";
import type { DType, HostArray } from "../../core/dtype.ts";
import { hostArrayFor } from "../../core/dtype.ts";
import { FreeLists } from "./free_lists.ts";

export class CpuStorage implements Storage {
  constructor(readonly dtype: DType, readonly data: HostArray) {}
  get size(): number {
    return this.data.length;
  }
  /** A zero-filled storage. */
  static alloc(dtype: DType, size: number): CpuStorage {
    if (dtype === "float32" && size >= POOL_MIN && registry) return pooled(size, true);
    return new CpuStorage(dtype, hostArrayFor(dtype, size));
  }
  /** A storage whose contents are unspecified (the caller overwrites every element). */
  static allocUninit(dtype: DType, size: number): CpuStorage {
    if (dtype === "float32" && size >= POOL_MIN && registry) return pooled(size, false);
    return new CpuStorage(dtype, hostArrayFor(dtype, size));
  }
}

export function dataOf(s: Storage): HostArray {
  if (!(s instanceof CpuStorage)) throw new Error("cpu backend: storage belongs to another device");
  return s.data;
}

// ---- the float32 pool ----

/**
 * Arrays below this many elements (16 KiB) are left to the allocator. Not higher: a 64×64 product's
 * fresh 16 KiB outputs page-faulted on most calls once the process had churned through large arrays
 * (`xt bench matmul`'s 64×64×64 after its 400×2048 shape: 50 GFLOP/s instead of 210 pooled).
 */
const POOL_MIN = 4096;
const POOL_BYTES = ((): number => {
  const raw = typeof process !== "undefined" ? process.env.XT_POOL_MB : undefined;
  const v = raw === undefined || raw.trim() === "" ? NaN : Number(raw);
  return (Number.isFinite(v) && v >= 0 ? v : 512) * 1024 * 1024;
})();

const free = new FreeLists(POOL_BYTES);
let trackedBytes = 0;
let reused = 0;
let fresh = 0;
/** A collection is queued for the next event-loop turn. */
let gcQueued = false;
const canGc = typeof Bun !== "undefined" && typeof Bun.gc === "function" && typeof setImmediate === "function";
let turnsSinceFullGc = 0;
function collectAtNextTurn(): void {
  gcQueued = false;
  // A young-generation collection as a rule. Storages that lived through one (activations kept
  // for backward) are promoted and only a full collection finds them dead: when the tracked
  // arrays near the bound, run one, at most every 8th time (a full collection costs ~5-10 ms).
  turnsSinceFullGc++;
  const full = trackedBytes > 2 * POOL_BYTES && turnsSinceFullGc >= 8;
  if (full) turnsSinceFullGc = 0;
  Bun.gc(full);
}

/** Bytes registered since the last recycle callback ran. */
let sinceCallback = 0;

function recycle(a: Float32Array): void {
  trackedBytes -= a.byteLength;
  sinceCallback = 0;
  free.put(a);
}

const registry = POOL_BYTES > 0 && typeof FinalizationRegistry !== "undefined" ? new FinalizationRegistry<Float32Array>(recycle) : null;

function pooled(size: number, zero: boolean): CpuStorage {
  let a = free.take(size);
  if (a) {
    if (zero) a.fill(0);
    reused++;
  } else {
    a = new Float32Array(size);
    fresh++;
    // The free lists ran dry: at the next event-loop turn (the end of a training step), run a
    // young-generation collection so that the storages that died meanwhile are recycled then
    // rather than whenever the engine's own schedule gets to them (~1 ms; steady ~90% reuse).
    if (canGc && !gcQueued) {
      gcQueued = true;
      setImmediate(collectAtNextTurn);
    }
  }
  const s = new CpuStorage("float32", a);
  // Track unless the event loop seems not to turn (no callback for a bound's worth of arrays: a
  // synchronous loop, whose dead arrays the registry would hold until it ends), with a hard bound.
  if (sinceCallback + a.byteLength <= POOL_BYTES && trackedBytes + a.byteLength <= 4 * POOL_BYTES) {
    registry!.register(s, a);
    trackedBytes += a.byteLength;
    sinceCallback += a.byteLength;
  }
  return s;
}

/** Pool statistics (benchmarks and tests). */
export function poolStats(): { reused: number; fresh: number; freeMB: number; trackedMB: number } {
  return { reused, fresh, freeMB: free.bytes / 2 ** 20, trackedMB: trackedBytes / 2 ** 20 };
}
