/**
 * `train cnn` on the shared classifier machinery: a run with augmentation and label smoothing,
 * stopped inside an epoch and resumed, equals the uninterrupted run bit for bit (the augmentation
 * draws come from the saved generator); the checkpoint records the model kind, the CNN's config
 * and the run's techniques, and a resume refuses flags that would change them.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadImageDataset } from "../data/image_dataset.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import { manualSeed } from "../random/index.ts";
import { prepareCnnResume, resumeCnn, trainCnn, type TrainCnnOptions } from "./cnn_trainer.ts";
import { buildCnn, cnnConfigFrom, describeCnn, parseChannels } from "./cnn_config.ts";
import type { TrainEvent } from "./events.ts";
import { runFilesFor } from "./run_files.ts";
import { prepareVitResume } from "./vit_trainer.ts";

const FIX = join(resolve(import.meta.dir, "../.."), "fixtures/datasets");
const TMP = mkdtempSync(join(tmpdir(), "xt-cnn-test-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const train = loadImageDataset("cifar10", "train", FIX);
const testSet = loadImageDataset("cifar10", "test", FIX);

function options(name: string, sink: (e: TrainEvent) => void, signal?: AbortSignal): TrainCnnOptions {
  return {
    train, test: testSet, datasetName: "cifar10", classes: train.classes, lr: 2e-3, weightDecay: 1e-4, batchSize: 4, epochs: 2,
    seed: 11, model: { imgSize: 32, inChannels: 3, channels1: 4, channels2: 6, numClasses: 10 },
    augment: { crop: true, flip: true, cropPadding: 4 }, labelSmoothing: 0.1, files: runFilesFor(join(TMP, name, "last")), sink, signal,
  };
}
const losses = (ev: TrainEvent[]): number[] => ev.flatMap((e) => (e.type === "step" ? [e.loss] : []));

describe("train cnn", async () => {
  const full: TrainEvent[] = [];
  await trainCnn(options("full", (e) => full.push(e)));

  test("the start event describes the model and the run's techniques", () => {
    const start = full[0]!;
    expect(start.type === "start" && start.command).toBe("train cnn");
    expect(start.type === "start" && start.model).toBe("SmallCNN(img 32, C 3, channels 4/6, classes 10); augment crop (padding 4) + flip; label smoothing 0.1");
  });

  test("stopped inside epoch 1 and resumed: the same losses and weights as the uninterrupted run", async () => {
    const ac = new AbortController();
    const first: TrainEvent[] = [];
    const r = await trainCnn(options("stopped", (e) => {
      first.push(e);
      if (e.type === "step" && e.step === 2) ac.abort();
    }, ac.signal));
    expect(r.interrupted).toBe(true);
    manualSeed(999); // the checkpoint must restore the generator
    const ck = loadCheckpoint(join(TMP, "stopped"), { training: true, prefer: "last" });
    const rest: TrainEvent[] = [];
    await resumeCnn({ resume: prepareCnnResume(ck, {}, FIX), files: runFilesFor(ck.paths.stem), sink: (e) => rest.push(e) });
    expect([...losses(first), ...losses(rest)]).toEqual(losses(full));
    const w = (p: string) => [...loadCheckpoint(p).weights].map(([k, t]) => [k, [...t.data()]]);
    expect(w(join(TMP, "stopped", "last"))).toEqual(w(join(TMP, "full", "last")));
  });

  test("the checkpoint records the kind, the config and the techniques; changing them on --resume is refused", () => {
    const ck = loadCheckpoint(join(TMP, "full"), { training: true, prefer: "last" });
    expect(ck.meta.kind).toBe("cnn");
    const cfg = ck.meta.config as Record<string, unknown>;
    expect(cfg.model).toEqual({ imgSize: 32, inChannels: 3, channels1: 4, channels2: 6, numClasses: 10 });
    expect(cfg.augment).toEqual({ crop: true, flip: true, cropPadding: 4 });
    expect(cfg.labelSmoothing).toBe(0.1);
    expect(() => prepareCnnResume(ck, { labelSmoothing: 0 }, FIX)).toThrow(/--label-smoothing is 0.1 .* cannot change \(to 0\)/);
    expect(() => prepareCnnResume(ck, { augment: { crop: false, flip: true } }, FIX)).toThrow(/--augment is "crop,flip"/);
    expect(() => prepareCnnResume(ck, { cropPadding: 2 }, FIX)).toThrow(/--crop-padding is 4/);
    expect(() => prepareCnnResume(ck, { model: { channels1: 8 } }, FIX)).toThrow(/--channels is 4/);
    expect(() => prepareVitResume(ck, {}, FIX)).toThrow(/is a "cnn" checkpoint, not a ViT one/);
  });
});

describe("CNN config", () => {
  test("--channels parsing, messages that name the flag", () => {
    expect(parseChannels("32,64")).toEqual([32, 64]);
    expect(parseChannels(" 8 , 16 ")).toEqual([8, 16]);
    for (const bad of ["32", "32,0", "a,b", "32,64,128", "3.5,4", ""]) expect(() => parseChannels(bad)).toThrow(/--channels: expected two positive whole numbers/);
  });
  test("building, describing and reading a config back", () => {
    const cfg = { imgSize: 28, inChannels: 1, channels1: 32, channels2: 64, numClasses: 10 };
    expect(buildCnn(cfg).numParameters()).toBe(50_186);
    expect(buildCnn({ ...cfg, imgSize: 32, inChannels: 3 }).numParameters()).toBe(60_362);
    expect(describeCnn(cfg)).toBe("SmallCNN(img 28, C 1, channels 32/64, classes 10)");
    expect(cnnConfigFrom(JSON.parse(JSON.stringify(cfg)), "x.json")).toEqual(cfg);
    expect(() => cnnConfigFrom({ ...cfg, channels2: 0 }, "x.json")).toThrow(/x\.json: model config has no valid 'channels2'/);
    expect(() => buildCnn({ ...cfg, imgSize: 3 })).toThrow(/too small for the CNN's two 2×2 poolings/);
  });
});
