/**
 * `xt ablate attention` (Inline Question 1): the attention block's variants, each trained from the
 * same seed on the same data for the same steps, and measured.
 *
 *   full      the notebook's MultiHeadAttention
 *   one-head  num_heads 1, the same width (the same parameters and initial weights as full)
 *   no-scale  scores not divided by √(d/h) (the same parameters and initial weights as full)
 *   no-proj   no output Linear: layers·(D² + D) fewer parameters in the ViT (2 blocks per layer in
 *             the captioning decoder); its initial draws are skipped, so every later draw shifts
 *             and the other weights start from other values than full's
 *
 * Each run: manual_seed(seed), build, measure the attention on a fixed probe (eval mode, no grad,
 * no random draw: the training run is exactly `xt train vit` / `xt train captioning` with the same
 * flags), train, record the query/key gradient norm of the first steps, measure again, evaluate.
 */
import { noGrad } from "../autograd.ts";
import { DataLoader, takeFirst, type TensorImageSet } from "../data/dataloader.ts";
import { NO_AUGMENT } from "../data/augment.ts";
import { gatherCocoBatch, type CocoData } from "../data/coco.ts";
import { rowRange } from "../data/rows.ts";
import { currentBackend } from "../device.ts";
import { captureAttention } from "../models/attention_capture.ts";
import type { CaptioningTransformer } from "../models/captioning_transformer.ts";
import type { AttentionOptions } from "../models/multi_head_attention.ts";
import type { VisionTransformer } from "../models/vision_transformer.ts";
import type { Module } from "../nn/module.ts";
import { fromArray } from "../ops/creation.ts";
import { Adam } from "../optim/adam.ts";
import { manualSeed } from "../random/index.ts";
import { attentionStats, gridDistance, queryKeyGradNorm, tokenDistance, type BlockStats, type Distance } from "./attention_measures.ts";
import { evaluateCaptioningLoss, splitCaptions } from "./captioning_solver.ts";
import { startCaptioningRun, type CaptioningRunOptions } from "./captioning_run.ts";
import { trainClassifier, type ClassifierRunConfig } from "./classifier_trainer.ts";
import type { EventSink } from "./events.ts";
import type { RunContext, RunOutcome, StudyVariantSpec } from "./study.ts";
import { buildVit, describeVit, type VitModelConfig } from "./vit_config.ts";

export const ATTENTION_VARIANT_NAMES = ["full", "one-head", "no-scale", "no-proj"] as const;
export type AttentionVariantName = (typeof ATTENTION_VARIANT_NAMES)[number];

export interface AttentionVariant {
  name: AttentionVariantName;
  /** One head instead of the model's. */
  oneHead: boolean;
  attention: AttentionOptions;
}

export const ATTENTION_VARIANTS: Readonly<Record<AttentionVariantName, AttentionVariant>> = Object.freeze({
  "full": { name: "full", oneHead: false, attention: {} },
  "one-head": { name: "one-head", oneHead: true, attention: {} },
  "no-scale": { name: "no-scale", oneHead: false, attention: { scaleScores: false } },
  "no-proj": { name: "no-proj", oneHead: false, attention: { outputProjection: false } },
});

/** The study's variant specs: settings as they go into the end event. */
export function attentionVariantSpecs(names: readonly AttentionVariantName[], heads: number): StudyVariantSpec<AttentionVariant>[] {
  return names.map((n) => {
    const v = ATTENTION_VARIANTS[n];
    return {
      name: n,
      params: { numHeads: v.oneHead ? 1 : heads, scaleScores: v.attention.scaleScores !== false, outputProjection: v.attention.outputProjection !== false },
      value: v,
    };
  });
}

/**
 * Measures of the attention blocks at one moment, with a suffix ("init", "end"): headline ones
 * (averaged over the layers) and per-layer / per-head ones (the detail).
 */
function attentionMeasures(stats: BlockStats[], when: "init" | "end"): { metrics: Record<string, number>; detail: Record<string, number> } {
  const avg = (f: (b: BlockStats) => number): number => stats.reduce((s, b) => s + f(b), 0) / stats.length;
  const metrics: Record<string, number> = {
    [`entropy_${when}`]: avg((b) => b.entropy),
    [`max_weight_${when}`]: avg((b) => b.rowMax),
    [`largest_weight_${when}`]: Math.max(...stats.map((b) => b.largest)),
  };
  const detail: Record<string, number> = {};
  stats.forEach((b, l) => {
    detail[`entropy_${when}_l${l + 1}`] = b.entropy;
    detail[`max_weight_${when}_l${l + 1}`] = b.rowMax;
  });
  if (when === "end") {
    // How far the heads look, and how differently: the mean over layers of (farthest − nearest head).
    metrics.attn_distance = avg((b) => b.headDistance.reduce((s, d) => s + d, 0) / b.headDistance.length);
    metrics.head_distance_spread = avg((b) => Math.max(...b.headDistance) - Math.min(...b.headDistance));
    // Heads ranked from the nearest-looking to the farthest (a head's index means nothing across
    // seeds: heads are interchangeable), so that the mean over seeds compares like with like.
    stats.forEach((b, l) => [...b.headDistance].sort((x, y) => x - y).forEach((d, h) => {
      detail[`attn_distance_l${l + 1}_h${h + 1}`] = d;
    }));
  }
  return { metrics, detail };
}

/** Records the query/key gradient norm of the first and of the last `steps` backward passes. */
function gradRecorder(model: Module, steps: number): { afterBackward: () => void; first: () => number; last: () => number } {
  const first: number[] = [];
  const last: number[] = [];
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / Math.max(a.length, 1);
  return {
    afterBackward: () => {
      const g = queryKeyGradNorm(model);
      if (first.length < steps) first.push(g);
      last.push(g);
      if (last.length > steps) last.shift();
    },
    first: () => mean(first),
    last: () => mean(last),
  };
}

/** A finished run's measures: the task's own (losses, accuracy), the parameters, gradients and attention. */
function finishedRun(model: Module, own: Record<string, number>, grads: { first(): number; last(): number }, init: BlockStats[], end: BlockStats[], losses: number[]): RunOutcome {
  const a0 = attentionMeasures(init, "init");
  const a1 = attentionMeasures(end, "end");
  return {
    metrics: { parameters: model.numParameters(), ...own, qk_grad_norm: grads.first(), qk_grad_norm_end: grads.last(), ...a0.metrics, ...a1.metrics },
    detail: { ...a0.detail, ...a1.detail },
    losses,
    interrupted: false,
  };
}

/** Taps a run's step events for its loss curve. */
function lossTap(sink: EventSink): { sink: EventSink; losses: number[] } {
  const losses: number[] = [];
  return {
    losses,
    sink: (e) => {
      if (e.type === "step") losses.push(e.loss);
      sink(e);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ViT

export interface VitAttentionSetup {
  model: VitModelConfig;
  train: TensorImageSet;
  test: TensorImageSet;
  datasetName: string;
  datasetLabel: string;
  classes: string[];
  lr: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
  /** Test images the attention is measured on (the first ones). */
  probe: number;
  /** Backward passes whose query/key gradient norm is averaged. */
  gradSteps: number;
}

export function vitAttentionSteps(s: VitAttentionSetup): number {
  return s.epochs * Math.ceil(s.train.n / s.batchSize);
}

/** One ViT run of a variant. */
export async function runVitAttention(s: VitAttentionSetup, v: AttentionVariant, ctx: RunContext): Promise<RunOutcome> {
  const cfg: VitModelConfig = { ...s.model, numHeads: v.oneHead ? 1 : s.model.numHeads };
  if (Object.keys(v.attention).length) cfg.attention = { ...v.attention };
  const probeSet = takeFirst(s.test, s.probe);
  const probe = new DataLoader(probeSet, { batchSize: probeSet.n }).gather(Int32Array.from({ length: probeSet.n }, (_, i) => i));
  const grid = s.model.imgSize / s.model.patchSize;
  const measure = (net: VisionTransformer): BlockStats[] => {
    net.eval();
    const { attention } = noGrad(() => captureAttention(net, () => net.forward(probe.images)));
    return attentionStats(attention, gridDistance(grid));
  };

  manualSeed(ctx.seed);
  const model = buildVit(cfg);
  const optimizer = new Adam(model.parameters(), { lr: s.lr, weightDecay: s.weightDecay });
  const init = measure(model);
  const grads = gradRecorder(model, s.gradSteps);
  const tap = lossTap(ctx.sink);
  const run: ClassifierRunConfig = {
    model: { ...cfg }, dataset: s.datasetName, classes: s.classes, lr: s.lr, weightDecay: s.weightDecay, batchSize: s.batchSize,
    epochs: s.epochs, seed: ctx.seed, maxTrain: s.train.n, maxTest: s.test.n, dataDir: null, augment: { ...NO_AUGMENT }, labelSmoothing: 0,
  };
  const r = await trainClassifier({
    command: "ablate attention", model, describe: `${v.name}: ${describeVit(cfg)}`, kind: "vit", run, optimizer,
    train: s.train, test: s.test, datasetLabel: s.datasetLabel, device: currentBackend().name, sink: tap.sink, signal: ctx.signal,
    afterBackward: grads.afterBackward,
  });
  if (r.interrupted) return { metrics: {}, losses: tap.losses, interrupted: true };
  const end = measure(model);
  const last = r.results.train_loss.length - 1;
  const own = { train_loss: r.results.train_loss[last]!, test_acc: r.results["test_acc@1"][last]!, test_loss: r.results.test_loss[last]! };
  return finishedRun(model, own, grads, init, end, tap.losses);
}

// ---------------------------------------------------------------------------------------------
// captioning

export interface CaptioningAttentionSetup {
  /** The run as `overfit captioning` / `train captioning` sets it up (its seed is replaced per run). */
  run: Omit<CaptioningRunOptions, "seed" | "attention">;
  /** Validation captions the final loss is measured on (the first ones). */
  valCaptions: number;
  /** Validation captions the attention is measured on (the first ones). */
  probe: number;
  gradSteps: number;
}

/** Statistics of the decoder's self-attention on the first `probe` val captions (eval mode, no draws). */
function captioningAttention(model: CaptioningTransformer, data: CocoData, probe: number): BlockStats[] {
  const split = data.val;
  const n = Math.min(probe, split.numCaptions);
  const T = data.captionLength;
  const F = data.featureDim;
  const { captions: caps, features: feats } = gatherCocoBatch(split, rowRange(0, n));
  const { captionsIn } = splitCaptions(caps, n, T, model.nullIdx);
  model.eval();
  const { attention } = noGrad(() => captureAttention(model, () => model.forward(fromArray(feats, [n, F]), fromArray(captionsIn, [n, T - 1], "int32"))));
  // The decoder's self-attention (the cross-attention has one key, the image: its weights are all 1).
  const self = attention.filter((a) => a.module.endsWith("self_attn"));
  return attentionStats(self, tokenDistance as Distance, (i, s) => captionsIn[i * (T - 1) + s] !== model.nullIdx);
}

export function captioningAttentionSteps(s: CaptioningAttentionSetup, trainCaptions: number): number {
  return s.run.epochs * Math.max(Math.floor(trainCaptions / s.run.batchSize), 1);
}

/** One captioning run of a variant. */
export async function runCaptioningAttention(s: CaptioningAttentionSetup, v: AttentionVariant, ctx: RunContext): Promise<RunOutcome> {
  const r = await startCaptioningRun({
    ...s.run, seed: ctx.seed, numHeads: v.oneHead ? 1 : s.run.numHeads, command: "ablate attention",
    ...(Object.keys(v.attention).length ? { attention: { ...v.attention } } : {}),
  });
  const { solver, data, model } = r;
  const init = captioningAttention(model, data, s.probe);
  model.train();
  const grads = gradRecorder(model, s.gradSteps);
  const tap = lossTap(ctx.sink);
  const t = await solver.train({
    sink: tap.sink, command: "ablate attention", device: currentBackend().name, signal: ctx.signal, afterBackward: grads.afterBackward,
    dataset: `${data.source} (${data.train.numCaptions} train captions), ${v.name}`,
  });
  if (t.interrupted) return { metrics: {}, losses: tap.losses, interrupted: true };
  const ipe = solver.iterationsPerEpoch;
  const h = solver.lossHistory;
  let lastEpoch = 0;
  for (let i = h.length - ipe; i < h.length; i++) lastEpoch += h[i]!;
  const end = captioningAttention(model, data, s.probe);
  const valLoss = evaluateCaptioningLoss(model, data.val, data.captionLength, data.featureDim, s.valCaptions, Math.max(solver.batchSize, 50));
  return finishedRun(model, { train_loss: lastEpoch / ipe, val_loss: valLoss }, grads, init, end, tap.losses);
}
