/**
 * Devices: which backend new tensors live on.
 *
 * Backends register themselves here (backends/register.ts: a name, a probe and a factory, like
 * TF.js's `registerBackend`); core keeps the interface and the choice and imports no backend, so
 * importing core loads nothing native. A device is chosen once per run: by `useDevice` (the CLI's
 * --device / XT_DEVICE), or by the first tensor, which takes the default "cpu".
 */
import type { Backend } from "./backend.ts";
import { XtError } from "./errors.ts";

/** Whether a device can be used here. `absent`: its hardware or driver simply is not installed. */
export type DeviceProbe =
  | { ok: true; description: string }
  | { ok: false; reason: string; absent: boolean };

/** One row of a device's kernel report (`xt info`): which implementation runs a group of kernels. */
export interface KernelRow {
  group: string;
  provider: string;
  detail?: string;
}

/** What a device says about itself for `xt info`. */
export interface DeviceReport {
  /** "native avx512, 2 threads", "NVIDIA H100 (sm_90, driver for CUDA 12.8)", … */
  summary: string;
  kernels: KernelRow[];
  /** Further facts (library paths, versions), shown as "key: value". */
  facts: Record<string, string>;
}

export interface DeviceRegistration {
  /** Lower case, as typed after --device: "cpu", "cuda". */
  name: string;
  /** `auto` takes the usable device with the highest priority. */
  priority: number;
  /** Cheap and never throws. */
  probe(): DeviceProbe;
  /** The backend; an XtError saying why when the device cannot be used. */
  create(): Backend;
  /** For `xt info`; may load the device's native code. Never throws. */
  report(): DeviceReport;
}

/** The device in use and why it was chosen. */
export interface DeviceChoice {
  device: string;
  /** The request as given ("auto", "cuda:0", …), or "default" for the first tensor's implicit choice. */
  requested: string;
  /** Why this device: "requested", "the only usable device", … (one line). */
  reason: string;
  /** Devices `auto` passed over, best first. */
  skipped: { device: string; reason: string; absent: boolean }[];
}

const registry = new Map<string, DeviceRegistration>();
let current: Backend | null = null;
let choice: DeviceChoice | null = null;

/** Adds (or replaces) a device. */
export function registerDevice(reg: DeviceRegistration): void {
  registry.set(reg.name, reg);
}

/** Removes a device (tests that register stand-ins). */
export function unregisterDevice(name: string): void {
  registry.delete(name);
}

/** The registered devices, highest priority first. */
export function registeredDevices(): DeviceRegistration[] {
  return [...registry.values()].sort((a, b) => b.priority - a.priority);
}

export const DEFAULT_DEVICE = "cpu";

export function currentBackend(): Backend {
  return current ?? chooseDefault();
}

/** Use this backend for new tensors (tests and benchmarks that build a backend themselves). */
export function setBackend(b: Backend): void {
  current = b;
  choice = { device: b.name, requested: "setBackend", reason: "set by the program", skipped: [] };
}

/** The device chosen so far, or null before the first tensor and any `useDevice`. */
export function currentDeviceChoice(): DeviceChoice | null {
  return choice;
}

function chooseDefault(): Backend {
  const reg = registry.get(DEFAULT_DEVICE);
  if (!reg) {
    throw new XtError(
      "no device is registered: import backends/register.ts before using tensors (the xt command and the tests do)",
    );
  }
  current = reg.create();
  choice = { device: reg.name, requested: "default", reason: "the default device", skipped: [] };
  return current;
}

/**
 * Parses a device request: "auto", or a registered name with an optional ":0", in any case
 * ("CPU", "Cuda:0"). `source` names where it came from in errors (--device, XT_DEVICE).
 */
export function parseDeviceRequest(raw: string, source = "--device"): { name: string; index: number } {
  const m = /^\s*([a-z]+)(?::(\d+))?\s*$/i.exec(raw);
  const names = ["auto", ...[...registry.keys()].sort(), ...(registry.has("cuda") ? ["cuda:0"] : [])];
  const valid = `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
  const name = m?.[1]?.toLowerCase();
  if (!m || name === undefined || (name !== "auto" && !registry.has(name))) {
    throw new XtError(`${source}: expected ${valid}, got '${raw}'`, 2);
  }
  const index = m[2] === undefined ? 0 : Number(m[2]);
  if (m[2] !== undefined && name === "auto") throw new XtError(`${source}: 'auto' takes no device number, got '${raw}'`, 2);
  if (index !== 0) {
    throw new XtError(`${source}: xt uses one device of each kind, so only ${name}:0 (or ${name}) is supported, got '${raw}'`, 2);
  }
  return { name, index };
}

/**
 * Switches to the requested device and says why. A named device that cannot be used is an
 * XtError with the reason; `auto` takes the best usable device and lists the ones it passed over.
 */
export function useDevice(req: string, source = "--device"): DeviceChoice {
  const { name } = parseDeviceRequest(req, source);
  if (name !== "auto") {
    const reg = registry.get(name)!;
    if (current?.name !== name) current = reg.create();
    choice = { device: name, requested: req, reason: `requested with ${source}`, skipped: [] };
    return choice;
  }
  const skipped: DeviceChoice["skipped"] = [];
  for (const reg of registeredDevices()) {
    const probe = reg.probe();
    if (!probe.ok) {
      skipped.push({ device: reg.name, reason: probe.reason, absent: probe.absent });
      continue;
    }
    try {
      if (current?.name !== reg.name) current = reg.create();
    } catch (e) {
      if (!(e instanceof XtError)) throw e;
      skipped.push({ device: reg.name, reason: e.message, absent: false });
      continue;
    }
    const reason = ["auto", ...skipped.map((s) => `${s.device} not usable: ${s.reason}`)].join("; ");
    choice = { device: reg.name, requested: req, reason, skipped };
    return choice;
  }
  throw new XtError(`--device auto: no usable device (${skipped.map((s) => `${s.device}: ${s.reason}`).join("; ")})`);
}
