/** Position-wise feed-forward network: fc1 → GELU → dropout → fc2. */
import { Dropout } from "../nn/dropout.ts";
import { GELU } from "../nn/gelu.ts";
import { Linear } from "../nn/linear.ts";
import { Module } from "../nn/module.ts";
import type { Tensor } from "../tensor.ts";

export class FeedForwardNetwork extends Module {
  readonly fc1: Linear;
  readonly gelu: GELU;
  readonly dropout: Dropout;
  readonly fc2: Linear;

  constructor(readonly embedDim: number, readonly ffnDim: number, dropout = 0.1) {
    super();
    this.fc1 = this.child("fc1", new Linear(embedDim, ffnDim));
    this.gelu = this.child("gelu", new GELU());
    this.dropout = this.child("dropout", new Dropout(dropout));
    this.fc2 = this.child("fc2", new Linear(ffnDim, embedDim));
  }

  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.dropout.forward(this.gelu.forward(this.fc1.forward(x))));
  }
}
