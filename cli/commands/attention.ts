/**
 * What the transformers attend to:
 *   xt attention vit         one image, the attention rollout on its patch grid and every layer's
 *                            and head's received attention; a figure with --out, coloured blocks
 *                            in a terminal without
 *   xt attention captioning  one caption's greedy decoding beside its ground truth, with each
 *                            decoder layer's and head's self-attention as a word × word heat map
 */
import type { Command } from "commander";
import { supportsColor } from "chalk";
import { UsageError, XtError } from "../../core/errors.ts";
import { decodeCaptions, gatherCocoBatch } from "../../core/data/coco.ts";
import { captureAttention } from "../../core/models/attention_capture.ts";
import { noGrad } from "../../core/autograd.ts";
import { fromArray } from "../../core/ops/creation.ts";
import { loadCheckpointData, modelFromCheckpoint, readCaptioningCheckpoint } from "../../core/train/captioning_run.ts";
import { vitAttention, type VitAttention } from "../../core/train/vit_attention.ts";
import { loadVitCheckpoint } from "../../core/train/vit_checkpoint.ts";
import { loadVitSplit, parseDatasetName } from "../../core/train/vit_data.ts";
import { parseIntFlag } from "../flags.ts";
import { captionAttentionSvg } from "../render/figures/caption_attention_figure.ts";
import { colormap, parseColor } from "../render/figures/colormap.ts";
import { pictureLines, sideBySide, type BlockMode, type Picture, type Rgb } from "../render/figures/terminal_blocks.ts";
import { vitAttentionSvg } from "../render/figures/vit_attention_figure.ts";
import { figureFormat, writeFigure } from "../render/figures/write_figure.ts";
import { makeStyle } from "../render/style.ts";

export interface AttentionVitOpts {
  checkpoint?: string;
  index?: string;
  split?: string;
  dataset?: string;
  dataDir?: string;
  out?: string;
  json?: boolean;
  color?: boolean;
}

export interface AttentionVitReport extends VitAttention {
  /** The weights file read (a run folder: its best model). */
  checkpoint: string;
  dataset: string;
  source: string;
  split: "train" | "test";
  index: number;
  label: number;
  classes: string[];
  /** The image, C·H·W in [0, 1]. */
  image: { channels: number; height: number; width: number; pixels: number[] };
}

export async function attentionVit(o: AttentionVitOpts): Promise<AttentionVitReport> {
  if (!o.checkpoint) throw new UsageError("attention vit: --checkpoint FILE is required");
  const split = o.split ?? "test";
  if (split !== "test" && split !== "train") throw new UsageError(`--split: expected 'test' or 'train', got '${split}'`);
  const index = o.index === undefined ? 0 : parseIntFlag("--index", o.index, 0);
  if (o.out !== undefined) figureFormat(o.out);
  const vit = loadVitCheckpoint(o.checkpoint);
  const name = o.dataset !== undefined ? parseDatasetName(o.dataset) : vit.dataset ?? "fashion-mnist";
  const ds = loadVitSplit(name, split, o.dataDir);
  if (index >= ds.n) throw new UsageError(`--index ${index}: the ${name} ${split} split has ${ds.n} images (0…${ds.n - 1})`);
  const m = vit.model;
  if (ds.height !== m.imgSize || ds.channels !== m.inChannels || ds.classes.length !== m.numClasses) {
    throw new XtError(
      `${o.checkpoint}: the model takes ${m.inChannels}×${m.imgSize}×${m.imgSize} images in ${m.numClasses} classes; ${name} has ${ds.channels}×${ds.height}×${ds.width} in ${ds.classes.length}`,
    );
  }
  const chw = ds.channels * ds.height * ds.width;
  const pixels = ds.images.slice(index * chw, (index + 1) * chw);
  return {
    checkpoint: vit.paths.weights, dataset: name, source: ds.source, split, index, label: ds.labels[index]!, classes: ds.classes,
    image: { channels: ds.channels, height: ds.height, width: ds.width, pixels: Array.from(pixels) },
    ...vitAttention(vit.net, pixels),
  };
}

function vitCaption(r: AttentionVitReport): string {
  const p = r.probabilities[r.predicted]!;
  return `true: ${r.classes[r.label]} · predicted: ${r.classes[r.predicted]} (p = ${p.toFixed(2)})`;
}

export function vitAttentionFigure(r: AttentionVitReport): string {
  return vitAttentionSvg({
    title: `attention vit: ${r.checkpoint} · ${r.dataset} ${r.split} image ${r.index}`,
    subtitle: vitCaption(r),
    pixels: r.image.pixels, channels: r.image.channels, height: r.image.height, width: r.image.width,
    grid: r.grid, received: r.received, rollout: r.rollout,
  });
}

/** How many colours the terminal shows: 24-bit, 256, or none (shades). */
export function blockMode(stream: NodeJS.WriteStream, noColorFlag: boolean): BlockMode {
  if (noColorFlag || "NO_COLOR" in process.env || !stream.isTTY) return "shades";
  const level = supportsColor ? supportsColor.level : 0;
  return level >= 3 ? "truecolor" : level >= 2 ? "256" : "shades";
}

/** The image, and the rollout alone and on the image, as terminal lines. */
export function vitAttentionBlocks(r: AttentionVitReport, mode: BlockMode): string[] {
  const { channels: C, height: H, width: W, pixels } = r.image;
  const px = (i: number, j: number): Rgb => {
    const v = (c: number) => Math.round(Math.min(1, Math.max(0, pixels[c * H * W + i * W + j]!)) * 255);
    return C >= 3 ? [v(0), v(1), v(2)] : [v(0), v(0), v(0)];
  };
  const lo = Math.min(...r.rollout);
  const hi = Math.max(...r.rollout);
  const magma = colormap("magma");
  const heat = (i: number, j: number): Rgb => {
    const p = Math.floor((i * r.grid) / H) * r.grid + Math.floor((j * r.grid) / W);
    return parseColor(magma(hi > lo ? (r.rollout[p]! - lo) / (hi - lo) : 0.5));
  };
  const pic = (at: Picture["at"]): string[] => pictureLines({ width: W, height: H, at }, mode);
  const blend = (i: number, j: number): Rgb => {
    const a = px(i, j);
    const b = heat(i, j);
    return [0, 1, 2].map((k) => Math.round(0.4 * a[k]! + 0.6 * b[k]!)) as Rgb;
  };
  return sideBySide([
    { caption: "input", lines: pic(px), width: W },
    { caption: "rollout", lines: pic(heat), width: W },
    { caption: "rollout on image", lines: pic(blend), width: W },
  ]);
}

async function runAttentionVit(o: AttentionVitOpts): Promise<number> {
  const r = await attentionVit(o);
  if (o.out) {
    await writeFigure(o.out, vitAttentionFigure(r));
    if (!o.json) process.stdout.write(`${vitCaption(r)}\nFigure: ${o.out}\n`);
  }
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + "\n");
    return 0;
  }
  if (o.out) return 0;
  const c = makeStyle(process.stdout, o.color === false);
  const mode = blockMode(process.stdout, o.color === false);
  process.stdout.write([
    c.bold(`${r.checkpoint} · ${r.dataset} ${r.split} image ${r.index}`),
    vitCaption(r),
    "",
    ...vitAttentionBlocks(r, mode),
    "",
    `attention rollout over ${r.received.length} layers (bright: the patches the pooled output draws on most); every layer and head: --out FILE.svg`,
    "",
  ].join("\n"));
  return 0;
}

// ---------------------------------------------------------------------------------------------

export interface AttentionCaptioningOpts {
  checkpoint?: string;
  index?: string;
  split?: string;
  dataDir?: string;
  maxLength?: string;
  out?: string;
  json?: boolean;
}

export interface AttentionCaptioningReport {
  /** The weights file read (a run folder: its best model). */
  checkpoint: string;
  data: string;
  split: "train" | "val";
  /** The caption's row in the split (after max_train subsampling for train). */
  index: number;
  image: number;
  url: string;
  greedy: string;
  groundTruth: string;
  /** The decoder's input tokens for the last decoding step: <START> and the greedy words before the last. */
  tokens: string[];
  /** [layer][head]: tokens² self-attention weights (query row, key column). */
  selfAttention: number[][][];
}

export async function attentionCaptioning(o: AttentionCaptioningOpts): Promise<AttentionCaptioningReport> {
  if (!o.checkpoint) throw new UsageError("attention captioning: --checkpoint FILE is required");
  const split = o.split ?? "train";
  if (split !== "train" && split !== "val") throw new UsageError(`--split: expected 'train' or 'val', got '${split}'`);
  const index = o.index === undefined ? 0 : parseIntFlag("--index", o.index, 0);
  if (o.out !== undefined) figureFormat(o.out);
  const path = o.checkpoint;
  const ck = readCaptioningCheckpoint(path);
  const maxLength = o.maxLength === undefined ? Math.min(30, ck.config.maxLength) : parseIntFlag("--max-length", o.maxLength, 1, ck.config.maxLength);
  const model = modelFromCheckpoint(ck, path);
  model.eval();
  const data = await loadCheckpointData(ck, path, o.dataDir);
  const s = data[split];
  if (index >= s.numCaptions) throw new UsageError(`--index ${index}: the ${split} split of ${data.source} has ${s.numCaptions} captions (0…${s.numCaptions - 1})`);
  const one = gatherCocoBatch(s, [index]);
  const img = one.imageIdxs[0]!;
  const features = fromArray(one.features, [1, data.featureDim]);
  const ids = Array.from(model.sample(features, maxLength).data());
  const end = model.endIdx === undefined ? -1 : ids.indexOf(model.endIdx);
  const generated = end >= 0 ? ids.slice(0, end + 1) : ids;
  // The last decoding step reads <START> and every generated word but the last; with the causal
  // mask its attention rows are exactly those of each earlier step.
  const input = [model.startIdx!, ...generated.slice(0, -1)];
  const { attention } = noGrad(() => captureAttention(model, () => model.forward(features, fromArray(input, [1, input.length], "int32"))));
  const selfAttention = attention
    .filter((a) => a.module.endsWith("self_attn"))
    .map((a) => {
      const [, H, S, K] = a.shape;
      return Array.from({ length: H }, (_, h) => Array.from(a.weights.subarray(h * S * K, (h + 1) * S * K)));
    });
  return {
    checkpoint: ck.loaded.paths.weights, data: data.source, split, index, image: img, url: one.urls[0] ?? "",
    greedy: decodeCaptions(generated, data.idxToWord),
    groundTruth: decodeCaptions(one.captions, data.idxToWord),
    tokens: input.map((i) => data.idxToWord[i] ?? `#${i}`),
    selfAttention,
  };
}

export function captionAttentionFigure(r: AttentionCaptioningReport): string {
  return captionAttentionSvg({
    title: `attention captioning: ${r.checkpoint} · ${r.split} caption ${r.index} (image ${r.image}, ${r.data})`,
    greedy: r.greedy, truth: r.groundTruth, tokens: r.tokens, selfAttention: r.selfAttention,
  });
}

async function runAttentionCaptioning(o: AttentionCaptioningOpts): Promise<number> {
  const r = await attentionCaptioning(o);
  if (o.out) await writeFigure(o.out, captionAttentionFigure(r));
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + "\n");
    return 0;
  }
  process.stdout.write([
    `${r.split} caption ${r.index} (image ${r.image})`,
    `  greedy: ${r.greedy}`,
    `  GT:     ${r.groundTruth}`,
    o.out ? `Figure: ${o.out}` : "  (the self-attention maps: --out FILE.svg or FILE.png)",
    "",
  ].join("\n"));
  return 0;
}

// ---------------------------------------------------------------------------------------------

export function registerAttention(program: Command, exit: (code: number) => void): void {
  const attention = program.command("attention").description("what a trained transformer attends to, as a figure");
  attention.command("vit")
    .description("one image: the attention rollout on its patches and every layer's and head's attention; an SVG/PNG with --out, coloured blocks in a terminal without")
    .option("--checkpoint <file>", "a ViT checkpoint written by train vit: FILE, FILE.safetensors or FILE.json, or a run folder (its best model)")
    .option("--index <n>", "which image of the split (default 0)")
    .option("--split <split>", "test or train (default test)")
    .option("--dataset <name>", "cifar10, fashion-mnist or mnist (default: the checkpoint's)")
    .option("--data-dir <dir>", "folder with the data set's files")
    .option("--out <file>", "write the figure: .svg or .png")
    .option("--json", "print the attention as JSON")
    .option("--no-color", "no colour (shades)")
    .action(async (opts: AttentionVitOpts) => exit(await runAttentionVit(opts)));
  attention.command("captioning")
    .description("one caption: the greedy caption beside the ground truth, and each decoder layer's and head's self-attention as a word × word heat map")
    .option("--checkpoint <file>", "a captioning checkpoint (overfit captioning --save, train captioning): FILE, FILE.safetensors or FILE.json, or a run folder (its best model)")
    .option("--index <n>", "which caption of the split (default 0)")
    .option("--split <split>", "train or val (default train)")
    .option("--data-dir <dir>", "COCO captioning folder (default: the data the checkpoint was trained on)")
    .option("--max-length <n>", "longest greedy caption (default 30)")
    .option("--out <file>", "write the figure: .svg or .png")
    .option("--json", "print the captions and attention as JSON")
    .action(async (opts: AttentionCaptioningOpts) => exit(await runAttentionCaptioning(opts)));
}
