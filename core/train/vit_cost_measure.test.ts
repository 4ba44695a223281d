/** `cost vit --measure`'s engine: what it times and how the ratios are formed (no claim about speed). */
import { expect, test } from "bun:test";
import { NOTEBOOK_VIT, type VitModelConfig } from "./vit_config.ts";
import { vitScaling } from "./vit_cost.ts";
import { measureVitScaling, median } from "./vit_cost_measure.ts";

test("median of odd and even counts", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
});

test("base and every buildable doubling measured in rounds; ratios are medians over the base's; predictions from the FLOP model", () => {
  // 12/4: doubling the patch to 8 does not divide 12, so that doubling is skipped.
  const cfg: VitModelConfig = { ...NOTEBOOK_VIT, imgSize: 12, patchSize: 4, inChannels: 1, embedDim: 8, numLayers: 1, numHeads: 2, dimFeedforward: 8, numClasses: 3 };
  const labels: string[] = [];
  const m = measureVitScaling(cfg, { batchSize: 2, warmup: 1, repeats: 3, onConfig: (l) => labels.push(l) });
  expect(labels).toEqual(["warm-up base", "warm-up hidden size", "warm-up image size", "warm-up layers", "round 1/3", "round 2/3", "round 3/3"]);
  expect(m.skipped).toEqual(["patch size"]);
  expect(m.variants.map((v) => v.change)).toEqual(["hidden size", "image size", "layers"]);
  expect(m.base.tokens).toBe(9);
  expect(m.variants.map((v) => v.tokens)).toEqual([9, 36, 9]);
  const scaling = vitScaling(cfg).filter((s) => s.buildable);
  for (const [i, v] of m.variants.entries()) {
    expect(v.stepTimes.length).toBe(3);
    expect(v.attentionTimes.length).toBe(3);
    expect(v.stepMs).toBe(median(v.stepTimes));
    expect(v.measured.step).toBe(v.stepMs / m.base.stepMs);
    expect(v.measured.attention).toBe(v.attentionMs / m.base.attentionMs);
    expect(v.predicted.step).toBe(scaling[i]!.ratio.forwardFlops);
    expect(v.predicted.attention).toBe(scaling[i]!.ratio.selfAttentionAllLayers);
    expect(v.stepMs).toBeGreaterThan(0);
  }
  expect(m.variants[2]!.config.numLayers).toBe(2);
});
