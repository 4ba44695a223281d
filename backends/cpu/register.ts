/**
 * Registers the CPU device with core. The backend and its native library (native/xt_cpu.<platform>.node)
 * are required only when the device is created or reported on, so importing this file loads
 * nothing native.
 */
import { registerDevice, type DeviceReport, type KernelRow } from "../../core/device.ts";
import { setBulkBernoulli, setBulkFills } from "../../core/random/index.ts";

type CpuModule = typeof import("./index.ts");

// A literal path, so `bun build --compile` bundles the module (and the addon it loads).
const cpuModule = (): CpuModule => require("./index.ts") as CpuModule;

/**
 * Dropout masks and uniform_/normal_ initialisations are drawn on the host for every device; the
 * native library draws the same MT19937 stream, bit for bit, far faster than the TypeScript loops
 * (and declines when it is not loaded).
 */
export function installHostSampler(): void {
  setBulkBernoulli(cpuModule().bernoulliMt);
  setBulkFills(cpuModule().fillsMt);
}

/** Which provider runs each group of CPU kernels, and why (backends/cpu/kernels.ts). */
export function cpuKernelRows(): KernelRow[] {
  return cpuModule().describeCpuKernels().groups.map((g) => ({ group: g.group, provider: g.label, detail: g.detail }));
}

function cpuReport(): DeviceReport {
  const m = cpuModule();
  try {
    return { summary: m.cpuKernelsSummary(), kernels: cpuKernelRows(), facts: {} };
  } catch (e) {
    // A bad XT_KERNELS: report it instead of failing (report() never throws).
    return { summary: (e as Error).message, kernels: [], facts: {} };
  }
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
