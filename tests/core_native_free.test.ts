/**
 * Core imports no backend: importing it loads no native module (checked in a fresh process through
 * /proc/self/maps); the CPU library loads when the first tensor picks the default device, and
 * `auto` on a machine without an NVIDIA driver never loads the CUDA addon.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { findCudaDriver } from "../backends/cuda/register.ts";
import { CPU_LIBRARY_FILE, CUDA_ADDON_FILE } from "../backends/native_platform.ts";

const root = join(import.meta.dir, "..");

/** Runs `code` in a fresh bun (no test preload) and returns the native modules mapped into it. */
function nativeModulesAfter(code: string): string[] {
  const script = `${code}\nconst maps = require("node:fs").readFileSync("/proc/self/maps", "utf8");
console.log(JSON.stringify([...new Set(maps.match(/[^ /]+\\.node$/gm) ?? [])].sort()));`;
  const r = Bun.spawnSync([process.execPath, "-e", script], { cwd: root, env: { ...process.env, XT_CUDA_DRIVER: "", XT_KERNELS: "", XT_NATIVE: "" } });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return JSON.parse(r.stdout.toString().trim().split("\n").pop()!) as string[];
}

const linux = process.platform === "linux";
const cpuBuilt = existsSync(join(root, "backends/cpu/native", CPU_LIBRARY_FILE));
if (!cpuBuilt) console.log(`[device] the native-loading check is skipped: backends/cpu/native/${CPU_LIBRARY_FILE} is not built (scripts/build-native-cpu.sh)`);
if (findCudaDriver() !== null) console.log("[device] the no-driver check is skipped: this machine has an NVIDIA driver");

describe("core loads no native module", () => {
  test.skipIf(!linux)("importing core/index.ts maps neither the CPU library nor the CUDA addon", () => {
    expect(nativeModulesAfter(`await import("./core/index.ts");`)).toEqual([]);
  });

  test.skipIf(!linux)("nor does importing every module under core/", () => {
    const files = [...new Bun.Glob("core/**/*.ts").scanSync(root)].filter((f) => !/\.(test|d)\.ts$/.test(f));
    expect(files.length).toBeGreaterThan(40);
    expect(nativeModulesAfter(files.map((f) => `await import("./${f}");`).join("\n"))).toEqual([]);
  });

  test.skipIf(!linux)("without a registered device, the first tensor says how to register one", () => {
    const r = Bun.spawnSync([process.execPath, "-e", `const c = await import("./core/index.ts"); try { c.zeros([2]); } catch (e) { console.log(e.message); }`], { cwd: root });
    expect(r.stdout.toString()).toContain("no device is registered: import backends/register.ts");
  });

  test.skipIf(!linux || !cpuBuilt)("the CPU library loads when the first tensor picks the default device", () => {
    const code = `await import("./backends/register.ts"); const c = await import("./core/index.ts");`;
    expect(nativeModulesAfter(code)).toEqual([]);
    expect(nativeModulesAfter(`${code} c.zeros([2]).add(c.ones([2]));`)).toEqual([CPU_LIBRARY_FILE]);
  });

  test.skipIf(!linux || findCudaDriver() !== null)("auto without an NVIDIA driver never loads the CUDA addon", () => {
    const code = `await import("./backends/register.ts"); const d = await import("./core/device.ts"); d.useDevice("auto");`;
    expect(nativeModulesAfter(code)).not.toContain(CUDA_ADDON_FILE);
  });
});
