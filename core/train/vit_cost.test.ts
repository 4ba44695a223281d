import { describe, expect, test } from "bun:test";
import { Linear } from "../nn/linear.ts";
import { manualSeed } from "../random/index.ts";
import { NOTEBOOK_VIT, buildVit, type VitModelConfig } from "./vit_config.ts";
import { vitCost, vitScaling } from "./vit_cost.ts";

const CONFIGS: VitModelConfig[] = [
  { ...NOTEBOOK_VIT },
  { ...NOTEBOOK_VIT, imgSize: 28, patchSize: 7, inChannels: 1 },
  { ...NOTEBOOK_VIT, imgSize: 28, patchSize: 4, inChannels: 1, embedDim: 64, numLayers: 3, numHeads: 2, dimFeedforward: 96, numClasses: 7 },
  { ...NOTEBOOK_VIT, imgSize: 16, patchSize: 16, embedDim: 12, numLayers: 1, numHeads: 3, dimFeedforward: 5, numClasses: 2 },
];

const name = (c: VitModelConfig): string => `img ${c.imgSize} patch ${c.patchSize} C ${c.inChannels} D ${c.embedDim} L ${c.numLayers} F ${c.dimFeedforward} K ${c.numClasses}`;

describe("ViT cost model", () => {
  for (const cfg of CONFIGS) {
    test(`parameter count equals the model's numParameters(): ${name(cfg)}`, () => {
      manualSeed(0);
      const m = buildVit(cfg);
      expect(vitCost(cfg).total.params).toBe(m.numParameters());
    });

    test(`matrix-product FLOPs equal 2·rows·in·out summed over the model's Linear layers plus the attention products: ${name(cfg)}`, () => {
      manualSeed(0);
      const m = buildVit(cfg);
      const T = (cfg.imgSize / cfg.patchSize) ** 2;
      let flops = 0;
      for (const [path, mod] of m.namedModules()) {
        if (!(mod instanceof Linear)) continue;
        const [out, inp] = mod.weight.shape as [number, number];
        flops += 2 * (path === "head" ? 1 : T) * inp * out; // the head sees the pooled vector
      }
      const hd = cfg.embedDim / cfg.numHeads;
      flops += cfg.numLayers * cfg.numHeads * (2 * T * T * hd) * 2; // QKᵀ and weights·V per head
      const c = vitCost(cfg);
      expect(c.total.forwardFlops).toBe(flops);
      expect(c.total.trainFlops).toBe(3 * flops);
      expect(c.layer.selfAttention.flops).toBe(c.layer.attentionProjections.flops + c.layer.attentionScores.flops);
    });
  }

  test("the notebook model's numbers", () => {
    const c = vitCost({ ...NOTEBOOK_VIT });
    expect(c.tokens).toBe(16);
    expect(c.total.params).toBe(820_874);
    expect(c.layer.attentionProjections).toEqual({ params: 66_048, flops: 2_097_152 });
    expect(c.layer.attentionScores).toEqual({ params: 0, flops: 131_072 });
    expect(c.layer.feedForward).toEqual({ params: 65_920, flops: 2_097_152 });
  });

  test("Inline Question 3: doubling D, image size, patch size, layers", () => {
    const [d, img, patch, layers] = vitScaling({ ...NOTEBOOK_VIT });
    expect(d!.ratio.attentionProjections).toBe(4);
    expect(d!.ratio.attentionScores).toBe(2);
    expect(img!.ratio.attentionProjections).toBe(4);
    expect(img!.ratio.attentionScores).toBe(16);
    expect(img!.cost.tokens).toBe(64);
    expect(patch!.ratio.attentionProjections).toBe(0.25);
    expect(patch!.ratio.attentionScores).toBe(1 / 16);
    expect(layers!.ratio.selfAttention).toBe(1);
    expect(layers!.ratio.selfAttentionAllLayers).toBe(2);
    expect(img!.ratio.params).toBe(1); // sinusoidal positions: no parameters depend on the token count
    // Self-attention as a whole sits between the two parts' ratios, weighted by their shares.
    const s = vitCost({ ...NOTEBOOK_VIT }).layer;
    expect(d!.ratio.selfAttention).toBeCloseTo((4 * s.attentionProjections.flops + 2 * s.attentionScores.flops) / s.selfAttention.flops, 12);
    expect([d, img, patch, layers].every((v) => v!.buildable)).toBe(true);
    const odd = vitScaling({ ...NOTEBOOK_VIT, imgSize: 28, patchSize: 4, inChannels: 1 });
    expect(odd[2]!.buildable).toBe(false); // 28 / 8 does not divide
  });
});
