/** `xt info` and `xt info --json`: the facts a bug report needs, from the source and from the compiled binary. */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findCudaDriver } from "../backends/cuda/register.ts";
import { loadNative } from "../backends/cpu/native.ts";
import { SYSTEM_FASHION_MNIST_DIR } from "../core/data/image_dataset.ts";
import type { Info } from "../cli/commands/info.ts";
import pkg from "../package.json";

const ROOT = join(import.meta.dir, "..");
/** What `xt info` should name as the CPU kernels' first provider here. */
const nativeLib = loadNative().addon;
const firstProvider = nativeLib ? `native ${nativeLib.isa}` : "TypeScript";
const MAIN = join(ROOT, "cli/main.ts");
const tmp = mkdtempSync(join(tmpdir(), "xt-info-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string[], env: Record<string, string> = {}, cwd = ROOT): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(cmd, { cwd, env: { ...process.env, NO_COLOR: "1", XT_DEVICE: "", XT_DATA_DIR: "", XT_NATIVE: "", XT_KERNELS: "", ...env } });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}
const xt = (args: string[], env?: Record<string, string>, cwd?: string) => run([process.execPath, MAIN, ...args], env, cwd);
const json = (r: { code: number; out: string; err: string }): Info => {
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as Info;
};

test("info prints each section as plain text when piped", () => {
  const r = xt(["info"]);
  expect(r.code).toBe(0);
  expect(r.out).not.toContain("\x1b[");
  expect(r.out).toStartWith(`xt ${pkg.version} (bun `);
  for (const heading of ["Devices", "CPU kernels", "BLAS libraries on this machine", "Data", "Settings"]) {
    expect(r.out).toContain(`\n${heading}\n`);
  }
  expect(r.out).toMatch(/^ {2}chosen +cpu +auto/m);
  expect(r.out).toContain(`bun       ${Bun.version} (`);
  expect(r.err).toBe("");
});

test("info --json describes this machine, the chosen device and the CPU kernels in use", () => {
  const info = json(xt(["info", "--json"]));
  expect(info.xt).toMatchObject({ version: pkg.version, compiled: false });
  expect(info.platform).toMatchObject({ os: process.platform, arch: process.arch });
  expect(info.platform.cores).toBeGreaterThan(0);
  expect(info.bun.version).toBe(Bun.version);
  expect(info.device).toMatchObject({ requested: "auto", source: "--device", chosen: "cpu" });
  const cpu = info.devices.find((d) => d.name === "cpu")!;
  expect(cpu.usable).toBe(true);
  expect(cpu.kernels.map((k) => k.group)).toEqual([
    "memory", "elementwise", "reductions", "matmul/linear", "softmax/cross-entropy", "layer norm", "attention", "indexing", "2-D windows",
    "adam", "random draws",
  ]);
  // Without the native library, matmul/linear goes to a platform BLAS when one is installed (auto).
  const blasInUse = nativeLib === null && info.blas.some((b) => b.auto && b.path !== null);
  for (const k of cpu.kernels) {
    if (blasInUse && k.group === "matmul/linear") expect(k.provider).toMatch(/^blas /);
    else expect(k.provider).toBe(firstProvider);
  }
  const cuda = info.devices.find((d) => d.name === "cuda")!;
  expect(cuda.facts.driver).toBe(findCudaDriver() ?? "not found");
  if (findCudaDriver() === null) expect(cuda).toMatchObject({ usable: false, summary: "no NVIDIA driver (libcuda.so.1 not found)" });
  for (const b of info.blas) expect(b.path === null || existsSync(b.path)).toBe(true);
  if (process.platform === "linux") expect(info.blas.map((b) => b.name)).toEqual(["oneDNN", "MKL", "OpenBLAS", "BLIS", "BLAS (system default)"]);
  const fashion = info.data.datasets.find((d) => d.name === "fashion-mnist")!;
  if (existsSync(join(SYSTEM_FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz"))) {
    expect(fashion).toMatchObject({ found: SYSTEM_FASHION_MNIST_DIR, origin: "system copy" });
  }
  expect(info.data.datasets.find((d) => d.name === "coco")).toMatchObject({ found: "coco-mini (embedded)", origin: "embedded" });
  expect(info.environment).toEqual({});
});

test("info shows the TypeScript kernels and the setting that chose them", () => {
  const info = json(xt(["info", "--json"], { XT_KERNELS: "ts" }));
  const rows = info.devices.find((d) => d.name === "cpu")!.kernels;
  expect(rows).toHaveLength(11);
  for (const k of rows) expect(k).toEqual({ group: k.group, provider: "TypeScript", detail: "forced by XT_KERNELS=ts" });
  expect(info.environment).toEqual({ XT_KERNELS: "ts" });
  const text = xt(["info"], { XT_KERNELS: "ts" }).out;
  expect(text).toMatch(/^ {2}matmul\/linear +TypeScript +forced by XT_KERNELS=ts$/m);
  expect(text).toMatch(/^ {2}cpu +usable +TypeScript kernels, forced by XT_KERNELS=ts$/m);
});

test.skipIf(nativeLib === null)("info lists the native provider per kernel group, with the ISA XT_ISA allows", () => {
  const info = json(xt(["info", "--json"], { XT_ISA: "avx2" }));
  const rows = info.devices.find((d) => d.name === "cpu")!.kernels;
  expect(rows.find((k) => k.group === "matmul/linear")).toMatchObject({ provider: "native avx2" });
  expect(rows.find((k) => k.group === "matmul/linear")!.detail).toMatch(/^\d+ threads?; float32 \(other dtypes: TypeScript\)$/);
  const bad = json(xt(["info", "--json"], { XT_KERNELS: "fast" }));
  expect(bad.devices.find((d) => d.name === "cpu")!.summary).toStartWith("XT_KERNELS=fast: expected ts, native or blas");
});

test("info finds data sets in XT_DATA_DIR and ./data", () => {
  const env = join(tmp, "env");
  mkdirSync(join(env, "fashion-mnist"), { recursive: true });
  writeFileSync(join(env, "fashion-mnist", "train-images-idx3-ubyte.gz"), "");
  mkdirSync(join(env, "coco_captioning"), { recursive: true });
  writeFileSync(join(env, "coco_captioning", "coco2014_captions.h5"), "");
  const cwd = join(tmp, "work");
  mkdirSync(join(cwd, "data", "cifar-10-batches-py"), { recursive: true });
  writeFileSync(join(cwd, "data", "cifar-10-batches-py", "data_batch_1"), "");
  const info = json(xt(["info", "--json"], { XT_DATA_DIR: env }, cwd));
  const ds = Object.fromEntries(info.data.datasets.map((d) => [d.name, d]));
  expect(info.data.XT_DATA_DIR).toBe(env);
  expect(ds["fashion-mnist"]).toMatchObject({ found: join(env, "fashion-mnist"), origin: "XT_DATA_DIR" });
  expect(ds.coco).toMatchObject({ found: join(env, "coco_captioning"), origin: "XT_DATA_DIR" });
  expect(ds.cifar10).toMatchObject({ found: join(cwd, "data", "cifar-10-batches-py"), origin: "./data" });
  expect(ds.mnist!.found).toBeNull();
  expect(ds.mnist!.searched).toContain(join(env, "mnist"));
  expect(ds.mnist!.note).toBe("not in XT_DATA_DIR, ./data, ./datasets, /usr/share/datasets/mnist");
});

test("info reports a missing XT_DATA_DIR for every data set instead of the copies training would not reach", () => {
  const missing = join(tmp, "no-such-folder");
  const info = json(xt(["info", "--json"], { XT_DATA_DIR: missing }));
  expect(info.data.datasets.map((d) => d.name)).toEqual(["fashion-mnist", "mnist", "cifar10", "coco"]);
  for (const d of info.data.datasets) {
    expect(d.found).toBeNull();
    expect(d.note).toContain("XT_DATA_DIR names a folder that does not exist");
  }
});

test.skipIf(findCudaDriver() !== null)("info reports a device that cannot be used instead of failing; a malformed one is a usage error", () => {
  const info = json(xt(["info", "--json", "--device", "cuda"]));
  expect(info.device.chosen).toBeNull();
  expect(info.device.reason).toContain("CUDA is not available");
  const bad = xt(["info"], { XT_DEVICE: "gpu" });
  expect(bad.code).toBe(2);
  expect(bad.err).toBe("xt: XT_DEVICE: expected auto, cpu, cuda or cuda:0, got 'gpu'\n");
});

test("info works from the compiled binary, away from the checkout", () => {
  const bin = join(tmp, "xt");
  const build = run([process.execPath, "build", "--compile", MAIN, "--outfile", bin]);
  expect(build.code, build.err).toBe(0);
  const away = mkdtempSync(join(tmp, "away-"));
  const info = json(run([bin, "info", "--json"], {}, away));
  expect(info.xt).toMatchObject({ version: pkg.version, executable: bin, compiled: true });
  expect(info.device.chosen).toBe("cpu");
  expect(info.devices.find((d) => d.name === "cpu")!.kernels[0]!.provider).toBe(firstProvider);
  expect(run([bin, "info"], {}, away).out).toContain("(compiled binary ");
}, 120_000);
