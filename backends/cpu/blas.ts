/**
 * The platform BLAS, opened at run time with bun:ffi: oneDNN's `dnnl_sgemm` when libdnnl is
 * there, else a CBLAS `cblas_sgemm` (MKL, OpenBLAS, BLIS; Accelerate on macOS), found by file
 * name (backends/blas_libraries.ts). Nothing is loaded until the kernel table asks for it.
 *
 * XT_BLAS picks the library: auto (default: the first found of oneDNN, MKL, OpenBLAS, BLIS,
 * Accelerate), none, one of dnnl|mkl|openblas|blis|accelerate|blas, or a library's path.
 *
 * Threads. Each library runs its own threads beside xt's native pool, and on a small machine two
 * sets of spinning threads fight. The library gets xt's thread count (XT_THREADS, else the cores,
 * at most 8) unless its own variable is set (OMP_NUM_THREADS for oneDNN's OpenMP, and
 * OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, BLIS_NUM_THREADS). OpenMP's idle threads spin for a
 * while after each product; libgomp's default (300,000 spins, milliseconds) kept a core away
 * from xt's own kernels between products, so unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set,
 * GOMP_SPINCOUNT is set to BLAS_SPIN before libgomp starts (it reads its environment once).
 */
import { availableParallelism } from "node:os";
import { dlopen, FFIType, ptr } from "bun:ffi";
import { BLAS_KEYS, findBlasLibraries, type BlasKey, type BlasLibrary } from "../blas_libraries.ts";
import { XtError } from "../../core/errors.ts";

/** libgomp's spin count for oneDNN's idle threads (see the header; measured in bench/blas_threads.ts). */
export const BLAS_SPIN = "10000";

export interface Blas {
  readonly key: BlasKey | "path";
  readonly name: string;
  readonly path: string;
  readonly entry: "dnnl_sgemm" | "cblas_sgemm";
  /** The threads the library was asked to use (null: its own default), and how ("OMP_NUM_THREADS=2 (set by xt)"). */
  readonly threads: number | null;
  readonly threadNote: string;
  /**
   * Row-major C[M,N] (row stride ldc) = op(A)·op(B) + beta·C, with op(A) [M,K] stored at a[aOff…]
   * with row stride lda (transposed: A stored [K,M]), op(B) [K,N] likewise.
   */
  sgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: Float32Array, aOff: number, lda: number, b: Float32Array, bOff: number, ldb: number,
    beta: number, c: Float32Array, cOff: number, ldc: number,
  ): void;
}

/** The library, or why none is used (`requested`: whether XT_BLAS named one). */
export type BlasLoad = { blas: Blas; error: null } | { blas: null; error: string; requested: boolean };

/** What XT_BLAS asks for: auto, none, a library key, or a path. An unknown word is an XtError. */
export function blasChoiceFromEnv(env: Record<string, string | undefined> = process.env): string {
  const raw = env.XT_BLAS?.trim();
  if (raw === undefined || raw === "") return "auto";
  const v = raw.toLowerCase();
  if (v === "auto" || v === "none" || (BLAS_KEYS as readonly string[]).includes(v)) return v;
  if (v === "onednn") return "dnnl";
  if (/[/\\]/.test(raw)) return raw;
  throw new XtError(`XT_BLAS=${raw}: expected auto, none, ${BLAS_KEYS.join(", ")} or a library's path`, 2);
}

const xtThreads = (): number => {
  const n = Number(process.env.XT_THREADS);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 64) : Math.min(availableParallelism(), 8);
};

let loaded: BlasLoad | null = null;

/** Loads the library XT_BLAS asks for on the first call and remembers the outcome. */
export function loadBlas(): BlasLoad {
  if (loaded) return loaded;
  const choice = blasChoiceFromEnv();
  loaded = open(choice);
  return loaded;
}

function open(choice: string): BlasLoad {
  if (choice === "none") return { blas: null, error: "XT_BLAS=none", requested: false };
  const requested = choice !== "auto";
  let libs: BlasLibrary[];
  if (choice === "auto" || (BLAS_KEYS as readonly string[]).includes(choice)) {
    libs = findBlasLibraries().filter((l) => (choice === "auto" ? l.auto : l.key === choice));
    const found = libs.filter((l) => l.path !== null);
    if (found.length === 0) {
      const looked = libs.flatMap((l) => l.files).join(", ");
      return { blas: null, error: `no ${choice === "auto" ? "BLAS library" : choice} found${looked ? ` (looked for ${looked})` : ""}`, requested };
    }
    libs = found;
  } else {
    // A path: oneDNN by its name, any other library through CBLAS.
    const dnnl = /dnnl/i.test(choice.replace(/^.*[/\\]/, ""));
    libs = [{ key: "blas", name: choice, files: [choice], path: choice, entry: dnnl ? "dnnl_sgemm" : "cblas_sgemm", auto: false }];
  }
  const errors: string[] = [];
  for (const lib of libs) {
    try {
      return { blas: bind(lib, requested && !BLAS_KEYS.includes(choice as BlasKey)), error: null };
    } catch (e) {
      errors.push(`${lib.name} (${lib.path}): ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return { blas: null, error: `could not load ${errors.join("; ")}`, requested };
}

/** Sets a variable in the C environment (process.env does not reach libraries) unless it is set. */
function setenvDefault(name: string, value: string): boolean {
  if (process.env[name] !== undefined || process.platform === "win32") return false;
  const libc = dlopen(process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6", {
    setenv: { args: [FFIType.cstring, FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  });
  try {
    libc.symbols.setenv(Buffer.from(`${name}\0`), Buffer.from(`${value}\0`), 0);
  } finally {
    libc.close();
  }
  return true;
}

/** Calls the library's own "use n threads" function when it has one; false when it has none. */
function setThreads(path: string, fn: string, n: number): boolean {
  try {
    const lib = dlopen(path, { [fn]: { args: [FFIType.i32], returns: FFIType.void } });
    (lib.symbols[fn] as (n: number) => void)(n);
    return true;
  } catch {
    return false;
  }
}

const THREAD_VAR: Partial<Record<BlasKey, [string, string]>> = {
  openblas: ["OPENBLAS_NUM_THREADS", "openblas_set_num_threads"],
  mkl: ["MKL_NUM_THREADS", "MKL_Set_Num_Threads"],
  blis: ["BLIS_NUM_THREADS", "bli_thread_set_num_threads"],
};

function bind(lib: BlasLibrary, byPath: boolean): Blas {
  const path = lib.path!;
  const want = xtThreads();
  let threads: number | null = want;
  let threadNote: string;
  if (lib.entry === "dnnl_sgemm") {
    const fromEnv = Number(process.env.OMP_NUM_THREADS);
    if (setenvDefault("OMP_NUM_THREADS", String(want))) threadNote = `OMP_NUM_THREADS=${want} (set by xt)`;
    else {
      threads = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : want;
      threadNote = `OMP_NUM_THREADS=${process.env.OMP_NUM_THREADS ?? "?"}`;
    }
    if (process.env.OMP_WAIT_POLICY === undefined) setenvDefault("GOMP_SPINCOUNT", BLAS_SPIN);
    const lib2 = dlopen(path, {
      dnnl_sgemm: {
        args: [FFIType.i8, FFIType.i8, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.f32, FFIType.ptr, FFIType.i64, FFIType.ptr, FFIType.i64, FFIType.f32, FFIType.ptr, FFIType.i64],
        returns: FFIType.i32,
      },
    });
    const f = lib2.symbols.dnnl_sgemm;
    const N_ = 78, T_ = 84; // 'N', 'T'
    return {
      key: byPath ? "path" : lib.key, name: lib.name, path, entry: lib.entry, threads, threadNote,
      sgemm(ta, tb, M, N, K, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc) {
        const st = f(ta ? T_ : N_, tb ? T_ : N_, M, N, K, 1, ptr(a, aOff * 4), lda, ptr(b, bOff * 4), ldb, beta, ptr(c, cOff * 4), ldc);
        if (st !== 0) throw new Error(`dnnl_sgemm failed (status ${st}) for ${M}x${N}x${K}`);
      },
    };
  }
  const tv = THREAD_VAR[lib.key];
  const lib2 = dlopen(path, {
    cblas_sgemm: {
      args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.f32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.f32, FFIType.ptr, FFIType.i32],
      returns: FFIType.void,
    },
  });
  if (tv && process.env[tv[0]] === undefined && setThreads(path, tv[1], want)) threadNote = `${tv[1]}(${want})`;
  else if (tv && process.env[tv[0]] !== undefined) {
    threads = Number(process.env[tv[0]]) || want;
    threadNote = `${tv[0]}=${process.env[tv[0]]}`;
  } else {
    threads = null;
    threadNote = "the library's own default";
  }
  const f = lib2.symbols.cblas_sgemm;
  const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;
  return {
    key: byPath ? "path" : lib.key, name: lib.name, path, entry: lib.entry, threads, threadNote,
    sgemm(ta, tb, M, N, K, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc) {
      f(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, M, N, K, 1, ptr(a, aOff * 4), lda, ptr(b, bOff * 4), ldb, beta, ptr(c, cOff * 4), ldc);
    },
  };
}
