/** Post-norm transformer decoder layer: masked self-attention, cross-attention, FFN. */
import { Dropout } from "../nn/dropout.ts";
import { LayerNorm } from "../nn/layer_norm.ts";
import { Module } from "../nn/module.ts";
import { add } from "../ops/elementwise.ts";
import type { Tensor } from "../tensor.ts";
import { FeedForwardNetwork } from "./feed_forward.ts";
import { MultiHeadAttention, type AttentionOptions } from "./multi_head_attention.ts";

export class TransformerDecoderLayer extends Module {
  readonly selfAttn: MultiHeadAttention;
  readonly crossAttn: MultiHeadAttention;
  readonly ffn: FeedForwardNetwork;
  readonly normSelf: LayerNorm;
  readonly normCross: LayerNorm;
  readonly normFfn: LayerNorm;
  readonly dropoutSelf: Dropout;
  readonly dropoutCross: Dropout;
  readonly dropoutFfn: Dropout;

  /** `attention` applies to both blocks, self- and cross-attention. */
  constructor(
    readonly inputDim: number,
    readonly numHeads: number,
    readonly dimFeedforward = 2048,
    dropout = 0.1,
    attention: AttentionOptions = {},
  ) {
    super();
    this.selfAttn = this.child("self_attn", new MultiHeadAttention(inputDim, numHeads, dropout, attention));
    this.crossAttn = this.child("cross_attn", new MultiHeadAttention(inputDim, numHeads, dropout, attention));
    this.ffn = this.child("ffn", new FeedForwardNetwork(inputDim, dimFeedforward, dropout));
    this.normSelf = this.child("norm_self", new LayerNorm(inputDim));
    this.normCross = this.child("norm_cross", new LayerNorm(inputDim));
    this.normFfn = this.child("norm_ffn", new LayerNorm(inputDim));
    this.dropoutSelf = this.child("dropout_self", new Dropout(dropout));
    this.dropoutCross = this.child("dropout_cross", new Dropout(dropout));
    this.dropoutFfn = this.child("dropout_ffn", new Dropout(dropout));
  }

  forward(tgt: Tensor, memory: Tensor, tgtMask?: Tensor | null): Tensor {
    let x = this.normSelf.forward(add(this.dropoutSelf.forward(this.selfAttn.forward(tgt, tgt, tgt, tgtMask)), tgt));
    x = this.normCross.forward(add(this.dropoutCross.forward(this.crossAttn.forward(x, memory, memory)), x));
    return this.normFfn.forward(add(this.dropoutFfn.forward(this.ffn.forward(x)), x));
  }
}
