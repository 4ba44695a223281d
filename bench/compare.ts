/**
 * xt against the best references on this machine, side by side in one run (issues 7 and 16):
 *
 *   matmul MxNxK        xt's matmul kernel (`xt bench matmul`) vs the platform BLAS called alone
 *                       through bun:ffi (bench/blas_matmul.ts: oneDNN here) and PyTorch: GFLOP/s
 *   ViT train step      bench/vit_train.ts vs bench/torch_workloads.py vit: images/s, peak RSS
 *   captioning overfit  bench/captioning_train.ts vs torch_workloads.py captioning: seconds, peak RSS
 *   check all           the compiled dist/xt `check all` vs bench/torch_checks.py (the seven checks
 *                       in Python + PyTorch): wall seconds of the whole process, start-up included
 *
 *   bun bench/compare.ts [--only matmul|vit|captioning|check] [--steps N] [--iterations N]
 *                        [--xt-threads 1,2] [--rounds N] [--matmul-repeats N] [--no-build] [--json]
 *
 * Every configuration runs as a fresh process, one at a time; with --rounds N (default 1) the
 * whole set runs N times, interleaved, and each configuration keeps its best run (the machine may
 * be shared); the matmul configurations, a few seconds each, run --matmul-repeats times a round
 * (default 3). The reference of a row is its best configuration: PyTorch with 1 or 2 threads;
 * for matmul the better of the BLAS (with libgomp's default spin and with the spin xt's BLAS
 * provider sets) and PyTorch. Ratios > 1 mean xt is faster.
 *
 * PyTorch runs when /usr/bin/python3 has torch (PYTHON=… for another), with OPENBLAS_CORETYPE
 * unset (OpenBLAS picks its own kernel for this CPU). xt runs with XT_THREADS=1 and 2 (--xt-threads
 * lists others). The check row builds dist/xt first (`npm run build`) unless --no-build.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { MATMUL_SHAPES } from "./workloads.ts";

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
const matmulRepeats = Math.max(1, Number(opt("--matmul-repeats") ?? 3));
const want = (w: string): boolean => !only || only === w;

type Json = Record<string, unknown>;

/** Runs a command that prints one JSON line; its wall time (ms) is added as `wallMs`. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Json | { error: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: "utf8", maxBuffer: 1 << 24 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) return { error: `${cmd} ${args.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout || "").trim().split("\n").slice(-3).join(" | ")}` };
  const line = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (!line) return { error: `no JSON from ${cmd} ${args.join(" ")}` };
  return { ...(JSON.parse(line) as Json), wallMs };
}

function torchAvailable(): boolean {
  if (!existsSync(python)) return false;
  return spawnSync(python, ["-c", "import torch"], { encoding: "utf8" }).status === 0;
}

const env = (extra: Record<string, string | undefined>): NodeJS.ProcessEnv => {
  const e = { ...process.env, ...extra };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete e[k];
  return e;
};
const torchEnv = () => env({ OPENBLAS_CORETYPE: undefined });
const xtEnv = (threads?: number) => env(threads ? { XT_THREADS: String(threads) } : {});

const hasTorch = torchAvailable();
if (!hasTorch && !json) console.log(`(PyTorch not found at ${python}: xt only)`);

/** One measured configuration of a row: its best value over the rounds. */
interface Config {
  name: string;
  /** "xt" or a reference. */
  side: "xt" | "ref";
  value: number;
  peakRssMb?: number;
  raw: Json;
}

interface Row {
  workload: string;
  unit: string;
  higherIsBetter: boolean;
  configs: Config[];
  errors: string[];
}

const rows = new Map<string, Row>();
function row(workload: string, unit: string, higherIsBetter: boolean): Row {
  let r = rows.get(workload);
  if (!r) rows.set(workload, (r = { workload, unit, higherIsBetter, configs: [], errors: [] }));
  return r;
}

function keep(r: Row, c: Config): void {
  if (!Number.isFinite(c.value)) return;
  const i = r.configs.findIndex((y) => y.name === c.name);
  if (i < 0) r.configs.push(c);
  else if (r.higherIsBetter ? c.value > r.configs[i]!.value : c.value < r.configs[i]!.value) r.configs[i] = c;
}

const rss = (j: Json): number | undefined => (typeof j.peakRssMb === "number" ? j.peakRssMb : undefined);

/** A run that gives one JSON object: on success, `take` files its values; on failure the rows say so. */
function measure(into: Row[], cmd: string, args: string[], e: NodeJS.ProcessEnv, take: (j: Json) => void): void {
  const r = run(cmd, args, e);
  if ("error" in r) for (const x of into) x.errors.push(r.error as string);
  else take(r);
}

const matmulRows = (): Row[] => MATMUL_SHAPES.map(([M, N, K]) => row(`matmul ${M}x${N}x${K}`, "GFLOP/s", true));
const gflops = (rs: Row[], j: Json, name: string, side: "xt" | "ref"): void => {
  MATMUL_SHAPES.forEach(([M, N, K], i) => keep(rs[i]!, { name, side, value: j[`gflops_${M}x${N}x${K}`] as number, raw: j }));
};

if (want("check") && !process.argv.includes("--no-build")) {
  const b = spawnSync("npm", ["run", "build"], { cwd: root, encoding: "utf8", stdio: json ? "pipe" : ["ignore", "ignore", "inherit"] });
  if (b.status !== 0) {
    console.error("compare: `npm run build` failed; the check row needs dist/xt (or pass --no-build)");
    process.exit(1);
  }
}
const xtBinary = join(root, "dist", "xt");

for (let round = 0; round < rounds; round++) {
  if (want("matmul")) {
    const rs = matmulRows();
    // Each configuration is a few seconds: it runs --matmul-repeats times a round, interleaved.
    for (let rep = 0; rep < matmulRepeats; rep++) {
      measure(rs, bun, ["cli/main.ts", "bench", "matmul", "--json", "--steps", String(steps)], xtEnv(), (j) => gflops(rs, j, "xt", "xt"));
      // The BLAS alone: libgomp's default spin (300000), and the spin xt's BLAS provider sets.
      for (const spin of ["300000", undefined]) {
        measure(rs, bun, ["bench/blas_matmul.ts", "--json", "--steps", String(steps)], env({ GOMP_SPINCOUNT: spin }), (j) =>
          gflops(rs, j, `${j.library} ${j.threads ?? ""}t${spin ? "" : ", xt's spin"}`.trim(), "ref"));
      }
      if (hasTorch) {
        for (const t of [1, 2]) {
          measure(rs, python, ["bench/torch_workloads.py", "matmul", "--threads", String(t), "--steps", String(steps)], torchEnv(), (j) =>
            gflops(rs, j, `PyTorch ${t}t`, "ref"));
        }
      }
    }
  }
  if (want("vit")) {
    const r = row("ViT train step (batch 64)", "images/s", true);
    for (const t of xtThreads) {
      measure([r], bun, ["bench/vit_train.ts", "--json", "--steps", String(steps)], xtEnv(t), (j) =>
        keep(r, { name: `xt ${t}t`, side: "xt", value: j.imagesPerSecBest as number, peakRssMb: rss(j), raw: j }));
    }
    if (hasTorch) {
      for (const t of [1, 2]) {
        measure([r], python, ["bench/torch_workloads.py", "vit", "--threads", String(t), "--steps", String(steps)], torchEnv(), (j) =>
          keep(r, { name: `PyTorch ${t}t`, side: "ref", value: j.imagesPerSecBest as number, peakRssMb: rss(j), raw: j }));
      }
    }
  }
  if (want("captioning")) {
    const r = row(`Captioning overfit (${iterations} it.)`, "s", false);
    for (const t of xtThreads) {
      measure([r], bun, ["bench/captioning_train.ts", "--json", "--iterations", String(iterations)], xtEnv(t), (j) =>
        keep(r, { name: `xt ${t}t`, side: "xt", value: j.seconds as number, peakRssMb: rss(j), raw: j }));
    }
    if (hasTorch) {
      for (const t of [1, 2]) {
        measure([r], python, ["bench/torch_workloads.py", "captioning", "--threads", String(t), "--iterations", String(iterations)], torchEnv(), (j) =>
          keep(r, { name: `PyTorch ${t}t`, side: "ref", value: j.seconds as number, peakRssMb: rss(j), raw: j }));
      }
    }
  }
  if (want("check")) {
    const r = row("check all (process wall time)", "s", false);
    if (existsSync(xtBinary)) {
      measure([r], xtBinary, ["check", "all", "--json"], xtEnv(), (j) => keep(r, { name: "dist/xt", side: "xt", value: (j.wallMs as number) / 1000, raw: j }));
    } else {
      r.errors.push("dist/xt is not built: run `npm run build` (or leave out --no-build)");
    }
    if (hasTorch) {
      for (const t of [1, 2]) {
        measure([r], python, ["bench/torch_checks.py", "--threads", String(t)], torchEnv(), (j) =>
          keep(r, { name: `Python+PyTorch ${t}t`, side: "ref", value: (j.wallMs as number) / 1000, raw: j }));
      }
    }
  }
}

function best(cs: Config[], higher: boolean): Config | undefined {
  return cs.reduce<Config | undefined>((b, x) => (!b || (higher ? x.value > b.value : x.value < b.value) ? x : b), undefined);
}

const summary = [...rows.values()].map((r) => {
  const bx = best(r.configs.filter((c) => c.side === "xt"), r.higherIsBetter);
  const br = best(r.configs.filter((c) => c.side === "ref"), r.higherIsBetter);
  // Speed ratio: > 1 when xt is faster.
  const ratio = bx && br ? (r.higherIsBetter ? bx.value / br.value : br.value / bx.value) : null;
  return { ...r, xtBest: bx, refBest: br, ratio };
});

if (json) {
  console.log(JSON.stringify(summary.map((s) => ({
    workload: s.workload, unit: s.unit,
    configs: s.configs.map((c) => ({ name: c.name, side: c.side, value: c.value, ...(c.peakRssMb !== undefined ? { peakRssMb: c.peakRssMb } : {}) })),
    xtBest: s.xtBest?.name ?? null, reference: s.refBest?.name ?? null, speedRatio: s.ratio, errors: s.errors,
  }))));
} else {
  const fmt = (v: number, unit: string): string => (unit === "s" ? `${v.toFixed(2)} s` : `${v.toFixed(0)} ${unit}`);
  const cell = (c: Config | undefined, unit: string): string =>
    c ? `${fmt(c.value, unit)} ${c.name.replace(/^xt /, "")}${c.peakRssMb !== undefined ? `, ${c.peakRssMb.toFixed(0)} MB` : ""}` : "—";
  console.log("");
  console.log(`${"workload".padEnd(32)} ${"xt best".padStart(26)} ${"reference best".padStart(34)} ${"xt / ref".padStart(15)}`);
  for (const s of summary) {
    const ratio = s.ratio === null ? "—" : `${s.ratio.toFixed(2)}× ${s.ratio >= 1 ? "faster" : "slower"}`;
    console.log(`${s.workload.padEnd(32)} ${cell(s.xtBest, s.unit).padStart(26)} ${cell(s.refBest, s.unit).padStart(34)} ${ratio.padStart(15)}`);
    const others = s.configs.filter((c) => c !== s.xtBest && c !== s.refBest);
    if (others.length > 0) console.log(`${"".padEnd(34)}also: ${others.map((c) => `${c.name} ${fmt(c.value, s.unit)}${c.peakRssMb !== undefined ? ` (${c.peakRssMb.toFixed(0)} MB)` : ""}`).join("; ")}`);
    for (const e of [...new Set(s.errors)]) console.log(`  error: ${e}`);
  }
  const xtRaw = summary.flatMap((s) => s.configs.filter((c) => c.side === "xt").map((c) => c.raw));
  const engine = xtRaw.map((j) => j.engine).find((e) => typeof e === "string");
  const blas = summary.flatMap((s) => s.configs.map((c) => c.raw.blas)).find(Boolean);
  console.log("");
  console.log(`xt: ${engine ?? "cpu"}; PyTorch: ${hasTorch ? `OpenBLAS core ${blas ?? "?"}, OPENBLAS_CORETYPE unset` : "not run"}; peak RSS of each process in MB.`);
  console.log(`matmul: best sample of ${steps} per shape; ViT: best step after warm-up; captioning: total time after one warm-up iteration; check all: whole process. Best of ${rounds} round(s).`);
}
