/**
 * Registers the CUDA device with core. The addon (xt_cuda.<platform>.node) is required only when the device
 * is probed, created or reported on; before that, the probe asks whether an NVIDIA driver is
 * installed at all, so that `--device auto` on a machine without one stays quiet about CUDA.
 */
import { registerDevice, type DeviceProbe, type DeviceReport } from "../../core/device.ts";
import { installHostSampler } from "../cpu/register.ts";
import { CUDA_ADDON_FILE } from "../native_platform.ts";
import { findSharedLibrary } from "../shared_libraries.ts";

type CudaModule = typeof import("./index.ts");
// A literal path, so `bun build --compile` bundles the module (and the addon it loads).
const cudaModule = (): CudaModule => require("./index.ts") as CudaModule;

/** The driver library the addon will load (XT_CUDA_DRIVER or libcuda.so.1), or null when none is installed. */
export function findCudaDriver(): string | null {
  const env = process.env.XT_CUDA_DRIVER;
  if (env) return env;
  if (process.platform !== "linux" && process.platform !== "win32") return null;
  return findSharedLibrary(["libcuda.so.1", "/usr/local/nvidia/lib64/libcuda.so.1", "/usr/lib/wsl/lib/libcuda.so.1"]);
}

function probe(): DeviceProbe {
  const driver = findCudaDriver();
  if (driver === null) return { ok: false, absent: true, reason: "no NVIDIA driver (libcuda.so.1 not found)" };
  const p = cudaModule().probeCuda();
  return p.ok ? { ok: true, description: p.device } : { ok: false, absent: false, reason: p.reason };
}

function report(): DeviceReport {
  const driver = findCudaDriver();
  const facts: Record<string, string> = { driver: driver ?? "not found" };
  if (driver === null) return { summary: "not available (no NVIDIA driver)", kernels: [], facts };
  const { addonInfo, probeCuda } = cudaModule();
  const addon = addonInfo();
  facts.addon = addon.loaded ? addon.path : `not loaded (${addon.error})`;
  const p = probeCuda();
  if (!p.ok) return { summary: `not available (${p.reason})`, kernels: [], facts };
  return { summary: p.device, kernels: [{ group: "all kernels", provider: `CUDA (${CUDA_ADDON_FILE})` }], facts };
}

registerDevice({
  name: "cuda",
  priority: 10,
  probe,
  create: () => {
    const backend = cudaModule().createCudaBackend();
    installHostSampler();
    return backend;
  },
  report,
});
