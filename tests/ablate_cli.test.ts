/**
 * `xt ablate attention` end to end, spawned like a user runs it: the ViT on the tiny MNIST fixture
 * (fixtures/datasets), captioning on the embedded coco-mini; the --json stream and its end event,
 * --results and --plot files, Ctrl-C keeping the finished rows, usage errors.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { interruptWhen } from "./ctrl_c.ts";

const ROOT = join(import.meta.dir, "..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const FIX = join(ROOT, "fixtures/datasets");
const TMP = mkdtempSync(join(tmpdir(), "xt-ablate-cli-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const env = { ...process.env, NO_COLOR: "1", XT_DATA_DIR: "" };

function xt(...args: string[]): { code: number; stdout: string; stderr: string } {
  const p = Bun.spawnSync([BUN, "cli/main.ts", ...args], { cwd: ROOT, env });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}
type Ev = Record<string, any>;
const events = (stdout: string): Ev[] => stdout.trim().split("\n").map((l) => JSON.parse(l));

const D = 16;
const L = 2;
const VIT = ["--dataset", "mnist", "--data-dir", FIX, "--embed-dim", String(D), "--layers", String(L), "--heads", "2", "--ffn-dim", "16",
  "--max-train", "8", "--max-test", "4", "--batch-size", "4", "--epochs", "2", "--probe", "3", "--grad-steps", "2"];

/** Every variant's metrics (and detail) are {mean, std, values} with one value per seed. */
function expectShape(v: Ev, seeds: number[]): void {
  expect(Object.keys(v).sort()).toEqual(["detail", "metrics", "name", "params", "seeds"]);
  expect(v.seeds).toEqual(seeds);
  for (const [k, m] of Object.entries({ ...v.metrics, ...v.detail } as Record<string, Ev>)) {
    expect(Object.keys(m).sort(), k).toEqual(["mean", "std", "values"]);
    expect(m.values.length, k).toBe(seeds.length);
    expect(Number.isFinite(m.mean) && Number.isFinite(m.std), k).toBe(true);
  }
}

describe("xt ablate attention --task vit", () => {
  const results = join(TMP, "vit.json");
  const plot = join(TMP, "vit.svg");
  const r = xt("ablate", "attention", ...VIT, "--seeds", "231,5", "--json", "--results", results, "--plot", plot);

  test("--json: each run's start/step/epoch events, then one end event with all four variants", () => {
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const ev = events(r.stdout);
    const starts = ev.filter((e) => e.type === "start");
    expect(starts.map((e) => [e.study.variant, e.study.seed])).toEqual([
      ["full", 231], ["one-head", 231], ["no-scale", 231], ["no-proj", 231], ["full", 5], ["one-head", 5], ["no-scale", 5], ["no-proj", 5],
    ]);
    expect(starts[0].study).toMatchObject({ command: "ablate attention", index: 1, runs: 8, totalSteps: 8 * 4 });
    expect(ev.filter((e) => e.type === "step").length).toBe(8 * 4);
    expect(ev.filter((e) => e.type === "epoch").length).toBe(8 * 2);
    expect(ev.filter((e) => e.type === "end").length).toBe(1);
    const end = ev.at(-1)!;
    expect(end).toMatchObject({ type: "end", command: "ablate attention", steps: 32 });
    expect(end.variants.map((v: Ev) => v.name)).toEqual(["full", "one-head", "no-scale", "no-proj"]);
    for (const v of end.variants) expectShape(v, [231, 5]);
    expect(end.variants.map((v: Ev) => v.params)).toEqual([
      { numHeads: 2, scaleScores: true, outputProjection: true }, { numHeads: 1, scaleScores: true, outputProjection: true },
      { numHeads: 2, scaleScores: false, outputProjection: true }, { numHeads: 2, scaleScores: true, outputProjection: false },
    ]);
    const m = (name: string) => end.variants.find((v: Ev) => v.name === name).metrics;
    const detail = (name: string) => end.variants.find((v: Ev) => v.name === name).detail;
    expect(Object.keys(m("full")).sort()).toEqual(["attn_distance", "entropy_end", "entropy_init", "head_distance_spread", "largest_weight_end",
      "largest_weight_init", "max_weight_end", "max_weight_init", "parameters", "qk_grad_norm", "qk_grad_norm_end", "test_acc", "test_loss", "train_loss"]);
    expect(Object.keys(detail("full")).sort()).toEqual([
      "attn_distance_l1_h1", "attn_distance_l1_h2", "attn_distance_l2_h1", "attn_distance_l2_h2",
      "entropy_end_l1", "entropy_end_l2", "entropy_init_l1", "entropy_init_l2",
      "max_weight_end_l1", "max_weight_end_l2", "max_weight_init_l1", "max_weight_init_l2",
    ]);
    expect(detail("one-head").attn_distance_l1_h1).toBeDefined();
    expect(detail("one-head").attn_distance_l1_h2).toBeUndefined();
    expect(m("one-head").head_distance_spread.mean).toBe(0); // one head: nothing to spread
    // Heads are ranked within each run, the nearest-looking first.
    for (const l of [1, 2]) for (let i = 0; i < 2; i++) {
      expect(detail("full")[`attn_distance_l${l}_h1`].values[i]).toBeLessThanOrEqual(detail("full")[`attn_distance_l${l}_h2`].values[i]);
    }
    // The headline entropy is the mean of the layers'.
    const e = detail("full");
    expect(m("full").entropy_end.values[0]).toBeCloseTo((e.entropy_end_l1.values[0] + e.entropy_end_l2.values[0]) / 2, 12);
    // no-proj: exactly layers·(D² + D) fewer parameters than full; one-head and no-scale as many.
    expect(m("full").parameters.mean - m("no-proj").parameters.mean).toBe(L * (D * D + D));
    expect(m("one-head").parameters.mean).toBe(m("full").parameters.mean);
    expect(m("no-scale").parameters.mean).toBe(m("full").parameters.mean);
    // At initialisation the unscaled softmax is the peakiest; the scaled variants are near uniform (ln 16 over 4×4 patches).
    expect(m("no-scale").entropy_init.mean).toBeLessThan(m("full").entropy_init.mean);
    expect(m("full").entropy_init.mean).toBeCloseTo(Math.log(16), 2);
  });

  test("full is `xt train vit` with the same flags: the same step losses and test accuracy (measuring draws nothing)", () => {
    const t = xt("train", "vit", ...VIT.filter((_, i, a) => a[i] !== "--probe" && a[i - 1] !== "--probe" && a[i] !== "--grad-steps" && a[i - 1] !== "--grad-steps"),
      "--seed", "231", "--json", "--save", join(TMP, "plain"));
    expect(t.code).toBe(0);
    const plainSteps = events(t.stdout).filter((e) => e.type === "step").map((e) => e.loss);
    const ev = events(r.stdout);
    const firstRun = ev.slice(0, ev.findIndex((e, i) => i > 0 && e.type === "start"));
    expect(firstRun.filter((e) => e.type === "step").map((e) => e.loss)).toEqual(plainSteps);
    const end = ev.at(-1)!;
    expect(end.variants[0].metrics.test_acc.values[0]).toBe(events(t.stdout).at(-1)!.accuracy);
  });

  test("--results holds the end event; --plot an SVG with a curve per variant", () => {
    expect(JSON.parse(readFileSync(results, "utf8"))).toEqual(events(r.stdout).at(-1)!);
    const svg = readFileSync(plot, "utf8");
    expect(svg).toStartWith("<svg");
    for (const n of ["full", "one-head", "no-scale", "no-proj"]) expect(svg).toContain(`${n} (2 seeds)`);
    expect(svg.match(/<polyline/g)!.length).toBeGreaterThanOrEqual(4);
  });

  test("xt plot draws the --results file: a panel per headline measure", () => {
    const out = join(TMP, "bars.svg");
    const p = xt("plot", results, "--out", out);
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    const svg = readFileSync(out, "utf8");
    for (const k of ["test_acc", "entropy_end", "qk_grad_norm", "head_distance_spread"]) expect(svg).toContain(`>${k}<`);
    expect(svg).not.toContain("attn_distance_l1_h1"); // the detail stays out of the figure
  });
});

describe("xt ablate attention --task captioning", () => {
  test("the overfit set-up on coco-mini: all four variants; no-proj loses both blocks' projections per layer", () => {
    const r = xt("ablate", "attention", "--task", "captioning", "--setup", "overfit", "--epochs", "2", "--layers", "1", "--embed-dim", "16",
      "--heads", "2", "--seeds", "231", "--val-captions", "20", "--probe", "5", "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const end = events(r.stdout).at(-1)!;
    expect(end.variants.map((v: Ev) => v.name)).toEqual(["full", "one-head", "no-scale", "no-proj"]);
    for (const v of end.variants) expectShape(v, [231]);
    const m = (name: string) => end.variants.find((v: Ev) => v.name === name).metrics;
    expect(m("full").parameters.mean - m("no-proj").parameters.mean).toBe(1 * 2 * (16 * 16 + 16));
    expect(m("full").val_loss).toBeDefined();
    expect(end.variants[0].detail.attn_distance_l1_h2).toBeDefined();
    expect(m("no-scale").entropy_init.mean).toBeLessThan(m("full").entropy_init.mean);
  });
});

test("Ctrl-C keeps the finished runs' rows: on screen, in --results, and the exit code is 130", async () => {
  const results = join(TMP, "int.json");
  const proc = Bun.spawn([BUN, "cli/main.ts", "ablate", "attention", "--task", "captioning", "--setup", "train", "--epochs", "3",
    "--layers", "1", "--embed-dim", "16", "--heads", "2", "--seeds", "231", "--val-captions", "20", "--probe", "5", "--plain",
    "--print-every", "1", "--results", results], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  const { text, pressed } = await interruptWhen(proc, (t) => t.includes("run 2/4") && /^step +3\/\d+/m.test(t.slice(t.indexOf("run 2/4"))));
  expect(pressed).toBe(true);
  expect(await proc.exited).toBe(130);
  expect(text).toContain("interrupted: finished runs only");
  const table = text.slice(text.indexOf("Attention ablation"));
  expect(table).toMatch(/^full +1 /m);
  expect(table).not.toMatch(/^one-head /m);
  const saved = JSON.parse(readFileSync(results, "utf8"));
  expect(saved).toMatchObject({ type: "end", interrupted: true });
  expect(saved.variants.map((v: Ev) => v.name)).toEqual(["full"]);
});

test("Ctrl-C with --json: the stream still ends with one end event holding the finished runs' rows", async () => {
  const proc = Bun.spawn([BUN, "cli/main.ts", "ablate", "attention", ...VIT, "--epochs", "40", "--seeds", "231", "--json"],
    { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  // Pressed at the third step event of run 2 (one-head): run 1 (full) has finished.
  const run2 = '"variant":"one-head"';
  const { text, pressed } = await interruptWhen(proc, (t) => t.includes(run2) && (t.slice(t.indexOf(run2)).match(/"type":"step"/g) ?? []).length >= 3);
  expect(pressed).toBe(true);
  expect(await proc.exited).toBe(130);
  const end = events(text).at(-1)!;
  expect(end).toMatchObject({ type: "end", command: "ablate attention", interrupted: true });
  expect(end.variants.map((v: Ev) => v.name)).toEqual(["full"]);
  expectShape(end.variants[0], [231]);
});

describe("usage errors name the flag and exit 2", () => {
  const cases: [string, string[], RegExp][] = [
    ["unknown task", ["--task", "rnn"], /--task: expected vit or captioning/],
    ["unknown variant", ["--variants", "full,two-heads"], /--variants: unknown 'two-heads'/],
    ["a seed twice", ["--seeds", "1,1"], /--seeds: '1,1' names a seed twice/],
    ["a bad seed", ["--seeds", "1,x"], /--seeds: expected a number, got 'x'/],
    ["--plot not a figure", ["--plot", "a.gif"], /--plot a\.gif: write figures to a \.svg or \.png file/],
    ["a ViT flag with captioning", ["--task", "captioning", "--patch-size", "4"], /--patch-size does not apply to --task captioning/],
    ["a captioning flag with the ViT", ["--setup", "overfit"], /--setup does not apply to --task vit/],
    ["bad set-up", ["--task", "captioning", "--setup", "long"], /--setup: expected train or overfit/],
  ];
  for (const [what, args, msg] of cases) {
    test(what, () => {
      const r = xt("ablate", "attention", ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toContain("    at ");
    });
  }
  test("no output file is written when the flags are refused", () => {
    const f = join(TMP, "refused.json");
    expect(xt("ablate", "attention", "--task", "rnn", "--results", f).code).toBe(2);
    expect(existsSync(f)).toBe(false);
  });
});

describe("xt ablate small-data", () => {
  const DATA = ["--dataset", "mnist", "--data-dir", FIX, "--batch-size", "4", "--max-test", "4"];
  const TINY = [...DATA, "--embed-dim", "16", "--layers", "1", "--heads", "2", "--ffn-dim", "16"];

  const MODELS = ["vit", "cnn", "vit+augment", "vit+smoothing", "vit+small-patch", "vit+conv-stem"];

  test("--json: every model at every size (sizes ascending, 'all' the whole set), the same steps each; the measures", () => {
    const results = join(TMP, "small.json");
    const r = xt("ablate", "small-data", ...TINY, "--sizes", "all,4", "--steps", "3", "--seeds", "1,2", "--json", "--results", results);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const ev = events(r.stdout);
    const starts = ev.filter((e) => e.type === "start");
    expect(starts.length).toBe(24);
    expect(starts.every((e) => e.totalSteps === 3)).toBe(true);
    const end = ev.at(-1)!;
    expect(end).toMatchObject({ type: "end", command: "ablate small-data", steps: 72 });
    expect(end.variants.map((v: Ev) => v.name)).toEqual([...MODELS.map((m) => `${m}@4`), ...MODELS.map((m) => `${m}@10`)]);
    for (const v of end.variants) expectShape(v, [1, 2]);
    expect(end.variants.slice(0, 6).map((v: Ev) => v.params)).toEqual([
      { model: "vit", trainImages: 4, patchSize: 7 },
      { model: "cnn", trainImages: 4, channels: [32, 64] },
      { model: "vit+augment", trainImages: 4, patchSize: 7, augment: "crop,flip", cropPadding: 3 },
      { model: "vit+smoothing", trainImages: 4, patchSize: 7, labelSmoothing: 0.1 },
      { model: "vit+small-patch", trainImages: 4, patchSize: 4 },
      { model: "vit+conv-stem", trainImages: 4, patchSize: 7, stemChannels: 16 },
    ]);
    expect(Object.keys(end.variants[0].metrics).sort()).toEqual(["generalization_gap", "parameters", "test_acc", "test_loss", "train_acc", "train_loss"]);
    const m = end.variants[0].metrics;
    expect(m.generalization_gap.values[0]).toBeCloseTo(m.train_acc.values[0] - m.test_acc.values[0], 12);
    // 4 images in batches of 4: 3 steps are 3 passes; 10 images: 3 batches a pass.
    expect(end.variants[0].detail.passes.mean).toBe(3);
    expect(end.variants[6].detail.passes.mean).toBe(1);
    // The techniques that change only the training (augmentation, smoothing) keep the ViT's parameters.
    const params = (i: number) => end.variants[i].metrics.parameters.mean;
    expect(params(2)).toBe(params(0));
    expect(params(3)).toBe(params(0));
    expect(params(5)).toBeGreaterThan(params(0)); // the stem's convolutions
    expect(JSON.parse(readFileSync(results, "utf8"))).toEqual(end);
  });

  // One pass of steps is the training command's first epoch on the same images, technique and all.
  const SAME: [string, string[]][] = [
    ["vit", ["train", "vit"]],
    ["cnn", ["train", "cnn"]],
    ["vit+augment", ["train", "vit", "--augment", "crop,flip"]],
    ["vit+smoothing", ["train", "vit", "--label-smoothing", "0.1"]],
    ["vit+small-patch", ["train", "vit", "--patch-size", "4"]],
    ["vit+conv-stem", ["train", "vit", "--conv-stem"]],
  ];
  for (const [model, command] of SAME) {
    test(`one pass of ${model} is \`xt ${command.join(" ")} --epochs 1\`: the same step losses and test accuracy`, () => {
      const r = xt("ablate", "small-data", ...TINY, "--sizes", "8", "--steps", "2", "--models", model, "--seeds", "231", "--json");
      expect(r.code).toBe(0);
      const own = model === "cnn" ? DATA : TINY; // train cnn takes no ViT flags
      const t = xt(...command, ...own, "--max-train", "8", "--epochs", "1", "--seed", "231", "--json", "--save", join(TMP, `small-${model}`));
      expect(t.stderr).toBe("");
      expect(t.code).toBe(0);
      const losses = (out: string) => events(out).filter((e) => e.type === "step").map((e) => e.loss);
      expect(losses(r.stdout)).toEqual(losses(t.stdout));
      expect(events(r.stdout).at(-1)!.variants[0].metrics.test_acc.mean).toBe(events(t.stdout).at(-1)!.accuracy);
    });
  }

  test("the table: a row per model, a column per size; --plot: test accuracy against the size, a line per model", () => {
    const plot = join(TMP, "small-acc.svg");
    const r = xt("ablate", "small-data", ...TINY, "--sizes", "4,8", "--steps", "2", "--plain", "--plot", plot);
    expect(r.code).toBe(0);
    const svg = readFileSync(plot, "utf8");
    expect(svg).toContain("test accuracy by training-set size (2 steps each)");
    expect(svg).toContain("training images, log10 (4, 8)");
    expect(svg).toContain(">vit+small-patch<");
    expect(svg.match(/<polyline/g)!.length).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toMatch(/Test accuracy by training-set size \(2 steps/);
    expect(r.stdout).toMatch(/^variant +seeds +params +4 images +8 images$/m);
    expect(r.stdout).toMatch(/^vit +1 +[\d,]+ +[\d.]+ +[\d.]+$/m);
    for (const m of MODELS) expect(r.stdout).toMatch(new RegExp(`^${m.replace("+", "\\+")} +1 +[\\d,]+ +[\\d.]+ +[\\d.]+$`, "m"));
  });

  const cases: [string, string[], RegExp][] = [
    ["a size larger than the set", ["--sizes", "11"], /--sizes: 11 is more than the 10 training images/],
    ["a size twice", ["--sizes", "4,all,4"], /--sizes: '4,all,4' names a size twice/],
    ["an unknown model", ["--models", "vit,resnet"], /--models: unknown 'resnet'/],
    ["a bad step count", ["--steps", "0"], /--steps: 0 is out of range/],
  ];
  for (const [what, args, msg] of cases) {
    test(`usage: ${what}`, () => {
      const r = xt("ablate", "small-data", ...TINY, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
    });
  }
});
