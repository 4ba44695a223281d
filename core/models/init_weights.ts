/** The models' _init_weights: N(0, 0.02) for Linear/Embedding weights, zero biases, LayerNorm 1/0. */
import { Embedding } from "../nn/embedding.ts";
import { ones_, normal_, zeros_ } from "../nn/init.ts";
import { LayerNorm } from "../nn/layer_norm.ts";
import { Linear } from "../nn/linear.ts";
import type { Module } from "../nn/module.ts";

export function initWeights(m: Module): void {
  if (m instanceof Linear || m instanceof Embedding) {
    normal_(m.weight, 0, 0.02);
    if (m instanceof Linear && m.bias) zeros_(m.bias);
  } else if (m instanceof LayerNorm) {
    zeros_(m.bias);
    ones_(m.weight);
  }
}
