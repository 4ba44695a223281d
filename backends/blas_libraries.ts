/**
 * The BLAS libraries a machine has, found by file name (never loaded or called): what `xt info`
 * reports, and where the CPU backend's BLAS provider (backends/cpu/blas.ts) looks, best first.
 */
import { existsSync } from "node:fs";
import { findSharedLibrary } from "./shared_libraries.ts";

/** The names XT_BLAS takes. "blas" is the system's generic libblas (maybe the slow reference one). */
export const BLAS_KEYS = ["dnnl", "mkl", "openblas", "blis", "accelerate", "blas"] as const;
export type BlasKey = (typeof BLAS_KEYS)[number];

export interface BlasLibrary {
  key: BlasKey;
  name: string;
  /** The file names looked for, best first. */
  files: string[];
  /** Where it was found, or null. */
  path: string | null;
  /** The single-precision product it exports: oneDNN's own, or the CBLAS one. */
  entry: "dnnl_sgemm" | "cblas_sgemm";
  /** Whether `auto` uses it (the generic libblas may be the unoptimised reference BLAS). */
  auto: boolean;
}

type Candidate = Omit<BlasLibrary, "path">;

const LINUX: Candidate[] = [
  { key: "dnnl", name: "oneDNN", files: ["libdnnl.so.3", "libdnnl.so.2"], entry: "dnnl_sgemm", auto: true },
  { key: "mkl", name: "MKL", files: ["libmkl_rt.so.2", "libmkl_rt.so"], entry: "cblas_sgemm", auto: true },
  { key: "openblas", name: "OpenBLAS", files: ["libopenblas.so.0"], entry: "cblas_sgemm", auto: true },
  { key: "blis", name: "BLIS", files: ["libblis.so.4", "libblis.so.3"], entry: "cblas_sgemm", auto: true },
  { key: "blas", name: "BLAS (system default)", files: ["libblas.so.3"], entry: "cblas_sgemm", auto: false },
];

const WINDOWS: Candidate[] = [
  { key: "dnnl", name: "oneDNN", files: ["dnnl.dll"], entry: "dnnl_sgemm", auto: true },
  { key: "mkl", name: "MKL", files: ["mkl_rt.2.dll", "mkl_rt.dll"], entry: "cblas_sgemm", auto: true },
  { key: "openblas", name: "OpenBLAS", files: ["libopenblas.dll", "openblas.dll"], entry: "cblas_sgemm", auto: true },
  { key: "blis", name: "BLIS", files: ["libblis.4.dll", "blis.dll"], entry: "cblas_sgemm", auto: true },
];

/** The framework folder; its binary lives in the dyld shared cache (dlopen by this path works). */
const ACCELERATE = "/System/Library/Frameworks/Accelerate.framework";
export const ACCELERATE_BINARY = `${ACCELERATE}/Accelerate`;

export function findBlasLibraries(): BlasLibrary[] {
  if (process.platform === "darwin") {
    return [
      { key: "accelerate", name: "Accelerate", files: [ACCELERATE], path: existsSync(ACCELERATE) ? ACCELERATE_BINARY : null, entry: "cblas_sgemm", auto: true },
      { key: "openblas", name: "OpenBLAS", files: ["libopenblas.0.dylib"], path: findSharedLibrary(["libopenblas.0.dylib"]), entry: "cblas_sgemm", auto: true },
    ];
  }
  const list = process.platform === "linux" ? LINUX : process.platform === "win32" ? WINDOWS : [];
  return list.map((b) => ({ ...b, path: findSharedLibrary(b.files) }));
}
