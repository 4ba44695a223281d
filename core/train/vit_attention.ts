/**
 * One image through a ViT, with its attention read out: the class scores, and per encoder layer
 * and head the attention each patch receives (mean over the queries), plus the rollout over the
 * layers as seen by the mean-pooled output (core/models/attention_rollout.ts).
 */
import { noGrad } from "../autograd.ts";
import { captureAttention } from "../models/attention_capture.ts";
import { pooledRollout, receivedAttention, type LayerAttention } from "../models/attention_rollout.ts";
import type { VisionTransformer } from "../models/vision_transformer.ts";
import { fromArray } from "../ops/creation.ts";

export interface VitAttention {
  /** Patches per side. */
  grid: number;
  /** Class probabilities (softmax of the scores). */
  probabilities: number[];
  predicted: number;
  /** [layer][head] → grid² values. */
  received: number[][][];
  /** grid² values summing to 1. */
  rollout: number[];
}

/** `pixels`: one image, C·H·W in the model's input scale. The model must be in eval mode. */
export function vitAttention(net: VisionTransformer, pixels: Float32Array): VitAttention {
  const C = net.inChannels;
  const S = net.imgSize;
  const { result: scores, attention } = noGrad(() => captureAttention(net, () => net.forward(fromArray(pixels, [1, C, S, S])).data()));
  const layers: LayerAttention[] = attention.map((a) => ({ heads: a.shape[1], tokens: a.shape[2], weights: a.weights }));
  const max = Math.max(...Array.from(scores));
  const exp = Array.from(scores, (v) => Math.exp(v - max));
  const z = exp.reduce((s, v) => s + v, 0);
  const probabilities = exp.map((v) => v / z);
  return {
    grid: S / net.patchSize,
    probabilities,
    predicted: probabilities.indexOf(Math.max(...probabilities)),
    received: layers.map((l) => Array.from({ length: l.heads }, (_, h) => Array.from(receivedAttention(l, h)))),
    rollout: Array.from(pooledRollout(layers)),
  };
}
