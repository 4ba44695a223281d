/**
 * The studies behind the notebook's inline questions:
 *   xt ablate attention    Q1: full / one-head / no-scale / no-proj attention, ViT or captioning
 *   xt ablate small-data   Q2: the ViT against a small CNN on training subsets, and the ViT with
 *                          each small-data technique
 * One dashboard for the whole study (run i of n, seed, the study's ETA), a table at the end,
 * `--json` (each run's start/step/epoch events, then one `end` event with `variants`), `--results
 * FILE` (that end event, rewritten after every finished run), `--plot FILE.svg` (loss curves).
 * Ctrl-C stops the run in progress and keeps the finished runs' rows (exit 130).
 */
import type { Command } from "commander";
import { loadCocoData, resolveCocoSource } from "../../core/data/coco.ts";
import { XtError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic_write.ts";
import { NumpyRandomState } from "../../core/random/index.ts";
import {
  ATTENTION_VARIANT_NAMES, attentionVariantSpecs, captioningAttentionSteps, runCaptioningAttention, runVitAttention, vitAttentionSteps,
  type AttentionVariant, type AttentionVariantName, type CaptioningAttentionSetup, type VitAttentionSetup,
} from "../../core/train/attention_ablation.ts";
import type { EndEvent, StudyVariant } from "../../core/train/events.ts";
import { stopSignal } from "../../core/train/stop.ts";
import { runStudy, type RunCurve, type StudyOptions, type StudyResult } from "../../core/train/study.ts";
import { parseIntFlag, parseNumberFlag } from "../flags.ts";
import { INTERRUPT_EXIT_CODE } from "../render/interrupt.ts";
import { plotSvg } from "../render/figures/line_chart.ts";
import { figureFormat, writeFigure } from "../render/figures/write_figure.ts";
import { makeStyle } from "../render/style.ts";
import { studyTable, type StudyColumn } from "../render/study_table.ts";
import { withTrainingOutput } from "../training_output.ts";
import { parentCommand } from "../options.ts";
import { OVERFIT_DEFAULTS, TRAIN_DEFAULTS } from "./captioning.ts";
import { addModelFlags, modelsOf, parseModelFlags, type VitModelFlags } from "./vit.ts";
import { takeFirst } from "../../core/data/dataloader.ts";
import type { ImageDataset, ImageDatasetName } from "../../core/data/image_dataset.ts";
import { DATASET_SHAPES, resolveModelConfig, validateModelConfig, VIT_TRAIN_DEFAULTS, type VitModelConfig } from "../../core/train/vit_config.ts";
import { loadVitSplit, parseDatasetName } from "../../core/train/vit_data.ts";

interface StudyOutputFlags {
  seeds?: string;
  json?: boolean;
  plain?: boolean;
  printEvery?: string;
  color?: boolean;
  plot?: string;
  results?: string;
}

/** The data, optimiser and model flags of a study that trains ViTs (as `train vit` takes them). */
export interface VitStudyFlags extends VitModelFlags {
  dataset?: string;
  dataDir?: string;
  lr?: string;
  weightDecay?: string;
  batchSize?: string;
  epochs?: string;
  maxTrain?: string;
  maxTest?: string;
}

/** What those flags set up: the images (cut to --max-train/--max-test) and a ViT that fits them. */
export interface VitStudyData {
  name: ImageDatasetName;
  train: ImageDataset;
  test: ImageDataset;
  model: VitModelConfig;
  lr: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
}

/**
 * Parses the flags over `train vit`'s defaults for the data set, with the study's own defaults
 * for the run length and subsets; checks the model flags before reading the images, then that
 * the model fits them.
 */
export function loadVitStudyData(o: VitStudyFlags, defaults: { epochs: number; maxTrain?: number; maxTest?: number }): VitStudyData {
  const name = o.dataset === undefined ? "fashion-mnist" : parseDatasetName(o.dataset);
  const d = VIT_TRAIN_DEFAULTS[name];
  const flags = parseModelFlags(o);
  const lr = o.lr === undefined ? d.lr : parseNumberFlag("--lr", o.lr, 0);
  const weightDecay = o.weightDecay === undefined ? d.weightDecay : parseNumberFlag("--weight-decay", o.weightDecay, 0);
  const batchSize = o.batchSize === undefined ? d.batchSize : parseIntFlag("--batch-size", o.batchSize, 1);
  const epochs = o.epochs === undefined ? defaults.epochs : parseIntFlag("--epochs", o.epochs, 1);
  const maxTrain = o.maxTrain === undefined ? defaults.maxTrain : parseIntFlag("--max-train", o.maxTrain, 1);
  const maxTest = o.maxTest === undefined ? defaults.maxTest : parseIntFlag("--max-test", o.maxTest, 1);
  // The model flags that do not need the images, checked before 60,000 of them are read.
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  validateModelConfig({ ...d.model, imgSize: DATASET_SHAPES[name].size, inChannels: DATASET_SHAPES[name].channels, ...given });
  const train = takeFirst(loadVitSplit(name, "train", o.dataDir), maxTrain);
  const test = takeFirst(loadVitSplit(name, "test", o.dataDir), maxTest);
  const shape = { channels: train.channels, height: train.height, width: train.width, numClasses: train.classes.length };
  const model = resolveModelConfig(d.model, shape, flags);
  if (model.imgSize !== train.height || model.inChannels !== train.channels || train.height !== train.width) {
    throw new XtError(`--img-size/--in-channels: the model takes ${model.inChannels}×${model.imgSize}×${model.imgSize} images, ${train.source} has ${train.channels}×${train.height}×${train.width}; leave them out to follow the data`, 2);
  }
  validateModelConfig(model);
  return { name, train, test, model, lr, weightDecay, batchSize, epochs };
}

export interface AblateAttentionFlags extends VitStudyFlags, StudyOutputFlags {
  task?: string;
  variants?: string;
  probe?: string;
  gradSteps?: string;
  setup?: string;
  valCaptions?: string;
}

export const DEFAULT_SEEDS = [231, 0, 1];

/** The study-length defaults of `ablate attention --task vit` (the rest: `train vit`'s). */
export const ATTENTION_VIT_DEFAULTS = { maxTrain: 10000, maxTest: 2000, epochs: 2, probe: 256, gradSteps: 10 };
/** `ablate attention --task captioning`: the probe and validation captions, the steps whose gradients are read. */
export const ATTENTION_CAPTIONING_DEFAULTS = { setup: "train" as "train" | "overfit", probe: 100, valCaptions: 1000, gradSteps: 10 };

/** "231,0,1" → [231, 0, 1] (distinct whole numbers). */
export function parseSeeds(raw: string | undefined): number[] {
  if (raw === undefined) return [...DEFAULT_SEEDS];
  const parts = raw.split(",").map((s) => s.trim());
  const seeds = parts.map((p) => parseIntFlag("--seeds", p, 0, 0xffffffff));
  if (new Set(seeds).size !== seeds.length) throw new XtError(`--seeds: '${raw}' names a seed twice`, 2);
  return seeds;
}

/** A comma-separated subset of `names`, in the order given; all of them when absent. */
export function parseNameList<T extends string>(flag: string, raw: string | undefined, names: readonly T[]): T[] {
  if (raw === undefined) return [...names];
  const out = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const n of out) if (!names.includes(n as T)) throw new XtError(`${flag}: unknown '${n}' (${names.join(", ")})`, 2);
  if (out.length === 0) throw new XtError(`${flag}: name at least one of ${names.join(", ")}`, 2);
  if (new Set(out).size !== out.length) throw new XtError(`${flag}: '${raw}' names one twice`, 2);
  return out as T[];
}

/** --plot must name a figure format and --results a file: checked before any training. */
function checkOutputFiles(o: StudyOutputFlags): void {
  if (o.plot !== undefined) figureFormat(o.plot, "--plot");
  if (o.results === "") throw new XtError("--results: expected a file name", 2);
}

/** Runs a study with the output its flags ask for; writes --results after every run and --plot at the end. */
async function runStudyCommand<V>(o: StudyOutputFlags, study: Omit<StudyOptions<V>, "sink" | "signal" | "onRows">, plotTitle: string): Promise<StudyResult> {
  const printEvery = o.printEvery === undefined ? 10 : parseIntFlag("--print-every", o.printEvery, 1);
  const writeRows = (end: EndEvent): void => {
    if (o.results) writeFileAtomic(o.results, JSON.stringify(end, null, 1) + "\n");
  };
  const r = await withTrainingOutput({ ...o, printEvery }, undefined, (sink) =>
    runStudy({ ...study, sink, signal: stopSignal(), onRows: writeRows }));
  writeRows(r.end);
  if (o.plot) await writeFigure(o.plot, lossCurvesSvg(r.curves, plotTitle), "--plot");
  return r;
}

/**
 * The loss curves of a study: per variant, the mean over its finished seeds at each step, smoothed
 * by a moving average over about 1/50 of the run.
 */
export function lossCurvesSvg(curves: RunCurve[], title: string): string {
  const names = [...new Set(curves.map((c) => c.variant))];
  const longest = Math.max(1, ...curves.map((c) => c.losses.length));
  const k = Math.max(1, Math.round(longest / 50));
  const series = names.map((name) => {
    const runs = curves.filter((c) => c.variant === name);
    const n = Math.min(...runs.map((r) => r.losses.length));
    const mean = Array.from({ length: n }, (_, i) => runs.reduce((s, r) => s + r.losses[i]!, 0) / runs.length);
    const points: [number, number][] = [];
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += mean[i]!;
      if (i >= k) acc -= mean[i - k]!;
      if (i >= k - 1) points.push([i + 1, acc / k]);
    }
    return { name: `${name} (${runs.length} seed${runs.length === 1 ? "" : "s"})`, points };
  });
  const sub = k > 1 ? `, moving average over ${k} steps` : "";
  return plotSvg(series, { title: `${title}${sub}`, xlabel: "Step", ylabel: "Training loss" });
}

// ---------------------------------------------------------------------------------------------
// ablate attention

const VIT_ONLY: [keyof AblateAttentionFlags, string][] = [
  ["dataset", "--dataset"], ["maxTest", "--max-test"], ["imgSize", "--img-size"], ["patchSize", "--patch-size"],
  ["inChannels", "--in-channels"], ["ffnDim", "--ffn-dim"], ["dropout", "--dropout"], ["weightDecay", "--weight-decay"],
];
const CAPTIONING_ONLY: [keyof AblateAttentionFlags, string][] = [["setup", "--setup"], ["valCaptions", "--val-captions"]];

function refuseFlags(o: AblateAttentionFlags, flags: [keyof AblateAttentionFlags, string][], task: string): void {
  for (const [k, flag] of flags) if (o[k] !== undefined) throw new XtError(`${flag} does not apply to --task ${task}`, 2);
}

/** The table's columns: what `ablate attention` shows for a task. */
function attentionColumns(task: "vit" | "captioning"): StudyColumn[] {
  return [
    { title: "params", metric: "parameters", digits: "int" },
    { title: "train loss", metric: "train_loss" },
    task === "vit" ? { title: "test acc", metric: "test_acc" } : { title: "val loss", metric: "val_loss" },
    { title: "entropy init", metric: "entropy_init", digits: 3 },
    { title: "entropy end", metric: "entropy_end", digits: 3 },
    { title: "max w init", metric: "max_weight_init", digits: 3 },
    { title: "max w end", metric: "max_weight_end", digits: 3 },
    { title: "largest w end", metric: "largest_weight_end", digits: 3 },
    { title: "q/k grad first", metric: "qk_grad_norm", digits: 4 },
    { title: "q/k grad last", metric: "qk_grad_norm_end", digits: 4 },
    { title: "head dist spread", metric: "head_distance_spread", digits: 3 },
  ];
}

/** Layers present in a row's per-layer measures (entropy_end_l1 …). */
function layersOf(v: StudyVariant): number {
  let L = 0;
  while (v.detail?.[`entropy_end_l${L + 1}`]) L++;
  return L;
}

/** The same row with its detail as its measures (for the per-layer tables). */
const detailRow = (v: StudyVariant): StudyVariant => ({ ...v, metrics: v.detail ?? {} });

/** The tables printed after `ablate attention`. */
export function attentionReport(r: StudyResult, task: "vit" | "captioning", bold: (s: string) => string = (s) => s): string {
  const out: string[] = [];
  const seeds = [...new Set(r.variants.flatMap((v) => v.seeds))];
  out.push(bold(`Attention ablation (${task}), mean ± std over seeds ${seeds.join(", ")}${r.interrupted ? " — interrupted: finished runs only" : ""}`));
  out.push(...studyTable(r.variants, attentionColumns(task), bold));
  const L = Math.max(0, ...r.variants.map(layersOf));
  if (L > 0) {
    const perLayer = (prefix: string): StudyColumn[] => Array.from({ length: L }, (_, l) => ({ title: `layer ${l + 1}`, metric: `${prefix}_l${l + 1}`, digits: 3 }));
    out.push("", bold(`Attention entropy per layer at initialisation (nats, mean over ${task === "vit" ? "images, heads and patches" : "captions, heads and tokens"})`));
    const rows = r.variants.map(detailRow);
    out.push(...studyTable(rows, perLayer("entropy_init"), bold));
    out.push("", bold("Attention entropy per layer after training (nats)"));
    out.push(...studyTable(rows, perLayer("entropy_end"), bold));
    const heads = rows.filter((v) => v.name === "full" || v.name === "one-head");
    if (heads.length) {
      const unit = task === "vit" ? "patch-grid units" : "token positions";
      const cell = (l: number) => (v: StudyVariant): string => {
        const vals: string[] = [];
        for (let h = 1; v.metrics[`attn_distance_l${l}_h${h}`]; h++) vals.push(v.metrics[`attn_distance_l${l}_h${h}`]!.mean.toFixed(2));
        return vals.length ? vals.join(" ") : "-";
      };
      out.push("", bold(`Mean attention distance per head after training (${unit}; one number per head, mean over seeds)`));
      out.push(...studyTable(heads, Array.from({ length: L }, (_, l) => ({ title: `layer ${l + 1}`, metric: cell(l + 1) })), bold));
    }
  }
  return out.join("\n");
}

export async function runAblateAttention(o: AblateAttentionFlags): Promise<number> {
  const task = o.task ?? "vit";
  if (task !== "vit" && task !== "captioning") throw new XtError(`--task: expected vit or captioning, got '${o.task}'`, 2);
  const names = parseNameList<AttentionVariantName>("--variants", o.variants, ATTENTION_VARIANT_NAMES);
  const seeds = parseSeeds(o.seeds);
  checkOutputFiles(o);
  const gradSteps = o.gradSteps === undefined ? ATTENTION_VIT_DEFAULTS.gradSteps : parseIntFlag("--grad-steps", o.gradSteps, 1);
  let study: Omit<StudyOptions<AttentionVariant>, "sink" | "signal" | "onRows">;
  if (task === "vit") {
    refuseFlags(o, CAPTIONING_ONLY, task);
    const probe = o.probe === undefined ? ATTENTION_VIT_DEFAULTS.probe : parseIntFlag("--probe", o.probe, 1);
    const t = loadVitStudyData(o, ATTENTION_VIT_DEFAULTS);
    const setup: VitAttentionSetup = {
      model: t.model, train: t.train, test: t.test, datasetName: t.name, classes: t.train.classes,
      datasetLabel: `${t.name} (${t.train.n} train / ${t.test.n} test images, ${t.train.source})`,
      lr: t.lr, weightDecay: t.weightDecay, batchSize: t.batchSize, epochs: t.epochs, probe, gradSteps,
    };
    study = {
      command: "ablate attention", variants: attentionVariantSpecs(names, t.model.numHeads), seeds,
      plannedSteps: () => vitAttentionSteps(setup), run: (v, ctx) => runVitAttention(setup, v, ctx),
    };
  } else {
    refuseFlags(o, VIT_ONLY, task);
    const setupName = o.setup ?? ATTENTION_CAPTIONING_DEFAULTS.setup;
    if (setupName !== "train" && setupName !== "overfit") throw new XtError(`--setup: expected train or overfit, got '${o.setup}'`, 2);
    const d = setupName === "overfit" ? OVERFIT_DEFAULTS : TRAIN_DEFAULTS;
    const int = (flag: string, raw: string | undefined, dflt: number, min = 1): number => (raw === undefined ? dflt : parseIntFlag(flag, raw, min));
    const maxTrain = o.maxTrain === undefined ? d.maxTrain : o.maxTrain === "all" ? null : parseIntFlag("--max-train", o.maxTrain, 1);
    const setup: CaptioningAttentionSetup = {
      run: {
        command: "ablate attention", dataDir: o.dataDir, maxTrain, pcaFeatures: d.pca,
        wordvecDim: int("--embed-dim", o.embedDim, d.wordvecDim, 2), numHeads: int("--num-heads", o.numHeads, d.numHeads),
        numLayers: int("--num-layers", o.numLayers, d.numLayers), maxLength: d.maxLength, epochs: int("--epochs", o.epochs, d.epochs),
        batchSize: int("--batch-size", o.batchSize, d.batchSize), lr: o.lr === undefined ? d.lr : parseNumberFlag("--lr", o.lr, 0),
      },
      valCaptions: int("--val-captions", o.valCaptions, ATTENTION_CAPTIONING_DEFAULTS.valCaptions),
      probe: int("--probe", o.probe, ATTENTION_CAPTIONING_DEFAULTS.probe),
      gradSteps,
    };
    // The number of training captions (for the study's progress): max_train draws exactly that many.
    const trainCaptions = maxTrain ?? (await loadCocoData(resolveCocoSource(o.dataDir), { pcaFeatures: d.pca }, new NumpyRandomState(0))).train.numCaptions;
    study = {
      command: "ablate attention", variants: attentionVariantSpecs(names, setup.run.numHeads), seeds,
      plannedSteps: () => captioningAttentionSteps(setup, trainCaptions), run: (v, ctx) => runCaptioningAttention(setup, v, ctx),
    };
  }
  const r = await runStudyCommand(o, study, `ablate attention (${task}): training loss`);
  if (!o.json) {
    const c = makeStyle(process.stdout, o.color === false);
    process.stdout.write(`\n${attentionReport(r, task, (s) => c.bold(s))}\n`);
    if (o.results) process.stdout.write(`Results: ${o.results}\n`);
    if (o.plot) process.stdout.write(`Loss curves: ${o.plot}\n`);
  }
  return r.interrupted ? INTERRUPT_EXIT_CODE : 0;
}

// ---------------------------------------------------------------------------------------------

function addStudyOutputFlags(c: Command): Command {
  return c
    .option("--seeds <list>", `comma-separated seeds; each variant runs once per seed (default ${DEFAULT_SEEDS.join(",")})`)
    .option("--results <file>", "write the study's end event (every variant's measures per seed, mean and std) as JSON, rewritten after every run")
    .option("--plot <file>", "write the training-loss curves of all variants (mean over seeds) as an SVG or PNG (by the extension)")
    .option("--json", "print JSON lines: each run's start/step/epoch events, then one end event with the variants")
    .option("--plain", "plain progress lines")
    .option("--print-every <n>", "print every n steps (default 10)")
    .option("--no-color", "no colour");
}

export function registerAblate(program: Command, exit: (code: number) => void): void {
  const ablate = parentCommand(program, "ablate", "studies that answer the notebook's inline questions (docs/inline-questions.md)");
  const a = ablate.command("attention").description(
    "Inline Question 1: train the attention variants full, one-head, no-scale, no-proj from the same seeds on the same data; parameters, losses, accuracy, attention entropy, softmax peaks, query/key gradients, per-head attention distance",
  );
  addModelFlags(a, modelsOf(VIT_TRAIN_DEFAULTS));
  addStudyOutputFlags(a)
    .option("--task <task>", "vit (default) or captioning")
    .option("--variants <list>", `which variants, comma-separated (default ${ATTENTION_VARIANT_NAMES.join(",")})`)
    .option("--dataset <name>", "vit: cifar10, fashion-mnist or mnist (default fashion-mnist)")
    .option("--data-dir <dir>", "folder with the data set's files (captioning: a COCO folder; default the embedded coco-mini)")
    .option("--max-train <n>", `vit: the first n training images (default ${ATTENTION_VIT_DEFAULTS.maxTrain}); captioning: n captions drawn like load_coco_data (default: the set-up's)`)
    .option("--max-test <n>", `vit: the first n test images (default ${ATTENTION_VIT_DEFAULTS.maxTest})`)
    .option("--epochs <n>", `epochs (vit default ${ATTENTION_VIT_DEFAULTS.epochs}; captioning: the set-up's)`)
    .option("--lr <x>", "Adam learning rate (default: train vit's, or the captioning set-up's)")
    .option("--weight-decay <x>", "vit: Adam weight decay")
    .option("--batch-size <n>", "batch size (default: train vit's, or the captioning set-up's)")
    .option("--setup <name>", `captioning: train (the whole train split, 10 epochs) or overfit (50 captions, 100 epochs) (default ${ATTENTION_CAPTIONING_DEFAULTS.setup})`)
    .option("--val-captions <n>", `captioning: the final validation loss on the first n val captions (default ${ATTENTION_CAPTIONING_DEFAULTS.valCaptions})`)
    .option("--probe <n>", `the attention is measured on the first n test images (vit, default ${ATTENTION_VIT_DEFAULTS.probe}) or val captions (captioning, default ${ATTENTION_CAPTIONING_DEFAULTS.probe})`)
    .option("--grad-steps <n>", `the query/key gradient norm is averaged over the first n steps, and over the last n (default ${ATTENTION_VIT_DEFAULTS.gradSteps})`)
    .action(async (opts: AblateAttentionFlags) => exit(await runAblateAttention(opts)));
}
