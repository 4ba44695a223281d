/**
 * xt's ViT training reproduces PyTorch 1.13 step for step (fixtures/vit/parity.json, written by
 * fixtures/gen/gen_vit_fixtures.py with the same code as the hyper-parameter sweep): initial
 * weights, dropout masks, the DataLoader's shuffles and base-seed draws, Adam with weight decay.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadImageDataset } from "../core/data/image_dataset.ts";
import type { TrainEvent } from "../core/train/events.ts";
import { loadEmbeddedFirst64 } from "../core/train/vit_data.ts";
import { overfitVit, trainVit } from "../core/train/vit_trainer.ts";
import type { VitModelConfig } from "../core/train/vit_config.ts";

const ROOT = join(import.meta.dir, "..");
const P = JSON.parse(readFileSync(join(ROOT, "fixtures/vit/parity.json"), "utf8"));

function cfg(a: Record<string, number>, img: number, c: number): VitModelConfig {
  return {
    imgSize: img, patchSize: a.patch!, inChannels: c, embedDim: a.dim!, numLayers: a.layers!, numHeads: a.heads!,
    dimFeedforward: a.ffn!, numClasses: 10, dropout: a.dropout!,
  };
}

const close = (got: number, want: number, tol: number): void => {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));
};

describe("ViT training matches PyTorch", () => {
  test("train vit: 2 epochs on the CIFAR-10 fixture, dropout 0.1, batch 4", async () => {
    const a = P.train.args;
    const dir = join(ROOT, "fixtures/datasets");
    const train = loadImageDataset("cifar10", "train", dir);
    const testSet = loadImageDataset("cifar10", "test", dir);
    const events: TrainEvent[] = [];
    const r = await trainVit({
      train, test: testSet, datasetName: "cifar10", classes: train.classes, model: cfg(a, 32, 3), lr: a.lr, weightDecay: a.wd,
      batchSize: a.batch, epochs: a.epochs, seed: a.seed, sink: (e) => events.push(e),
    });
    const steps = events.filter((e) => e.type === "step");
    expect(steps.length).toBe(P.train.steps.length);
    P.train.steps.forEach((s: { loss: number; correct: number; n: number }, i: number) => {
      const e = steps[i]!;
      if (e.type !== "step") throw new Error("unreachable");
      close(e.loss, s.loss, 2e-5);
      expect(e.accuracy! * e.examples).toBeCloseTo(s.correct, 6);
      expect(e.examples).toBe(s.n);
    });
    for (const k of ["train_loss", "train_acc@1", "test_loss", "test_acc@1"] as const) {
      r.results[k].forEach((v, i) => close(v, P.train.results[k][i], 2e-5));
    }
    close(r.results.best_test_acc, P.train.results.best_test_acc, 1e-9);
    const end = events[events.length - 1]!;
    expect(end.type === "end" && end.best_test_acc).toBe(P.train.results.best_test_acc);
  });

  test("overfit vit: 8 steps on the embedded Fashion-MNIST images", async () => {
    const a = P.overfit.args;
    const data = await loadEmbeddedFirst64();
    const r = await overfitVit({
      data, dataset: "embedded", model: cfg(a, 28, 1), lr: a.lr, weightDecay: a.wd, steps: a.steps, seed: a.seed, sink: () => {},
    });
    expect(r.history.length).toBe(P.overfit.history.length);
    P.overfit.history.forEach((h: { loss: number; top1: number }, i: number) => {
      close(r.history[i]!.loss, h.loss, 2e-5);
      expect(r.history[i]!.accuracy).toBeCloseTo(h.top1, 6);
    });
  });
});
