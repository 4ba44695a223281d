/** Multi-head scaled dot-product attention (key, query, value, proj Linears; dropout on the weights). */
import { Dropout, dropoutMultipliers } from "../nn/dropout.ts";
import { Linear } from "../nn/linear.ts";
import { Module } from "../nn/module.ts";
import { XtError } from "../errors.ts";
import { attention } from "../ops/attention.ts";
import { compare } from "../ops/elementwise.ts";
import { transpose, view } from "../ops/views.ts";
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
    // attn_drop's multipliers for the weights [N, H, S, T] (drawn here: nothing draws in between).
    const p = this.attnDrop.p;
    const drop = this.attnDrop.training && p > 0 && N * H * S * T > 0 ? dropoutMultipliers(Q.backend, [N, H, S, T], Q.dtype, p) : null;
    // Unscaled scores (the ablation) divide by 1: exact, the same numbers as no division.
    const out = attention(Q, K, V, {
      blocked: attnMask ? compare("eq", attnMask, 0) : null, drop, scale: this.scaleScores ? Math.fround(Math.sqrt(D)) : 1, onWeights: this.onWeights,
    });
    return this.proj ? this.proj.forward(out) : out;
  }
}
