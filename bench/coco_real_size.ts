/**
 * COCO captioning at the assignment's real sizes (issue 12): time to the first training step and
 * peak RSS of `xt overfit captioning` (PCA and --no-pca: 50 captions) and of `xt train
 * captioning` (the whole train split; stopped after its first step), beside the feature bytes
 * the run uses and the 1.5x bound.
 *
 *   npm run bench:coco-real-size -- [--dir DIR] [--runs N] [--xt LABEL=PATH/cli/main.ts ...] [--json]
 *   npm run bench:coco-real-size -- --table SAVED.json      (the table of a saved --json run)
 *
 * DIR (default $XT_BENCH_COCO_DIR, else /tmp/xt-coco-real-size) is written once by
 * bench/gen_coco_real_size.py (/usr/bin/python3 with h5py: 2.3 GB, about a minute) and reused
 * while DIR/.complete exists. Each --xt names a checkout's cli/main.ts to measure (default: this
 * one); to compare with an older commit, unpack it next to this one, e.g.
 *   git archive main | tar -x -C /tmp/xt-before && ln -s "$PWD/node_modules" /tmp/xt-before/
 *   cp backends/cpu/native/xt_cpu.*.node /tmp/xt-before/backends/cpu/native/
 *   npm run bench:coco-real-size -- --xt before=/tmp/xt-before/cli/main.ts --xt after=cli/main.ts
 * (xt before the in-place reader copied each HDF5 file to /xt-data-<n>.h5, n counted from 1 in
 * every process: on a machine where other xt runs go on, give that name the process id in the
 * unpacked core/data/h5.ts, or runs fail or read another process's copy.)
 * The versions run interleaved, so a busy machine slows them alike; figures are medians of --runs.
 *
 * What is measured, per command and version:
 *  - time to first step: from spawning `bun cli/main.ts ... --json` to its first `step` event
 *    (Bun start-up, h5wasm, loading the data, building the model, one step);
 *  - peak RSS: the child's maximum resident set (getrusage, as /usr/bin/time -v reports it);
 *  - baseline: the same command on fixtures/coco-mini (3 MB), i.e. what the process needs
 *    without the real data;
 *  - feature bytes used: distinct feature rows the training captions refer to × width × 4,
 *    computed independently with NumPy (max_train's draw is np.random.seed(231);
 *    np.random.randint(400135, size=50)). The bound asks peak RSS ≤ 1.5 × that; for the 50
 *    captions of `overfit` (0.1-0.8 MB of features) only the baseline-subtracted figure can be
 *    read against it, and what counts there is that it does not grow with the 2 GB of the folder.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "..");
const COCO_MINI = join(REPO, "fixtures", "coco-mini");
const PYTHON = "/usr/bin/python3";

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const dir = resolve(flag("--dir") ?? process.env.XT_BENCH_COCO_DIR ?? "/tmp/xt-coco-real-size");
const runs = Number(flag("--runs") ?? 3);
const json = process.argv.includes("--json");
const versions: { label: string; main: string }[] = [];
process.argv.forEach((a, i) => {
  if (a !== "--xt") return;
  const v = process.argv[i + 1] ?? "";
  const eq = v.indexOf("=");
  versions.push(eq > 0 ? { label: v.slice(0, eq), main: resolve(v.slice(eq + 1)) } : { label: v, main: resolve(v) });
});
if (versions.length === 0) versions.push({ label: "this checkout", main: join(REPO, "cli", "main.ts") });
for (const v of versions) if (!existsSync(v.main)) throw new Error(`--xt ${v.label}: ${v.main} not found`);

function ensureFolder(): void {
  if (existsSync(join(dir, ".complete"))) return;
  const parent = existsSync(dir) ? dir : dirname(dir);
  const s = statfsSync(parent);
  const free = s.bavail * s.bsize;
  if (free < 3e9) throw new Error(`${parent}: ${(free / 1e9).toFixed(1)} GB free, the real-size folder needs about 2.5 GB (--dir elsewhere)`);
  console.error(`writing the real-size COCO folder to ${dir} (about 2.3 GB, once)...`);
  const r = spawnSync(PYTHON, [join(REPO, "bench", "gen_coco_real_size.py"), dir], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`bench/gen_coco_real_size.py failed (${r.error?.message ?? `exit ${r.status}`}): it needs ${PYTHON} with numpy and h5py`);
}

/** Distinct feature rows used: max_train 50 drawn as the reference does, or every train caption. */
function featureRowsUsed(): { maxTrain50: number; all: number } {
  const py = `
import sys, json, h5py, numpy as np
with h5py.File(sys.argv[1] + "/coco2014_captions.h5", "r") as f:
    idx = f["train_image_idxs"][:]
np.random.seed(231)
mask = np.random.randint(idx.shape[0], size=50)
print(json.dumps({"maxTrain50": int(np.unique(idx[mask]).size), "all": int(np.unique(idx).size)}))`;
  const r = spawnSync(PYTHON, ["-c", py, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`counting the feature rows used failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

interface Case {
  name: string;
  args: string[];
  /** Stop the run after its first step (a whole epoch of the train split takes hours). */
  stopAfterFirstStep: boolean;
  width: number;
  rows: "maxTrain50" | "all";
}

const CASES: Case[] = [
  { name: "overfit captioning (PCA)", args: ["overfit", "captioning", "--epochs", "1"], stopAfterFirstStep: false, width: 512, rows: "maxTrain50" },
  { name: "overfit captioning --no-pca", args: ["overfit", "captioning", "--epochs", "1", "--no-pca"], stopAfterFirstStep: false, width: 4096, rows: "maxTrain50" },
  { name: "train captioning (PCA, all captions)", args: ["train", "captioning"], stopAfterFirstStep: true, width: 512, rows: "all" },
  { name: "train captioning --no-pca (all captions)", args: ["train", "captioning", "--no-pca"], stopAfterFirstStep: true, width: 4096, rows: "all" },
];

interface Measure {
  firstStepS: number;
  peakRssBytes: number;
}

async function measure(main: string, args: string[], stopAfterFirstStep: boolean): Promise<Measure> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  delete env.XT_DATA_DIR;
  const t0 = performance.now();
  const proc = Bun.spawn([process.execPath, main, ...args, "--json"], { env, stdout: "pipe", stderr: "pipe", cwd: work });
  let firstStep: number | null = null;
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of proc.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    if (firstStep === null && pending.includes('"type":"step"')) {
      firstStep = performance.now();
      if (stopAfterFirstStep) proc.kill("SIGKILL");
    }
    pending = pending.slice(pending.lastIndexOf("\n") + 1);
  }
  const code = await proc.exited;
  const err = await new Response(proc.stderr).text();
  if (firstStep === null || (!stopAfterFirstStep && code !== 0)) {
    throw new Error(`${main} ${args.join(" ")}: no training step (exit ${code}): ${err.trim().split("\n").slice(-3).join(" | ")}`);
  }
  const usage = proc.resourceUsage();
  if (!usage) throw new Error("no resource usage for the child process");
  return { firstStepS: (firstStep - t0) / 1000, peakRssBytes: usage.maxRSS };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * A run that fails is tried again (twice at most) and the failure kept for the report: xt
 * before the in-place reader copied each HDF5 file to /xt-data-<n>.h5, a name every xt process
 * numbers from 1, so concurrent runs on one machine removed or overwrote each other's copies.
 */
async function measureRetrying(main: string, args: string[], stop: boolean, failures: string[]): Promise<Measure> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await measure(main, args, stop);
    } catch (e) {
      failures.push((e as Error).message);
      if (attempt === 3) throw e;
    }
  }
}

type Result = ReturnType<typeof summarise>[number];

function summarise(used: { maxTrain50: number; all: number }, samples: Map<string, { real: Measure[]; base: Measure[]; failures: string[] }>) {
  return CASES.flatMap((c) => versions.map((v) => {
    const s = samples.get(`${c.name}\u0000${v.label}`)!;
    const featureBytes = used[c.rows] * c.width * 4;
    const peak = median(s.real.map((m) => m.peakRssBytes));
    const base = median(s.base.map((m) => m.peakRssBytes));
    return {
      command: c.name, args: c.args, xt: v.label, runs: s.real.length, failedRuns: s.failures,
      firstStepS: median(s.real.map((m) => m.firstStepS)),
      baselineFirstStepS: median(s.base.map((m) => m.firstStepS)),
      peakRssBytes: peak,
      baselinePeakRssBytes: base,
      featureRowsUsed: used[c.rows],
      featureBytesUsed: featureBytes,
      peakWithinBound: peak <= 1.5 * featureBytes,
      aboveBaselineWithinBound: peak - base <= 1.5 * featureBytes,
    };
  }));
}

function printTable(folder: string, results: Result[]): void {
  const mb = (b: number) => `${(b / 1e6).toFixed(b < 1e7 ? 1 : 0)} MB`;
  console.log(`Real-size COCO (${folder}); medians of ${results[0]?.runs ?? 0} run(s); baseline = the same command on fixtures/coco-mini`);
  console.log("| command | xt | time to first step (baseline) | peak RSS | baseline peak RSS | peak − baseline | feature bytes used | 1.5 × used | peak ≤ 1.5×? | peak − baseline ≤ 1.5×? |");
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    for (const f of r.failedRuns) console.error(`failed run, repeated: ${f}`);
    console.log(`| ${r.command} | ${r.xt} | ${r.firstStepS.toFixed(1)} s (${r.baselineFirstStepS.toFixed(1)} s) | ${mb(r.peakRssBytes)} | ${mb(r.baselinePeakRssBytes)} | ${mb(r.peakRssBytes - r.baselinePeakRssBytes)} | ${mb(r.featureBytesUsed)} (${r.featureRowsUsed} rows) | ${mb(1.5 * r.featureBytesUsed)} | ${r.peakWithinBound ? "yes" : "no"} | ${r.aboveBaselineWithinBound ? "yes" : "no"} |`);
  }
}

const saved = flag("--table");
if (saved !== undefined) {
  // print the table of a saved --json run again
  const r = JSON.parse(await Bun.file(saved).text()) as { dir: string; results: Result[] };
  printTable(r.dir, r.results);
  process.exit(0);
}

ensureFolder();
const used = featureRowsUsed();
// runs start in an empty folder, so that nothing a command might write lands in the checkout
const work = mkdtempSync(join(tmpdir(), "xt-bench-coco-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const samples = new Map<string, { real: Measure[]; base: Measure[]; failures: string[] }>();
for (let run = 0; run < runs; run++) {
  for (const c of CASES) {
    for (const v of versions) {
      const key = `${c.name}\u0000${v.label}`;
      if (!samples.has(key)) samples.set(key, { real: [], base: [], failures: [] });
      const s = samples.get(key)!;
      s.real.push(await measureRetrying(v.main, [...c.args, "--data-dir", dir], c.stopAfterFirstStep, s.failures));
      s.base.push(await measureRetrying(v.main, [...c.args, "--data-dir", COCO_MINI], c.stopAfterFirstStep, s.failures));
      if (!json) process.stderr.write(".");
    }
  }
}
if (!json) process.stderr.write("\n");
const results = summarise(used, samples);
if (json) console.log(JSON.stringify({ dir, results }));
else printTable(dir, results);
