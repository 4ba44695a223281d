/**
 * What the studies (`xt ablate attention`, `xt ablate small-data`) share on the command line: the
 * seeds and name lists, the ViT data and model flags of a study, the output (one dashboard for the
 * whole study, --json, --results rewritten after every finished run, --plot) and the loss-curve
 * figure. Ctrl-C stops the run in progress and keeps the finished runs' rows.
 */
import type { Command } from "commander";
import { takeFirst } from "../core/data/dataloader.ts";
import type { ImageDataset, ImageDatasetName } from "../core/data/image_dataset.ts";
import { XtError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/io/atomic_write.ts";
import type { EndEvent } from "../core/train/events.ts";
import { stopSignal } from "../core/train/stop.ts";
import { runStudy, type RunCurve, type StudyOptions, type StudyResult } from "../core/train/study.ts";
import { DATASET_SHAPES, resolveModelConfig, validateModelConfig, VIT_TRAIN_DEFAULTS, type VitModelConfig } from "../core/train/vit_config.ts";
import { loadVitSplit, parseDatasetName } from "../core/train/vit_data.ts";
import type { ClassifierTrainFlags } from "./classifier_command.ts";
import { parseModelFlags, type VitModelFlags } from "./commands/vit.ts";
import { parseIntFlag, parseNumberFlag } from "./flags.ts";
import { plotSvg } from "./render/figures/line_chart.ts";
import { figureFormat, writeFigure } from "./render/figures/write_figure.ts";
import { withTrainingOutput } from "./training_output.ts";

export interface StudyOutputFlags {
  seeds?: string;
  json?: boolean;
  plain?: boolean;
  printEvery?: string;
  color?: boolean;
  plot?: string;
  results?: string;
}

/** The data, optimiser and model flags of a study that trains ViTs (as `train vit` takes them). */
export interface VitStudyFlags
  extends VitModelFlags, Pick<ClassifierTrainFlags, "dataset" | "dataDir" | "lr" | "weightDecay" | "batchSize" | "epochs" | "maxTrain" | "maxTest"> {}

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


export const DEFAULT_SEEDS = [231, 0, 1];

/** "231,0,1" → [231, 0, 1] (distinct whole numbers); `defaults` when absent. */
export function parseSeeds(raw: string | undefined, defaults: readonly number[] = DEFAULT_SEEDS): number[] {
  if (raw === undefined) return [...defaults];
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
export function checkOutputFiles(o: StudyOutputFlags): void {
  if (o.plot !== undefined) figureFormat(o.plot, "--plot");
  if (o.results === "") throw new XtError("--results: expected a file name", 2);
}

/** Runs a study with the output its flags ask for; writes --results after every run and --plot (the figure `plot` draws) at the end. */
export async function runStudyCommand<V>(o: StudyOutputFlags, study: Omit<StudyOptions<V>, "sink" | "signal" | "onRows">, plot: (r: StudyResult) => string): Promise<StudyResult> {
  const printEvery = o.printEvery === undefined ? 10 : parseIntFlag("--print-every", o.printEvery, 1);
  const writeRows = (end: EndEvent): void => {
    if (o.results) writeFileAtomic(o.results, JSON.stringify(end, null, 1) + "\n");
  };
  const r = await withTrainingOutput({ ...o, printEvery }, undefined, (sink) =>
    runStudy({ ...study, sink, signal: stopSignal(), onRows: writeRows }));
  writeRows(r.end);
  if (o.plot) await writeFigure(o.plot, plot(r), "--plot");
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

export function addStudyOutputFlags(c: Command, plot: string, seeds: readonly number[] = DEFAULT_SEEDS): Command {
  return c
    .option("--seeds <list>", `comma-separated seeds; each variant runs once per seed (default ${seeds.join(",")})`)
    .option("--results <file>", "write the study's end event (every variant's measures per seed, mean and std) as JSON, rewritten after every run")
    .option("--plot <file>", `write ${plot} as an SVG or PNG (by the extension)`)
    .option("--json", "print JSON lines: each run's start/step/epoch events, then one end event with the variants")
    .option("--plain", "plain progress lines")
    .option("--print-every <n>", "print every n steps (default 10)")
    .option("--no-color", "no colour");
}

