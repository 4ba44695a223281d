/**
 * `xt smoke`: the CI smoke run in one command, on the chosen device, on embedded data only:
 *   checks      every notebook check against its expected arrays (or --expected DIR's)
 *   overfit vit       VIT_STEPS Adam steps of the notebook's overfit cell: loss finite and falling
 *   overfit captioning  CAPTION_EPOCHS epochs of the notebook's overfit cell: loss finite and falling
 *   checkpoint  the captioning run split in two: CAPTION_EPOCHS/2 epochs, save, load, resume to
 *               CAPTION_EPOCHS — its losses and final weights must equal the straight run's bit
 *               for bit (weights, Adam moments and both random streams survive the round trip)
 * One line per step, a summary line, exit 1 if any step fails; --junit FILE for CI.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { CHECKS, loadExpectedDir, runChecks, type CheckResult } from "../../checks/index.ts";
import { currentBackend } from "../../core/device.ts";
import { UsageError, XtError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic_write.ts";
import { takeFirst } from "../../core/data/dataloader.ts";
import { resumeCaptioningRun, saveCaptioningCheckpoint, startCaptioningRun, type CaptioningRun } from "../../core/train/captioning_run.ts";
import { VIT_OVERFIT_DEFAULTS } from "../../core/train/vit_config.ts";
import { loadEmbeddedFirst64 } from "../../core/train/vit_data.ts";
import { overfitVit } from "../../core/train/vit_trainer.ts";
import { checkSuites, junitXml, type JUnitCase } from "../render/junit.ts";
import { makeStyle } from "../render/style.ts";
import { OVERFIT_DEFAULTS } from "./captioning.ts";

const VIT_STEPS = 10;
const CAPTION_EPOCHS = 4; // 50 captions in batches of 25: 2 iterations per epoch
const SEED = 231;

interface SmokeOpts {
  junit?: string;
  expected?: string;
  json?: boolean;
  color?: boolean;
}

export interface SmokeStep {
  name: string;
  pass: boolean;
  detail: string;
  seconds: number;
}

async function timed(name: string, body: () => Promise<{ pass: boolean; detail: string }>): Promise<SmokeStep> {
  const t0 = performance.now();
  try {
    const r = await body();
    return { name, ...r, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    if (!(e instanceof XtError)) throw e; // a bug: keep the stack
    return { name, pass: false, detail: e.message, seconds: (performance.now() - t0) / 1000 };
  }
}

/** Finite, and the last loss below the first. */
function falling(losses: number[]): { pass: boolean; detail: string } {
  const first = losses[0]!;
  const last = losses[losses.length - 1]!;
  const finite = losses.every(Number.isFinite);
  const text = `${losses.length} steps, loss ${first.toFixed(4)} → ${last.toFixed(4)}`;
  if (!finite) return { pass: false, detail: `${text}: a loss is not finite` };
  return last < first ? { pass: true, detail: text } : { pass: false, detail: `${text}: the loss did not fall` };
}

function captioningRun(epochs: number): Promise<CaptioningRun> {
  const d = OVERFIT_DEFAULTS;
  return startCaptioningRun({
    command: "smoke", seed: SEED, maxTrain: d.maxTrain, pcaFeatures: d.pca, wordvecDim: d.wordvecDim, numHeads: d.numHeads,
    numLayers: d.numLayers, maxLength: d.maxLength, epochs, batchSize: d.batchSize, lr: d.lr,
  });
}

function sameWeights(a: CaptioningRun["model"], b: CaptioningRun["model"]): string | null {
  const sb = b.stateDict();
  for (const [name, t] of a.stateDict()) {
    const u = sb.get(name);
    if (!u) return `${name} is missing after loading`;
    const x = t.data();
    const y = u.data();
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return `${name}[${i}] differs (${x[i]} vs ${y[i]})`;
  }
  return null;
}

export async function runSmoke(o: SmokeOpts): Promise<{ steps: SmokeStep[]; checks: CheckResult[] }> {
  if (o.junit === "") throw new UsageError("--junit: expected a file name");
  const expected = o.expected !== undefined ? loadExpectedDir(o.expected, CHECKS) : undefined;
  // Embedded data only: a smoke run must not depend on (or wait for) a data folder.
  const dataDir = process.env.XT_DATA_DIR;
  delete process.env.XT_DATA_DIR;
  const steps: SmokeStep[] = [];
  let checks: CheckResult[] = [];
  try {
    steps.push(await timed("checks", async () => {
      checks = runChecks(CHECKS, { expected });
      const outs = checks.flatMap((r) => r.outputs);
      const failed = checks.flatMap((r) => r.outputs.filter((x) => !x.pass).map((x) => `${r.name}/${x.name}`));
      const detail = `${outs.length - failed.length}/${outs.length} outputs, ${checks.filter((r) => r.pass).length}/${checks.length} checks pass`;
      return { pass: failed.length === 0, detail: failed.length ? `${detail}; failing: ${failed.join(", ")}` : detail };
    }));
    steps.push(await timed("overfit vit", async () => {
      const d = VIT_OVERFIT_DEFAULTS["fashion-mnist"];
      const data = takeFirst(await loadEmbeddedFirst64(), 64);
      const r = await overfitVit({ data, dataset: data.source, model: d.model, lr: d.lr, weightDecay: d.weightDecay, steps: VIT_STEPS, seed: SEED, sink: () => {} });
      return falling(r.history.map((h) => h.loss));
    }));
    let straight: CaptioningRun | null = null;
    let straightLosses: number[] = [];
    steps.push(await timed("overfit captioning", async () => {
      straight = await captioningRun(CAPTION_EPOCHS);
      straightLosses = [...(await straight.solver.train()).lossHistory];
      return falling(straightLosses);
    }));
    steps.push(await timed("checkpoint round trip", async () => {
      if (!straight) return { pass: false, detail: "needs the captioning run, which failed" };
      const dir = mkdtempSync(join(tmpdir(), "xt-smoke-"));
      try {
        const file = join(dir, "captioning.safetensors");
        const first = await captioningRun(CAPTION_EPOCHS / 2);
        await first.solver.train();
        saveCaptioningCheckpoint(file, first);
        const resumed = await resumeCaptioningRun(file, "smoke", { epochs: CAPTION_EPOCHS });
        const losses = (await resumed.solver.train()).lossHistory;
        const at = losses.findIndex((l, i) => !Object.is(l, straightLosses[i]));
        if (losses.length !== straightLosses.length || at >= 0) {
          return { pass: false, detail: `resumed losses differ from the straight run's at iteration ${at >= 0 ? at + 1 : Math.min(losses.length, straightLosses.length) + 1}` };
        }
        const diff = sameWeights((straight as CaptioningRun).model, resumed.model);
        if (diff) return { pass: false, detail: `final weights differ: ${diff}` };
        return { pass: true, detail: `saved after ${CAPTION_EPOCHS / 2} epochs, resumed to ${CAPTION_EPOCHS}: losses and weights identical` };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }));
  } finally {
    if (dataDir !== undefined) process.env.XT_DATA_DIR = dataDir;
  }
  return { steps, checks };
}

function smokeJunit(steps: SmokeStep[], checks: CheckResult[]): string {
  const cases = steps.filter((s) => s.name !== "checks").map((s): JUnitCase => ({
    name: s.name, classname: "xt.smoke", seconds: s.seconds,
    ...(s.pass ? {} : { failure: { message: s.detail, type: "smoke" } }),
  }));
  return junitXml("xt smoke", [...checkSuites(checks, "xt.smoke.check"), { name: "xt.smoke", cases }]);
}

async function runSmokeCommand(o: SmokeOpts): Promise<number> {
  const t0 = performance.now();
  const { steps, checks } = await runSmoke(o);
  const seconds = (performance.now() - t0) / 1000;
  const failed = steps.filter((s) => !s.pass).length;
  const device = currentBackend().name;
  if (o.junit !== undefined) writeFileAtomic(o.junit, smokeJunit(steps, checks));
  if (o.json) {
    process.stdout.write(JSON.stringify({ pass: failed === 0, device, seconds, steps }) + "\n");
    return failed ? 1 : 0;
  }
  const c = makeStyle(process.stdout, o.color === false);
  const w = Math.max(...steps.map((s) => s.name.length));
  for (const s of steps) {
    const mark = s.pass ? c.green("PASS") : c.red.bold("FAIL");
    process.stdout.write(`${mark}  ${s.name.padEnd(w)}  ${s.detail}  (${s.seconds.toFixed(1)} s)\n`);
  }
  const summary = `smoke: ${steps.length - failed}/${steps.length} steps pass on ${device} in ${seconds.toFixed(1)} s`;
  process.stdout.write(`\n${failed ? c.red(summary) : c.green(summary)}\n`);
  return failed ? 1 : 0;
}

export function registerSmoke(program: Command, exit: (code: number) => void): void {
  program
    .command("smoke")
    .description(
      `CI smoke run: every check, ${VIT_STEPS} steps of overfit vit, ${CAPTION_EPOCHS} epochs of overfit captioning, a checkpoint save/load/resume round trip (embedded data, the chosen --device); exit 1 on any failure`,
    )
    .option("--junit <file>", "also write a JUnit XML report")
    .option("--expected <dir>", "read the checks' expected arrays from DIR/<check>.json instead of the built-in ones")
    .option("--json", "print the steps as one JSON document")
    .option("--no-color", "plain text even on a terminal")
    .action(async (opts: SmokeOpts) => exit(await runSmokeCommand(opts)));
}
