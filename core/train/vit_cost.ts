/**
 * Cost model of the VisionTransformer: parameters and FLOPs, per encoder layer and in total, and
 * how they move when one size doubles (the notebook's Inline Question 3).
 *
 * Notation: T = (img/patch)² tokens, D = embed dim, F = feed-forward dim, L = layers, H = heads,
 * C = channels, K = classes, p = patch·patch·C (one patch's values).
 * FLOPs count a multiply-add as 2 (the usual convention) and cover the matrix products, which
 * dominate; biases, softmax, GELU, LayerNorm, dropout and the mean over tokens are left out
 * (each is O(T·D) or O(H·T²), listed separately as `elementwise`). Per image, forward pass.
 * Training costs about 3× the forward pass (backward: one product for the input gradient and one
 * for the weight gradient per forward product).
 *
 *   patch embedding          params p·D + D              FLOPs 2·T·p·D
 *   attention projections    params 4·(D² + D)           FLOPs 8·T·D²      (Q, K, V, output)
 *   attention scores         params 0                    FLOPs 4·T²·D      (QKᵀ and weights·V, all heads)
 *   feed-forward             params 2·D·F + F + D        FLOPs 4·T·D·F
 *   layer norms (2)          params 4·D
 *   head                     params D·K + K              FLOPs 2·D·K
 */
import type { VitModelConfig } from "./vit_config.ts";

export interface CostItem {
  params: number;
  flops: number;
}

export interface VitCost {
  config: VitModelConfig;
  tokens: number;
  patchValues: number;
  patchEmbedding: CostItem;
  /** One encoder layer, by part. */
  layer: {
    attentionProjections: CostItem;
    attentionScores: CostItem;
    /** projections + scores: the self-attention sublayer. */
    selfAttention: CostItem;
    feedForward: CostItem;
    layerNorms: CostItem;
    total: CostItem;
    /** Elementwise work left out of `flops`: softmax over H·T² scores, GELU over T·F, norms over T·D. */
    elementwise: number;
  };
  head: CostItem;
  total: { params: number; forwardFlops: number; trainFlops: number };
}

export function vitCost(cfg: VitModelConfig): VitCost {
  const { embedDim: D, dimFeedforward: F, numLayers: L, numHeads: H, inChannels: C, numClasses: K } = cfg;
  const T = (cfg.imgSize / cfg.patchSize) ** 2;
  const p = cfg.patchSize * cfg.patchSize * C;
  const patchEmbedding = { params: p * D + D, flops: 2 * T * p * D };
  const attentionProjections = { params: 4 * (D * D + D), flops: 8 * T * D * D };
  const attentionScores = { params: 0, flops: 4 * T * T * D };
  const selfAttention = add(attentionProjections, attentionScores);
  const feedForward = { params: 2 * D * F + F + D, flops: 4 * T * D * F };
  const layerNorms = { params: 4 * D, flops: 0 };
  const total = add(add(selfAttention, feedForward), layerNorms);
  const head = { params: D * K + K, flops: 2 * D * K };
  const params = patchEmbedding.params + L * total.params + head.params;
  const forwardFlops = patchEmbedding.flops + L * total.flops + head.flops;
  return {
    config: { ...cfg }, tokens: T, patchValues: p, patchEmbedding,
    layer: { attentionProjections, attentionScores, selfAttention, feedForward, layerNorms, total, elementwise: H * T * T + T * F + 2 * T * D },
    head,
    total: { params, forwardFlops, trainFlops: 3 * forwardFlops },
  };
}

function add(a: CostItem, b: CostItem): CostItem {
  return { params: a.params + b.params, flops: a.flops + b.flops };
}

export type VitChange = "hidden size" | "image size" | "patch size" | "layers";

export interface VitScaling {
  change: VitChange;
  /** What doubles, in flag terms. */
  flag: string;
  config: VitModelConfig;
  cost: VitCost;
  /** False when the doubled image/patch sizes do not divide (the formulas still apply). */
  buildable: boolean;
  /** new / old. `selfAttentionAllLayers` is the question's "cost of the self-attention layers". */
  ratio: {
    attentionProjections: number;
    attentionScores: number;
    selfAttention: number;
    selfAttentionAllLayers: number;
    feedForward: number;
    forwardFlops: number;
    params: number;
  };
}

/** The four independent doublings of Inline Question 3, each against `cfg`. */
export function vitScaling(cfg: VitModelConfig): VitScaling[] {
  const base = vitCost(cfg);
  const variants: [VitChange, string, VitModelConfig][] = [
    ["hidden size", "--embed-dim", { ...cfg, embedDim: 2 * cfg.embedDim }],
    ["image size", "--img-size", { ...cfg, imgSize: 2 * cfg.imgSize }],
    ["patch size", "--patch-size", { ...cfg, patchSize: 2 * cfg.patchSize }],
    ["layers", "--num-layers", { ...cfg, numLayers: 2 * cfg.numLayers }],
  ];
  return variants.map(([change, flag, c]) => {
    const cost = vitCost(c);
    const r = (a: number, b: number): number => (b === 0 ? (a === 0 ? 1 : Infinity) : a / b);
    return {
      change, flag, config: c, cost,
      buildable: c.imgSize % c.patchSize === 0 && c.patchSize <= c.imgSize,
      ratio: {
        attentionProjections: r(cost.layer.attentionProjections.flops, base.layer.attentionProjections.flops),
        attentionScores: r(cost.layer.attentionScores.flops, base.layer.attentionScores.flops),
        selfAttention: r(cost.layer.selfAttention.flops, base.layer.selfAttention.flops),
        selfAttentionAllLayers: r(c.numLayers * cost.layer.selfAttention.flops, cfg.numLayers * base.layer.selfAttention.flops),
        feedForward: r(cost.layer.feedForward.flops, base.layer.feedForward.flops),
        forwardFlops: r(cost.total.forwardFlops, base.total.forwardFlops),
        params: r(cost.total.params, base.total.params),
      },
    };
  });
}
