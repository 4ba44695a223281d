/** Post-norm transformer encoder layer: self-attention, then FFN. */
import { Dropout } from "../nn/dropout.ts";
import { LayerNorm } from "../nn/layer_norm.ts";
import { Module } from "../nn/module.ts";
import { add } from "../ops/elementwise.ts";
import type { Tensor } from "../tensor.ts";
import { FeedForwardNetwork } from "./feed_forward.ts";
import { MultiHeadAttention, type AttentionOptions } from "./multi_head_attention.ts";

export class TransformerEncoderLayer extends Module {
  readonly selfAttn: MultiHeadAttention;
  readonly ffn: FeedForwardNetwork;
  readonly normSelf: LayerNorm;
  readonly normFfn: LayerNorm;
  readonly dropoutSelf: Dropout;
  readonly dropoutFfn: Dropout;

  constructor(
    readonly inputDim: number,
    readonly numHeads: number,
    readonly dimFeedforward = 2048,
    dropout = 0.1,
    attention: AttentionOptions = {},
  ) {
    super();
    this.selfAttn = this.child("self_attn", new MultiHeadAttention(inputDim, numHeads, dropout, attention));
    this.ffn = this.child("ffn", new FeedForwardNetwork(inputDim, dimFeedforward, dropout));
    this.normSelf = this.child("norm_self", new LayerNorm(inputDim));
    this.normFfn = this.child("norm_ffn", new LayerNorm(inputDim));
    this.dropoutSelf = this.child("dropout_self", new Dropout(dropout));
    this.dropoutFfn = this.child("dropout_ffn", new Dropout(dropout));
  }

  forward(src: Tensor, srcMask?: Tensor | null): Tensor {
    const x = this.normSelf.forward(add(this.dropoutSelf.forward(this.selfAttn.forward(src, src, src, srcMask)), src));
    return this.normFfn.forward(add(this.dropoutFfn.forward(this.ffn.forward(x)), x));
  }
}
