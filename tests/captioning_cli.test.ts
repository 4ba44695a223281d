/** `xt overfit captioning`, `xt train captioning`, `xt sample` as a user meets them. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..");
const MAIN = join(REPO, "cli/main.ts");
const COCO_MINI = join(REPO, "fixtures/coco-mini");
const TMP = mkdtempSync(join(tmpdir(), "xt-captioning-cli-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function xt(...args: string[]): { code: number; out: string; err: string } {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  delete env.XT_DATA_DIR;
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { env, cwd: REPO });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** A small model and few iterations, so a run takes a couple of seconds. */
const TINY = ["--wordvec-dim", "8", "--num-layers", "1", "--max-train", "10", "--batch-size", "5"];

function expectCleanError(r: { code: number; err: string }, code: number, ...parts: (string | RegExp)[]): void {
  expect(r.code).toBe(code);
  for (const p of parts) expect(r.err).toMatch(p);
  expect(r.err).toStartWith("xt: ");
  expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
}

const CKPT = join(TMP, "tiny.safetensors");
let overfitLines: { type: string; [k: string]: unknown }[] = [];

beforeAll(() => {
  const r = xt("overfit", "captioning", ...TINY, "--epochs", "2", "--json", "--save", CKPT, "--plot", join(TMP, "loss.svg"));
  if (r.code !== 0) throw new Error(`overfit failed: ${r.err}`);
  overfitLines = r.out.trim().split("\n").map((l) => JSON.parse(l));
});

describe("overfit captioning", () => {
  test("--json prints start, step, epoch and end events; end carries the final loss", () => {
    expect(overfitLines.map((e) => e.type)).toEqual(["start", "step", "step", "epoch", "step", "step", "epoch", "end"]);
    const steps = overfitLines.filter((e) => e.type === "step");
    const end = overfitLines[overfitLines.length - 1]!;
    expect(typeof end.loss).toBe("number");
    expect(end.loss).toBe(steps[steps.length - 1]!.loss);
    expect(end.checkpoint).toBe(CKPT);
    expect(overfitLines[0]!.totalSteps).toBe(4);
  });

  test("--plot writes an SVG loss curve and --save a checkpoint with its sidecar", () => {
    const svg = readFileSync(join(TMP, "loss.svg"), "utf8");
    expect(svg).toStartWith("<svg");
    expect(svg).toContain("<polyline");
    expect(svg).toContain("Iteration");
    expect(existsSync(CKPT)).toBe(true);
    expect(existsSync(join(TMP, "tiny.json"))).toBe(true);
  });

  test("plain output prints progress and the final loss", () => {
    const r = xt("overfit", "captioning", ...TINY, "--epochs", "1", "--plain", "--print-every", "1");
    expect(r.code).toBe(0);
    expect(r.out).toContain("step 1/2");
    expect(r.out).toMatch(/Final training loss \(last batch\): \d+\.\d+/);
    expect(r.out).not.toContain("\x1b[");
  });

  test("--resume continues with the uninterrupted run's losses", () => {
    const resumed = join(TMP, "half.safetensors");
    expect(xt("overfit", "captioning", ...TINY, "--epochs", "1", "--save", resumed).code).toBe(0);
    const r = xt("overfit", "captioning", "--resume", resumed, "--epochs", "2", "--json");
    expect(r.code).toBe(0);
    const steps = r.out.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "step");
    const want = overfitLines.filter((e) => e.type === "step").slice(2);
    expect(steps.map((e) => [e.step, e.loss])).toEqual(want.map((e) => [e.step, e.loss]));
  });
});

test("Ctrl-C stops after the iteration, saves, exits 130; --resume then matches an uninterrupted run", async () => {
  const save = join(TMP, "interrupted.safetensors");
  const args = [...TINY, "--epochs", "30", "--json"];
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  delete env.XT_DATA_DIR;
  const proc = Bun.spawn([process.execPath, MAIN, "overfit", "captioning", ...args, "--save", save], { env, cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const reader = proc.stdout.getReader();
  let text = "";
  let signalled = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    if (!signalled && (text.match(/"type":"step"/g)?.length ?? 0) >= 3) {
      proc.kill("SIGINT");
      signalled = true;
    }
  }
  expect(await proc.exited).toBe(130);
  const events = text.trim().split("\n").map((l) => JSON.parse(l));
  const end = events[events.length - 1];
  expect(end.type).toBe("end");
  expect(end.interrupted).toBe(true);
  expect(end.checkpoint).toBe(save);
  expect(end.steps).toBeLessThan(60);
  const before = events.filter((e) => e.type === "step");
  const rest = xt("overfit", "captioning", "--resume", save, "--json");
  expect(rest.code).toBe(0);
  const after = rest.out.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "step");
  const full = xt("overfit", "captioning", ...args).out.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "step");
  expect([...before, ...after].map((e) => e.loss)).toEqual(full.map((e) => e.loss));
}, 30_000);

describe("train captioning", () => {
  test("a validation loss each epoch, last and best checkpoints", () => {
    const save = join(TMP, "train.safetensors");
    const r = xt("train", "captioning", ...TINY, "--epochs", "1", "--val-captions", "10", "--json", "--save", save);
    expect(r.code).toBe(0);
    const ev = r.out.trim().split("\n").map((l) => JSON.parse(l));
    const epoch = ev.find((e) => e.type === "epoch");
    expect(typeof epoch.valLoss).toBe("number");
    expect(existsSync(save)).toBe(true);
    expect(existsSync(join(TMP, "train.best.safetensors"))).toBe(true);
    expect(existsSync(join(TMP, "train.best.json"))).toBe(true);
  });
});

describe("sample", () => {
  test("prints the sampled caption, the ground truth and the URL for each image", () => {
    const r = xt("sample", "--checkpoint", CKPT, "--split", "train", "-n", "3");
    expect(r.code).toBe(0);
    expect(r.out.match(/sample: /g)?.length).toBe(3);
    expect(r.out.match(/GT: +<START> .* <END>/g)?.length).toBe(3);
    expect(r.out.match(/url: +http:\/\/coco-mini\.invalid\/train2014\//g)?.length).toBe(3);
  });

  test("--json gives the samples as data", () => {
    const r = xt("sample", "--checkpoint", CKPT, "--split", "val", "-n", "2", "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.split).toBe("val");
    expect(doc.samples.length).toBe(2);
    for (const s of doc.samples) {
      expect(typeof s.sampled).toBe("string");
      expect(s.groundTruth).toStartWith("<START>");
      expect(s.url).toContain("/val2014/");
    }
    // The same checkpoint draws the same images (the run's saved NumPy state) ...
    expect(JSON.parse(xt("sample", "--checkpoint", CKPT, "--split", "val", "-n", "2", "--json").out)).toEqual(doc);
    // ... and --seed draws like np.random.seed(seed).
    const seeded = JSON.parse(xt("sample", "--checkpoint", CKPT, "--split", "val", "-n", "2", "--json", "--seed", "7").out);
    expect(seeded.samples.map((s: { caption: number }) => s.caption)).not.toEqual(doc.samples.map((s: { caption: number }) => s.caption));
  });
});

describe("bad input: clear errors, non-zero exit, no stack trace", () => {
  test("a missing data folder", () => {
    expectCleanError(xt("overfit", "captioning", "--data-dir", join(TMP, "nope")), 1, "nope", /not found/);
  });

  test("a corrupt (truncated) data folder names the file", () => {
    const dir = join(TMP, "corrupt");
    cpSync(COCO_MINI, dir, { recursive: true });
    const f = join(dir, "coco2014_captions.h5");
    writeFileSync(f, readFileSync(f).subarray(0, 3000));
    expectCleanError(xt("overfit", "captioning", ...TINY, "--data-dir", dir), 1, "coco2014_captions.h5");
  });

  test("an incomplete data folder names the missing file", () => {
    const dir = join(TMP, "incomplete");
    cpSync(COCO_MINI, dir, { recursive: true });
    rmSync(join(dir, "train2014_vgg16_fc7_pca.h5"));
    expectCleanError(xt("overfit", "captioning", ...TINY, "--data-dir", dir), 1, "train2014_vgg16_fc7_pca.h5", /not found/);
  });

  test("non-numeric and out-of-range flags", () => {
    expectCleanError(xt("overfit", "captioning", "--epochs", "ten"), 2, "--epochs", "ten");
    expectCleanError(xt("overfit", "captioning", "--lr", "1e-3x"), 2, "--lr");
    expectCleanError(xt("overfit", "captioning", "--batch-size", "0"), 2, "--batch-size");
    expectCleanError(xt("train", "captioning", "--batch-size", "-5"), 2, "--batch-size");
    expectCleanError(xt("sample", "--checkpoint", CKPT, "-n", "two"), 2, "-n");
    expectCleanError(xt("sample", "--checkpoint", CKPT, "--split", "test"), 2, "--split", "train", "val");
  });

  test("a missing checkpoint or sidecar", () => {
    expectCleanError(xt("sample", "--checkpoint", join(TMP, "none.safetensors")), 1, "none.safetensors", /not found/);
    expectCleanError(xt("sample"), 2, "--checkpoint");
    const lone = join(TMP, "lone.safetensors");
    cpSync(CKPT, lone);
    expectCleanError(xt("sample", "--checkpoint", lone), 1, "lone.json", /sidecar not found/);
    expectCleanError(xt("overfit", "captioning", "--resume", lone), 1, "lone.json", /sidecar not found/);
  });

  test("a checkpoint of the wrong kind, or a corrupt one", () => {
    const vit = join(TMP, "vit.safetensors");
    cpSync(CKPT, vit);
    const meta = JSON.parse(readFileSync(join(TMP, "tiny.json"), "utf8"));
    writeFileSync(join(TMP, "vit.json"), JSON.stringify({ ...meta, kind: "vit" }));
    expectCleanError(xt("sample", "--checkpoint", vit), 1, "vit.safetensors", /not a captioning one/);
    expectCleanError(xt("overfit", "captioning", "--resume", vit), 1, /not a captioning one/);
    const bad = join(TMP, "bad.safetensors");
    writeFileSync(bad, readFileSync(CKPT).subarray(0, 100));
    writeFileSync(join(TMP, "bad.json"), JSON.stringify(meta));
    expectCleanError(xt("sample", "--checkpoint", bad), 1, "bad.safetensors");
  });

  test("resuming with a different model flag", () => {
    expectCleanError(xt("overfit", "captioning", "--resume", CKPT, "--wordvec-dim", "16"), 2, "--wordvec-dim is 8");
  });
});
