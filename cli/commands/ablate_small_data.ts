/**
 * `xt ablate small-data` (Inline Question 2): the ViT, a small CNN (`train cnn`'s) and the ViT with
 * each small-data technique (augmentation, label smoothing, a smaller patch, a conv stem), trained on the first 1,000, 5,000, … training images with the same step
 * budget (core/train/small_data_study.ts); the table puts the sizes side by side.
 */
import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import type { StudyVariant } from "../../core/train/events.ts";
import {
  runSmallData, smallDataName, smallDataVariants, type SmallDataModel, type SmallDataSetup, type SmallDataVariant,
} from "../../core/train/small_data_study.ts";
import type { StudyResult } from "../../core/train/study.ts";
import { buildVit, DEFAULT_STEM_CHANNELS, describeVit, VIT_TRAIN_DEFAULTS, type VitModelConfig } from "../../core/train/vit_config.ts";
import { buildCnn, CNN_TRAIN_DEFAULTS, describeCnn, type CnnModelConfig } from "../../core/train/cnn_config.ts";
import { defaultCropPadding, describeAugment, type AugmentConfig } from "../../core/data/augment.ts";
import type { ImageDatasetName } from "../../core/data/image_dataset.ts";
import { parseIntFlag } from "../flags.ts";
import { INTERRUPT_EXIT_CODE } from "../render/interrupt.ts";
import { plotSvg } from "../render/figures/line_chart.ts";
import { makeStyle } from "../render/style.ts";
import { fmtMeanStd, studyTable, type StudyColumn } from "../render/study_table.ts";
import {
  addStudyOutputFlags, checkOutputFiles, loadVitStudyData, parseNameList, parseSeeds, runStudyCommand, type StudyOutputFlags, type VitStudyFlags,
} from "../study.ts";
import { addModelFlags, modelsOf } from "./vit.ts";

export interface SmallDataFlags extends Omit<VitStudyFlags, "epochs" | "maxTrain">, StudyOutputFlags {
  sizes?: string;
  models?: string;
  steps?: string;
}

/**
 * The defaults, chosen to finish within 30 minutes on a 2-core machine shared with other work
 * (docs/inline-questions.md gives the time measured): one seed, 250 steps of 64 images per run,
 * the whole test set. 400 steps took 11 minutes per size there (the patch-4 ViT alone 6), over
 * 30 in all.
 */
export const SMALL_DATA_DEFAULTS = { sizes: "1000,5000,all", steps: 250, seeds: [231] };

export const SMALL_DATA_MODELS = ["vit", "cnn", "vit+augment", "vit+smoothing", "vit+small-patch", "vit+conv-stem"] as const;
export type SmallDataModelName = (typeof SMALL_DATA_MODELS)[number];

/** The largest patch size below `patch` that divides the image (28: 7 → 4; 32: 8 → 4). */
export function smallerPatch(imgSize: number, patch: number): number | undefined {
  for (let p = patch - 1; p >= 1; p--) if (imgSize % p === 0) return p;
  return undefined;
}

/** The label smoothing of `vit+smoothing` (PyTorch's CrossEntropyLoss(label_smoothing=0.1)). */
export const SMALL_DATA_LABEL_SMOOTHING = 0.1;

/**
 * The models of the study, from the ViT the flags describe: the ViT; the CNN baseline (`train
 * cnn`'s default channels); the ViT with augmentation (random crop with the default padding and
 * horizontal flips), with label smoothing 0.1, with the next smaller patch that divides the image,
 * with the conv stem (`train vit --conv-stem`'s default channels).
 */
export function smallDataModels(vit: VitModelConfig, dataset: ImageDatasetName, names: readonly SmallDataModelName[]): SmallDataModel[] {
  const vitModel = (name: string, cfg: VitModelConfig, params: Record<string, unknown>, extra: Partial<SmallDataModel> = {}): SmallDataModel => ({
    name, params, describe: `${name}: ${describeVit(cfg)}`, build: () => buildVit(cfg), ...extra,
  });
  return names.map((n) => {
    switch (n) {
      case "vit":
        return vitModel(n, vit, { patchSize: vit.patchSize });
      case "cnn": {
        const d = CNN_TRAIN_DEFAULTS[dataset];
        const cfg: CnnModelConfig = { imgSize: vit.imgSize, inChannels: vit.inChannels, channels1: d.channels1, channels2: d.channels2, numClasses: vit.numClasses };
        return { name: n, params: { channels: [cfg.channels1, cfg.channels2] }, describe: `${n}: ${describeCnn(cfg)}`, build: () => buildCnn(cfg) };
      }
      case "vit+augment": {
        const augment: AugmentConfig = { crop: true, flip: true, cropPadding: defaultCropPadding(vit.imgSize) };
        return vitModel(n, vit, { patchSize: vit.patchSize, augment: "crop,flip", cropPadding: augment.cropPadding }, { augment, describe: `${n}: ${describeVit(vit)}, augment ${describeAugment(augment)}` });
      }
      case "vit+smoothing":
        return vitModel(n, vit, { patchSize: vit.patchSize, labelSmoothing: SMALL_DATA_LABEL_SMOOTHING }, {
          labelSmoothing: SMALL_DATA_LABEL_SMOOTHING, describe: `${n}: ${describeVit(vit)}, label smoothing ${SMALL_DATA_LABEL_SMOOTHING}`,
        });
      case "vit+conv-stem":
        return vitModel(n, { ...vit, stemChannels: DEFAULT_STEM_CHANNELS }, { patchSize: vit.patchSize, stemChannels: DEFAULT_STEM_CHANNELS });
      case "vit+small-patch": {
        const p = smallerPatch(vit.imgSize, vit.patchSize);
        if (p === undefined) throw new UsageError(`--models vit+small-patch: no patch size below ${vit.patchSize} divides the image size ${vit.imgSize}`);
        return vitModel(n, { ...vit, patchSize: p }, { patchSize: p });
      }
    }
  });
}

/** "1000,5000,all" → ascending distinct sizes, "all" = the whole training set. */
export function parseSizes(raw: string, all: number): number[] {
  const sizes = raw.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => (s === "all" ? all : parseIntFlag("--sizes", s, 1)));
  if (sizes.length === 0) throw new UsageError("--sizes: name at least one size (a number of images, or all)");
  for (const n of sizes) if (n > all) throw new UsageError(`--sizes: ${n} is more than the ${all} training images`);
  if (new Set(sizes).size !== sizes.length) throw new UsageError(`--sizes: '${raw}' names a size twice`);
  return [...sizes].sort((a, b) => a - b);
}

/** The tables after `ablate small-data`: test accuracy per model and size, then the gap to the training accuracy. */
export function smallDataReport(r: StudyResult, models: string[], sizes: number[], steps: number, bold: (s: string) => string = (s) => s): string {
  const find = (m: string, n: number): StudyVariant | undefined => r.variants.find((v) => v.name === smallDataName(m, n));
  const rows = (metric: string, digits: number): StudyVariant[] =>
    models.filter((m) => sizes.some((n) => find(m, n))).map((m) => ({
      name: m, params: {}, seeds: find(m, sizes.find((n) => find(m, n))!)!.seeds,
      metrics: {}, detail: Object.fromEntries(sizes.flatMap((n) => {
        const v = find(m, n)?.metrics[metric];
        return v ? [[String(n), { ...v, mean: Number(v.mean.toFixed(digits)) }]] : [];
      })),
    }));
  const columns = (digits: number): StudyColumn[] =>
    sizes.map((n) => ({ title: `${n.toLocaleString("en-US")} images`, metric: (v: StudyVariant) => fmtMeanStd(v.detail?.[String(n)], digits) }));
  const params: StudyColumn = { title: "params", metric: (v) => {
    const any = sizes.map((n) => find(v.name, n)).find((x) => x);
    return any ? Math.round(any.metrics.parameters!.mean).toLocaleString("en-US") : "-";
  } };
  const seeds = [...new Set(r.variants.flatMap((v) => v.seeds))];
  return [
    bold(`Test accuracy by training-set size (${steps} steps of the same batch size each; seeds ${seeds.join(", ")}${r.interrupted ? " — interrupted: finished runs only" : ""})`),
    ...studyTable(rows("test_acc", 4), [params, ...columns(4)], bold),
    "",
    bold("Training top-1 at the end of the run minus test accuracy (how much was memorised rather than learned)"),
    ...studyTable(rows("generalization_gap", 4), columns(4), bold),
  ].join("\n");
}

/** --plot: test accuracy against the training-set size (log scale), a line per model, the mean over seeds. */
export function accuracyBySizeSvg(r: StudyResult, models: string[], sizes: number[], steps: number): string {
  const series = models.map((m) => ({
    name: m,
    markers: true,
    points: sizes.flatMap((n): [number, number][] => {
      const v = r.variants.find((x) => x.name === smallDataName(m, n))?.metrics.test_acc;
      return v ? [[Math.log10(n), v.mean]] : [];
    }),
  })).filter((s) => s.points.length > 0);
  return plotSvg(series, {
    title: `ablate small-data: test accuracy by training-set size (${steps} steps each)`,
    xlabel: `training images, log10 (${sizes.map((n) => n.toLocaleString("en-US")).join(", ")})`,
    ylabel: "Test accuracy",
  });
}

export async function runAblateSmallData(o: SmallDataFlags): Promise<number> {
  const names = parseNameList<SmallDataModelName>("--models", o.models, SMALL_DATA_MODELS);
  const seeds = parseSeeds(o.seeds, SMALL_DATA_DEFAULTS.seeds);
  const steps = o.steps === undefined ? SMALL_DATA_DEFAULTS.steps : parseIntFlag("--steps", o.steps, 1);
  checkOutputFiles(o);
  const t = loadVitStudyData(o, { epochs: 1 });
  const sizes = parseSizes(o.sizes ?? SMALL_DATA_DEFAULTS.sizes, t.train.n);
  const models = smallDataModels(t.model, t.name, names);
  const setup: SmallDataSetup = {
    train: t.train, test: t.test, dataset: `${t.name} (${t.train.source})`, numClasses: t.train.classes.length,
    batchSize: t.batchSize, lr: t.lr, weightDecay: t.weightDecay, steps,
  };
  const r = await runStudyCommand<SmallDataVariant>(o, {
    command: "ablate small-data", variants: smallDataVariants(models, sizes), seeds,
    plannedSteps: () => steps, run: (v, ctx) => runSmallData(setup, v, ctx),
  }, (res) => accuracyBySizeSvg(res, names, sizes, steps));
  if (!o.json) {
    const c = makeStyle(process.stdout, o.color === false);
    process.stdout.write(`\n${smallDataReport(r, names, sizes, steps, (s) => c.bold(s))}\n`);
    if (o.results) process.stdout.write(`Results: ${o.results}\n`);
    if (o.plot) process.stdout.write(`Accuracy by size: ${o.plot}\n`);
  }
  return r.interrupted ? INTERRUPT_EXIT_CODE : 0;
}

export function registerSmallData(ablate: Command, exit: (code: number) => void): void {
  const c = ablate.command("small-data").description(
    "Inline Question 2: the ViT, a small CNN and the ViT with each small-data technique on the first 1,000, 5,000, … training images, every run the same number of steps; test accuracy by size",
  );
  addModelFlags(c, modelsOf(VIT_TRAIN_DEFAULTS));
  addStudyOutputFlags(c, "the test accuracy against the training-set size, a line per model (mean over seeds)", SMALL_DATA_DEFAULTS.seeds)
    .option("--sizes <list>", `training-set sizes, comma-separated, 'all' for the whole set (default ${SMALL_DATA_DEFAULTS.sizes})`)
    .option("--models <list>", `which models, comma-separated (default ${SMALL_DATA_MODELS.join(",")})`)
    .option("--steps <n>", `optimisation steps of every run (default ${SMALL_DATA_DEFAULTS.steps})`)
    .option("--dataset <name>", "cifar10, fashion-mnist or mnist (default fashion-mnist)")
    .option("--data-dir <dir>", "folder with the data set's files")
    .option("--max-test <n>", "test on the first n test images (default: all)")
    .option("--lr <x>", "Adam learning rate (default: train vit's)")
    .option("--weight-decay <x>", "Adam weight decay (default: train vit's)")
    .option("--batch-size <n>", "batch size (default: train vit's)")
    .action(async (opts: SmallDataFlags) => exit(await runAblateSmallData(opts)));
}
