/** The attention measures on hand-made weights. */
import { expect, test } from "bun:test";
import { manualSeed } from "../random/index.ts";
import { randn } from "../ops/creation.ts";
import { VisionTransformer } from "../models/vision_transformer.ts";
import { attentionStats, gridDistance, queryKeyGradNorm, tokenDistance } from "./attention_measures.ts";

test("uniform rows: entropy ln T, row max 1/T; one-hot rows: entropy 0, max 1; distances weighted by the weights", () => {
  const T = 4;
  // (N 1, H 2, S 4, T 4): head 0 uniform, head 1 each query on itself.
  const w = new Float32Array(2 * T * T);
  for (let s = 0; s < T; s++) for (let t = 0; t < T; t++) {
    w[s * T + t] = 1 / T;
    w[T * T + s * T + t] = s === t ? 1 : 0;
  }
  const [b] = attentionStats([{ module: "m", shape: [1, 2, T, T], weights: w }], tokenDistance);
  expect(b!.entropy).toBeCloseTo(Math.log(T) / 2, 6); // mean over the two heads
  expect(b!.rowMax).toBeCloseTo((1 / T + 1) / 2, 6);
  expect(b!.largest).toBe(1);
  // Head 0: mean over s of Σ_t |s − t| / 4 = (6 + 4 + 4 + 6) / 16; head 1: 0.
  expect(b!.headDistance[0]).toBeCloseTo(20 / 16, 6);
  expect(b!.headDistance[1]).toBe(0);
});

test("rows left out by keepRow do not count", () => {
  const w = Float32Array.from([1, 0, 0.5, 0.5]); // (1, 1, 2, 2)
  const [all] = attentionStats([{ module: "m", shape: [1, 1, 2, 2], weights: w }], tokenDistance);
  const [second] = attentionStats([{ module: "m", shape: [1, 1, 2, 2], weights: w }], tokenDistance, (_n, s) => s === 1);
  expect(all!.entropy).toBeCloseTo(Math.log(2) / 2, 6);
  expect(second!.entropy).toBeCloseTo(Math.log(2), 6);
  expect(second!.headDistance[0]).toBeCloseTo(0.5, 6);
});

test("grid distance is Euclidean between patch positions, numbered row by row", () => {
  const d = gridDistance(4);
  expect(d(0, 0)).toBe(0);
  expect(d(0, 3)).toBe(3);
  expect(d(0, 5)).toBeCloseTo(Math.SQRT2, 12);
  expect(d(15, 0)).toBeCloseTo(Math.hypot(3, 3), 12);
});

test("the query/key gradient norm sums the query and key weights' squared gradients of every block", () => {
  manualSeed(0);
  const m = new VisionTransformer(8, 4, 1, 8, 2, 2, 16, 3, 0);
  expect(queryKeyGradNorm(m)).toBe(0); // no backward yet
  m.forward(randn([2, 1, 8, 8])).sum().backward();
  let sq = 0;
  for (const l of m.transformer.layers.items) for (const w of [l.selfAttn.query.weight, l.selfAttn.key.weight]) for (const g of w.grad!.toArray()) sq += g * g;
  expect(queryKeyGradNorm(m)).toBeCloseTo(Math.sqrt(sq), 10);
  expect(sq).toBeGreaterThan(0);
});
