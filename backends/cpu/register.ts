/**
 * Registers the CPU device with core. The backend and its native library (native/xt_cpu.node)
 * are required only when the device is created or reported on, so importing this file loads
 * nothing native.
 */
import { registerDevice, type DeviceReport, type KernelRow } from "../../core/device.ts";
import { setBulkBernoulli } from "../../core/random/index.ts";

type CpuModule = typeof import("./index.ts");
type NativeModule = typeof import("./native.ts");

// Literal paths, so `bun build --compile` bundles the modules (and the addon they load).
const cpuModule = (): CpuModule => require("./index.ts") as CpuModule;
const nativeModule = (): NativeModule => require("./native.ts") as NativeModule;

/**
 * Dropout masks are drawn on the host for every device; the native library draws the same MT19937
 * stream, bit for bit, ~10x faster than the TypeScript loop (and declines when it is not loaded).
 */
export function installHostSampler(): void {
  setBulkBernoulli(nativeModule().bernoulliMt);
}

/** Which implementation runs the CPU kernels: the native library (for float32) or TypeScript. */
export function cpuKernelRows(): KernelRow[] {
  const n = nativeModule().nativeInfo();
  const ts = "TypeScript";
  if (!n.loaded) return [{ group: "all kernels", provider: ts, detail: `native library not loaded: ${n.error ?? "unknown"}` }];
  if (!n.enabled) return [{ group: "all kernels", provider: ts, detail: "native library loaded but turned off" }];
  return [
    { group: "float32 kernels", provider: `native ${n.isa}`, detail: `${n.threads} threads` },
    { group: "float64, int32, bool kernels", provider: ts },
  ];
}

function cpuReport(): DeviceReport {
  const n = nativeModule().nativeInfo();
  const summary = n.enabled ? `native ${n.isa}, ${n.threads} threads` : "TypeScript kernels";
  return { summary, kernels: cpuKernelRows(), facts: {} };
}

registerDevice({
  name: "cpu",
  priority: 0,
  probe: () => ({ ok: true, description: "CPU" }),
  create: () => {
    installHostSampler();
    return new (cpuModule().CpuBackend)();
  },
  report: cpuReport,
});
