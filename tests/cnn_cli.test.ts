/**
 * `xt train cnn` / `xt eval cnn` and the small-data flags of `xt train vit`, spawned like a user
 * runs them, on the CIFAR-10 fixture files: the same events, results JSON, checkpoints, run folder
 * and --resume as `train vit`; bad flags are usage errors that name them.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const FIX = join(ROOT, "fixtures/datasets");
const TMP = mkdtempSync(join(tmpdir(), "xt-cnn-cli-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function xt(args: string[], cwd = ROOT): { code: number; stdout: string; stderr: string } {
  const p = Bun.spawnSync([BUN, join(ROOT, "cli/main.ts"), ...args], { cwd, env: { ...process.env, NO_COLOR: "1", XT_DATA_DIR: "" } });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}
const events = (stdout: string): Record<string, unknown>[] => stdout.trim().split("\n").map((l) => JSON.parse(l));
const CIFAR = ["--dataset", "cifar10", "--data-dir", FIX, "--batch-size", "4", "--seed", "5"];

describe("xt train cnn / eval cnn", () => {
  test("a run folder runs/train-cnn-cifar10/ with the results JSON, last and best checkpoints; the summary names them", () => {
    const r = xt(["train", "cnn", ...CIFAR, "--channels", "4,8", "--epochs", "2", "--augment", "crop,flip", "--label-smoothing", "0.1", "--plain"], TMP);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const dir = join(TMP, "runs/train-cnn-cifar10");
    for (const f of ["last.safetensors", "last.json", "last.optim.safetensors", "best.safetensors", "results.json", "events.jsonl"]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const res = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    for (const k of ["train_loss", "train_acc@1", "test_loss", "test_acc@1", "epoch_seconds"]) expect(res[k]).toHaveLength(2);
    expect(r.stdout).toContain(`Accuracy on test set (best epoch): ${res.best_test_acc}`);
    expect(r.stdout).toContain("Results: runs/train-cnn-cifar10/results.json");
    const side = JSON.parse(readFileSync(join(dir, "last.json"), "utf8"));
    expect(side).toMatchObject({
      kind: "cnn", step: 8, epoch: 2,
      config: { dataset: "cifar10", model: { imgSize: 32, inChannels: 3, channels1: 4, channels2: 8, numClasses: 10 }, augment: { crop: true, flip: true, cropPadding: 4 }, labelSmoothing: 0.1 },
    });
    const start = JSON.parse(readFileSync(join(dir, "events.jsonl"), "utf8").split("\n")[0]!);
    expect(start).toMatchObject({ type: "start", command: "train cnn", model: "SmallCNN(img 32, C 3, channels 4/8, classes 10); augment crop (padding 4) + flip; label smoothing 0.1" });
  });

  test("--resume with more --epochs continues the run, and gives the same numbers as the run done in one go", () => {
    const once = join(TMP, "once");
    const a = xt(["train", "cnn", ...CIFAR, "--channels", "4,8", "--epochs", "2", "--augment", "flip", "--save", once, "--json"]);
    expect(a.code).toBe(0);
    const split = join(TMP, "split");
    expect(xt(["train", "cnn", ...CIFAR, "--channels", "4,8", "--epochs", "1", "--augment", "flip", "--save", split, "--json"]).code).toBe(0);
    const b = xt(["train", "cnn", "--resume", split, "--epochs", "2", "--json"]);
    expect(b.stderr).toBe("");
    expect(b.code).toBe(0);
    const losses = (out: string) => events(out).filter((e) => e.type === "step").map((e) => e.loss);
    expect(losses(b.stdout)).toEqual(losses(a.stdout).slice(4));
    const strip = (p: string) => {
      const { epoch_seconds: _, ...rest } = JSON.parse(readFileSync(p, "utf8"));
      return rest;
    };
    expect(strip(`${split}.results.json`)).toEqual(strip(`${once}.results.json`));
  });

  test("eval cnn reproduces the best epoch's test accuracy; eval vit refuses a CNN checkpoint", () => {
    const best = join(TMP, "once.best");
    const j = xt(["eval", "cnn", "--checkpoint", best, "--data-dir", FIX, "--json"]);
    expect(j.code).toBe(0);
    const rep = JSON.parse(j.stdout);
    const side = JSON.parse(readFileSync(`${best}.json`, "utf8"));
    expect(rep.accuracy).toBe(side.extra.test_acc);
    expect(rep.model).toEqual({ imgSize: 32, inChannels: 3, channels1: 4, channels2: 8, numClasses: 10 });
    const t = xt(["eval", "cnn", "--checkpoint", best, "--data-dir", FIX]);
    expect(t.stdout).toContain("SmallCNN(img 32, C 3, channels 4/8, classes 10) from");
    expect(t.stdout).toContain("true \\ predicted");
    const v = xt(["eval", "vit", "--checkpoint", best, "--data-dir", FIX]);
    expect(v.code).not.toBe(0);
    expect(v.stderr).toMatch(/is a "cnn" checkpoint, not a ViT one/);
  });
});

describe("train vit: --augment, --label-smoothing, --conv-stem", () => {
  test("the hybrid ViT with augmentation and label smoothing; the run records them and a resume keeps them", () => {
    const ck = join(TMP, "hybrid");
    const r = xt(["train", "vit", ...CIFAR, "--embed-dim", "16", "--layers", "1", "--heads", "2", "--ffn-dim", "16", "--conv-stem", "--augment", "crop",
      "--crop-padding", "2", "--label-smoothing", "0.2", "--epochs", "1", "--save", ck, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const start = events(r.stdout)[0]!;
    expect(String(start.model)).toMatch(/, conv stem 16\); augment crop \(padding 2\); label smoothing 0\.2$/);
    const side = JSON.parse(readFileSync(`${ck}.json`, "utf8"));
    expect(side.config.model.stemChannels).toBe(16);
    expect(side.config).toMatchObject({ augment: { crop: true, flip: false, cropPadding: 2 }, labelSmoothing: 0.2 });
    const bad = xt(["train", "vit", "--resume", ck, "--conv-stem", "8"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--conv-stem is 16 in .*; it cannot change \(to 8\)/);
    const e = xt(["eval", "vit", "--checkpoint", ck, "--data-dir", FIX, "--json"]);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout).model.stemChannels).toBe(16);
  });
});

describe("usage errors name the flag", () => {
  const cases: [string, string[], RegExp][] = [
    ["--channels", ["train", "cnn", "--channels", "32"], /--channels: expected two positive whole numbers like 32,64, got '32'/],
    ["--augment", ["train", "cnn", "--augment", "rotate"], /--augment: unknown augmentation 'rotate' \(crop, flip\)/],
    ["--crop-padding without crop", ["train", "vit", "--augment", "flip", "--crop-padding", "2"], /--crop-padding needs --augment crop/],
    ["--crop-padding negative", ["train", "cnn", "--augment", "crop", "--crop-padding", "-1"], /--crop-padding: -1 is out of range/],
    ["--label-smoothing above 1", ["train", "vit", "--label-smoothing", "1.5"], /--label-smoothing: 1.5 is out of range \[0, 1\]/],
    ["--conv-stem not a number", ["train", "vit", "--conv-stem", "wide"], /--conv-stem: expected a number, got 'wide'/],
    ["eval cnn without --checkpoint", ["eval", "cnn"], /eval cnn: --checkpoint FILE is required/],
  ];
  for (const [what, args, msg] of cases) {
    test(what, () => {
      const r = xt(args);
      expect(r.stderr).toMatch(new RegExp(`^xt: .*${msg.source}`));
      expect(r.code).toBe(2);
    });
  }
});
