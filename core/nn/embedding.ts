/** nn.Embedding: N(0, 1) rows; the padding row starts at zero and never gets a gradient. */
import { zeros } from "../ops/creation.ts";
import { embedding } from "../ops/indexing.ts";
import type { Tensor } from "../tensor.ts";
import { assignHost, normal_ } from "./init.ts";
import { Module } from "./module.ts";

export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, readonly paddingIdx?: number) {
    super();
    this.weight = this.param("weight", zeros([numEmbeddings, embeddingDim]));
    normal_(this.weight);
    this.zeroPaddingRow();
  }

  zeroPaddingRow(): void {
    if (this.paddingIdx === undefined) return;
    const w = this.weight.data();
    w.fill(0, this.paddingIdx * this.embeddingDim, (this.paddingIdx + 1) * this.embeddingDim);
    assignHost(this.weight, w);
  }

  forward(index: Tensor): Tensor {
    return embedding(this.weight, index, this.paddingIdx);
  }
}
