/**
 * The BLAS libraries a machine has, found by file name (never loaded or called): what `xt info`
 * reports, and what a platform-BLAS kernel provider would look for.
 */
import { existsSync } from "node:fs";
import { findSharedLibrary } from "./shared_libraries.ts";

export interface BlasLibrary {
  name: string;
  /** The file names looked for, best first. */
  files: string[];
  /** Where it was found, or null. */
  path: string | null;
}

const LINUX: { name: string; files: string[] }[] = [
  { name: "oneDNN", files: ["libdnnl.so.3", "libdnnl.so.2"] },
  { name: "OpenBLAS", files: ["libopenblas.so.0"] },
  { name: "BLIS", files: ["libblis.so.4", "libblis.so.3"] },
  { name: "MKL", files: ["libmkl_rt.so.2", "libmkl_rt.so"] },
  { name: "BLAS (system default)", files: ["libblas.so.3"] },
];

const ACCELERATE = "/System/Library/Frameworks/Accelerate.framework";

export function findBlasLibraries(): BlasLibrary[] {
  if (process.platform === "darwin") {
    return [
      { name: "Accelerate", files: [ACCELERATE], path: existsSync(ACCELERATE) ? ACCELERATE : null },
      { name: "OpenBLAS", files: ["libopenblas.0.dylib"], path: findSharedLibrary(["libopenblas.0.dylib"]) },
    ];
  }
  if (process.platform !== "linux") return [];
  return LINUX.map((b) => ({ ...b, path: findSharedLibrary(b.files) }));
}
