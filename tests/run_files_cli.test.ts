/**
 * Where training runs write, as a user meets it: a fresh run folder per run, a refusal before
 * replacing a previous run's checkpoint, --resume that keeps saving in place, and every name a
 * checkpoint answers to (stem, .safetensors, .json, run folder) in eval, sample and --resume.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CPU_LIBRARY_FILE } from "../backends/native_platform.ts";

const ROOT = join(import.meta.dir, "..");
const MAIN = join(ROOT, "cli/main.ts");
const FIX = join(ROOT, "fixtures/datasets");
const TMP = mkdtempSync(join(tmpdir(), "xt-run-files-cli-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function xt(...args: string[]): { code: number; out: string; err: string } {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  delete env.XT_DATA_DIR;
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { cwd: TMP, env });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** The TypeScript CPU kernels run the whole model (XT_KERNELS=ts, or no native library): ~10× slower. */
const TS_KERNELS = process.env.XT_KERNELS?.trim() === "ts" || !existsSync(join(ROOT, "backends/cpu/native", CPU_LIBRARY_FILE));
const lines = (out: string): Record<string, unknown>[] => out.trim().split("\n").map((l) => JSON.parse(l));
const VIT = ["train", "vit", "--dataset", "cifar10", "--data-dir", FIX, "--embed-dim", "16", "--layers", "1", "--heads", "2", "--ffn-dim", "16",
  "--patch-size", "8", "--batch-size", "4", "--lr", "1e-3", "--dropout", "0.1"];
const CAP = ["--wordvec-dim", "8", "--num-layers", "1", "--max-train", "10", "--batch-size", "5"];

describe("train vit: run folders", () => {
  test("each run gets a fresh runs/train-vit-<dataset>[-N]/ with last, best, results and events; the first run's files stay", () => {
    const a = xt(...VIT, "--epochs", "1", "--json");
    expect(a.code).toBe(0);
    const dir = join(TMP, "runs", "train-vit-cifar10");
    expect(readdirSync(dir).sort()).toEqual(["best.json", "best.safetensors", "events.jsonl", "last.json", "last.optim.safetensors", "last.safetensors", "results.json"]);
    expect(lines(a.out).at(-1)).toMatchObject({ type: "end", checkpoint: join("runs", "train-vit-cifar10", "last.safetensors"), best: join("runs", "train-vit-cifar10", "best.safetensors") });
    const events = readFileSync(join(dir, "events.jsonl"), "utf8");
    expect(events).toBe(a.out); // the event log is the --json stream
    const before = statSync(join(dir, "best.safetensors")).mtimeMs;
    const b = xt(...VIT, "--epochs", "1", "--seed", "5", "--plain");
    expect(b.code).toBe(0);
    expect(b.out).toContain(join("runs", "train-vit-cifar10-2"));
    expect(existsSync(join(TMP, "runs", "train-vit-cifar10-2", "best.safetensors"))).toBe(true);
    expect(statSync(join(dir, "best.safetensors")).mtimeMs).toBe(before);
  });

  test("--resume on the run folder, without --save, continues and saves in that folder", () => {
    const r = xt(...VIT.slice(0, 2), "--resume", join("runs", "train-vit-cifar10"), "--epochs", "2", "--json");
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const ev = lines(r.out);
    expect(ev[0]).toMatchObject({ type: "start", resumedAt: 4, totalSteps: 8 });
    expect(ev.filter((e) => e.type === "step").map((e) => e.step)).toEqual([5, 6, 7, 8]);
    const dir = join(TMP, "runs", "train-vit-cifar10");
    expect(JSON.parse(readFileSync(join(dir, "results.json"), "utf8"))["test_acc@1"]).toHaveLength(2);
    expect(JSON.parse(readFileSync(join(dir, "last.json"), "utf8"))).toMatchObject({ step: 8, epoch: 2 });
    // appended to the first run's 8 events (start, 4 steps, its test pass's eval, epoch, end)
    expect(readFileSync(join(dir, "events.jsonl"), "utf8").trim().split("\n").length).toBe(8 + ev.length);
    // The same as a run of 2 epochs from the start.
    const full = xt(...VIT, "--epochs", "2", "--save", join(TMP, "full2"), "--json");
    const steps = (out: string) => lines(out).filter((e) => e.type === "step").map((e) => e.loss);
    const first = lines(readFileSync(join(dir, "events.jsonl"), "utf8")).filter((e) => e.type === "step").map((e) => e.loss);
    expect(first).toEqual(steps(full.out));
  });

  test("--save refuses a previous run's checkpoint (exit 2) unless --overwrite", () => {
    const r = xt(...VIT, "--epochs", "1", "--save", join(TMP, "full2.safetensors"));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${join(TMP, "full2.safetensors")} already exists (a previous run's`);
    expect(r.err).toContain("--overwrite");
    expect(r.err).not.toMatch(/\n\s+at /);
    const o = xt(...VIT, "--epochs", "1", "--save", join(TMP, "full2"), "--overwrite", "--json");
    expect(o.code).toBe(0);
    expect(JSON.parse(readFileSync(join(TMP, "full2.json"), "utf8"))).toMatchObject({ step: 4, epoch: 1 });
  });

  test("eval vit takes the stem, the .safetensors, the .json sidecar or the run folder (its best model)", () => {
    const dir = join(TMP, "runs", "train-vit-cifar10");
    const acc = (p: string) => {
      const r = xt("eval", "vit", "--checkpoint", p, "--data-dir", FIX, "--json");
      expect(r.code).toBe(0);
      return JSON.parse(r.out).accuracy;
    };
    const best = acc(join(dir, "best.safetensors"));
    expect(acc(join(dir, "best"))).toBe(best);
    expect(acc(join(dir, "best.json"))).toBe(best);
    expect(acc(dir)).toBe(best);
    expect(best).toBe(JSON.parse(readFileSync(join(dir, "results.json"), "utf8")).best_test_acc);
  });
});

describe("captioning: --save names, sample and --resume", () => {
  test("--save cap writes cap.safetensors, cap.json, cap.optim.safetensors, cap.results.json; sample takes every name", () => {
    const r = xt("overfit", "captioning", ...CAP, "--epochs", "1", "--save", "cap");
    expect(r.code).toBe(0);
    for (const f of ["cap.safetensors", "cap.json", "cap.optim.safetensors", "cap.results.json", "cap.events.jsonl"]) expect(existsSync(join(TMP, f))).toBe(true);
    expect(existsSync(join(TMP, "cap"))).toBe(false);
    const results = JSON.parse(readFileSync(join(TMP, "cap.results.json"), "utf8"));
    expect(results).toMatchObject({ iterations_per_epoch: 2, val_loss: [], best_val_loss: null });
    expect(results.train_loss).toEqual([(0 + results.loss_history[0] + results.loss_history[1]) / 2]);
    const samples = ["cap", "cap.safetensors", "cap.json"].map((p) => {
      const s = xt("sample", "--checkpoint", p, "-n", "2", "--json");
      expect(s.code).toBe(0);
      return JSON.parse(s.out).samples;
    });
    expect(samples[1]).toEqual(samples[0]);
    expect(samples[2]).toEqual(samples[0]);
    expect(xt("overfit", "captioning", ...CAP, "--epochs", "1", "--save", "cap.json").code).toBe(2);
  });

  test("train captioning: a run folder with last, best (val loss) and results; --resume there continues in place", () => {
    const r = xt("train", "captioning", ...CAP, "--epochs", "1", "--val-captions", "10", "--json");
    expect(r.code).toBe(0);
    const dir = join(TMP, "runs", "train-captioning-coco-mini");
    expect(readdirSync(dir).sort()).toEqual(["best.json", "best.safetensors", "events.jsonl", "last.json", "last.optim.safetensors", "last.safetensors", "results.json"]);
    const more = xt("train", "captioning", "--resume", dir, "--epochs", "2", "--val-captions", "10", "--json");
    expect(more.code).toBe(0);
    const res = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    expect(res.val_loss).toHaveLength(2);
    expect(res.loss_history).toHaveLength(4);
    expect(res.best_val_loss).toBe(Math.min(...res.val_loss));
    const s = xt("sample", "--checkpoint", dir, "-n", "1", "--json"); // the folder: its best model
    expect(s.code).toBe(0);
  });
});

test("overfit vit --until-perfect stops at the first step with top-1 1.00", () => {
  const r = xt("overfit", "vit", "--until-perfect", "--json");
  expect(r.code).toBe(0);
  const ev = lines(r.out);
  const steps = ev.filter((e) => e.type === "step");
  const end = ev.at(-1)!;
  expect(end).toMatchObject({ type: "end", accuracy: 1 });
  expect(steps.at(-1)!.accuracy).toBe(1);
  expect(steps.slice(0, -1).every((s) => (s.accuracy as number) < 1)).toBe(true);
  expect(steps.length).toBeLessThan(100);
  const plain = xt("overfit", "vit", "--until-perfect", "--steps", "3", "--plain");
  expect(plain.code).toBe(0);
  expect(plain.out).toMatch(/Top-1 accuracy: 0\.\d+\n$/); // not reached within 3 steps: says so plainly
}, TS_KERNELS ? 600_000 : 60_000);
