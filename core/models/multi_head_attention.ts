/** Multi-head scaled dot-product attention (key, query, value, proj Linears; dropout on the weights). */
import { Dropout } from "../nn/dropout.ts";
import { Linear } from "../nn/linear.ts";
import { Module } from "../nn/module.ts";
import { XtError } from "../errors.ts";
import { compare, div, maskedFill } from "../ops/elementwise.ts";
import { matmul } from "../ops/matmul.ts";
import { softmax } from "../ops/softmax.ts";
import { contiguous, reshape, transpose, view } from "../ops/views.ts";
import { shapeStr } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

/**
 * Ablations of the attention block (`xt ablate attention`, Inline Question 1). The defaults are
 * the notebook's block, bit for bit.
 */
export interface AttentionOptions {
  /** Divide the scores by √(d/h) before the softmax (default true). */
  scaleScores?: boolean;
  /**
   * The output Linear `proj` (default true). Without it the heads' concatenated outputs are the
   * block's output and its D² + D parameters are gone; its initial draws are skipped, so every
   * parameter constructed after it starts from different values than in the full model.
   */
  outputProjection?: boolean;
}

export class MultiHeadAttention extends Module {
  readonly key: Linear;
  readonly query: Linear;
  readonly value: Linear;
  /** null when the block is built without its output projection. */
  readonly proj: Linear | null;
  readonly attnDrop: Dropout;
  readonly headDim: number;
  readonly scaleScores: boolean;
  /**
   * When set (by core/models/attention_capture.ts, eval mode only), receives each forward pass's
   * softmax weights (N, H, S, T) before dropout. Reading them changes no number and no draw.
   */
  onWeights: ((weights: Tensor) => void) | null = null;

  constructor(readonly embedDim: number, readonly numHeads: number, dropout = 0.1, options: AttentionOptions = {}) {
    super();
    if (embedDim % numHeads !== 0) {
      throw new XtError(`MultiHeadAttention: embed_dim ${embedDim} is not divisible by num_heads ${numHeads}`);
    }
    this.key = this.child("key", new Linear(embedDim, embedDim));
    this.query = this.child("query", new Linear(embedDim, embedDim));
    this.value = this.child("value", new Linear(embedDim, embedDim));
    this.proj = options.outputProjection === false ? null : this.child("proj", new Linear(embedDim, embedDim));
    this.attnDrop = this.child("attn_drop", new Dropout(dropout));
    this.headDim = embedDim / numHeads;
    this.scaleScores = options.scaleScores !== false;
  }

  /** The options this block was built with (for copies and descriptions). */
  get options(): Required<AttentionOptions> {
    return { scaleScores: this.scaleScores, outputProjection: this.proj !== null };
  }

  /** query (N, S, E), key/value (N, T, E), attnMask (S, T) with 0 where attention is blocked. */
  forward(query: Tensor, key: Tensor, value: Tensor, attnMask?: Tensor | null): Tensor {
    const [N, S, E] = query.shape as [number, number, number];
    const T = value.shape[1]!;
    if (E !== this.embedDim || key.shape[2] !== E || value.shape[2] !== E) {
      throw new XtError(
        `MultiHeadAttention: expected embed dim ${this.embedDim}, got query ${shapeStr(query.shape)}, key ${shapeStr(key.shape)}, value ${shapeStr(value.shape)}`,
      );
    }
    const H = this.numHeads;
    const D = this.headDim;
    const Q = transpose(view(this.query.forward(query), [N, S, H, D]), 1, 2);
    const K = transpose(view(this.key.forward(key), [N, T, H, D]), 1, 2);
    const V = transpose(view(this.value.forward(value), [N, T, H, D]), 1, 2);
    const raw = matmul(Q, transpose(K, -2, -1));
    let scores = this.scaleScores ? div(raw, Math.fround(Math.sqrt(D))) : raw;
    if (attnMask) scores = maskedFill(scores, compare("eq", attnMask, 0), -Infinity);
    const weights = softmax(scores, -1);
    if (this.onWeights) this.onWeights(weights);
    const attn = this.attnDrop.forward(weights);
    const out = reshape(contiguous(transpose(matmul(attn, V), 1, 2)), [N, S, E]);
    return this.proj ? this.proj.forward(out) : out;
  }
}
