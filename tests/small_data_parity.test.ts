/**
 * The small-data techniques train exactly as PyTorch does (fixtures/cnn/train_parity.json, from
 * fixtures/gen/gen_cnn.py with fixtures/gen/vit_torch_train.py): train vit with --augment
 * crop,flip and --label-smoothing, the hybrid ViT (--conv-stem), and train cnn plain and augmented,
 * on the CIFAR-10 fixture and on the 64 embedded Fashion-MNIST images. Every step's loss within
 * 1e-5 (relative) and its correct count, and the results dict: the initial weights, the loader's
 * shuffles, the augmentation's crops and flips, the dropout masks and the test loader's draws all
 * come in PyTorch's order.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultCropPadding, parseAugmentList } from "../core/data/augment.ts";
import { takeFirst } from "../core/data/dataloader.ts";
import { loadImageDataset, type ImageDataset } from "../core/data/image_dataset.ts";
import type { TrainClassifierResult } from "../core/train/classifier_trainer.ts";
import { trainCnn } from "../core/train/cnn_trainer.ts";
import type { TrainEvent } from "../core/train/events.ts";
import { loadEmbeddedFirst64 } from "../core/train/vit_data.ts";
import { trainVit } from "../core/train/vit_trainer.ts";

interface Run {
  data: "cifar" | "fmnist";
  args: {
    model: "vit" | "cnn"; channels: string; patch: number; dim: number; layers: number; heads: number; ffn: number; dropout: number;
    lr: number; wd: number; batch: number; epochs: number; seed: number; augment: string; crop_padding: number;
    label_smoothing: number; conv_stem: number;
  };
  steps: { loss: number; correct: number; n: number }[];
  results: Record<"train_loss" | "train_acc@1" | "test_loss" | "test_acc@1", number[]> & { best_test_acc: number };
}
const ROOT = join(import.meta.dir, "..");
const P = JSON.parse(readFileSync(join(ROOT, "fixtures/cnn/train_parity.json"), "utf8")) as { runs: Record<string, Run> };

const close = (got: number, want: number, tol: number): void => {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));
};

async function data(kind: Run["data"]): Promise<{ train: ImageDataset; test: ImageDataset; name: string }> {
  if (kind === "cifar") {
    const dir = join(ROOT, "fixtures/datasets");
    return { train: loadImageDataset("cifar10", "train", dir), test: loadImageDataset("cifar10", "test", dir), name: "cifar10" };
  }
  const fm = await loadEmbeddedFirst64();
  return { train: fm, test: takeFirst(fm, 16), name: "fashion-mnist" };
}

describe("small-data training matches PyTorch step for step", () => {
  for (const [name, run] of Object.entries(P.runs)) {
    test(name, async () => {
      const a = run.args;
      const { train, test: testSet, name: dataset } = await data(run.data);
      const size = train.height;
      const aug = a.augment ? parseAugmentList(a.augment) : { crop: false, flip: false };
      const common = {
        train, test: testSet, datasetName: dataset, classes: train.classes, lr: a.lr, weightDecay: a.wd, batchSize: a.batch,
        epochs: a.epochs, seed: a.seed, labelSmoothing: a.label_smoothing,
        augment: { ...aug, cropPadding: a.crop_padding >= 0 ? a.crop_padding : defaultCropPadding(size) },
      };
      const events: TrainEvent[] = [];
      const sink = (e: TrainEvent): void => void events.push(e);
      let r: TrainClassifierResult;
      if (a.model === "cnn") {
        const [c1, c2] = a.channels.split(",").map(Number) as [number, number];
        r = await trainCnn({ ...common, sink, model: { imgSize: size, inChannels: train.channels, channels1: c1, channels2: c2, numClasses: 10 } });
      } else {
        r = await trainVit({
          ...common, sink,
          model: {
            imgSize: size, patchSize: a.patch, inChannels: train.channels, embedDim: a.dim, numLayers: a.layers, numHeads: a.heads,
            dimFeedforward: a.ffn, numClasses: 10, dropout: a.dropout, stemChannels: a.conv_stem,
          },
        });
      }
      const steps = events.filter((e) => e.type === "step");
      expect(steps.length).toBe(run.steps.length);
      run.steps.forEach((s, i) => {
        const e = steps[i]!;
        if (e.type !== "step") throw new Error("unreachable");
        close(e.loss, s.loss, 1e-5);
        expect(Math.round(e.accuracy! * e.examples)).toBe(s.correct);
        expect(e.examples).toBe(s.n);
      });
      for (const k of ["train_loss", "train_acc@1", "test_loss", "test_acc@1"] as const) {
        r.results[k].forEach((v, i) => close(v, run.results[k][i]!, 1e-5));
      }
      expect(r.results.best_test_acc).toBe(run.results.best_test_acc);
    });
  }
});
