/**
 * The CPU kernel-provider table: XT_KERNELS parsing, the errors for a bad value and for a forced
 * native library that is missing, withKernels putting the table back, and what
 * describeCpuKernels reports. Which provider computes what is checked kernel by kernel in
 * native.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { View } from "../../core/backend.ts";
import { XtError } from "../../core/errors.ts";
import { CpuBackend } from "./index.ts";
import { KERNEL_GROUPS, chooseProviders, cpuKernels, describeCpuKernels, kernelModeFromEnv, withKernels } from "./kernels.ts";
import { loadNative } from "./native.ts";
import { TS_PROVIDERS } from "./ts_kernels.ts";
import { CpuStorage } from "./storage.ts";

const nativeBuilt = loadNative().addon !== null;
const noBlas = () => ({ blas: null, error: "no BLAS library found", requested: false }) as const;
const ROOT = join(import.meta.dir, "..", "..");

describe("XT_KERNELS", () => {
  test("unset, empty or auto is auto; ts and native force; XT_NATIVE=0 is the older spelling of ts", () => {
    expect(kernelModeFromEnv({})).toEqual({ mode: "auto", source: "default" });
    expect(kernelModeFromEnv({ XT_KERNELS: "" }).mode).toBe("auto");
    expect(kernelModeFromEnv({ XT_KERNELS: "auto" }).mode).toBe("auto");
    expect(kernelModeFromEnv({ XT_KERNELS: "ts" })).toEqual({ mode: "ts", source: "XT_KERNELS=ts" });
    expect(kernelModeFromEnv({ XT_KERNELS: " Native " }).mode).toBe("native");
    expect(kernelModeFromEnv({ XT_NATIVE: "0" })).toEqual({ mode: "ts", source: "XT_NATIVE=0" });
    expect(kernelModeFromEnv({ XT_NATIVE: "0", XT_KERNELS: "native" }).mode).toBe("native");
  });

  test("an unknown value is a usage error that names the variable and the values it takes", () => {
    let err: unknown;
    try {
      kernelModeFromEnv({ XT_KERNELS: "blas2" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(XtError);
    expect((err as XtError).exitCode).toBe(2);
    expect((err as XtError).message).toBe("XT_KERNELS=blas2: expected ts, native or blas (or auto, the default: native when the library is built)");
  });

  test("forcing native without the library is an error that says why and what to do", () => {
    const missing = () => ({ addon: null, error: "Cannot find module './native/xt_cpu.node'", built: false }) as const;
    expect(() => chooseProviders("native", "XT_KERNELS=native", missing)).toThrow(
      "XT_KERNELS=native, but the native CPU kernels could not be loaded (Cannot find module './native/xt_cpu.node'); " +
        "build them with `npm run build:native-cpu` (needs cargo), or unset XT_KERNELS",
    );
    // auto falls back to TypeScript instead (no BLAS either here), and says why.
    const t = chooseProviders("auto", "default", missing, noBlas);
    expect(Object.values(t.chains).every((c) => c.length === 1 && c[0] === "typescript")).toBe(true);
  });

  test.skipIf(process.platform !== "linux" || !nativeBuilt)("ts never loads the native library; the default loads it at the first kernel", () => {
    const mapped = (env: Record<string, string>): boolean => {
      const script = `await import("./backends/register.ts"); const c = await import("./core/index.ts");
        c.randn([4, 8]).matmul(c.randn([8, 3])); new c.Dropout(0.5).forward(c.ones([64]));
        console.log(/\\/xt_cpu\\.[a-z0-9-]+\\.node$/m.test(require("node:fs").readFileSync("/proc/self/maps", "utf8")));`;
      const r = Bun.spawnSync([process.execPath, "-e", script], { cwd: ROOT, env: { ...process.env, XT_KERNELS: "", XT_NATIVE: "", ...env } });
      if (r.exitCode !== 0) throw new Error(r.stderr.toString());
      return r.stdout.toString().trim() === "true";
    };
    expect(mapped({ XT_KERNELS: "ts" })).toBe(false);
    expect(mapped({})).toBe(true);
  });

  test("the CLI reports a bad value in one line, exit code 2, no stack trace", () => {
    const r = Bun.spawnSync([process.execPath, "cli/main.ts", "bench", "matmul", "--steps", "1"], {
      cwd: ROOT,
      env: { ...process.env, XT_KERNELS: "fast", XT_DEVICE: "cpu" },
    });
    const err = r.stderr.toString();
    expect(r.exitCode).toBe(2);
    expect(err).toContain("XT_KERNELS=fast: expected ts, native or blas");
    expect(err).not.toContain("    at ");
  });
});

test("every kernel is in exactly one group", () => {
  const grouped = Object.values(KERNEL_GROUPS).flat();
  expect(new Set(grouped).size).toBe(grouped.length);
  expect([...grouped].sort()).toEqual(Object.keys(TS_PROVIDERS).sort() as never);
});

describe("withKernels", () => {
  const be = new CpuBackend();
  const x: View = { storage: new CpuStorage("float32", new Float32Array([1, 2, 3, 4, 5, 6])), shape: [2, 3], strides: [3, 1], offset: 0 };
  const w: View = { storage: new CpuStorage("float32", new Float32Array([1, 0, 0, 0, 1, 0])), shape: [2, 3], strides: [3, 1], offset: 0 };

  test("ts: every group on TypeScript, the fused kernels decline (core composes), forced says so", () => {
    withKernels("ts", () => {
      const info = describeCpuKernels();
      expect(info.mode).toBe("ts");
      expect(info.groups.map((g) => g.group)).toEqual(Object.keys(KERNEL_GROUPS) as never);
      for (const g of info.groups) {
        expect(g.providers).toEqual(["typescript"]);
        expect([g.label, g.detail]).toEqual(["TypeScript", "forced by withKernels(ts)"]);
      }
      expect(be.linear(x, w, null)).toBeNull();
      expect(cpuKernels().bernoulli(new Uint32Array(624), 624, 0.5, 2, new Float32Array(4))).toBeNull();
    });
  });

  (nativeBuilt ? test : test.skip)("native: every group native first, TypeScript behind it; the fused kernels run", () => {
    withKernels("native", () => {
      const info = describeCpuKernels();
      if (!info.native.loaded) throw new Error("native not loaded");
      for (const g of info.groups) {
        expect(g.provider).toBe("native");
        expect(g.providers).toEqual(["native", "typescript"]);
        expect(g.label).toBe(`native ${info.native.isa}`);
      }
      const y = be.linear(x, w, null);
      expect(y && Array.from((y as CpuStorage).data)).toEqual([1, 2, 4, 5]);
      // float64 is not the native library's: the TypeScript kernel takes it.
      const d: View = { storage: new CpuStorage("float64", new Float64Array([-1, 2])), shape: [2], strides: [1], offset: 0 };
      expect(Array.from((be.unary("neg", d) as CpuStorage).data)).toEqual([1, -2]);
      expect(be.linear({ ...d, shape: [1, 2], strides: [2, 1] }, { ...d, shape: [1, 2], strides: [2, 1] }, null)).toBeNull();
    });
  });

  test("puts the previous table back when fn throws, and after an async fn settles", async () => {
    const before = describeCpuKernels();
    expect(() =>
      withKernels("ts", () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(describeCpuKernels()).toEqual(before);
    let inside = "";
    await withKernels("ts", async () => {
      await Bun.sleep(1);
      inside = describeCpuKernels().mode;
    });
    expect(inside).toBe("ts");
    expect(describeCpuKernels()).toEqual(before);
  });
});
