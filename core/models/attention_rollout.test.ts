/** Attention rollout (Abnar & Zuidema 2020) and received attention, against hand computations. */
import { expect, test } from "bun:test";
import { attentionRollout, meanOverHeads, pooledRollout, receivedAttention, type LayerAttention } from "./attention_rollout.ts";

const layer = (heads: number[][][]): LayerAttention => ({ heads: heads.length, tokens: heads[0]!.length, weights: Float32Array.from(heads.flat(2)) });

const close = (a: ArrayLike<number>, b: number[]) => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]!).toBeCloseTo(v, 6));
};

test("mean over heads and the attention each key receives (mean over queries)", () => {
  const l = layer([[[1, 0], [0.5, 0.5]], [[0, 1], [0.25, 0.75]]]);
  close(meanOverHeads(l), [0.5, 0.5, 0.375, 0.625]);
  close(receivedAttention(l, 0), [0.75, 0.25]);
  close(receivedAttention(l, 1), [0.125, 0.875]);
});

test("one layer: (A + I) / 2, rows renormalised", () => {
  const l = layer([[[0, 1], [1, 0]]]);
  close(attentionRollout([l]), [0.5, 0.5, 0.5, 0.5]);
});

test("two layers multiply, the later layer on the left", () => {
  const a = layer([[[1, 0], [1, 0]]]); // every token reads token 0
  const b = layer([[[0, 1], [0, 1]]]); // every token reads token 1
  // Â_a = [[1, 0], [.5, .5]], Â_b = [[.5, .5], [0, 1]]; R = Â_b · Â_a
  close(attentionRollout([a, b]), [0.75, 0.25, 0.5, 0.5]);
  close(attentionRollout([b, a]), [0.5, 0.5, 0.25, 0.75]);
  // The pooled view: column means, a distribution over the input tokens.
  const p = pooledRollout([a, b]);
  close(p, [0.625, 0.375]);
});

test("uniform attention keeps the rollout uniform-ish and rows stay distributions", () => {
  const T = 5;
  const u = layer([Array.from({ length: T }, () => new Array(T).fill(1 / T))]);
  const r = attentionRollout([u, u, u]);
  for (let i = 0; i < T; i++) {
    let s = 0;
    for (let j = 0; j < T; j++) s += r[i * T + j]!;
    expect(s).toBeCloseTo(1, 9);
  }
  expect(pooledRollout([u, u]).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 9);
});
