/**
 * NCCL as core/distributed's DeviceCollective: gradient all-reduce on the CUDA backend's device
 * memory, without a trip through the host. libnccl.so.2 is opened with bun:ffi (dlopen) when a
 * data-parallel run on CUDA asks for it, so xt runs without NCCL everywhere else.
 *
 * Setup (what PyTorch's ProcessGroupNCCL does): rank 0 calls ncclGetUniqueId, the 128-byte id goes
 * to every rank over MPI (the Collective's broadcast), and each rank calls ncclCommInitRank.
 * ncclAllReduce(ptr, ptr, count, ncclFloat32|ncclFloat64, ncclSum, comm, stream 0) then runs in
 * place on a CudaStorage's device pointer, ordered on the legacy default stream, which is the one
 * the CUDA backend launches its kernels on.
 *
 * ncclCommInitRank takes the ncclUniqueId struct (char[128]) *by value*, which bun:ffi cannot
 * declare. The C calling conventions say where such an argument goes, and the declaration below
 * puts the bytes there:
 *  - x86-64 System V: a struct over 16 bytes is passed in memory, on the stack, while the other
 *    integer arguments take the registers in order (comm → rdi, nranks → esi, rank → edx). So we
 *    declare (comm, nranks, rank, 3 unused register words for rcx/r8/r9, then 16 u64 words),
 *    and the 16 words land on the stack exactly where the struct copy belongs.
 *  - AArch64 (AAPCS64): a struct over 16 bytes is copied by the caller and passed by address in
 *    the next register: (comm, nranks, &id, rank).
 * backends/nccl/nccl.test.ts checks the x86-64 layout against a C library compiled here that
 * takes the struct by value; the AArch64 layout is untested (no Arm machine here).
 */
import { dlopen, FFIType, ptr, type Pointer } from "bun:ffi";
import type { Backend, Storage } from "../../core/backend.ts";
import type { Collective, DeviceCollective } from "../../core/distributed/collective.ts";
import { XtError } from "../../core/errors.ts";
import { CudaBackend, CudaStorage } from "../cuda/index.ts";

export const NCCL_UNIQUE_ID_BYTES = 128;
/** ncclDataType_t and ncclRedOp_t values (nccl.h, stable since NCCL 2.0). */
export const NCCL_FLOAT32 = 7;
export const NCCL_FLOAT64 = 8;
export const NCCL_SUM = 0;

export const NCCL_HINT =
  "install NCCL (libnccl2, from NVIDIA's CUDA repository: apt-get install libnccl2) or set XT_NCCL_LIBRARY=/path/to/libnccl.so.2";

const { ptr: P, i32, u64 } = FFIType;

function initRankDeclaration(arch: string) {
  if (arch === "x64") return { args: [P, i32, i32, u64, u64, u64, ...Array<FFIType>(16).fill(u64)], returns: i32 };
  if (arch === "arm64") return { args: [P, i32, P, i32], returns: i32 };
  return null;
}

function symbols(arch: string) {
  const initRank = initRankDeclaration(arch);
  if (!initRank) throw new XtError(`NCCL: xt does not know how ${arch} passes ncclCommInitRank's unique id (x64 and arm64 only)`);
  return {
    ncclGetVersion: { args: [P], returns: i32 },
    ncclGetUniqueId: { args: [P], returns: i32 },
    ncclCommInitRank: initRank,
    ncclAllReduce: { args: [P, P, u64, i32, i32, P, P], returns: i32 },
    ncclCommDestroy: { args: [P], returns: i32 },
    ncclGetErrorString: { args: [i32], returns: FFIType.cstring },
  } as const;
}

type NcclLib = ReturnType<typeof dlopen<ReturnType<typeof symbols>>>;

export interface NcclOptions {
  /** Library to open (default: $XT_NCCL_LIBRARY, else libnccl.so.2). */
  library?: string;
  /** Calling convention of the process (default: process.arch). */
  arch?: string;
}

function loadNccl(opts: NcclOptions): { lib: NcclLib; path: string } {
  const path = opts.library ?? (process.env.XT_NCCL_LIBRARY?.trim() || "libnccl.so.2");
  try {
    return { lib: dlopen(path, symbols(opts.arch ?? process.arch)), path };
  } catch (e) {
    if (e instanceof XtError) throw e;
    const why = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ");
    throw new XtError(`NCCL is not available: cannot load ${path} (${why}); ${NCCL_HINT}`);
  }
}

/** NCCL's version code as "2.21.5" (2.9+: major·10000 + minor·100 + patch; before: major·1000 + …). */
export function ncclVersionText(code: number): string {
  const major = code >= 10000 ? Math.floor(code / 10000) : Math.floor(code / 1000);
  const rest = code >= 10000 ? code % 10000 : code % 1000;
  return `${major}.${Math.floor(rest / 100)}.${rest % 100}`;
}

export class NcclCollective implements DeviceCollective {
  private comm: Pointer | null;

  private constructor(
    private readonly lib: NcclLib,
    readonly description: string,
    comm: Pointer,
  ) {
    this.comm = comm;
  }

  /** Opens NCCL and creates the communicator of all ranks of `c` (collective: every rank calls it). */
  static open(c: Collective, opts: NcclOptions = {}): NcclCollective {
    const { lib, path } = loadNccl(opts);
    const s = lib.symbols;
    const check = (rc: number, what: string): void => {
      if (rc !== 0) throw new XtError(`NCCL: ${what} failed on rank ${c.rank}: ${s.ncclGetErrorString(rc)} (ncclResult ${rc})`);
    };
    const version = new Int32Array(1);
    check(s.ncclGetVersion(ptr(version)), "ncclGetVersion");
    const id = new Uint8Array(NCCL_UNIQUE_ID_BYTES);
    if (c.rank === 0) check(s.ncclGetUniqueId(ptr(id)), "ncclGetUniqueId");
    c.broadcast(id, 0);
    const commOut = new BigUint64Array(1);
    const arch = opts.arch ?? process.arch;
    if (arch === "x64") {
      const w = new BigUint64Array(id.buffer, id.byteOffset, NCCL_UNIQUE_ID_BYTES / 8);
      const init = s.ncclCommInitRank as unknown as (...a: (number | bigint | Pointer)[]) => number;
      check(init(ptr(commOut), c.size, c.rank, 0n, 0n, 0n, ...w), "ncclCommInitRank");
    } else {
      const init = s.ncclCommInitRank as unknown as (comm: Pointer, n: number, id: Pointer, rank: number) => number;
      check(init(ptr(commOut), c.size, ptr(id), c.rank), "ncclCommInitRank");
    }
    const comm = Number(commOut[0]!) as Pointer;
    return new NcclCollective(lib, `NCCL ${ncclVersionText(version[0]!)} (${path})`, comm);
  }

  supports(backend: Backend): boolean {
    return backend instanceof CudaBackend;
  }

  allreduceSum(storage: Storage, count: number): void {
    if (!this.comm) throw new XtError("NCCL: the communicator was destroyed");
    if (!(storage instanceof CudaStorage)) throw new XtError("NCCL all-reduce: the storage is not CUDA device memory");
    if (storage.dtype !== "float32" && storage.dtype !== "float64") throw new XtError(`NCCL all-reduce: cannot reduce ${storage.dtype}`);
    if (!Number.isInteger(count) || count < 0 || count > storage.size) throw new XtError(`NCCL all-reduce: ${count} elements of a storage of ${storage.size}`);
    if (count === 0) return;
    const p = storage.ptr as Pointer;
    const rc = this.lib.symbols.ncclAllReduce(p, p, count, storage.dtype === "float32" ? NCCL_FLOAT32 : NCCL_FLOAT64, NCCL_SUM, this.comm, null);
    if (rc !== 0) throw new XtError(`NCCL: ncclAllReduce failed: ${this.lib.symbols.ncclGetErrorString(rc)} (ncclResult ${rc})`);
  }

  destroy(): void {
    if (!this.comm) return;
    this.lib.symbols.ncclCommDestroy(this.comm);
    this.comm = null;
  }
}

