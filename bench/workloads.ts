/**
 * The two training workloads of issue 7, with synthetic data (shared by bench/vit_train.ts,
 * bench/captioning_train.ts and bench/compare.ts; bench/torch_workloads.py is the PyTorch twin).
 *
 *  vit:        the notebook's VisionTransformer() (3×32×32, patch 8, embed 128, 6 layers, 4 heads,
 *              FFN 256, 10 classes, dropout 0.1), batch 64, Adam lr 1e-3: forward, cross-entropy,
 *              zero_grad, backward, step. Reported as images/s after warm-up.
 *  captioning: the notebook's overfit run: CaptioningTransformer(input 512, wordvec 256, 2 heads,
 *              2 layers, max_length 30), vocabulary 1004, batch 25, captions of 17 tokens (T = 16),
 *              Adam lr 1e-3, 200 iterations of the masked temporal softmax loss. Reported in seconds.
 */
import { CaptioningTransformer, SmallCNN, VisionTransformer, crossEntropy, fromArray, manualSeed, randn } from "../core/index.ts";
import type { Module } from "../core/nn/module.ts";
import "../backends/register.ts"; // the devices (the xt command registers them too)
import type { Tensor } from "../core/tensor.ts";
import { Adam } from "../core/optim/adam.ts";
import { temporalSoftmaxLoss } from "../core/train/captioning_solver.ts";
import { yieldToEvents } from "../core/train/stop.ts";

/** A tiny deterministic generator for the synthetic labels and captions. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export interface VitWorkload {
  step(): number;
  batch: number;
}

/** `phase` (optional) is told when each part of a step starts: forward, backward, optimizer. */
export function vitWorkload(batch = 64, seed = 0, phase?: (name: "forward" | "backward" | "optimizer") => void): VitWorkload {
  manualSeed(seed);
  return classifierWorkload(new VisionTransformer(), [3, 32, 32], batch, seed, phase);
}

/**
 * A training step of an image classifier on synthetic images of `shape` (C, H, W): forward,
 * cross-entropy, zero_grad, backward, Adam lr 1e-3 (bench/cnn_train.ts: SmallCNN against the
 * Fashion-MNIST ViT). `phase`: as vitWorkload's.
 */
export function classifierWorkload(
  model: Module & { forward(x: Tensor): Tensor }, shape: [number, number, number], batch = 64, seed = 0,
  phase?: (name: "forward" | "backward" | "optimizer") => void,
): VitWorkload {
  model.train();
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const images = randn([batch, ...shape]);
  const r = lcg(seed + 1);
  const labels = fromArray(Array.from({ length: batch }, () => Math.floor(r() * 10)), [batch], "int32");
  return {
    batch,
    step() {
      phase?.("forward");
      const out = model.forward(images);
      const loss = crossEntropy(out, labels);
      phase?.("optimizer");
      opt.zeroGrad();
      phase?.("backward");
      loss.backward();
      phase?.("optimizer");
      opt.step();
      return loss.item();
    },
  };
}

/** `train cnn`'s default model on Fashion-MNIST-shaped images (1×28×28). */
export function cnnWorkload(batch = 64, seed = 0): VitWorkload {
  manualSeed(seed);
  return classifierWorkload(new SmallCNN(28, 1, 32, 64, 10), [1, 28, 28], batch, seed);
}

/** `train vit`'s default model on Fashion-MNIST (28×28×1, patch 7, dropout 0). */
export function fashionVitWorkload(batch = 64, seed = 0): VitWorkload {
  manualSeed(seed);
  return classifierWorkload(new VisionTransformer(28, 7, 1, 128, 6, 4, 256, 10, 0), [1, 28, 28], batch, seed);
}

export interface CaptioningWorkload {
  step(): number;
  iterations: number;
}

export const CAPTIONING = { vocab: 1004, inputDim: 512, wordvec: 256, heads: 2, layers: 2, maxLength: 30, batch: 25, captionLength: 17, iterations: 200, lr: 1e-3 };

export function captioningWorkload(seed = 0): CaptioningWorkload {
  const c = CAPTIONING;
  manualSeed(seed);
  const wordToIdx: Record<string, number> = { "<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3 };
  for (let i = 4; i < c.vocab; i++) wordToIdx[`w${i}`] = i;
  const model = new CaptioningTransformer(wordToIdx, c.inputDim, c.wordvec, c.heads, c.layers, c.maxLength);
  model.train();
  const opt = new Adam(model.parameters(), { lr: c.lr });
  const r = lcg(seed + 7);
  const N = c.batch;
  const T = c.captionLength - 1;
  const features = randn([N, c.inputDim]);
  // Captions: <START> w… <END> <NULL>… with lengths 8…16, like COCO's padded captions.
  const captions = new Int32Array(N * c.captionLength);
  for (let i = 0; i < N; i++) {
    const len = 8 + Math.floor(r() * 9);
    captions[i * c.captionLength] = 1;
    for (let j = 1; j < c.captionLength; j++) {
      captions[i * c.captionLength + j] = j < len ? 4 + Math.floor(r() * (c.vocab - 4)) : j === len ? 2 : 0;
    }
  }
  const captionsIn = new Int32Array(N * T);
  const captionsOut = new Int32Array(N * T);
  const mask = new Float32Array(N * T);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < T; j++) {
      captionsIn[i * T + j] = captions[i * c.captionLength + j]!;
      const o = captions[i * c.captionLength + j + 1]!;
      captionsOut[i * T + j] = o;
      mask[i * T + j] = o !== 0 ? 1 : 0;
    }
  }
  const capIn: Tensor = fromArray(captionsIn, [N, T], "int32");
  return {
    iterations: c.iterations,
    step() {
      const logits = model.forward(features, capIn);
      const loss = temporalSoftmaxLoss(logits, captionsOut, mask);
      const v = loss.item();
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return v;
    },
  };
}

/** A numeric command-line option of a bench script (`--steps 10`), or its default. */
export function numberArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/**
 * The matmul shapes of `xt bench matmul` and bench/compare.ts's matmul row (M, N, K): the ViT's
 * linear layers at batch 64 (1024 tokens, 128 and 256 wide), the captioning model's output layer
 * (400 tokens × 1004 words) and a wider one, a square one, a small one.
 */
export const MATMUL_SHAPES: readonly (readonly [number, number, number])[] = [
  [1024, 128, 128], [1024, 256, 128], [1024, 128, 256], [512, 512, 512], [400, 1004, 256], [400, 2048, 256], [64, 64, 64],
];

/**
 * Best GFLOP/s of `run` (2·M·N·K flops a call) over `samples` samples. A warm-up of ≥ 100 ms of calls
 * (JIT, first touch, caches) sets how many calls a sample repeats (≥ 5 ms of them, so small
 * products are timed over many calls); the event loop turns between samples (storage recycling
 * runs then). bench/torch_workloads.py's matmul times PyTorch the same way.
 */
export async function bestGflops(flops: number, samples: number, run: () => void): Promise<number> {
  let calls = 0;
  const t0 = performance.now();
  do {
    run();
    calls++;
  } while (performance.now() - t0 < 100);
  const perCall = (performance.now() - t0) / calls;
  const reps = Math.max(1, Math.min(100_000, Math.ceil(5 / perCall)));
  let best = Infinity;
  for (let s = 0; s < samples; s++) {
    await tick();
    const t = performance.now();
    for (let r = 0; r < reps; r++) run();
    best = Math.min(best, (performance.now() - t) / reps);
  }
  return flops / (best * 1e6);
}

/** Let the event loop turn, as xt's training loop does between steps (storage recycling runs then). */
export const tick = yieldToEvents;

/** Runs fn `reps` times with an event-loop turn after each; returns each run's milliseconds. */
export async function timeRuns(reps: number, fn: () => void): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
    await tick();
  }
  return out;
}
