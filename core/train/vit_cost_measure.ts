/**
 * Inline Question 3 measured (`xt cost vit --measure`): real training steps of the base ViT and of
 * each doubled variant (core/train/vit_cost.ts's vitScaling), timed side by side in one process,
 * and the same for one self-attention block alone. A few warm-up steps first (allocation, caches,
 * the native library's first calls), then rounds that time every configuration once each (so a
 * change of load touches all alike), and the median over the rounds; the ratios to the base are
 * what to read (absolute times depend on the machine and its load).
 *
 *   training step      Adam step on a batch of random images: forward, cross-entropy, backward, update
 *   self-attention     the model's self-attention layers alone: L MultiHeadAttention(D, H) blocks one
 *                      after another on (batch, T, D), forward and backward
 */
import { manualSeed } from "../random/index.ts";
import { randint, randn } from "../ops/creation.ts";
import { crossEntropy } from "../ops/loss.ts";
import { MultiHeadAttention } from "../models/multi_head_attention.ts";
import { Adam } from "../optim/adam.ts";
import type { Tensor } from "../tensor.ts";
import { buildVit, type VitModelConfig } from "./vit_config.ts";
import { vitScaling, type VitChange } from "./vit_cost.ts";

export interface MeasureOptions {
  batchSize: number;
  /** Untimed steps before timing. */
  warmup: number;
  /** Timed steps; their median is reported. */
  repeats: number;
  /** Progress: called before each warm-up and each round. */
  onConfig?: (label: string, index: number, of: number) => void;
}

export interface MeasuredConfig {
  /** "base", or the change ("hidden size", …). */
  change: "base" | VitChange;
  config: VitModelConfig;
  tokens: number;
  /** Median milliseconds of one training step, and of the L self-attention blocks' forward + backward. */
  stepMs: number;
  attentionMs: number;
  /** Every timed value (ms), in order. */
  stepTimes: number[];
  attentionTimes: number[];
}

export interface MeasuredScaling {
  batchSize: number;
  warmup: number;
  repeats: number;
  base: MeasuredConfig;
  variants: (MeasuredConfig & {
    /** Measured new / old: the training step and the self-attention block. */
    measured: { step: number; attention: number };
    /** Predicted by the FLOP count: the whole model (training ≈ 3 × forward for both) and the self-attention layers. */
    predicted: { step: number; attention: number };
  })[];
  /** Doublings that cannot be built (the image size not divisible by the patch size). */
  skipped: VitChange[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One configuration, built and ready to time: its training step and its self-attention layers. */
interface Bench {
  change: MeasuredConfig["change"];
  config: VitModelConfig;
  tokens: number;
  step: () => void;
  attention: () => void;
}

function prepare(change: MeasuredConfig["change"], cfg: VitModelConfig, batchSize: number): Bench {
  manualSeed(0);
  const model = buildVit({ ...cfg, dropout: 0 });
  const opt = new Adam(model.parameters(), { lr: 1e-4 });
  const x = randn([batchSize, cfg.inChannels, cfg.imgSize, cfg.imgSize]);
  const y = randint(0, cfg.numClasses, [batchSize]);
  model.train();
  const T = (cfg.imgSize / cfg.patchSize) ** 2;
  const blocks = Array.from({ length: cfg.numLayers }, () => new MultiHeadAttention(cfg.embedDim, cfg.numHeads, 0));
  const h: Tensor = randn([batchSize, T, cfg.embedDim]);
  return {
    change, config: { ...cfg }, tokens: T,
    step: () => {
      const loss = crossEntropy(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    },
    attention: () => {
      let z = h;
      for (const b of blocks) {
        b.zeroGrad();
        z = b.forward(z, z, z);
      }
      z.sum().backward();
    },
  };
}

const timed = (fn: () => void): number => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

/** Measures the base model and each buildable doubling, one after another in this process. */
export function measureVitScaling(cfg: VitModelConfig, o: MeasureOptions): MeasuredScaling {
  const scaling = vitScaling(cfg);
  const buildable = scaling.filter((s) => s.buildable);
  const benches = [prepare("base", cfg, o.batchSize), ...buildable.map((s) => prepare(s.change, s.config, o.batchSize))];
  const of = benches.length;
  // Warm-up, then rounds that time every configuration once each, so that a change of the
  // machine's load during the measurement touches all of them alike.
  benches.forEach((b, i) => {
    o.onConfig?.(`warm-up ${b.change}`, i, of);
    for (let k = 0; k < o.warmup; k++) {
      b.step();
      b.attention();
    }
  });
  const steps = benches.map(() => [] as number[]);
  const attention = benches.map(() => [] as number[]);
  for (let r = 0; r < o.repeats; r++) {
    o.onConfig?.(`round ${r + 1}/${o.repeats}`, r, o.repeats);
    benches.forEach((b, i) => {
      steps[i]!.push(timed(b.step));
      attention[i]!.push(timed(b.attention));
    });
  }
  const result = (i: number): MeasuredConfig => {
    const b = benches[i]!;
    return { change: b.change, config: b.config, tokens: b.tokens, stepMs: median(steps[i]!), attentionMs: median(attention[i]!), stepTimes: steps[i]!, attentionTimes: attention[i]! };
  };
  const base = result(0);
  const variants = buildable.map((s, k) => {
    const m = result(k + 1);
    return {
      ...m,
      measured: { step: m.stepMs / base.stepMs, attention: m.attentionMs / base.attentionMs },
      predicted: { step: s.ratio.forwardFlops, attention: s.ratio.selfAttentionAllLayers },
    };
  });
  return { batchSize: o.batchSize, warmup: o.warmup, repeats: o.repeats, base, variants, skipped: scaling.filter((s) => !s.buildable).map((s) => s.change) };
}
