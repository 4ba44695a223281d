/** CaptioningTransformer: image features + caption prefix → next-word scores (notebook's model). */
import { Embedding } from "../nn/embedding.ts";
import { Linear } from "../nn/linear.ts";
import { Module } from "../nn/module.ts";
import { noGrad } from "../autograd.ts";
import { XtError } from "../errors.ts";
import { fromArray, ones, tril } from "../ops/creation.ts";
import { argmax } from "../ops/reduce.ts";
import { narrow, reshape, unsqueeze } from "../ops/views.ts";
import { cat } from "../ops/indexing.ts";
import { shapeStr } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { TransformerDecoderLayer } from "./decoder_layer.ts";
import { initWeights } from "./init_weights.ts";
import type { AttentionOptions } from "./multi_head_attention.ts";
import { PositionalEncoding } from "./positional_encoding.ts";
import { TransformerDecoder } from "./transformer_stack.ts";

export class CaptioningTransformer extends Module {
  readonly vocabSize: number;
  readonly nullIdx: number;
  readonly startIdx: number | undefined;
  readonly endIdx: number | undefined;
  readonly visualProjection: Linear;
  readonly embedding: Embedding;
  readonly positionalEncoding: PositionalEncoding;
  readonly transformer: TransformerDecoder;
  readonly output: Linear;

  constructor(
    readonly wordToIdx: Record<string, number>,
    readonly inputDim: number,
    readonly wordvecDim: number,
    readonly numHeads = 4,
    readonly numLayers = 2,
    readonly maxLength = 50,
    /** Attention-block ablations, for every block (default: the notebook's block). */
    readonly attention: AttentionOptions = {},
  ) {
    super();
    this.vocabSize = Object.keys(wordToIdx).length;
    const nul = wordToIdx["<NULL>"];
    if (nul === undefined) throw new XtError("CaptioningTransformer: the vocabulary has no <NULL> token");
    this.nullIdx = nul;
    this.startIdx = wordToIdx["<START>"];
    this.endIdx = wordToIdx["<END>"];
    this.visualProjection = this.child("visual_projection", new Linear(inputDim, wordvecDim));
    this.embedding = this.child("embedding", new Embedding(this.vocabSize, wordvecDim, this.nullIdx));
    this.positionalEncoding = this.child("positional_encoding", new PositionalEncoding(wordvecDim, 0.1, maxLength));
    const layer = new TransformerDecoderLayer(wordvecDim, numHeads, 2048, 0.1, attention);
    this.transformer = this.child("transformer", new TransformerDecoder(layer, numLayers));
    this.apply(initWeights);
    // Constructed after apply(), so it keeps PyTorch's default Linear init (drawn last).
    this.output = this.child("output", new Linear(wordvecDim, this.vocabSize));
  }

  /** features (N, D) float, captions (N, T) int → scores (N, T, V). */
  forward(features: Tensor, captions: Tensor): Tensor {
    if (features.ndim !== 2 || features.shape[1] !== this.inputDim) {
      throw new XtError(`CaptioningTransformer: features must be (N, ${this.inputDim}), got ${shapeStr(features.shape)}`);
    }
    if (captions.ndim !== 2 || captions.shape[0] !== features.shape[0]) {
      throw new XtError(`CaptioningTransformer: captions must be (N, T) with N = ${features.shape[0]}, got ${shapeStr(captions.shape)}`);
    }
    const T = captions.shape[1]!;
    const x = this.positionalEncoding.forward(this.embedding.forward(captions));
    const memory = unsqueeze(this.visualProjection.forward(features), 1);
    const mask = tril(ones([T, T]));
    return this.output.forward(this.transformer.forward(x, memory, mask));
  }

  /** Greedy decoding from <START> for maxLength steps (no early stop), returning ids (N, maxLength). */
  sample(features: Tensor, maxLength = 30): Tensor {
    if (this.startIdx === undefined) throw new XtError("CaptioningTransformer.sample: the vocabulary has no <START> token");
    const N = features.shape[0]!;
    return noGrad(() => {
      let partial = fromArray(new Array(N).fill(this.startIdx), [N, 1], "int32");
      const words: Tensor[] = [];
      for (let t = 0; t < maxLength; t++) {
        const logits = this.forward(features, partial);
        const last = reshape(narrow(logits, 1, logits.shape[1]! - 1, 1), [N, this.vocabSize]);
        const word = reshape(argmax(last, 1), [N, 1]);
        words.push(word);
        partial = cat([partial, word], 1);
      }
      return cat(words, 1);
    });
  }
}
