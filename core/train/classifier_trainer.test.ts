/**
 * `train vit` resumed from its last checkpoint equals the uninterrupted run, bit for bit: step
 * losses, results, last and best weights; stopped inside an epoch, after an epoch's last step
 * (before its test pass) and after a whole epoch, and stopped twice.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { writeFileSync } from "node:fs";
import { loadImageDataset } from "../data/image_dataset.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { manualSeed } from "../random/index.ts";
import type { TrainEvent } from "./events.ts";
import { runFilesFor } from "./run_files.ts";
import { NOTEBOOK_VIT, type VitModelConfig } from "./vit_config.ts";
import { prepareVitResume, resumeVit, trainVit, type TrainVitOptions } from "./vit_trainer.ts";

const REPO = resolve(import.meta.dir, "../..");
const FIX = join(REPO, "fixtures/datasets");
const TMP = mkdtempSync(join(tmpdir(), "xt-classifier-test-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const train = loadImageDataset("cifar10", "train", FIX); // 15 images: 4 steps of batch 4 per epoch
const testSet = loadImageDataset("cifar10", "test", FIX);
const MODEL: VitModelConfig = {
  imgSize: 32, patchSize: 8, inChannels: 3, embedDim: 16, numLayers: 1, numHeads: 2, dimFeedforward: 16, numClasses: 10, dropout: 0.2,
};

function options(name: string, events: TrainEvent[], signal?: AbortSignal): TrainVitOptions {
  return {
    train, test: testSet, datasetName: "cifar10", classes: train.classes, model: MODEL, lr: 2e-3, weightDecay: 1e-4,
    batchSize: 4, epochs: 3, seed: 7, files: runFilesFor(join(TMP, name, "last")), sink: (e) => events.push(e), signal,
  };
}

const stepLosses = (ev: TrainEvent[]): [number, number][] => ev.flatMap((e) => (e.type === "step" ? [[e.step, e.loss] as [number, number]] : []));
const weights = (path: string): Record<string, number[]> =>
  Object.fromEntries([...loadCheckpoint(path).weights].map(([k, t]) => [k, [...(t.data() as Float32Array)]]));
const results = (path: string): Record<string, unknown> => {
  const { epoch_seconds: _s, ...rest } = JSON.parse(readFileSync(path, "utf8"));
  return rest;
};

/** Runs to `stopAt` (a step number, or "epoch N": after epoch N's test pass), then resumes until done. */
async function interruptedRun(name: string, stops: (number | string)[]): Promise<TrainEvent[]> {
  const all: TrainEvent[] = [];
  const stopper = (at: number | string) => {
    const ac = new AbortController();
    const sinkEvents: TrainEvent[] = [];
    const sink = (e: TrainEvent): void => {
      sinkEvents.push(e);
      if ((e.type === "step" && e.step === at) || (e.type === "epoch" && `epoch ${e.epoch}` === at)) ac.abort();
    };
    return { ac, sinkEvents, sink };
  };
  const first = stopper(stops[0]!);
  const o = options(name, first.sinkEvents, first.ac.signal);
  const r = await trainVit({ ...o, sink: first.sink });
  expect(r.interrupted).toBe(true);
  all.push(...first.sinkEvents);
  for (let i = 1; i <= stops.length; i++) {
    manualSeed(12345); // disturb the global generator: the checkpoint must restore it
    const s = i < stops.length ? stopper(stops[i]!) : undefined;
    const ck = loadCheckpoint(join(TMP, name), { training: true, prefer: "last" });
    const events: TrainEvent[] = [];
    const rr = await resumeVit({
      resume: prepareVitResume(ck, {}, FIX), files: runFilesFor(ck.paths.stem),
      sink: s ? s.sink : (e) => events.push(e), signal: s?.ac.signal,
    });
    expect(rr.interrupted).toBe(i < stops.length);
    all.push(...(s ? s.sinkEvents : events));
  }
  return all;
}

describe("train vit --resume equals the uninterrupted run", async () => {
  const full: TrainEvent[] = [];
  await trainVit(options("full", full));
  const want = stepLosses(full);

  test("the uninterrupted run: 12 steps, 3 epochs, last and best checkpoints", () => {
    expect(want.length).toBe(12);
    expect(existsSync(join(TMP, "full", "last.optim.safetensors"))).toBe(true);
    expect(existsSync(join(TMP, "full", "best.safetensors"))).toBe(true);
    expect(existsSync(join(TMP, "full", "best.optim.safetensors"))).toBe(false);
  });

  for (const [what, stops] of [
    ["stopped inside epoch 2 (step 6)", [6]],
    ["stopped after epoch 1's last step, before its test pass (step 4)", [4]],
    ["stopped after epoch 1's test pass", ["epoch 1"]],
    ["stopped twice (steps 2 and 9)", [2, 9]],
  ] as [string, (number | string)[]][]) {
    test(what, async () => {
      const name = what.replace(/[^a-z0-9]+/gi, "-");
      const got = await interruptedRun(name, stops);
      expect(stepLosses(got)).toEqual(want);
      expect(results(join(TMP, name, "results.json"))).toEqual(results(join(TMP, "full", "results.json")));
      expect(weights(join(TMP, name, "last"))).toEqual(weights(join(TMP, "full", "last")));
      expect(weights(join(TMP, name, "best"))).toEqual(weights(join(TMP, "full", "best")));
      const epochs = (ev: TrainEvent[]) => ev.filter((e) => e.type === "epoch").map((e) => ({ ...e, elapsedMs: 0 }));
      expect(epochs(got)).toEqual(epochs(full));
      const end = got[got.length - 1]!;
      expect(end).toMatchObject({ type: "end", steps: 12, checkpoint: join(TMP, name, "last.safetensors") });
      expect((end as { interrupted?: boolean }).interrupted).toBeUndefined();
    }, 30_000);
  }

  test("the interrupted state keeps the epoch's shuffle order in the state file, the sidecar stays small", async () => {
    const ac = new AbortController();
    await trainVit({ ...options("order", []), sink: (e) => e.type === "step" && e.step === 2 && ac.abort(), signal: ac.signal });
    const ck = loadCheckpoint(join(TMP, "order"), { training: true, prefer: "last" });
    expect(ck.meta.step).toBe(2);
    expect(ck.meta.extra!.interrupted).toBe(true);
    expect(ck.training!.arrays.epoch_order!.data.length).toBe(15);
    expect(statSync(ck.paths.sidecar).size).toBeLessThan(5000);
  });

  test("a best-model checkpoint, another kind or the first format cannot be resumed, with a clear message", () => {
    const best = loadCheckpoint(join(TMP, "full", "best"), { training: true });
    expect(() => prepareVitResume(best, {}, FIX)).toThrow(/best\.json: has no training state to resume from \(a best-model checkpoint\)/);
    const old = join(TMP, "format1");
    for (const f of ["vit.json", "vit.safetensors"]) {
      const gz = readFileSync(join(REPO, "fixtures/checkpoints/format1", `${f}.gz`));
      writeFileSync(`${old}-${f}`, gunzipSync(gz));
    }
    const ck = loadCheckpoint(`${old}-vit`, { training: true });
    expect(() => prepareVitResume(ck, {}, FIX)).toThrow(/has no torch generator state; it cannot be resumed bit for bit/);
  });

  test("flags that would change the run are refused", () => {
    const ck = loadCheckpoint(join(TMP, "full"), { training: true, prefer: "last" });
    expect(() => prepareVitResume(ck, { lr: 1e-3 }, FIX)).toThrow(/--lr is 0.002 in .*; it cannot change \(to 0.001\)/);
    expect(() => prepareVitResume(ck, { model: { embedDim: 32 } }, FIX)).toThrow(/--embed-dim is 16/);
    expect(() => prepareVitResume(ck, { dataset: "mnist" }, FIX)).toThrow(/--dataset is "cifar10"/);
    expect(prepareVitResume(ck, { lr: 2e-3, seed: 7 }, FIX).run.epochs).toBe(3);
  });

  test("--epochs extends a finished run; fewer than done is refused", async () => {
    const ck = loadCheckpoint(join(TMP, "full"), { training: true, prefer: "last" });
    await expect(resumeVit({ resume: prepareVitResume(ck, {}, FIX), epochs: 2, sink: () => {} })).rejects.toThrow(/--epochs 2: .* has already done 3 epochs/);
  });
});

test("the notebook-size ViT: its sidecar is small, the moments live in the state file", async () => {
  const cfg = { ...NOTEBOOK_VIT, dropout: 0 };
  const ac = new AbortController();
  const dir = join(TMP, "notebook");
  await trainVit({
    train, test: testSet, datasetName: "cifar10", classes: train.classes, model: cfg, lr: 7e-4, weightDecay: 0, batchSize: 8,
    epochs: 10, seed: 231, files: runFilesFor(join(dir, "last")), sink: (e) => e.type === "step" && e.step === 3 && ac.abort(), signal: ac.signal,
  });
  const side = statSync(join(dir, "last.json")).size;
  const state = statSync(join(dir, "last.optim.safetensors")).size;
  expect(side).toBeLessThan(20_000);
  expect(state).toBeGreaterThan(2 * 4 * 820_874); // two float32 moments per parameter
}, 30_000);
