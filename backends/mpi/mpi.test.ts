/** The MPI binding in one process: finding the library, telling the ABI, refusing what it cannot speak. */
import { describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { candidateLibraries, loadMpiLibrary, MPICH_HANDLES } from "./index.ts";

const cc = Bun.which("cc");
const hasOpenMpi = (() => {
  try {
    loadMpiLibrary(["libmpi.so.40"]);
    return true;
  } catch {
    return false;
  }
})();
if (!hasOpenMpi) console.log("[mpi] Open MPI's libmpi.so.40 is missing: apt-get install openmpi-bin libopenmpi-dev");

describe("which MPI library", () => {
  test("the launcher's own ABI is tried first; XT_MPI_LIBRARY overrides", () => {
    expect(candidateLibraries("Open MPI", {})).toEqual(["libmpi.so.40", "libmpich.so.12", "libmpi.so.12"]);
    expect(candidateLibraries("PMI", {})).toEqual(["libmpich.so.12", "libmpi.so.12", "libmpi.so.40"]);
    expect(candidateLibraries("--distributed", { XT_MPI_LIBRARY: "/opt/mpi/lib/libmpi.so" })).toEqual(["/opt/mpi/lib/libmpi.so"]);
  });

  test("no library: the error names what was tried and what to install", () => {
    expect(() => loadMpiLibrary(["/nonexistent/libmpi.so.40", "libmpi-does-not-exist.so.12"])).toThrow(
      /no MPI library could be loaded \(tried \/nonexistent\/libmpi.so.40: .*libmpi-does-not-exist.so.12: .*apt-get install openmpi-bin libopenmpi-dev/,
    );
  });

  test("a library that is not MPI is reported as such", () => {
    expect(() => loadMpiLibrary(["libm.so.6"])).toThrow(/libm.so.6: .*MPI_Init_thread/);
  });

  test.skipIf(!hasOpenMpi)("Open MPI is recognised by its data symbols; its handles are addresses", () => {
    const lib = loadMpiLibrary(["libmpi.so.40"]);
    expect(lib.abi).toBe("Open MPI");
    expect(lib.version).toMatch(/^Open MPI v\d+\.\d+/);
    for (const k of ["commWorld", "float", "double", "byte", "sum"] as const) expect(Number(lib.h[k])).toBeGreaterThan(4096);
    expect(new Set([lib.h.commWorld, lib.h.float, lib.h.double, lib.h.byte, lib.h.sum]).size).toBe(5);
    expect(Number(lib.h.inPlace)).toBe(1);
    expect(Number(lib.h.statusIgnore)).toBe(0);
  });

  test("the MPICH ABI's handles are mpi.h's constants", () => {
    expect({ ...MPICH_HANDLES } as Record<string, number>).toEqual({
      commWorld: 0x44000000, float: 0x4c00040a, double: 0x4c00080b, byte: 0x4c00010d, sum: 0x58000003, inPlace: -1, statusIgnore: 1,
    });
  });

  test.skipIf(!cc)("a library of a third ABI is refused with a clear message, not guessed at", () => {
    const dir = mkdtempSync(join(tmpdir(), "xt-mpi-"));
    const so = join(dir, "libfoompi.so");
    execFileSync(cc!, ["-shared", "-fPIC", "-o", so, join(import.meta.dir, "testing/other_abi_mpi.c")]);
    expect(() => loadMpiLibrary([so])).toThrow(/neither Open MPI .* nor an MPICH-ABI library \(its version reads "FooMPI 1.0"\)/);
  });
});
