/**
 * xt vs PyTorch on issue 7's workloads, side by side in one run:
 *
 *   ViT train step      (bench/vit_train.ts vs bench/torch_workloads.py vit): images/s
 *   captioning overfit  (bench/captioning_train.ts vs torch_workloads.py captioning): seconds
 *
 *   bun bench/compare.ts [--only vit|captioning] [--steps N] [--iterations N] [--xt-threads 1,2]
 *                        [--rounds N] [--json]
 *
 * PyTorch runs when /usr/bin/python3 has torch (PYTHON=… to use another), with 1 and 2 threads,
 * and the better of the two is the reference ("PyTorch's best"). Its command runs with
 * OPENBLAS_CORETYPE unset (so OpenBLAS picks its own kernel for this CPU); nothing else is changed.
 * xt runs the same way: with XT_THREADS=1 and 2 (--xt-threads lists others), best kept.
 * Every run is a fresh process, one at a time; with --rounds N (default 1) the whole set runs N times,
 * interleaved, and each configuration keeps its best run (the machine may be shared). Ratios > 1
 * mean xt is faster.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

const here = dirname(new URL(import.meta.url).pathname);
const root = join(here, "..");
const bun = process.execPath;
const python = process.env.PYTHON ?? "/usr/bin/python3";

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const only = opt("--only");
const steps = Number(opt("--steps") ?? 10);
const iterations = Number(opt("--iterations") ?? 200);
const xtThreads = (opt("--xt-threads") ?? "1,2").split(",").filter(Boolean).map(Number);
const json = process.argv.includes("--json");
const rounds = Math.max(1, Number(opt("--rounds") ?? 1));

type Json = Record<string, unknown>;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Json | { error: string } {
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) return { error: `${cmd} ${args.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout || "").trim().split("\n").slice(-3).join(" | ")}` };
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (!line) return { error: `no JSON from ${cmd} ${args.join(" ")}` };
  return JSON.parse(line) as Json;
}

function torchAvailable(): boolean {
  if (!existsSync(python)) return false;
  return spawnSync(python, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
}

function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  return env;
}

function xtEnv(threads?: number): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (threads) env.XT_THREADS = String(threads);
  return env;
}

const hasTorch = torchAvailable();
if (!hasTorch && !json) console.log(`(PyTorch not found at ${python}: xt only)`);

interface Row {
  workload: string;
  unit: string;
  higherIsBetter: boolean;
  xt: { value: number; threads: number | string; raw: Json }[];
  torch: { value: number; threads: number; raw: Json }[];
  errors: string[];
}

const rows: Row[] = [];

function keep<T extends { value: number; threads: number | string }>(list: T[], x: T, higher: boolean): void {
  const i = list.findIndex((y) => y.threads === x.threads);
  if (i < 0) list.push(x);
  else if (higher ? x.value > list[i]!.value : x.value < list[i]!.value) list[i] = x;
}

const vitRow: Row = { workload: "ViT train step (batch 64)", unit: "images/s", higherIsBetter: true, xt: [], torch: [], errors: [] };
const capRow: Row = { workload: `Captioning overfit (${iterations} it.)`, unit: "s", higherIsBetter: false, xt: [], torch: [], errors: [] };
if (!only || only === "vit") rows.push(vitRow);
if (!only || only === "captioning") rows.push(capRow);

for (let round = 0; round < rounds; round++) {
  if (!only || only === "vit") {
    const row = vitRow;
    for (const t of xtThreads.length ? xtThreads : [undefined]) {
      const r = run(bun, ["bench/vit_train.ts", "--json", "--steps", String(steps)], xtEnv(t));
      if ("error" in r) row.errors.push(r.error as string);
      else keep(row.xt, { value: r.imagesPerSecBest as number, threads: t ?? ((r.native as Json)?.threads as number) ?? "?", raw: r }, true);
    }
    if (hasTorch) {
      for (const t of [1, 2]) {
        const r = run(python, ["bench/torch_workloads.py", "vit", "--threads", String(t), "--steps", String(steps)], torchEnv());
        if ("error" in r) row.errors.push(r.error as string);
        else keep(row.torch, { value: r.imagesPerSecBest as number, threads: t, raw: r }, true);
      }
    }
  }
  if (!only || only === "captioning") {
    const row = capRow;
    for (const t of xtThreads.length ? xtThreads : [undefined]) {
      const r = run(bun, ["bench/captioning_train.ts", "--json", "--iterations", String(iterations)], xtEnv(t));
      if ("error" in r) row.errors.push(r.error as string);
      else keep(row.xt, { value: r.seconds as number, threads: t ?? ((r.native as Json)?.threads as number) ?? "?", raw: r }, false);
    }
    if (hasTorch) {
      for (const t of [1, 2]) {
        const r = run(python, ["bench/torch_workloads.py", "captioning", "--threads", String(t), "--iterations", String(iterations)], torchEnv());
        if ("error" in r) row.errors.push(r.error as string);
        else keep(row.torch, { value: r.seconds as number, threads: t, raw: r }, false);
      }
    }
  }
}

function best<T extends { value: number }>(xs: T[], higher: boolean): T | undefined {
  return xs.reduce<T | undefined>((b, x) => (!b || (higher ? x.value > b.value : x.value < b.value) ? x : b), undefined);
}

const summary = rows.map((r) => {
  const bx = best(r.xt, r.higherIsBetter);
  const bt = best(r.torch, r.higherIsBetter);
  // Speed ratio: > 1 when xt is faster.
  const ratio = bx && bt ? (r.higherIsBetter ? bx.value / bt.value : bt.value / bx.value) : null;
  return { ...r, xtBest: bx, torchBest: bt, ratio };
});

if (json) {
  console.log(JSON.stringify(summary.map((s) => ({
    workload: s.workload, unit: s.unit,
    xt: s.xt.map((x) => ({ threads: x.threads, value: x.value })),
    torch: s.torch.map((x) => ({ threads: x.threads, value: x.value, blas: x.raw.blas })),
    speedRatio: s.ratio, errors: s.errors,
  }))));
} else {
  const fmt = (v: number | undefined, unit: string): string => (v === undefined ? "—" : unit === "s" ? `${v.toFixed(2)} s` : `${v.toFixed(0)} ${unit}`);
  console.log("");
  console.log(`${"workload".padEnd(34)} ${"xt best".padStart(20)} ${"PyTorch 1 thr".padStart(16)} ${"PyTorch 2 thr".padStart(16)} ${"xt / PyTorch best".padStart(18)}`);
  for (const s of summary) {
    const xtCell = s.xtBest ? `${fmt(s.xtBest.value, s.unit)} (${s.xtBest.threads}t)` : "—";
    const t1 = s.torch.find((t) => t.threads === 1)?.value;
    const t2 = s.torch.find((t) => t.threads === 2)?.value;
    const ratio = s.ratio === null ? "—" : `${s.ratio.toFixed(2)}× ${s.ratio >= 1 ? "faster" : "slower"}`;
    console.log(`${s.workload.padEnd(34)} ${xtCell.padStart(20)} ${fmt(t1, s.unit).padStart(16)} ${fmt(t2, s.unit).padStart(16)} ${ratio.padStart(18)}`);
    for (const x of s.xt.length > 1 ? s.xt : []) console.log(`${"".padEnd(34)}   xt with ${x.threads} thread(s): ${fmt(x.value, s.unit)}`);
    for (const e of s.errors) console.log(`  error: ${e}`);
  }
  const blas = summary.flatMap((s) => s.torch.map((t) => t.raw.blas)).find(Boolean);
  const isa = summary.flatMap((s) => s.xt.map((x) => (x.raw.native as Json | undefined)?.isa)).find(Boolean);
  console.log("");
  console.log(`xt: native ${isa ?? "off (TypeScript kernels)"}; PyTorch: ${hasTorch ? `OpenBLAS core ${blas ?? "?"}, OPENBLAS_CORETYPE unset` : "not run"}.`);
  console.log(`ViT: best step after warm-up; captioning: total time after one warm-up iteration; best of ${rounds} round(s).`);
}
