/**
 * --device / XT_DEVICE as a user meets them: any case, cuda:0, the option in every command's help,
 * and a quiet fallback: auto says nothing about CUDA when no NVIDIA driver is installed, one short
 * line when a driver is there but CUDA cannot be used, and never a stack trace.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { findCudaDriver } from "../backends/cuda/register.ts";
import { CUDA_ADDON_FILE } from "../backends/native_platform.ts";

const MAIN = join(import.meta.dir, "../cli/main.ts");

function xt(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], {
    env: { ...process.env, NO_COLOR: "1", XT_DEVICE: "", XT_CUDA_DRIVER: "", ...env },
  });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

const lines = (s: string): string[] => s.split("\n").filter((l) => l.trim() !== "");
const noTrace = (s: string): void => {
  expect(s).not.toContain("Require stack");
  expect(s).not.toMatch(/^\s+at /m);
};
const noDriver = findCudaDriver() === null;
const emulator = join(import.meta.dir, "../backends/cuda/emu/build/libcuda_emu.so");
const emulated = existsSync(emulator) && existsSync(join(import.meta.dir, "../backends/cuda", CUDA_ADDON_FILE));
if (!emulated) console.log("[device cli] the auto-picks-cuda test is skipped: the CUDA addon or its driver emulator is not built (scripts/build-native.sh)");
if (!noDriver) console.log("[device cli] the no-driver tests are skipped: this machine has an NVIDIA driver");

describe("auto's fallback", () => {
  test.skipIf(!noDriver)("without an NVIDIA driver, auto says nothing about CUDA", () => {
    const r = xt(["check", "pe"]);
    expect(r.code).toBe(0);
    expect(r.err).not.toMatch(/cuda/i);
    expect(lines(r.err).length).toBeLessThanOrEqual(1);
  });

  test("a driver that is there but unusable gets one short line, then the CPU", () => {
    const r = xt(["check", "pe"], { XT_CUDA_DRIVER: "/nonexistent/libcuda.so.1" });
    expect(r.code).toBe(0);
    const cuda = lines(r.err).filter((l) => /cuda/i.test(l));
    expect(cuda.length).toBe(1);
    expect(cuda[0]).toStartWith("xt: cuda not usable (");
    expect(cuda[0]).toEndWith("; using cpu");
    expect(cuda[0]!.length).toBeLessThan(240);
    noTrace(r.err);
  });

  test.skipIf(!noDriver)("--verbose says which device and why, in one line", () => {
    const r = xt(["check", "pe", "--verbose"]);
    expect(r.code).toBe(0);
    expect(lines(r.err)).toContain("xt: device cpu (auto; cuda not usable: no NVIDIA driver (libcuda.so.1 not found))");
  });

  test.skipIf(!noDriver)("--device cuda without a GPU fails with the reason in one line", () => {
    const r = xt(["check", "pe", "--device", "cuda"]);
    expect(r.code).toBe(1);
    expect(lines(r.err).length).toBe(1);
    expect(r.err).toContain("CUDA is not available");
    noTrace(r.err);
  });
});

describe("the device request", () => {
  test("any case, cuda:0 style numbering for the CPU too, from the flag or XT_DEVICE", () => {
    for (const [args, env] of [[["--device", "CPU"], {}], [["--device", "cpu:0"], {}], [[], { XT_DEVICE: "Cpu" }]] as const) {
      const r = xt(["check", "pe", ...args], env);
      expect(r.code).toBe(0);
      expect(r.out).toContain("1/1 checks pass");
    }
  });

  test("another device number, an unknown device or a bad XT_DEVICE is a usage error naming its source", () => {
    const one = xt(["check", "pe", "--device", "cuda:1"]);
    expect(one.code).toBe(2);
    expect(one.err).toBe("xt: --device: xt uses one device of each kind, so only cuda:0 (or cuda) is supported, got 'cuda:1'\n");
    const gpu = xt(["check", "pe", "--device", "gpu"]);
    expect(gpu.code).toBe(2);
    expect(gpu.err).toBe("xt: --device: expected auto, cpu, cuda or cuda:0, got 'gpu'\n");
    const env = xt(["check", "pe"], { XT_DEVICE: "gpu" });
    expect(env.code).toBe(2);
    expect(env.err).toContain("XT_DEVICE: expected auto");
    // The flag wins over the variable.
    expect(xt(["check", "pe", "--device", "cpu"], { XT_DEVICE: "gpu" }).code).toBe(0);
  });

  test("every command's help shows --device and --verbose", () => {
    const commandsOf = (help: string): string[] => {
      const section = help.split(/^Commands:$/m)[1] ?? "";
      return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
    };
    const leaves: string[][] = [];
    for (const top of commandsOf(xt(["--help"]).out)) {
      const subs = commandsOf(xt([top, "--help"]).out);
      if (subs.length === 0) leaves.push([top]);
      for (const sub of subs) leaves.push([top, sub]);
    }
    expect(leaves.length).toBeGreaterThanOrEqual(8);
    for (const path of leaves) {
      const help = xt([...path, "--help"]).out;
      expect(help, path.join(" ")).toContain("--device <kind>");
      expect(help, path.join(" ")).toContain("--verbose");
    }
  });
});

test.skipIf(!emulated)("with a usable CUDA device (the driver emulator), auto picks cuda and info shows it", () => {
  const r = xt(["check", "pe", "--verbose"], { XT_CUDA_DRIVER: emulator });
  expect(r.code).toBe(0);
  expect(r.err).toBe("xt: device cuda (auto)\n");
  const info = JSON.parse(xt(["info", "--json"], { XT_CUDA_DRIVER: emulator }).out);
  expect(info.device.chosen).toBe("cuda");
  const cuda = info.devices.find((d: { name: string }) => d.name === "cuda");
  expect(cuda).toMatchObject({ usable: true, facts: { driver: emulator } });
  expect(cuda.summary).toContain("emulator");
  expect(xt(["check", "pe", "--device", "CPU", "--verbose"], { XT_CUDA_DRIVER: emulator }).err).toBe("xt: device cpu (requested with --device)\n");
});
