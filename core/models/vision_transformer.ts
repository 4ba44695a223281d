/**
 * VisionTransformer: patch embedding → sinusoidal PE → encoder stack → mean over patches → head.
 * With stemChannels = S > 0, the hybrid ViT: a ConvStem (C → S channels) runs first and the patch
 * embedding cuts its S-channel output. The stem is built after the notebook's model (its draws
 * come after the notebook's, and it keeps PyTorch's default init), so stemChannels = 0 is exactly
 * the notebook's VisionTransformer, parameters and draws.
 */
import { Linear } from "../nn/linear.ts";
import { Module } from "../nn/module.ts";
import { mean } from "../ops/reduce.ts";
import type { Tensor } from "../tensor.ts";
import { ConvStem } from "./conv_stem.ts";
import { TransformerEncoderLayer } from "./encoder_layer.ts";
import type { AttentionOptions } from "./multi_head_attention.ts";
import { initWeights } from "./init_weights.ts";
import { PatchEmbedding } from "./patch_embedding.ts";
import { PositionalEncoding } from "./positional_encoding.ts";
import { TransformerEncoder } from "./transformer_stack.ts";

export class VisionTransformer extends Module {
  readonly patchEmbed: PatchEmbedding;
  readonly positionalEncoding: PositionalEncoding;
  readonly transformer: TransformerEncoder;
  readonly head: Linear;
  readonly convStem: ConvStem | null;

  constructor(
    readonly imgSize = 32,
    readonly patchSize = 8,
    readonly inChannels = 3,
    readonly embedDim = 128,
    readonly numLayers = 6,
    readonly numHeads = 4,
    readonly dimFeedforward = 256,
    readonly numClasses = 10,
    readonly dropout = 0.1,
    readonly stemChannels = 0,
    /** Attention-block ablations (default: the notebook's block). */
    readonly attention: AttentionOptions = {},
  ) {
    super();
    this.patchEmbed = this.child("patch_embed", new PatchEmbedding(imgSize, patchSize, stemChannels > 0 ? stemChannels : inChannels, embedDim));
    this.positionalEncoding = this.child("positional_encoding", new PositionalEncoding(embedDim, dropout));
    const layer = new TransformerEncoderLayer(embedDim, numHeads, dimFeedforward, dropout, attention);
    this.transformer = this.child("transformer", new TransformerEncoder(layer, numLayers));
    this.head = this.child("head", new Linear(embedDim, numClasses));
    this.apply(initWeights);
    this.convStem = stemChannels > 0 ? this.child("conv_stem", new ConvStem(inChannels, stemChannels)) : null;
  }

  /** images (N, C, H, W) → class scores (N, classes). */
  forward(x: Tensor): Tensor {
    const pixels = this.convStem ? this.convStem.forward(x) : x;
    const h = this.transformer.forward(this.positionalEncoding.forward(this.patchEmbed.forward(pixels)));
    return this.head.forward(mean(h, 1));
  }
}
