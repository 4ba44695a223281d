/**
 * The ViT commands end to end, spawned like a user runs them (`bun cli/main.ts …`), on the tiny
 * dataset fixtures (fixtures/datasets, fixtures/gen/gen_datasets.py) and the embedded images.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const ROOT = join(import.meta.dir, "..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const FIX = join(ROOT, "fixtures/datasets");
const TMP = mkdtempSync(join(tmpdir(), "xt-vit-cli-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const TINY = ["--embed-dim", "16", "--layers", "1", "--heads", "2", "--ffn-dim", "16"];

function xt(...args: string[]): { code: number; stdout: string; stderr: string } {
  const p = Bun.spawnSync([BUN, "cli/main.ts", ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", XT_DATA_DIR: "" } });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

function events(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split("\n").map((l) => JSON.parse(l));
}

describe("xt overfit vit", () => {
  test("default: the embedded first 64 Fashion-MNIST images; --json end carries the final top-1 as accuracy", () => {
    const r = xt("overfit", "vit", ...TINY, "--steps", "3", "--json");
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    const ev = events(r.stdout);
    expect(ev[0]).toMatchObject({ type: "start", command: "overfit vit", totalSteps: 3, batchSize: 64 });
    expect(String(ev[0]!.dataset)).toContain("embedded");
    expect(String(ev[0]!.model)).toContain("img 28, patch 7, C 1");
    expect(String(ev[0]!.model)).toContain("dropout 0)");
    const steps = ev.filter((e) => e.type === "step");
    expect(steps.length).toBe(3);
    const end = ev[ev.length - 1]!;
    expect(end.type).toBe("end");
    expect(end.accuracy).toBe(steps[2]!.accuracy);
    expect(typeof end.loss).toBe("number");
    // The process's peak RSS in MiB: at least the size of Bun itself, far below the machine's memory.
    expect(end.peak_rss_mb).toBeGreaterThan(20);
    expect(end.peak_rss_mb).toBeLessThan(16384);
  });

  test("--dataset mnist --data-dir: a data set from disk (10 images in the fixture), plain output", () => {
    const r = xt("overfit", "vit", "--dataset", "mnist", "--data-dir", FIX, ...TINY, "--steps", "2", "--lr", "1e-3", "--weight-decay", "0", "--no-color");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("10 images");
    expect(r.stdout).toMatch(/step 2\/2 +loss \d\.\d{4} +acc \d\.\d{4}/);
    expect(r.stdout).toMatch(/Top-1 accuracy: [\d.]+\n$/);
  });
});

describe("xt train vit / eval vit", () => {
  const ck = join(TMP, "tiny.safetensors");
  test("trains on the CIFAR-10 fixture files: epoch events, results JSON, last and best checkpoints", () => {
    const r = xt("train", "vit", "--dataset", "cifar10", "--data-dir", FIX, ...TINY, "--patch-size", "8", "--batch-size", "4",
      "--epochs", "2", "--lr", "1e-3", "--weight-decay", "1e-4", "--seed", "3", "--save", ck, "--json");
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    const ev = events(r.stdout);
    expect(ev[0]).toMatchObject({ type: "start", command: "train vit", epochs: 2, batchSize: 4, totalSteps: 8, params: expect.any(Number) });
    const epochs = ev.filter((e) => e.type === "epoch");
    expect(epochs.length).toBe(2);
    for (const e of epochs) expect(Object.keys(e)).toEqual(expect.arrayContaining(["trainLoss", "trainAcc", "testLoss", "testAcc"]));
    const end = ev[ev.length - 1]!;
    expect(end).toMatchObject({ type: "end", steps: 8, checkpoint: ck, best: join(TMP, "tiny.best.safetensors") });
    const res = JSON.parse(readFileSync(join(TMP, "tiny.results.json"), "utf8"));
    for (const k of ["train_loss", "train_acc@1", "test_loss", "test_acc@1"]) expect(res[k]).toHaveLength(2);
    expect(res.best_test_acc).toBe(Math.max(...res["test_acc@1"]));
    expect(end.best_test_acc).toBe(res.best_test_acc);
    expect(existsSync(ck)).toBe(true);
    expect(existsSync(join(TMP, "tiny.optim.safetensors"))).toBe(true);
    expect(existsSync(join(TMP, "tiny.events.jsonl"))).toBe(true);
    const side = JSON.parse(readFileSync(join(TMP, "tiny.json"), "utf8"));
    expect(side).toMatchObject({ kind: "vit", format: "xt-checkpoint/2", step: 8, epoch: 2, config: { dataset: "cifar10", model: { embedDim: 16, patchSize: 8 } } });
    const best = JSON.parse(readFileSync(join(TMP, "tiny.best.json"), "utf8"));
    expect(best.extra.test_acc).toBe(res.best_test_acc);
    expect(best.training).toBeUndefined(); // the best model alone: no training state
    expect(existsSync(join(TMP, "tiny.best.optim.safetensors"))).toBe(false);
  });

  test("plain output names what it prints: the test pass, test loss/accuracy, the best epoch's accuracy", () => {
    const r = xt("train", "vit", "--dataset", "cifar10", "--data-dir", FIX, ...TINY, "--patch-size", "8", "--batch-size", "4",
      "--epochs", "1", "--save", join(TMP, "plain.safetensors"));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("testing on 4 test examples…");
    expect(r.stdout).toMatch(/done {2}4 steps in [\d.]+s {2}test loss \d\.\d{4} {2}test acc \d\.\d{4} {2}best test acc/);
    expect(r.stdout).toMatch(/Test accuracy after the last epoch: [\d.]+ \(test loss [\d.]+\)\n/);
    expect(r.stdout).toMatch(/Accuracy on test set \(best epoch\): [\d.]+\n/);
    expect(r.stdout).not.toContain("final loss");
  });

  test("eval vit reproduces the best epoch's test accuracy and prints a confusion matrix", () => {
    const j = xt("eval", "vit", "--checkpoint", join(TMP, "tiny.best"), "--data-dir", FIX, "--json");
    expect(j.code).toBe(0);
    const rep = JSON.parse(j.stdout);
    const side = JSON.parse(readFileSync(join(TMP, "tiny.best.json"), "utf8"));
    expect(rep.accuracy).toBe(side.extra.test_acc);
    expect(rep.loss).toBeCloseTo(side.extra.test_loss, 5);
    expect(rep.n).toBe(4);
    expect(rep.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(4);
    expect(rep.confusion.length).toBe(10);
    const t = xt("eval", "vit", "--checkpoint", ck, "--data-dir", FIX, "--no-color");
    expect(t.code).toBe(0);
    expect(t.stdout).toContain("test accuracy");
    expect(t.stdout).toContain("true \\ predicted");
    const rows = t.stdout.split("\n").filter((l) => /^\d (airplane|automobile|bird|cat|deer|dog|frog|horse|ship|truck)/.test(l));
    expect(rows.length).toBe(10);
    expect(new Set(rows.map((l) => l.length)).size).toBe(1); // aligned
  });
});

describe("xt cost vit", () => {
  test("--json: the notebook model's totals and the four doublings", () => {
    const r = xt("cost", "vit", "--json");
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c.total.params).toBe(820_874);
    expect(c.scaling.map((s: { change: string }) => s.change)).toEqual(["hidden size", "image size", "patch size", "layers"]);
  });
  test("table for a given config", () => {
    const r = xt("cost", "vit", "--img-size", "28", "--patch-size", "4", "--in-channels", "1", "--no-color");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("T = (28/4)² = 49 tokens");
    expect(r.stdout).toContain("attention scores");
    expect(r.stdout).toContain("Inline Question 3");
  });
  const SMALL = ["--img-size", "12", "--patch-size", "4", "--in-channels", "1", "--embed-dim", "8", "--layers", "1", "--heads", "2", "--ffn-dim", "8",
    "--measure", "--warmup", "1", "--repeats", "3", "--batch-size", "2"];
  test("--measure --json: measured times and ratios beside the predictions, for the base and each buildable doubling", () => {
    const r = xt("cost", "vit", ...SMALL, "--json");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const c = JSON.parse(r.stdout);
    expect(c.measured).toMatchObject({ batchSize: 2, warmup: 1, repeats: 3, skipped: ["patch size"] });
    expect(Object.keys(c.measured.base).sort()).toEqual(["attentionMs", "attentionTimes", "change", "stepMs", "stepTimes", "tokens"]);
    expect(c.measured.variants.map((v: { change: string }) => v.change)).toEqual(["hidden size", "image size", "layers"]);
    for (const v of c.measured.variants) {
      expect(v.stepTimes.length).toBe(3);
      expect(v.measured.step).toBeCloseTo(v.stepMs / c.measured.base.stepMs, 12);
      expect(v.predicted.step).toBe(c.scaling.find((s: { change: string }) => s.change === v.change).ratio.forwardFlops);
    }
  });
  test("--measure table: a measured column beside each predicted one; the progress on stderr", () => {
    const r = xt("cost", "vit", ...SMALL, "--no-color");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Measured (2 random images a step, 1 warm-up steps, median of 3;");
    expect(r.stdout).toMatch(/change +new +step predicted +step measured +step time +self-attn predicted +self-attn measured +self-attn time/);
    expect(r.stdout).toMatch(/^layers +layers 2 +×[\d.]+ +×[\d.]+ +[\d.]+ ms +×2 +×[\d.]+ +[\d.]+ ms$/m);
    expect(r.stdout).toContain("not measured (the image size is then not divisible by the patch size): patch size");
    expect(r.stderr).toContain("measuring: round 3/3");
  });
  test("the measuring flags need --measure", () => {
    const r = xt("cost", "vit", "--repeats", "3");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--repeats needs --measure");
  });
});

describe("bad input: a clear message and a non-zero exit", () => {
  const idxDir = (name: string, images: Uint8Array | null, labels: Uint8Array | null): string => {
    const d = join(TMP, name);
    mkdirSync(d, { recursive: true });
    if (images) writeFileSync(join(d, "train-images-idx3-ubyte"), images);
    if (labels) writeFileSync(join(d, "train-labels-idx1-ubyte"), labels);
    return d;
  };
  const header = (magic: number[], dims: number[]): Uint8Array => {
    const b = new Uint8Array(4 + 4 * dims.length);
    b.set(magic);
    const v = new DataView(b.buffer);
    dims.forEach((x, i) => v.setUint32(4 + 4 * i, x, false));
    return b;
  };
  const cat = (...parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  };
  const labels = cat(header([0, 0, 8, 1], [2]), new Uint8Array([1, 2]));
  const images = cat(header([0, 0, 8, 3], [2, 28, 28]), new Uint8Array(2 * 784));

  const cases: [string, () => string[], RegExp, number?][] = [
    ["missing data folder", () => ["train", "vit", "--dataset", "mnist", "--data-dir", join(TMP, "nope")], /nope: data folder not found/],
    ["missing file", () => ["overfit", "vit", "--dataset", "mnist", "--data-dir", idxDir("nolabels", images, null)], /train-labels-idx1-ubyte\.gz: file not found/],
    ["wrong IDX magic", () => ["overfit", "vit", "--dataset", "mnist", "--data-dir", idxDir("magic", cat(header([0, 0, 8, 1], [2]), new Uint8Array(2)), labels)], /wrong magic number 0x00000801/],
    ["gzip with a wrong IDX magic", () => ["overfit", "vit", "--dataset", "fashion-mnist", "--data-dir", (() => {
      const d = join(TMP, "gzmagic");
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "train-images-idx3-ubyte.gz"), gzipSync(cat(new Uint8Array([0x12, 0x34, 0x56, 0x78]), new Uint8Array(100))));
      writeFileSync(join(d, "train-labels-idx1-ubyte.gz"), gzipSync(labels));
      return d;
    })()], /wrong magic number 0x12345678/],
    ["truncated file", () => ["overfit", "vit", "--dataset", "mnist", "--data-dir", idxDir("trunc", images.subarray(0, 500), labels)], /truncated IDX file/],
    ["image size not divisible by the patch size", () => ["train", "vit", "--dataset", "mnist", "--data-dir", FIX, "--patch-size", "5"], /image size 28 is not divisible by patch size 5/, 2],
    ["--img-size that does not divide", () => ["cost", "vit", "--img-size", "30"], /image size 30 is not divisible by patch size 8/, 2],
    ["--img-size that does not match the data", () => ["overfit", "vit", "--img-size", "32", "--patch-size", "8"], /--img-size 32 does not match/, 2],
    ["non-numeric --lr", () => ["train", "vit", "--lr", "fast"], /--lr: expected a number, got 'fast'/, 2],
    ["non-numeric --epochs", () => ["train", "vit", "--epochs", "2x"], /--epochs: expected a number, got '2x'/, 2],
    ["fractional --batch-size", () => ["train", "vit", "--batch-size", "6.5"], /--batch-size: expected a whole number/, 2],
    ["non-numeric --patch-size", () => ["cost", "vit", "--patch-size", "eight"], /--patch-size: expected a number/, 2],
    ["--dropout out of range", () => ["overfit", "vit", "--dropout", "1.5"], /--dropout: 1.5 is out of range/, 2],
    ["heads that do not divide D", () => ["cost", "vit", "--embed-dim", "30", "--heads", "4"], /--embed-dim 30 is not divisible by --num-heads 4/, 2],
    ["unknown data set", () => ["train", "vit", "--dataset", "imagenet"], /unknown data set 'imagenet'/, 2],
    ["missing checkpoint", () => ["eval", "vit", "--checkpoint", join(TMP, "none.safetensors")], /none\.safetensors: checkpoint file not found/],
    ["eval without --checkpoint", () => ["eval", "vit"], /--checkpoint FILE is required/, 2],
  ];
  for (const [what, args, msg, code] of cases) {
    test(what, () => {
      const r = xt(...args());
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toMatch(new RegExp(`(^|\\n)xt: .*${msg.source}`));
      expect(r.stderr).not.toContain("    at "); // no stack trace
      if (code !== undefined) expect(r.code).toBe(code);
      else expect(r.code).not.toBe(0);
    });
  }
});
