/** Decoder/encoder stacks: `numLayers` deep copies of one constructed layer (ModuleList "layers"). */
import { Module } from "../nn/module.ts";
import type { Tensor } from "../tensor.ts";
import type { TransformerDecoderLayer } from "./decoder_layer.ts";
import type { TransformerEncoderLayer } from "./encoder_layer.ts";

/** nn.ModuleList: children named 0, 1, … */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.child(String(i), m));
  }
}

export class TransformerDecoder extends Module {
  readonly layers: ModuleList<TransformerDecoderLayer>;
  constructor(layer: TransformerDecoderLayer, readonly numLayers: number) {
    super();
    this.layers = this.child("layers", new ModuleList(Array.from({ length: numLayers }, () => layer.clone())));
  }
  forward(tgt: Tensor, memory: Tensor, tgtMask?: Tensor | null): Tensor {
    let x = tgt;
    for (const l of this.layers.items) x = l.forward(x, memory, tgtMask);
    return x;
  }
}

export class TransformerEncoder extends Module {
  readonly layers: ModuleList<TransformerEncoderLayer>;
  constructor(layer: TransformerEncoderLayer, readonly numLayers: number) {
    super();
    this.layers = this.child("layers", new ModuleList(Array.from({ length: numLayers }, () => layer.clone())));
  }
  forward(src: Tensor, srcMask?: Tensor | null): Tensor {
    let x = src;
    for (const l of this.layers.items) x = l.forward(x, srcMask);
    return x;
  }
}
