/**
 * The device registry: parsing --device, auto's choice and what it passed over, the default
 * device. (The backends register themselves; the tests get them from bunfig.toml's preload, as the
 * xt command gets them from cli/main.ts. tests/core_native_free.test.ts shows core loads nothing native.)
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Backend } from "./backend.ts";
import {
  currentBackend, parseDeviceRequest, registerDevice, registeredDevices, setBackend, unregisterDevice, useDevice,
  type DeviceRegistration,
} from "./device.ts";
import { XtError } from "./errors.ts";
import { TorchGenerator, setBulkBernoulli } from "./random/index.ts";

/** A registration that hands out the real CPU backend under another name (its kernels are not the point). */
function fake(name: string, priority: number, probe: DeviceRegistration["probe"], fail?: string): DeviceRegistration {
  return {
    name,
    priority,
    probe,
    create: () => {
      if (fail) throw new XtError(fail);
      return Object.assign(Object.create(saved.backend), { name }) as Backend;
    },
    report: () => ({ summary: name, kernels: [], facts: {} }),
  };
}

const saved = { regs: [] as DeviceRegistration[], backend: null as unknown as Backend };
beforeEach(() => {
  saved.regs = registeredDevices();
  saved.backend = currentBackend();
});
afterEach(() => {
  for (const r of registeredDevices()) unregisterDevice(r.name);
  for (const r of saved.regs) registerDevice(r);
  setBackend(saved.backend);
});

describe("parseDeviceRequest", () => {
  test("takes any case and an optional :0", () => {
    expect(parseDeviceRequest("CPU")).toEqual({ name: "cpu", index: 0 });
    expect(parseDeviceRequest("Cuda:0")).toEqual({ name: "cuda", index: 0 });
    expect(parseDeviceRequest("AUTO")).toEqual({ name: "auto", index: 0 });
  });

  test("an unknown device, another device number or a numbered auto is a usage error naming its source", () => {
    const err = (raw: string, source?: string): XtError => {
      try {
        parseDeviceRequest(raw, source);
      } catch (e) {
        return e as XtError;
      }
      throw new Error(`'${raw}' was accepted`);
    };
    expect(err("gpu").message).toBe("--device: expected auto, cpu, cuda or cuda:0, got 'gpu'");
    expect(err("gpu").exitCode).toBe(2);
    expect(err("cuda:1", "XT_DEVICE").message).toContain("XT_DEVICE: xt uses one device of each kind, so only cuda:0");
    expect(err("cuda:1").exitCode).toBe(2);
    expect(err("auto:0").message).toContain("'auto' takes no device number");
    expect(err("cuda:").exitCode).toBe(2);
  });
});

describe("useDevice", () => {
  test("auto takes the best usable device and lists the ones it passed over, absent or not", () => {
    registerDevice(fake("cuda", 10, () => ({ ok: false, absent: true, reason: "no driver" })));
    registerDevice(fake("tpu", 20, () => ({ ok: false, absent: false, reason: "too old" })));
    const c = useDevice("auto");
    expect(c.device).toBe("cpu");
    expect(currentBackend().name).toBe("cpu");
    expect(c.skipped).toEqual([
      { device: "tpu", reason: "too old", absent: false },
      { device: "cuda", reason: "no driver", absent: true },
    ]);
    expect(c.reason).toBe("auto; tpu not usable: too old; cuda not usable: no driver");
  });

  test("auto passes over a device whose probe is fine but whose start fails (out of memory)", () => {
    registerDevice(fake("cuda", 10, () => ({ ok: true, description: "GPU" }), "out of memory"));
    const c = useDevice("auto");
    expect(c.device).toBe("cpu");
    expect(c.skipped).toEqual([{ device: "cuda", reason: "out of memory", absent: false }]);
  });

  test("auto picks a usable higher-priority device", () => {
    registerDevice(fake("cuda", 10, () => ({ ok: true, description: "GPU" })));
    expect(useDevice("auto")).toMatchObject({ device: "cuda", reason: "auto", skipped: [] });
    expect(currentBackend().name).toBe("cuda");
  });

  test("a named device that cannot start is an XtError with its reason", () => {
    registerDevice(fake("cuda", 10, () => ({ ok: false, absent: true, reason: "no driver" }), "CUDA is not available: no driver"));
    expect(() => useDevice("cuda")).toThrow("CUDA is not available: no driver");
    expect(useDevice("CPU", "XT_DEVICE")).toMatchObject({ device: "cpu", reason: "requested with XT_DEVICE" });
  });

  test("the CPU factory installs the native dropout sampler (the same stream, bit for bit)", () => {
    const draw = () => new TorchGenerator({ seed: 7n }).dropoutMask(100_003, 0.1);
    let calls = 0;
    setBulkBernoulli(() => {
      calls++;
      return null; // decline: the TypeScript loop draws
    });
    const typescript = draw();
    const declined = calls;
    expect(declined).toBeGreaterThan(0);
    registeredDevices().find((r) => r.name === "cpu")!.create();
    const installed = draw();
    expect(calls).toBe(declined);
    expect(installed).toEqual(typescript);
  });
});
