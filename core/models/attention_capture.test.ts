/** Reading attention weights changes nothing, and the weights are what the layers used. */
import { expect, test } from "bun:test";
import { noGrad } from "../autograd.ts";
import { fromArray } from "../ops/creation.ts";
import { defaultGenerator, manualSeed } from "../random/index.ts";
import { captureAttention } from "./attention_capture.ts";
import { CaptioningTransformer } from "./captioning_transformer.ts";
import { MultiHeadAttention } from "./multi_head_attention.ts";
import { VisionTransformer } from "./vision_transformer.ts";

function tinyVit(): VisionTransformer {
  manualSeed(5);
  return new VisionTransformer(8, 4, 1, 8, 2, 2, 16, 3, 0.1).eval();
}

const image = (): Float32Array => Float32Array.from({ length: 64 }, (_, i) => ((i * 37) % 64) / 64);

test("ViT: the outputs and the random state are the same with and without capturing", () => {
  const net = tinyVit();
  const x = fromArray(image(), [1, 1, 8, 8]);
  manualSeed(9);
  const plain = noGrad(() => net.forward(x)).data();
  const after = JSON.stringify(defaultGenerator.getState());
  manualSeed(9);
  const { result, attention } = noGrad(() => captureAttention(net, () => net.forward(x).data()));
  expect(Array.from(result)).toEqual(Array.from(plain));
  expect(JSON.stringify(defaultGenerator.getState())).toBe(after);
  // One capture per encoder layer, (N, H, T, T) with T = (8/4)² = 4 patches, rows summing to 1.
  expect(attention.map((a) => a.module)).toEqual(["transformer.layers.0.self_attn", "transformer.layers.1.self_attn"]);
  for (const a of attention) {
    expect(a.shape).toEqual([1, 2, 4, 4]);
    for (let r = 0; r < 8; r++) {
      const row = a.weights.subarray(r * 4, r * 4 + 4);
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    }
  }
  // The recorders are gone afterwards.
  for (const [, m] of net.namedModules()) if (m instanceof MultiHeadAttention) expect(m.onWeights).toBeNull();
});

test("capturing refuses a model in training mode (dropout would change the weights) and leaves no recorder behind on errors", () => {
  const net = tinyVit().train();
  expect(() => captureAttention(net, () => 0)).toThrow(/eval mode/);
  net.eval();
  expect(() => captureAttention(net, () => { throw new Error("boom"); })).toThrow("boom");
  for (const [, m] of net.namedModules()) if (m instanceof MultiHeadAttention) expect(m.onWeights).toBeNull();
});

test("captioning: the decoder's self-attention is causal, its cross-attention has one key (the image)", () => {
  manualSeed(1);
  const vocab = { "<NULL>": 0, "<START>": 1, "<END>": 2, a: 3, b: 4 };
  const model = new CaptioningTransformer(vocab, 6, 8, 2, 1, 10).eval();
  const features = fromArray(Float32Array.from({ length: 6 }, (_, i) => i / 6), [1, 6]);
  const captions = fromArray([1, 3, 4, 3], [1, 4], "int32");
  const { attention } = noGrad(() => captureAttention(model, () => model.forward(features, captions)));
  expect(attention.map((a) => a.module)).toEqual(["transformer.layers.0.self_attn", "transformer.layers.0.cross_attn"]);
  const [self, cross] = attention;
  expect(self!.shape).toEqual([1, 2, 4, 4]);
  for (let h = 0; h < 2; h++) for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) expect(self!.weights[h * 16 + i * 4 + j]).toBe(0);
  expect(cross!.shape).toEqual([1, 2, 4, 1]);
  expect(Array.from(cross!.weights)).toEqual(new Array(8).fill(1));
});
