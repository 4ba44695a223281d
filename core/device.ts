/**
 * Which backend new tensors live on. Core code asks `currentBackend()`; the CLI picks the device
 * once per run (--device / XT_DEVICE) with `useDevice`.
 */
import type { Backend } from "./backend.ts";
import { CpuBackend } from "../backends/cpu/index.ts";
import { createCudaBackend, probeCuda } from "../backends/cuda/index.ts";
import { bernoulliMt } from "../backends/cpu/native.ts";
import { XtError } from "./errors.ts";
import { setBulkBernoulli } from "./random/index.ts";

// Dropout masks are drawn on the host for every device; the native library draws the same
// MT19937 stream ~10x faster than the TypeScript loop (and declines when it is not loaded).
setBulkBernoulli(bernoulliMt);

let current: Backend = new CpuBackend();

export function currentBackend(): Backend {
  return current;
}

export function setBackend(b: Backend): void {
  current = b;
}

export type DeviceRequest = "auto" | "cpu" | "cuda";

export interface DeviceChoice {
  device: "cpu" | "cuda";
  /** Why auto did not pick CUDA (one line for the user), or the GPU's name. */
  note: string;
}

/** Switch to the requested device. cuda without a usable GPU is an error that says why. */
export function useDevice(req: string): DeviceChoice {
  if (req !== "auto" && req !== "cpu" && req !== "cuda") {
    throw new XtError(`--device: expected auto, cpu or cuda, got '${req}'`, 2);
  }
  if (req === "cpu") {
    if (current.name !== "cpu") current = new CpuBackend();
    return { device: "cpu", note: "cpu" };
  }
  if (req === "cuda") {
    current = createCudaBackend();
    return { device: "cuda", note: current.name };
  }
  const probe = probeCuda();
  if (!probe.ok) return { device: "cpu", note: `no usable CUDA device (${probe.reason}); using the CPU` };
  current = createCudaBackend();
  return { device: "cuda", note: probe.device };
}
