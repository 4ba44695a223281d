/**
 * The MPI library, opened with bun:ffi (dlopen) when a parallel launch is detected, never before.
 *
 * Two binary interfaces exist on Linux, and xt speaks both:
 *  - Open MPI (libmpi.so.40, Open MPI 3–5): handles are pointers to the library's own objects,
 *    read from its data symbols (ompi_mpi_comm_world, ompi_mpi_float, ompi_mpi_op_sum, …);
 *    MPI_IN_PLACE is (void*)1, MPI_STATUS_IGNORE is NULL, a request is a pointer.
 *  - the MPICH ABI (libmpich.so.12 / libmpi.so.12: MPICH 3–4, Intel MPI, MVAPICH): handles are
 *    integer constants fixed by mpi.h (MPI_COMM_WORLD = 0x44000000, MPI_FLOAT = 0x4c00040a, …);
 *    MPI_IN_PLACE is (void*)−1, MPI_STATUS_IGNORE is (MPI_Status*)1, a request is an int.
 * XT_MPI_LIBRARY=/path/to/libmpi.so picks the library; the ABI is told by its symbols.
 */
import { dlopen, FFIType, ptr, type Library, type Pointer } from "bun:ffi";
import { XtError } from "../../core/errors.ts";
import type { Launcher } from "../../core/distributed/launch.ts";

export type MpiAbi = "Open MPI" | "MPICH";

export const INSTALL_HINT =
  "install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) or MPICH (apt-get install mpich), " +
  "or set XT_MPI_LIBRARY=/path/to/libmpi.so";

/** MPI_THREAD_FUNNELED: only the main thread calls MPI (the same value in both ABIs). */
const MPI_THREAD_FUNNELED = 1;

/**
 * Handle values for one ABI: addresses (Open MPI) or ints (MPICH). Typed as bun:ffi's Pointer (a
 * number) because the function table declares handle arguments as pointers or ints per ABI.
 */
export interface MpiHandles {
  commWorld: Pointer;
  float: Pointer;
  double: Pointer;
  byte: Pointer;
  sum: Pointer;
  inPlace: Pointer;
  statusIgnore: Pointer;
}

const handles = (h: Record<keyof MpiHandles, number>): MpiHandles => h as MpiHandles;

/** The MPICH ABI's constants (mpich/mpi.h; Intel MPI and MVAPICH share them). */
export const MPICH_HANDLES: MpiHandles = handles({
  commWorld: 0x44000000,
  float: 0x4c00040a,
  double: 0x4c00080b,
  byte: 0x4c00010d,
  sum: 0x58000003,
  inPlace: -1,
  statusIgnore: 1,
});

function functions(abi: MpiAbi) {
  const H = abi === "Open MPI" ? FFIType.ptr : FFIType.i32; // MPI_Comm, MPI_Datatype, MPI_Op
  const { ptr: P, i32 } = FFIType;
  return {
    MPI_Initialized: { args: [P], returns: i32 },
    MPI_Finalized: { args: [P], returns: i32 },
    MPI_Init_thread: { args: [P, P, i32, P], returns: i32 },
    MPI_Get_library_version: { args: [P, P], returns: i32 },
    MPI_Error_string: { args: [i32, P, P], returns: i32 },
    MPI_Comm_rank: { args: [H, P], returns: i32 },
    MPI_Comm_size: { args: [H, P], returns: i32 },
    MPI_Allreduce: { args: [P, P, i32, H, H, H], returns: i32 },
    MPI_Iallreduce: { args: [P, P, i32, H, H, H, P], returns: i32 },
    MPI_Test: { args: [P, P, P], returns: i32 },
    MPI_Wait: { args: [P, P], returns: i32 },
    MPI_Bcast: { args: [P, i32, H, i32, H], returns: i32 },
    MPI_Barrier: { args: [H], returns: i32 },
    MPI_Abort: { args: [H, i32], returns: i32 },
    MPI_Finalize: { args: [], returns: i32 },
  } as const;
}

const OPEN_MPI_OBJECTS = {
  ompi_mpi_comm_world: { args: [], returns: FFIType.void },
  ompi_mpi_float: { args: [], returns: FFIType.void },
  ompi_mpi_double: { args: [], returns: FFIType.void },
  ompi_mpi_byte: { args: [], returns: FFIType.void },
  ompi_mpi_op_sum: { args: [], returns: FFIType.void },
} as const;

export type MpiFunctions = Library<ReturnType<typeof functions>>["symbols"];

export interface MpiLibrary {
  abi: MpiAbi;
  /** The file name or path that was opened. */
  path: string;
  /** MPI_Get_library_version's first line, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, …". */
  version: string;
  fn: MpiFunctions;
  h: MpiHandles;
}

/** Library names to try, the launcher's own ABI first. */
export function candidateLibraries(launcher: Launcher, env: Record<string, string | undefined> = process.env): string[] {
  const forced = env.XT_MPI_LIBRARY?.trim();
  if (forced) return [forced];
  const openMpi = ["libmpi.so.40"];
  const mpich = ["libmpich.so.12", "libmpi.so.12"];
  return launcher === "PMI" ? [...mpich, ...openMpi] : [...openMpi, ...mpich];
}

function tryOpen<T extends Record<string, { args: readonly FFIType[]; returns: FFIType }>>(path: string, syms: T): Library<T> | string {
  try {
    return dlopen(path, syms);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function libraryVersion(fn: MpiFunctions): string {
  const buf = new Uint8Array(8192); // ≥ MPI_MAX_LIBRARY_VERSION_STRING in both ABIs
  const len = new Int32Array(1);
  if (fn.MPI_Get_library_version(ptr(buf), ptr(len)) !== 0) return "unknown version";
  const text = new TextDecoder().decode(buf.subarray(0, Math.max(0, Math.min(len[0]!, buf.length))));
  return text.replace(/\0.*$/s, "").split("\n")[0]!.split(",")[0]!.replace(/\s+/g, " ").trim();
}

/** Opens the first loadable library of `names`; an XtError naming what was tried otherwise. */
export function loadMpiLibrary(names: string[]): MpiLibrary {
  const failures: string[] = [];
  for (const path of names) {
    // Standard entry points first: is this an MPI library at all?
    const probe = tryOpen(path, { MPI_Init_thread: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
    if (typeof probe === "string") {
      failures.push(`${path}: ${probe.replace(/\s+/g, " ")}`);
      continue;
    }
    probe.close();
    const objects = tryOpen(path, OPEN_MPI_OBJECTS);
    const abi: MpiAbi = typeof objects === "string" ? "MPICH" : "Open MPI";
    const lib = tryOpen(path, functions(abi));
    if (typeof lib === "string") {
      throw new XtError(`${path} is an MPI library but lacks an MPI-3 function xt needs (${lib}); use Open MPI ≥ 1.8 or MPICH ≥ 3`);
    }
    const fn = lib.symbols as MpiFunctions;
    const version = libraryVersion(fn);
    let h: MpiHandles;
    if (typeof objects !== "string") {
      const o = objects.symbols as unknown as Record<keyof typeof OPEN_MPI_OBJECTS, { ptr: number }>;
      h = handles({
        commWorld: o.ompi_mpi_comm_world.ptr, float: o.ompi_mpi_float.ptr, double: o.ompi_mpi_double.ptr,
        byte: o.ompi_mpi_byte.ptr, sum: o.ompi_mpi_op_sum.ptr, inPlace: 1, statusIgnore: 0,
      });
    } else {
      // Integer handles are only right for libraries built on MPICH's mpi.h.
      if (!/MPICH|Intel\(R\) MPI|MVAPICH/i.test(version)) {
        throw new XtError(
          `${path} is neither Open MPI (it has no ompi_mpi_comm_world) nor an MPICH-ABI library (its version reads "${version}"); ` +
            `xt speaks those two MPI ABIs: ${INSTALL_HINT}`,
        );
      }
      h = MPICH_HANDLES;
    }
    return { abi, path, version, fn, h };
  }
  throw new XtError(`no MPI library could be loaded (tried ${failures.join("; ")}); ${INSTALL_HINT}`);
}

/** MPI_Error_string for a return code. */
export function mpiErrorText(lib: MpiLibrary, rc: number): string {
  const buf = new Uint8Array(1024);
  const len = new Int32Array(1);
  if (lib.fn.MPI_Error_string(rc, ptr(buf), ptr(len)) !== 0) return `MPI error ${rc}`;
  return new TextDecoder().decode(buf.subarray(0, len[0]!));
}

/** MPI_Init_thread (unless already initialized); returns [rank, size]. */
export function initMpi(lib: MpiLibrary): { rank: number; size: number } {
  const flag = new Int32Array(1);
  lib.fn.MPI_Initialized(ptr(flag));
  if (!flag[0]) {
    const provided = new Int32Array(1);
    const rc = lib.fn.MPI_Init_thread(null, null, MPI_THREAD_FUNNELED, ptr(provided));
    if (rc !== 0) throw new XtError(`MPI_Init_thread failed (${lib.path}): ${mpiErrorText(lib, rc)}`);
  }
  const rank = new Int32Array(1);
  const size = new Int32Array(1);
  lib.fn.MPI_Comm_rank(lib.h.commWorld, ptr(rank));
  lib.fn.MPI_Comm_size(lib.h.commWorld, ptr(size));
  return { rank: rank[0]!, size: size[0]! };
}

