/**
 * Tests of the CUDA backend that need no GPU: the addon loads, the probe explains why CUDA is
 * unusable, createCudaBackend refuses with an XtError, the op codes agree with the kernels and
 * the fatbins hold the intended GPU code. (With a GPU, the probe must instead succeed.)
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { XtError } from "../../core/errors.ts";
import { CUDA_ADDON_FILE } from "../native_platform.ts";
import { requireCudaAddon } from "./addon_file.ts";
import { BINARY_OPS, createCudaBackend, DTYPE_CODES, probeCuda, REDUCE_OPS, UNARY_OPS } from "./index.ts";

const here = import.meta.dir;
const addonPath = join(here, CUDA_ADDON_FILE);
const built = existsSync(addonPath);
if (!built) console.log(`[cuda] addon tests skipped: ${addonPath} is not built (run scripts/build-native.sh)`);

const probe = probeCuda();

describe("CUDA addon", () => {
  test.skipIf(!built)("loads and exports the backend's functions", () => {
    const r = requireCudaAddon();
    const addon = (r.ok ? r.module : {}) as Record<string, unknown>;
    for (const f of [
      "available", "init", "alloc", "htod", "dtoh", "sync", "memory", "trim", "elementwise", "reduce", "matmul",
      "softmax", "full", "adam", "gatherRows", "scatterAddRows", "window2d",
    ]) {
      expect(typeof addon[f], f).toBe("function");
    }
  });

  test("probeCuda never throws and explains itself", () => {
    if (probe.ok) {
      expect(probe.device.length).toBeGreaterThan(0);
    } else if (built) {
      // no driver library, or a driver without a device
      expect(probe.reason).toMatch(/libcuda|no CUDA device|CUDA_ERROR_NO_DEVICE|cuInit/);
    } else {
      expect(probe.reason).toContain(CUDA_ADDON_FILE);
    }
  });

  test.skipIf(probe.ok)("createCudaBackend throws an XtError carrying the reason", () => {
    let err: unknown;
    try {
      createCudaBackend();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(XtError);
    expect((err as Error).message).toContain(probe.ok ? "" : probe.reason);
  });

  test.skipIf(!built)("a driver library that cannot be loaded is reported by path (XT_CUDA_DRIVER)", () => {
    const code = `import { probeCuda } from ${JSON.stringify(join(here, "index.ts"))}; console.log(JSON.stringify(probeCuda()));`;
    const r = Bun.spawnSync([process.execPath, "-e", code], {
      env: { ...process.env, XT_CUDA_DRIVER: "/nonexistent/libcuda.so.1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.exitCode).toBe(0);
    const p = JSON.parse(r.stdout.toString().trim()) as { ok: boolean; reason: string };
    expect(p.ok).toBe(false);
    expect(p.reason).toContain("/nonexistent/libcuda.so.1");
  });

  test("op and dtype codes agree with kernels/common.cuh", () => {
    const src = readFileSync(join(here, "kernels/common.cuh"), "utf8");
    const enumBody = (name: string) => {
      const m = src.match(new RegExp(`enum ${name} \\{([^}]*)\\}`));
      if (!m) throw new Error(`enum ${name} not found`);
      return m[1]!.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    };
    const cName = (prefix: string, op: string) => `${prefix}_${op.toUpperCase()}`;
    expect(enumBody("UnaryOpCode")).toEqual(UNARY_OPS.map((o) => cName("U", o)));
    expect(enumBody("BinaryOpCode")).toEqual(BINARY_OPS.map((o) => cName("B", o)));
    expect(enumBody("ReduceOpCode")).toEqual(REDUCE_OPS.map((o) => cName("R", o)));
    expect(src).toContain(
      `enum { DT_F32 = ${DTYPE_CODES.float32}, DT_F64 = ${DTYPE_CODES.float64}, DT_I32 = ${DTYPE_CODES.int32}, DT_BOOL = ${DTYPE_CODES.bool} };`,
    );
  });
});

/** The entries of an NVIDIA fatbin: (kind, arch) pairs such as ["elf", 80], ["ptx", 90]. */
function fatbinEntries(b: Buffer): [string, number][] {
  if (b.readUInt32LE(0) !== 0xba55ed50) throw new Error("not a fatbin");
  const headerSize = b.readUInt16LE(6);
  const end = headerSize + Number(b.readBigUInt64LE(8));
  const out: [string, number][] = [];
  for (let off = headerSize; off < end; ) {
    const kind = b.readUInt16LE(off);
    const entryHeader = b.readUInt32LE(off + 4);
    const payload = Number(b.readBigUInt64LE(off + 8));
    out.push([kind === 1 ? "ptx" : kind === 2 ? "elf" : `kind${kind}`, b.readUInt32LE(off + 28)]);
    off += entryHeader + payload;
  }
  return out;
}

/** The fatbins of the newest build (napi builds with --target: target/<triple>/release/build/xt-cuda-*\/out). */
function builtFatbins(): string[] {
  const buildDirs = [...new Bun.Glob("target/*/release/build").scanSync({ cwd: here, onlyFiles: false })].map((d) => join(here, d));
  const outs = buildDirs
    .flatMap((buildDir) => readdirSync(buildDir).filter((d) => d.startsWith("xt-cuda-")).map((d) => join(buildDir, d, "out")))
    .filter((out) => existsSync(join(out, "matmul.fatbin")))
    .sort((a, b) => statSync(join(b, "matmul.fatbin")).mtimeMs - statSync(join(a, "matmul.fatbin")).mtimeMs);
  if (outs.length === 0) return [];
  return readdirSync(outs[0]!).filter((f) => f.endsWith(".fatbin")).map((f) => join(outs[0]!, f));
}

const fatbins = builtFatbins();
test.skipIf(fatbins.length === 0)("the kernel fatbins hold sm_80 and sm_90 cubins and compute_90 PTX", () => {
  expect(fatbins.map((f) => f.split("/").pop()).sort()).toEqual(
    ["elementwise.fatbin", "index.fatbin", "matmul.fatbin", "reduce.fatbin", "window2d.fatbin"],
  );
  for (const f of fatbins) {
    const entries = fatbinEntries(readFileSync(f)).map(([k, a]) => `${k}:${a}`).sort();
    expect(entries, f).toEqual(["elf:80", "elf:90", "ptx:90"]);
  }
});
