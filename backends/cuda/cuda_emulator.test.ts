/**
 * Runs the CUDA backend end to end without a GPU: the real addon and the real kernels, with the
 * driver replaced by emu/build/libcuda_emu.so (the kernels compiled for the CPU, see emu/). Each
 * test runs in a child process because the driver library is chosen once per process.
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CUDA_ADDON_FILE } from "../native_platform.ts";

const here = import.meta.dir;
const emulator = join(here, "emu/build/libcuda_emu.so");
const ready = existsSync(emulator) && existsSync(join(here, CUDA_ADDON_FILE));
if (!ready) {
  console.log(`[cuda emulator] skipped: backends/cuda/${CUDA_ADDON_FILE} or emu/build/libcuda_emu.so is not built ` +
    "(run scripts/build-native.sh; the emulator needs g++)");
}

function runWithEmulator(args: string[], extraEnv: Record<string, string> = {}) {
  const r = Bun.spawnSync([process.execPath, ...args], {
    cwd: join(here, "../.."),
    env: { ...process.env, XT_CUDA_DRIVER: emulator, ...extraEnv },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

test.skipIf(!ready)("the CUDA parity suite passes on the CPU emulator of the driver", () => {
  const { code, out } = runWithEmulator(["test", "backends/cuda/cuda_parity.test.ts"]);
  if (code !== 0) console.log(out);
  expect(code).toBe(0);
  expect(out).toContain("device: xt CPU emulator");
  expect(out).toMatch(/\n\s*0 fail/);
  expect(out).not.toMatch(/\n\s*\d+ skip/);
  expect(Number(out.match(/\n\s*(\d+) pass/)?.[1] ?? 0)).toBeGreaterThan(15);
}, 120_000);

test.skipIf(!ready)("out of device memory: dead tensors are collected first, then an XtError", () => {
  const script = `
    import { createCudaBackend } from "./backends/cuda/index.ts";
    const be = createCudaBackend();
    // 100 MiB through a 6 MiB device: only works if dead storages give their memory back.
    for (let i = 0; i < 100; i++) be.full(1 << 18, i, "float32");
    let err;
    try { be.full(4 << 20, 0, "float32"); } catch (e) { err = e; }
    console.log(JSON.stringify({ name: err?.name, message: err?.message, memory: be.memory() }));
  `;
  const { code, out } = runWithEmulator(["-e", script], { XT_CUDA_EMU_MEM_LIMIT: String(6 << 20) });
  if (code !== 0) console.log(out);
  expect(code).toBe(0);
  const r = JSON.parse(out.trim().split("\n").pop()!) as { name: string; message: string };
  expect(r.name).toBe("XtError");
  expect(r.message).toContain("CUDA out of memory");
}, 60_000);
