/**
 * The attention ablations (`xt ablate attention`): each option changes exactly what it says and
 * nothing else; the default block is the notebook's, bit for bit.
 */
import { describe, expect, test } from "bun:test";
import { noGrad } from "../autograd.ts";
import { fromArray, randn } from "../ops/creation.ts";
import { mul } from "../ops/elementwise.ts";
import { defaultGenerator, manualSeed } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";
import { captureAttention } from "./attention_capture.ts";
import { CaptioningTransformer } from "./captioning_transformer.ts";
import { MultiHeadAttention, type AttentionOptions } from "./multi_head_attention.ts";
import { VisionTransformer } from "./vision_transformer.ts";

const vit = (seed: number, attention?: AttentionOptions, heads = 4): VisionTransformer => {
  manualSeed(seed);
  return new VisionTransformer(8, 4, 1, 16, 3, heads, 32, 5, 0, 0, attention);
};

const stateOf = (m: { stateDict(): Map<string, Tensor> }): Record<string, number[]> =>
  Object.fromEntries([...m.stateDict()].map(([k, t]) => [k, t.toArray()]));

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe("parameter counts", () => {
  test("no-proj has exactly layers·(D² + D) fewer parameters than full in the ViT", () => {
    for (const [D, L] of [[16, 3], [128, 6], [24, 1]] as const) {
      manualSeed(0);
      const full = new VisionTransformer(8, 4, 1, D, L, 4, 32, 5, 0);
      manualSeed(0);
      const noProj = new VisionTransformer(8, 4, 1, D, L, 4, 32, 5, 0, 0, { outputProjection: false });
      expect(full.numParameters() - noProj.numParameters()).toBe(L * (D * D + D));
      expect([...noProj.stateDict().keys()].some((k) => k.includes("self_attn.proj"))).toBe(false);
      // Every other parameter is still there, with its shape.
      const fullShapes = new Map([...full.stateDict()].map(([k, t]) => [k, t.shape.join()]));
      for (const [k, t] of noProj.stateDict()) expect(fullShapes.get(k)).toBe(t.shape.join());
    }
  });

  test("captioning: the proj of both blocks per layer (self- and cross-attention) goes: layers·2·(D² + D)", () => {
    const words = { "<NULL>": 0, "<START>": 1, "<END>": 2, a: 3, b: 4 };
    manualSeed(0);
    const full = new CaptioningTransformer(words, 6, 8, 2, 3, 10);
    manualSeed(0);
    const noProj = new CaptioningTransformer(words, 6, 8, 2, 3, 10, { outputProjection: false });
    expect(full.numParameters() - noProj.numParameters()).toBe(3 * 2 * (8 * 8 + 8));
  });

  test("one-head and no-scale keep full's parameters and, from the same seed, its initial weights bit for bit", () => {
    const base = stateOf(vit(7));
    expect(stateOf(vit(7, undefined, 1))).toEqual(base);
    expect(stateOf(vit(7, { scaleScores: false }))).toEqual(base);
    // no-proj skips the proj's draws: same seed, other initial values (documented).
    const np = stateOf(vit(7, { outputProjection: false }));
    expect(np["patch_embed.proj.weight"]).not.toEqual(base["patch_embed.proj.weight"]);
  });
});

describe("the default is the notebook's block", () => {
  test("options {} and explicit defaults give the same weights, outputs and draws as no options", () => {
    const x = (): Tensor => { manualSeed(3); return randn([2, 1, 8, 8]); };
    const run = (a?: AttentionOptions): { out: number[]; state: Record<string, number[]>; gen: string } => {
      const m = vit(11, a);
      m.train();
      const xs = x();
      manualSeed(4);
      const out = m.forward(xs).toArray();
      return { out, state: stateOf(m), gen: JSON.stringify(defaultGenerator.getState()) };
    };
    const plain = run();
    expect(run({})).toEqual(plain);
    expect(run({ scaleScores: true, outputProjection: true })).toEqual(plain);
  });

  test("the block reports its options", () => {
    expect(new MultiHeadAttention(8, 2).options).toEqual({ scaleScores: true, outputProjection: true });
    expect(new MultiHeadAttention(8, 2, 0, { scaleScores: false, outputProjection: false }).options).toEqual({ scaleScores: false, outputProjection: false });
  });
});

describe("each ablation changes exactly what it says", () => {
  const input = (): { q: Tensor; kv: Tensor } => {
    manualSeed(21);
    return { q: randn([2, 5, 8]), kv: randn([2, 6, 8]) };
  };

  test("no-scale: the scores are not divided by √(d/h) — the same as the full block with the query Linear scaled by √(d/h)", () => {
    manualSeed(1);
    const full = new MultiHeadAttention(8, 2, 0).eval();
    manualSeed(1);
    const noScale = new MultiHeadAttention(8, 2, 0, { scaleScores: false }).eval();
    const { q, kv } = input();
    const s = Math.fround(Math.sqrt(full.headDim));
    noGrad(() => {
      // Multiplying the query projection by √(d/h) undoes the full block's division exactly.
      full.query.weight.backend.copyInto(full.query.weight, mul(full.query.weight, s).contiguous());
      full.query.bias!.backend.copyInto(full.query.bias!, mul(full.query.bias!, s).contiguous());
    });
    const want = noGrad(() => full.forward(q, kv, kv)).toArray();
    const got = noGrad(() => noScale.forward(q, kv, kv)).toArray();
    expect(maxDiff(got, want)).toBeLessThan(1e-5);
    // And with the weights as constructed, the unscaled softmax is sharper (lower entropy).
    manualSeed(1);
    const plain = new MultiHeadAttention(8, 2, 0).eval();
    const entropy = (m: MultiHeadAttention): number => {
      let w: Float32Array | null = null;
      m.onWeights = (t) => { w = Float32Array.from(t.data()); };
      noGrad(() => m.forward(q, kv, kv));
      m.onWeights = null;
      let h = 0;
      for (const p of w!) if (p > 0) h -= p * Math.log(p);
      return h;
    };
    expect(entropy(noScale)).toBeLessThan(entropy(plain));
  });

  test("no-proj: the block's output is the full block's before its output Linear", () => {
    manualSeed(2);
    const full = new MultiHeadAttention(8, 2, 0).eval();
    const noProj = new MultiHeadAttention(8, 2, 0, { outputProjection: false }).eval();
    noProj.loadStateDict(full.stateDict(), false);
    const { q, kv } = input();
    const want = noGrad(() => full.forward(q, kv, kv)).toArray();
    const got = noGrad(() => full.proj!.forward(noProj.forward(q, kv, kv))).toArray();
    expect(maxDiff(got, want)).toBeLessThan(1e-6);
    expect(noProj.proj).toBeNull();
  });

  test("one-head: the same parameters, one softmax over the full width instead of four", () => {
    const m4 = vit(9);
    const m1 = vit(9, undefined, 1);
    m4.eval();
    m1.eval();
    const x = fromArray(Float32Array.from({ length: 128 }, (_, i) => ((i * 29) % 64) / 64), [2, 1, 8, 8]);
    const a4 = noGrad(() => captureAttention(m4, () => m4.forward(x))).attention;
    const a1 = noGrad(() => captureAttention(m1, () => m1.forward(x))).attention;
    expect(a4[0]!.shape).toEqual([2, 4, 4, 4]);
    expect(a1[0]!.shape).toEqual([2, 1, 4, 4]);
  });

  test("gradients reach the query and key weights in every variant", () => {
    for (const a of [undefined, { scaleScores: false }, { outputProjection: false }] as (AttentionOptions | undefined)[]) {
      const m = vit(13, a);
      manualSeed(14);
      const x = randn([2, 1, 8, 8]);
      m.forward(x).sum().backward();
      const layer = m.transformer.layers.items[0]!.selfAttn;
      expect(layer.query.weight.grad!.toArray().some((v) => v !== 0)).toBe(true);
      expect(layer.key.weight.grad!.toArray().some((v) => v !== 0)).toBe(true);
    }
  });
});
