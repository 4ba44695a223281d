/** VisionTransformer: patch embedding → sinusoidal PE → encoder stack → mean over patches → head. */
import { Linear } from "../nn/linear.ts";
import { Module } from "../nn/module.ts";
import { mean } from "../ops/reduce.ts";
import type { Tensor } from "../tensor.ts";
import { TransformerEncoderLayer } from "./encoder_layer.ts";
import { initWeights } from "./init_weights.ts";
import { PatchEmbedding } from "./patch_embedding.ts";
import { PositionalEncoding } from "./positional_encoding.ts";
import { TransformerEncoder } from "./transformer_stack.ts";

export class VisionTransformer extends Module {
  readonly patchEmbed: PatchEmbedding;
  readonly positionalEncoding: PositionalEncoding;
  readonly transformer: TransformerEncoder;
  readonly head: Linear;

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
  ) {
    super();
    this.patchEmbed = this.child("patch_embed", new PatchEmbedding(imgSize, patchSize, inChannels, embedDim));
    this.positionalEncoding = this.child("positional_encoding", new PositionalEncoding(embedDim, dropout));
    const layer = new TransformerEncoderLayer(embedDim, numHeads, dimFeedforward, dropout);
    this.transformer = this.child("transformer", new TransformerEncoder(layer, numLayers));
    this.head = this.child("head", new Linear(embedDim, numClasses));
    this.apply(initWeights);
  }

  /** images (N, C, H, W) → class scores (N, classes). */
  forward(x: Tensor): Tensor {
    const h = this.transformer.forward(this.positionalEncoding.forward(this.patchEmbed.forward(x)));
    return this.head.forward(mean(h, 1));
  }
}
