import { describe, expect, test } from "bun:test";
import { NOTEBOOK_VIT, buildVit, resolveModelConfig, validateModelConfig, describeVit, modelConfigFrom } from "./vit_config.ts";
import { argmaxRows, evaluateClassifier } from "./vit_eval.ts";
import { manualSeed, TorchGenerator } from "../random/index.ts";

describe("argmaxRows", () => {
  test("first maximum on ties, like torch.argmax on CPU", () => {
    expect([...argmaxRows([1, 3, 3, 0, 5, 5, 5, 2, -1, -2, -3, -1], 3, 4)]).toEqual([1, 0, 0]);
  });
});

describe("evaluateClassifier", () => {
  test("loss, accuracy and confusion matrix agree with a direct computation", async () => {
    manualSeed(1);
    const cfg = { ...NOTEBOOK_VIT, imgSize: 4, patchSize: 2, inChannels: 1, embedDim: 8, numLayers: 1, numHeads: 2, dimFeedforward: 8, numClasses: 3 };
    const model = buildVit(cfg);
    const n = 7;
    const images = Float32Array.from({ length: n * 16 }, (_, i) => Math.sin(i));
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const ds = { images, labels, n, channels: 1, height: 4, width: 4 };
    const gen = new TorchGenerator({ seed: 5 });
    const r = await evaluateClassifier(model, ds, { batchSize: 3, numClasses: 3, generator: gen });
    expect(model.training).toBe(false);
    expect(r.n).toBe(7);
    expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(7);
    expect(r.confusion.map((row, i) => row.reduce((a, b) => a + b, 0))).toEqual([3, 2, 2]);
    expect(r.correct).toBe(r.confusion[0]![0]! + r.confusion[1]![1]! + r.confusion[2]![2]!);
    expect(r.accuracy).toBeCloseTo(r.correct / 7, 12);
    // Batch size does not change the result beyond rounding.
    const r1 = await evaluateClassifier(model, ds, { batchSize: 7, numClasses: 3 });
    expect(r1.confusion).toEqual(r.confusion);
    expect(r1.loss).toBeCloseTo(r.loss, 5);
    // The pass drew the DataLoader's base seed (2 MT words) from the given generator.
    const ref = new TorchGenerator({ seed: 5 });
    ref.random(); ref.random();
    expect(gen.random()).toBe(ref.random());
  });
});

describe("ViT configs", () => {
  test("the data set decides image size, channels and classes unless a flag is given", () => {
    const d = { channels: 1, height: 28, width: 28, numClasses: 10 };
    expect(resolveModelConfig(NOTEBOOK_VIT, d, {})).toMatchObject({ imgSize: 28, inChannels: 1, patchSize: 8 });
    expect(resolveModelConfig(NOTEBOOK_VIT, d, { patchSize: 7, inChannels: 3, embedDim: undefined })).toMatchObject({ imgSize: 28, inChannels: 3, patchSize: 7, embedDim: 128 });
  });
  test("validation names the flags", () => {
    expect(() => validateModelConfig({ ...NOTEBOOK_VIT, imgSize: 28 })).toThrow(/image size 28 is not divisible by patch size 8.*patch sizes that fit: 1, 2, 4, 7, 14/);
    expect(() => validateModelConfig({ ...NOTEBOOK_VIT, patchSize: 64 })).toThrow(/--patch-size 64 is larger than the image size 32/);
    expect(() => validateModelConfig({ ...NOTEBOOK_VIT, numHeads: 3 })).toThrow(/--embed-dim 128 is not divisible by --num-heads 3/);
    expect(() => validateModelConfig({ ...NOTEBOOK_VIT, numLayers: 0 })).toThrow(/--num-layers: expected a positive whole number/);
    expect(() => validateModelConfig({ ...NOTEBOOK_VIT, dropout: 1 })).toThrow(/--dropout/);
    expect(() => validateModelConfig({ ...NOTEBOOK_VIT })).not.toThrow();
  });
  test("describe and read back", () => {
    expect(describeVit(NOTEBOOK_VIT)).toBe("VisionTransformer(img 32, patch 8, C 3, D 128, layers 6, heads 4, ffn 256, classes 10, dropout 0.1)");
    expect(modelConfigFrom(JSON.parse(JSON.stringify(NOTEBOOK_VIT)), "x")).toEqual({ ...NOTEBOOK_VIT });
    expect(() => modelConfigFrom({ ...NOTEBOOK_VIT, embedDim: "big" }, "ck.json")).toThrow(/ck.json: model config has no valid 'embedDim'/);
  });
});
