/**
 * `xt info`: what a bug report needs first (like `python -m torch.utils.collect_env`): xt's version,
 * the platform, Bun, the devices and the one chosen (and why), which kernels run on the CPU, the
 * BLAS libraries and NVIDIA driver present, and where the data sets are found. `--json` too.
 * Device and kernel rows come from the backends' own reports (core/device.ts `report()`).
 */
import type { Command } from "commander";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { resolve } from "node:path";
import pkg from "../../package.json";
import { findBlasLibraries, type BlasLibrary } from "../../backends/blas_libraries.ts";
import { detectCifarFormat } from "../../core/data/cifar.ts";
import { envDataDir } from "../../core/data/data_dir.ts";
import { resolveCocoSource } from "../../core/data/coco.ts";
import { candidateDirs, SYSTEM_FASHION_MNIST_DIR, type ImageDatasetName } from "../../core/data/image_dataset.ts";
import { parseDeviceRequest, registeredDevices, useDevice, type KernelRow } from "../../core/device.ts";
import { deviceRequest, skipDeviceHook } from "../device.ts";
import { makeStyle } from "../render/style.ts";

export interface DeviceInfo {
  name: string;
  usable: boolean;
  /** The device's own summary, or why it cannot be used. */
  summary: string;
  kernels: KernelRow[];
  facts: Record<string, string>;
}

export interface DatasetInfo {
  name: string;
  /** The folder (or "coco-mini (embedded)") xt would read, or null. */
  found: string | null;
  /** Where that is: "system copy", "XT_DATA_DIR", "./data", "embedded", … */
  origin: string | null;
  /** The folders looked in (image data sets). */
  searched: string[];
  /** Why nothing was found, or why the setting is wrong. */
  note?: string;
}

export interface Info {
  xt: { version: string; executable: string; compiled: boolean };
  platform: { os: string; distribution: string | null; release: string; arch: string; cpu: string; cores: number; memoryGiB: number };
  bun: { version: string; revision: string };
  device: { requested: string; source: string; chosen: string | null; reason: string };
  devices: DeviceInfo[];
  blas: BlasLibrary[];
  data: { XT_DATA_DIR: string | null; datasets: DatasetInfo[] };
  /** The XT_* variables that are set (they change devices, kernels and data). */
  environment: Record<string, string>;
}

function distribution(): string | null {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? null;
  } catch {
    return null;
  }
}

function originOf(dir: string): string {
  const env = process.env.XT_DATA_DIR;
  const under = (base: string) => dir === resolve(base) || dir.startsWith(resolve(base) + "/");
  if (dir === SYSTEM_FASHION_MNIST_DIR || dir.startsWith("/usr/share/datasets/")) return "system copy";
  if (env && under(env)) return "XT_DATA_DIR";
  if (under("data")) return "./data";
  if (under("datasets")) return "./datasets";
  return "found";
}

function hasIdxTrainSet(dir: string): boolean {
  try {
    return readdirSync(dir).some((f) => /^train-images[-.]idx3-ubyte(\.gz)?$/.test(f));
  } catch {
    return false;
  }
}

function imageDataset(name: ImageDatasetName): DatasetInfo {
  const tried = candidateDirs(name);
  const dir = tried.find((d) => (name === "cifar10" ? detectCifarFormat(d) !== null : hasIdxTrainSet(d)));
  if (dir !== undefined) return { name, found: dir, origin: originOf(dir), searched: tried };
  const places = [...new Set(tried.map((d) => {
    const o = originOf(d);
    return o === "system copy" || o === "found" ? d : o;
  }))];
  const hint = name === "fashion-mnist" ? "; apt-get install dataset-fashion-mnist" : "";
  return { name, found: null, origin: null, searched: tried, note: `not in ${places.join(", ")}${hint}` };
}

function cocoDataset(): DatasetInfo {
  try {
    const src = resolveCocoSource();
    return { name: "coco", found: src.location, origin: src.kind === "embedded" ? "embedded" : originOf(src.location), searched: [] };
  } catch (e) {
    return { name: "coco", found: null, origin: null, searched: [], note: (e as Error).message };
  }
}

/**
 * Where each data set would be read from. A bad XT_DATA_DIR makes every loader fail, so it is
 * reported as such for each set rather than showing a copy that training would not reach.
 */
function dataSets(): DatasetInfo[] {
  const names = ["fashion-mnist", "mnist", "cifar10", "coco"] as const;
  try {
    envDataDir();
  } catch (e) {
    return names.map((name) => ({ name, found: null, origin: null, searched: [], note: (e as Error).message }));
  }
  return names.map((n) => (n === "coco" ? cocoDataset() : imageDataset(n)));
}

/** Every device, usable or not, with its own report; the chosen device is the one in use. */
function devices(): DeviceInfo[] {
  return registeredDevices().map((reg) => {
    const probe = reg.probe();
    const r = reg.report();
    return { name: reg.name, usable: probe.ok, summary: probe.ok ? r.summary : probe.reason, kernels: r.kernels, facts: r.facts };
  });
}

export function collectInfo(program: Command): Info {
  const { req, source } = deviceRequest(program);
  parseDeviceRequest(req, source); // a malformed request is a usage error here too
  let device: Info["device"];
  try {
    const c = useDevice(req, source);
    device = { requested: req, source, chosen: c.device, reason: c.reason };
  } catch (e) {
    device = { requested: req, source, chosen: null, reason: (e as Error).message };
  }
  const cpu = cpus();
  return {
    xt: { version: pkg.version, executable: process.execPath, compiled: /\$bunfs|~BUN/.test(import.meta.path) },
    platform: {
      os: process.platform, distribution: distribution(), release: release(), arch: process.arch,
      cpu: cpu[0]?.model.trim() ?? "unknown", cores: cpu.length, memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    },
    bun: { version: Bun.version, revision: Bun.revision },
    device,
    devices: devices(),
    blas: findBlasLibraries(),
    data: {
      XT_DATA_DIR: process.env.XT_DATA_DIR || null,
      datasets: dataSets(),
    },
    environment: Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k.startsWith("XT_") && v !== undefined && v !== "").sort()) as Record<string, string>,
  };
}

/** Rows of two or three columns, the first ones padded. */
function table(rows: string[][], indent = "  "): string[] {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd());
}

export function renderInfo(info: Info, noColor = false): string {
  const s = makeStyle(process.stdout, noColor);
  const out: string[] = [];
  const head = (t: string) => out.push("", s.bold(t));
  out.push(`${s.bold(`xt ${info.xt.version}`)} (${info.xt.compiled ? "compiled binary" : "bun"} ${info.xt.executable})`);
  const p = info.platform;
  out.push(...table([
    ["platform", `${p.os} ${p.release} ${p.arch}${p.distribution ? ` (${p.distribution})` : ""}`],
    ["cpu", `${p.cpu}, ${p.cores} cores, ${p.memoryGiB} GiB`],
    ["bun", `${info.bun.version} (${info.bun.revision.slice(0, 9)})`],
  ], ""));

  head("Devices");
  const d = info.device;
  out.push(...table([
    ["chosen", d.chosen ?? s.red("none"), d.reason],
    ...info.devices.map((dev) => [dev.name, dev.usable ? "usable" : "not usable", dev.summary]),
  ]));

  for (const dev of info.devices) {
    if (dev.kernels.length === 0 && Object.keys(dev.facts).length === 0) continue;
    head(dev.name === "cpu" ? "CPU kernels" : `${dev.name.toUpperCase()}`);
    out.push(...table([
      ...dev.kernels.map((k) => [k.group, k.provider, k.detail ?? ""]),
      ...Object.entries(dev.facts).map(([k, v]) => [k, v]),
    ]));
  }

  head("BLAS libraries on this machine");
  out.push(...(info.blas.length === 0
    ? ["  none looked for on this platform"]
    : table(info.blas.map((b) => [b.name, b.path ?? s.dim(`not found (${b.files.join(", ")})`)]))));

  head("Data");
  out.push(...table([
    ["XT_DATA_DIR", info.data.XT_DATA_DIR ?? s.dim("not set")],
    ...info.data.datasets.map((ds) => [
      ds.name,
      ds.found === null ? s.dim(`not found: ${ds.note}`) : ds.origin === "embedded" ? ds.found : `${ds.found} (${ds.origin})`,
    ]),
  ]));

  head("Settings");
  const env = Object.entries(info.environment);
  out.push(...(env.length === 0 ? [s.dim("  no XT_* variable set")] : table(env)));
  return out.join("\n");
}

export function registerInfo(program: Command, exit: (code: number) => void): void {
  const cmd = program
    .command("info")
    .description("version, platform, devices, CPU kernels, BLAS, NVIDIA driver and data sets (for bug reports)")
    .option("--json", "print machine-readable results")
    .option("--no-color", "plain text even on a terminal")
    .action((opts: { json?: boolean; color?: boolean }) => {
      const info = collectInfo(program);
      process.stdout.write((opts.json ? JSON.stringify(info, null, 2) : renderInfo(info, opts.color === false)) + "\n");
      exit(0);
    });
  // info reports a device that cannot be used instead of failing on it.
  skipDeviceHook(cmd);
}
