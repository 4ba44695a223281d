/**
 * Reads a model's attention weights during a forward pass, for figures: every
 * MultiHeadAttention inside `model` hands its softmax weights to a recorder while `run` executes.
 * Eval mode only (dropout off), and nothing is computed differently: the weights are the very
 * tensors the forward pass uses, copied out, so no number and no random draw changes.
 */
import { XtError } from "../errors.ts";
import type { Module } from "../nn/module.ts";
import { MultiHeadAttention } from "./multi_head_attention.ts";

export interface CapturedAttention {
  /** Dotted module name, e.g. "transformer.layers.0.self_attn". */
  module: string;
  /** (N, H, S, T): batch, heads, queries, keys. */
  shape: [number, number, number, number];
  /** Row-major; each (n, h, s) row sums to 1 over the keys. */
  weights: Float32Array;
}

/** Runs `run` and returns its result with every attention call, in call order. */
export function captureAttention<T>(model: Module, run: () => T): { result: T; attention: CapturedAttention[] } {
  if (model.training) throw new XtError("captureAttention: the model must be in eval mode (dropout would change the weights)");
  const layers = [...model.namedModules()].filter((e): e is [string, MultiHeadAttention] => e[1] instanceof MultiHeadAttention);
  const attention: CapturedAttention[] = [];
  for (const [name, m] of layers) {
    if (m.onWeights) throw new XtError(`captureAttention: ${name || "the model"} is already being captured`);
    m.onWeights = (w) => {
      attention.push({ module: name, shape: [...w.shape] as CapturedAttention["shape"], weights: Float32Array.from(w.data()) });
    };
  }
  try {
    return { result: run(), attention };
  } finally {
    for (const [, m] of layers) m.onWeights = null;
  }
}
