/**
 * The figure commands as a user runs them (`bun cli/main.ts …`, in a scratch folder): `attention
 * vit`, `eval vit --out`, `attention captioning`, `plot`, and `--plot FILE.png`, on a tiny ViT
 * trained on the MNIST fixture (its run folder runs/train-vit-mnist/) and a tiny captioning model
 * overfit on the embedded coco-mini (`--save cap`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "fast-png";
import { XMLValidator } from "fast-xml-parser";

const ROOT = join(import.meta.dir, "..");
const FIX = join(ROOT, "fixtures/datasets");
const TMP = mkdtempSync(join(tmpdir(), "xt-figures-cli-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function xt(...args: string[]): { code: number; out: string; err: string } {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  delete env.XT_DATA_DIR;
  const p = Bun.spawnSync([process.execPath, join(ROOT, "cli/main.ts"), ...args], { cwd: TMP, env });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}

function expectUsageError(r: { code: number; err: string }, ...parts: (string | RegExp)[]): void {
  expect(r.code).toBe(2);
  for (const p of parts) expect(r.err).toMatch(p);
  expect(r.err).not.toMatch(/\n\s+at /);
}

const svgOk = (path: string): string => {
  const svg = readFileSync(path, "utf8");
  expect(XMLValidator.validate(svg)).toBe(true);
  return svg;
};
const pngOk = (path: string): { width: number; height: number } => {
  const img = decode(readFileSync(path));
  expect(img.width).toBeGreaterThan(200);
  expect(img.height).toBeGreaterThan(200);
  return img;
};

/** train vit's run folder; as a checkpoint it names its best model. */
const VIT_RUN = join(TMP, "runs/train-vit-mnist");
const VIT = join(VIT_RUN, "best.safetensors");
const CAP = join(TMP, "cap.safetensors");
const VIT_LOG = join(TMP, "vit-train.jsonl");

beforeAll(() => {
  const v = xt("train", "vit", "--dataset", "mnist", "--data-dir", FIX, "--embed-dim", "16", "--layers", "2", "--heads", "2", "--ffn-dim", "16",
    "--batch-size", "4", "--epochs", "2", "--json");
  if (v.code !== 0) throw new Error(`train vit failed: ${v.err}`);
  if (!existsSync(VIT)) throw new Error(`train vit wrote no ${VIT}`);
  writeFileSync(VIT_LOG, v.out);
  const c = xt("overfit", "captioning", "--wordvec-dim", "8", "--num-layers", "2", "--max-train", "10", "--batch-size", "5", "--epochs", "2",
    "--json", "--save", "cap", "--plot", join(TMP, "loss.png"));
  if (c.code !== 0) throw new Error(`overfit captioning failed: ${c.err}`);
}, 120000);

describe("attention vit", () => {
  test("--out .svg and .png: the figure names the checkpoint, the data and the classes", () => {
    const r = xt("attention", "vit", "--checkpoint", VIT_RUN, "--data-dir", FIX, "--index", "1", "--out", join(TMP, "att.svg"));
    expect(r.err).not.toContain("error");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^true: \d - \w+ · predicted: \d - \w+ \(p = 0\.\d\d\)\nFigure: /);
    const svg = svgOk(join(TMP, "att.svg"));
    expect(svg).toContain(`attention vit: ${VIT} · mnist test image 1`);
    expect(svg).toContain("layer 1");
    expect(svg).toContain("head 1");
    expect(xt("attention", "vit", "--checkpoint", VIT, "--data-dir", FIX, "--out", join(TMP, "att.png")).code).toBe(0);
    pngOk(join(TMP, "att.png"));
  });

  test("--json: per layer and head the received attention; the rollout is a distribution over the patches", () => {
    const r = xt("attention", "vit", "--checkpoint", VIT, "--data-dir", FIX, "--split", "train", "--index", "2", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ split: "train", index: 2, dataset: "mnist", grid: 4 });
    expect(j.received.length).toBe(2);
    expect(j.received[0].length).toBe(2);
    expect(j.received[0][0].length).toBe(16);
    expect(j.rollout.reduce((s: number, v: number) => s + v, 0)).toBeCloseTo(1, 6);
    expect(j.probabilities.reduce((s: number, v: number) => s + v, 0)).toBeCloseTo(1, 6);
  });

  test("without --out: the image and the rollout as blocks (shades without colour)", () => {
    const r = xt("attention", "vit", "--checkpoint", VIT, "--data-dir", FIX);
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[3]).toMatch(/^input +rollout +rollout on image$/);
    const picture = lines.slice(4, 18);
    expect(picture.every((l) => /^[ ░▒▓█]+$/.test(l))).toBe(true);
    expect(picture.join("")).toMatch(/[░▒▓█]/);
    expect(r.out).not.toContain("\x1b[");
  });

  test("bad input: a usage error naming the flag, before any work", () => {
    expectUsageError(xt("attention", "vit", "--checkpoint", VIT, "--out", join(TMP, "a.jpg")), "--out", ".svg or .png");
    expectUsageError(xt("attention", "vit", "--checkpoint", VIT, "--data-dir", FIX, "--index", "99"), /--index 99: the mnist test split has \d+ images/);
    expectUsageError(xt("attention", "vit", "--checkpoint", VIT, "--split", "val"), "--split");
    expectUsageError(xt("attention", "vit"), "--checkpoint FILE is required");
    const wrong = xt("attention", "vit", "--checkpoint", CAP);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain("not a ViT one");
  });
});

describe("eval vit --out", () => {
  test("the confusion matrix as a heat map with class names, SVG and PNG", () => {
    const r = xt("eval", "vit", "--checkpoint", VIT_RUN, "--data-dir", FIX, "--out", join(TMP, "conf.svg"));
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Figure: ${join(TMP, "conf.svg")}`);
    const svg = svgOk(join(TMP, "conf.svg"));
    expect(svg).toContain(`eval vit: ${VIT} · mnist test`);
    expect(svg).toContain(">3 - three<");
    expect(svg).toContain("predicted class");
    expect(xt("eval", "vit", "--checkpoint", VIT, "--data-dir", FIX, "--out", join(TMP, "conf.png"), "--json").code).toBe(0);
    pngOk(join(TMP, "conf.png"));
    expectUsageError(xt("eval", "vit", "--checkpoint", VIT, "--out", join(TMP, "conf.pdf")), "--out", ".svg or .png");
  });
});

describe("attention captioning", () => {
  test("the greedy caption beside the ground truth, a word × word map per layer and head", () => {
    const r = xt("attention", "captioning", "--checkpoint", "cap", "--index", "3", "--split", "train", "--out", join(TMP, "cap.svg"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^train caption 3 \(image \d+\)\n  greedy: .*\n  GT:     <START> .*<END>\nFigure: /);
    const svg = svgOk(join(TMP, "cap.svg"));
    expect(svg).toContain(`attention captioning: cap.safetensors · train caption 3`);
    expect(svg).toContain("layer 1, head 1");
    expect(svg).toContain("&lt;START&gt;");
    expect(xt("attention", "captioning", "--checkpoint", CAP, "--split", "val", "--out", join(TMP, "cap.png")).code).toBe(0);
    pngOk(join(TMP, "cap.png"));
  });

  test("--json: causal self-attention over <START> and the greedy words", () => {
    const j = JSON.parse(xt("attention", "captioning", "--checkpoint", CAP, "--index", "0", "--json").out);
    expect(j.tokens[0]).toBe("<START>");
    const T = j.tokens.length;
    expect(j.selfAttention.length).toBe(2);
    for (const layer of j.selfAttention) {
      for (const w of layer) {
        expect(w.length).toBe(T * T);
        for (let i = 0; i < T; i++) {
          expect(w.slice(i * T, i * T + i + 1).reduce((s: number, v: number) => s + v, 0)).toBeCloseTo(1, 5);
          for (let k = i + 1; k < T; k++) expect(w[i * T + k]).toBe(0);
        }
      }
    }
    expect(j.greedy.split(" ").length).toBe(T); // the last greedy word is predicted, not read
  });

  test("bad input", () => {
    expectUsageError(xt("attention", "captioning", "--checkpoint", CAP, "--index", "100000"), /--index 100000: the train split .* has \d+ captions/);
    expectUsageError(xt("attention", "captioning", "--checkpoint", CAP, "--split", "test"), "--split");
  });
});

describe("plot", () => {
  test("learning curves from an event log and a results JSON, overlaid with a legend", () => {
    const results = join(VIT_RUN, "results.json");
    expect(existsSync(results)).toBe(true);
    const r = xt("plot", VIT_LOG, results, "--out", join(TMP, "curves.svg"));
    expect(r.code).toBe(0);
    const svg = svgOk(join(TMP, "curves.svg"));
    for (const s of ["Learning curves: vit-train, train-vit-mnist", "loss per step", "accuracy per step", "loss per epoch", "accuracy per epoch", ">vit-train<", ">test<"]) {
      expect(svg).toContain(s);
    }
    expect(xt("plot", VIT_LOG, "--out", join(TMP, "curves.png")).code).toBe(0);
    pngOk(join(TMP, "curves.png"));
  });

  test("a run folder means its events.jsonl (every step); captioning's results JSON gives its loss history per step", () => {
    const r = xt("plot", "runs/train-vit-mnist", "cap.results.json", "--out", join(TMP, "folder.svg"));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const svg = svgOk(join(TMP, "folder.svg"));
    for (const s of ["Learning curves: train-vit-mnist, cap", "train-vit-mnist: train vit on mnist", "loss per step", "accuracy per step", ">cap<"]) {
      expect(svg).toContain(s);
    }
    // The same figure from the folder's event log named directly.
    expect(xt("plot", join(VIT_RUN, "events.jsonl"), "cap.results.json", "--out", join(TMP, "folder-events.svg")).code).toBe(0);
    expect(readFileSync(join(TMP, "folder-events.svg"), "utf8")).toBe(svg);
    const empty = xt("plot", FIX, "--out", join(TMP, "x.svg"));
    expect(empty.code).toBe(1);
    expect(empty.err).toContain(`${FIX}: a folder without events.jsonl or results.json (not a run folder)`);
  });

  test("an ablation's end event as grouped bars with error bars", () => {
    const variants = [
      { name: "baseline", params: {}, seeds: [1, 2], metrics: { "test_acc@1": { mean: 0.8, std: 0.02 } } },
      { name: "no dropout", params: { dropout: 0 }, seeds: [1, 2], metrics: { "test_acc@1": { mean: 0.83, std: 0.01 } } },
    ];
    const file = join(TMP, "ablation.json");
    writeFileSync(file, JSON.stringify({ type: "end", steps: 0, elapsedMs: 0, variants }));
    const r = xt("plot", file, "--out", join(TMP, "ablation.svg"));
    expect(r.code).toBe(0);
    const svg = svgOk(join(TMP, "ablation.svg"));
    expect(svg).toContain("Ablation: ablation");
    expect(svg).toContain(">no dropout<");
    expect(svg.match(/<path d="M/g)?.length).toBe(2); // two error bars
    expectUsageError(xt("plot", file, VIT_LOG, "--out", join(TMP, "x.svg")), "is an ablation and", "plot them separately");
  });

  test("usage errors: no --out, a wrong extension; a broken file names itself", () => {
    expectUsageError(xt("plot", VIT_LOG), "--out FILE.svg|FILE.png is required");
    expectUsageError(xt("plot", VIT_LOG, "--out", join(TMP, "x.gif")), ".svg or .png");
    const bad = join(TMP, "bad.jsonl");
    writeFileSync(bad, '{"type":"step","step":1,"loss":2}\n{oops\n');
    const r = xt("plot", bad, "--out", join(TMP, "x.svg"));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${bad}:2: not a JSON line`);
  });
});

describe("--plot FILE.png (captioning)", () => {
  test("writes a real PNG; other extensions are refused before training", () => {
    const img = pngOk(join(TMP, "loss.png"));
    expect({ width: img.width, height: img.height }).toEqual({ width: 720, height: 440 });
    expectUsageError(xt("overfit", "captioning", "--plot", join(TMP, "loss.jpg")), "--plot", ".svg or .png");
  });
});
