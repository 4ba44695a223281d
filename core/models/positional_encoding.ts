/** Sinusoidal positional encoding, computed in float32 steps like the reference's torch code. */
import { Dropout } from "../nn/dropout.ts";
import { Module } from "../nn/module.ts";
import { fromArray } from "../ops/creation.ts";
import { add } from "../ops/elementwise.ts";
import { narrow } from "../ops/views.ts";
import { XtError } from "../errors.ts";
import type { Tensor } from "../tensor.ts";

export function sinusoidTable(maxLen: number, dim: number): Float32Array {
  const f = Math.fround;
  const pe = new Float32Array(maxLen * dim);
  // div_term = exp(arange(0, D, 2) · (−ln(10000)/D)), each step rounded to float32.
  const scale = f(-Math.log(10000.0) / dim);
  const div: number[] = [];
  for (let k = 0; k < dim; k += 2) div.push(f(Math.exp(f(k * scale))));
  for (let i = 0; i < maxLen; i++) {
    for (let j = 0; j < div.length; j++) {
      const angle = f(i * div[j]!);
      pe[i * dim + 2 * j] = Math.sin(angle);
      if (2 * j + 1 < dim) pe[i * dim + 2 * j + 1] = Math.cos(angle);
    }
  }
  return pe;
}

export class PositionalEncoding extends Module {
  readonly dropout: Dropout;
  readonly pe: Tensor;

  constructor(readonly embedDim: number, dropout = 0.1, readonly maxLen = 5000) {
    super();
    if (embedDim % 2 !== 0) throw new XtError(`PositionalEncoding: embed_dim must be even, got ${embedDim}`);
    this.dropout = this.child("dropout", new Dropout(dropout));
    this.pe = this.buffer("pe", fromArray(sinusoidTable(maxLen, embedDim), [1, maxLen, embedDim]));
  }

  forward(x: Tensor): Tensor {
    const S = x.shape[1]!;
    if (S > this.maxLen) throw new XtError(`PositionalEncoding: sequence length ${S} exceeds max_len ${this.maxLen}`);
    return this.dropout.forward(add(x, narrow(this.pe, 1, 0, S)));
  }
}
