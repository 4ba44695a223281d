/** One figure of each kind from small synthetic data, for the figure tests. */
import { FASHION_MNIST_CLASSES } from "../core/data/image_dataset.ts";
import { ablationSvg } from "../cli/render/figures/ablation_figure.ts";
import { captionAttentionSvg } from "../cli/render/figures/caption_attention_figure.ts";
import { confusionSvg } from "../cli/render/figures/confusion_figure.ts";
import { learningCurvesSvg } from "../cli/render/figures/learning_curves_figure.ts";
import { lossCurveSvg } from "../cli/render/figures/line_chart.ts";
import { vitAttentionSvg } from "../cli/render/figures/vit_attention_figure.ts";

/** A causal attention matrix with rows summing to 1. */
function causal(T: number, seed: number): number[] {
  const a = new Array<number>(T * T).fill(0);
  for (let i = 0; i < T; i++) {
    let z = 0;
    for (let j = 0; j <= i; j++) z += a[i * T + j] = Math.exp(2 * Math.sin(i * 3 + j * 5 + seed));
    for (let j = 0; j <= i; j++) a[i * T + j]! /= z;
  }
  return a;
}

const wave = (n: number, seed: number): number[] => Array.from({ length: n }, (_, k) => (1 + Math.sin(k * 1.3 + seed)) / (2 * n));

export interface SampleFigure {
  kind: string;
  svg: string;
  /** Heat maps (many colours) or line/bar charts (a few). */
  heat: boolean;
}

export function sampleFigures(): SampleFigure[] {
  const tokens = "<START> a man riding a wave on a surfboard".split(" ");
  const epochs = (k: number) => [1, 2, 3].map((e) => ({ epoch: e, trainLoss: 2 / (e + k), testLoss: 2.2 / (e + k), trainAcc: 0.5 + 0.1 * e, testAcc: 0.45 + 0.1 * e }));
  const steps = (k: number) => Array.from({ length: 60 }, (_, i) => ({ step: i + 1, loss: 2.3 * Math.exp(-i / (20 + k)), accuracy: Math.min(1, i / 60 + 0.1) }));
  return [
    {
      kind: "vit-attention", heat: true,
      svg: vitAttentionSvg({
        title: "attention vit: vit.safetensors · fashion-mnist test image 0", subtitle: "true: Bag · predicted: Bag (p = 0.90)",
        pixels: Array.from({ length: 784 }, (_, k) => Math.max(0, 1 - Math.hypot(Math.floor(k / 28) - 14, (k % 28) - 12) / 12)),
        channels: 1, height: 28, width: 28, grid: 4,
        received: [0, 1].map((l) => [0, 1, 2, 3].map((h) => wave(16, l * 4 + h))), rollout: wave(16, 9),
      }),
    },
    {
      kind: "caption-attention", heat: true,
      svg: captionAttentionSvg({
        title: "attention captioning: cap.safetensors · train caption 3", greedy: "a man riding a wave on a surfboard <END>",
        truth: "<START> a man riding a wave on a surfboard <END>", tokens,
        selfAttention: [0, 1].map((l) => [0, 1].map((h) => causal(tokens.length, l * 2 + h))),
      }),
    },
    {
      kind: "confusion", heat: true,
      svg: confusionSvg({
        title: "eval vit: vit.safetensors · fashion-mnist test (10000 images)", subtitle: "test accuracy 0.8354",
        classes: FASHION_MNIST_CLASSES,
        confusion: FASHION_MNIST_CLASSES.map((_, i) => FASHION_MNIST_CLASSES.map((_, j) => (i === j ? 800 - 40 * i : (i * 7 + j * 3) % 23))),
      }),
    },
    {
      kind: "learning-curves", heat: false,
      svg: learningCurvesSvg({ title: "Learning curves: a, b", subtitle: ["a: train vit on fashion-mnist", "b: train vit on fashion-mnist"], runs: [{ label: "a", steps: steps(0), epochs: epochs(0) }, { label: "b", steps: steps(15), epochs: epochs(1) }] }),
    },
    {
      kind: "ablation", heat: false,
      svg: ablationSvg({
        title: "Ablation: dropout", subtitle: "bars: mean over seeds, whiskers: ±1 std",
        runs: [{
          label: "ablation",
          variants: [
            { name: "baseline", seeds: 3, metrics: { "test_acc@1": { mean: 0.83, std: 0.01 }, test_loss: { mean: 0.47, std: 0.02 } } },
            { name: "dropout 0.1", seeds: 3, metrics: { "test_acc@1": { mean: 0.81, std: 0.015 }, test_loss: { mean: 0.52, std: 0.03 } } },
          ],
        }],
      }),
    },
    { kind: "loss-curve", heat: false, svg: lossCurveSvg(Array.from({ length: 100 }, (_, i) => 3 * Math.exp(-i / 25)), { val: [[50, 1], [100, 0.6]] }) },
  ];
}

/** The width and height an SVG document declares. */
export function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg);
  if (!m) throw new Error("no width/height on the <svg> element");
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Distinct colours among the pixels that are not grey (heat-map cells, coloured lines). */
export function colourfulColours(data: Uint8Array | Uint8ClampedArray, channels = 4): number {
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i += channels) {
    const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
    if (Math.max(r, g, b) - Math.min(r, g, b) < 24) continue;
    seen.add((r << 16) | (g << 8) | b);
  }
  return seen.size;
}

/** The share of pixels that are not (near) white. */
export function inkShare(data: Uint8Array | Uint8ClampedArray, channels = 4): number {
  let ink = 0;
  for (let i = 0; i < data.length; i += channels) if (data[i]! < 235 || data[i + 1]! < 235 || data[i + 2]! < 235) ink++;
  return ink / (data.length / channels);
}
