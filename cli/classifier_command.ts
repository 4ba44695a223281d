/**
 * What `train vit` and `train cnn` (and `eval vit` / `eval cnn`) share: the data, optimiser,
 * run-file, small-data and output flags, the fresh run and the `--resume` flow, the end-of-run
 * summary, and the evaluation report of a checkpoint. A command adds only its model: a
 * ClassifierKind (core/train/classifier_run.ts), its model flags and how they meet the data.
 */
import type { Command } from "commander";
import { defaultCropPadding, parseAugmentList, type AugmentConfig } from "../core/data/augment.ts";
import { takeFirst } from "../core/data/dataloader.ts";
import type { ImageDataset, ImageDatasetName } from "../core/data/image_dataset.ts";
import { currentBackend } from "../core/device.ts";
import { EXIT, UsageError, XtError } from "../core/errors.ts";
import { loadCheckpoint } from "../core/io/checkpoint.ts";
import { prepareClassifierResume, resumeClassifier } from "../core/train/classifier_resume.ts";
import { loadClassifierCheckpoint } from "../core/train/classifier_checkpoint.ts";
import { trainImageClassifier, type ClassifierKind } from "../core/train/classifier_run.ts";
import type { TrainClassifierResult } from "../core/train/classifier_trainer.ts";
import { chooseRunFiles } from "../core/train/run_files.ts";
import { stopSignal } from "../core/train/stop.ts";
import { loadVitSplit, parseDatasetName } from "../core/train/vit_data.ts";
import { evaluateClassifier } from "../core/train/vit_eval.ts";
import { distributedFlags, openDataParallel, type DistributedFlags } from "./distributed.ts";
import { parseIntFlag, parseNumberFlag } from "./flags.ts";
import { addOutputFlags, printEveryFrom, type OutputFlags } from "./options.ts";
import { confusionSvg } from "./render/figures/confusion_figure.ts";
import { figureFormat, writeFigure } from "./render/figures/write_figure.ts";
import { statusLine } from "./render/status_line.ts";
import { makeStyle } from "./render/style.ts";
import { withTrainingOutput } from "./training_output.ts";

export const DEFAULT_DATASET: ImageDatasetName = "fashion-mnist";
export const DEFAULT_SEED = 231;

export interface ClassifierTrainFlags extends OutputFlags, DistributedFlags {
  dataset?: string;
  dataDir?: string;
  lr?: string;
  weightDecay?: string;
  batchSize?: string;
  epochs?: string;
  seed?: string;
  save?: string;
  results?: string;
  resume?: string;
  overwrite?: boolean;
  maxTrain?: string;
  maxTest?: string;
  augment?: string;
  cropPadding?: string;
  labelSmoothing?: string;
}

/** A command's optimisation defaults per data set. */
export interface TrainDefaults {
  lr: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
}

/** What a training command adds to the shared flow: its model. */
export interface ClassifierCommand<M extends object & { numClasses: number }> {
  kind: ClassifierKind<M>;
  defaults: Readonly<Record<ImageDatasetName, Readonly<TrainDefaults>>>;
  /** The model flags given (undefined where not): a fresh run's overrides, a resume's checks. */
  modelFlags: Partial<M>;
  /** Checks the model flags that do not need the data, before 60,000 images are read. */
  precheck(name: ImageDatasetName): void;
  /** The model for the training images (defaults, then the data's shape, then the flags), checked against them. */
  model(name: ImageDatasetName, train: ImageDataset): M;
}

// ---- flags ------------------------------------------------------------------------------------

/** "default 128", or the per-data-set values when they differ. */
export function perDataset<T extends object>(t: Readonly<Partial<Record<ImageDatasetName, T>>>, key: keyof T): string {
  const entries = Object.entries(t) as [ImageDatasetName, T][];
  const values = [...new Set(entries.map(([, v]) => v[key]))];
  if (values.length === 1) return `default ${String(values[0])}`;
  return `default: ${values.map((v) => `${entries.filter(([, x]) => x[key] === v).map(([n]) => n).join("/")} ${String(v)}`).join(", ")}`;
}

/** The flags every classifier training command takes (its model flags come on top). */
export function addClassifierTrainFlags(c: Command, command: string, defaults: Readonly<Record<ImageDatasetName, Readonly<TrainDefaults>>>): Command {
  const folder = `runs/${command.replace(" ", "-")}-<dataset>/`;
  return distributedFlags(addOutputFlags(c))
    .option("--dataset <name>", `cifar10, fashion-mnist or mnist (default ${DEFAULT_DATASET})`)
    .option("--data-dir <dir>", "folder with the data set's files (default: $XT_DATA_DIR, ./data, the system copy)")
    .option("--lr <x>", `Adam learning rate (${perDataset(defaults, "lr")})`)
    .option("--weight-decay <x>", `Adam weight decay, L2 on the gradient (${perDataset(defaults, "weightDecay")})`)
    .option("--batch-size <n>", `batch size, per rank under mpirun (${perDataset(defaults, "batchSize")})`)
    .option("--epochs <n>", `epochs (${perDataset(defaults, "epochs")})`)
    .option("--seed <n>", `torch.manual_seed (default ${DEFAULT_SEED})`)
    .option("--augment <list>", "augment the training images: crop (torchvision's RandomCrop(size, padding)), flip (RandomHorizontalFlip), or crop,flip; drawn as torchvision draws them (default none)")
    .option("--crop-padding <n>", "zeros added on each side before the random crop (default: an eighth of the image side, 4 for 32×32, 3 for 28×28)")
    .option("--label-smoothing <x>", "label smoothing of the training loss, PyTorch's CrossEntropyLoss(label_smoothing=x) (default 0; the test loss stays plain)")
    .option("--save <file>", `the resumable checkpoint FILE.safetensors (+ .json, .optim.safetensors) each epoch and on Ctrl-C, the best model FILE.best.*, FILE.results.json, FILE.events.jsonl (default: a fresh folder ${folder})`)
    .option("--results <file>", "results JSON (default: FILE.results.json, or results.json in the run folder)")
    .option("--resume <file>", "continue the run saved in this checkpoint (FILE, FILE.safetensors, FILE.json or its run folder); it keeps saving there unless --save")
    .option("--overwrite", "let --save replace a previous run's files")
    .option("--max-train <n>", "train on the first n training images only")
    .option("--max-test <n>", "test on the first n test images only");
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const optionalInt = (flag: string, raw: string | undefined, min: number, max = Infinity): number | undefined =>
  raw === undefined ? undefined : parseIntFlag(flag, raw, min, max);
const optionalNumber = (flag: string, raw: string | undefined, min: number, max = Infinity): number | undefined =>
  raw === undefined ? undefined : parseNumberFlag(flag, raw, min, max);

/** --augment / --crop-padding as given (the padding's default needs the image size). */
function parseAugmentFlags(o: ClassifierTrainFlags): { parts?: { crop: boolean; flip: boolean }; cropPadding?: number } {
  const parts = o.augment === undefined ? undefined : parseAugmentList(o.augment);
  const cropPadding = optionalInt("--crop-padding", o.cropPadding, 0);
  if (cropPadding !== undefined && !parts?.crop) throw new UsageError("--crop-padding needs --augment crop");
  return { parts, cropPadding };
}

// ---- the end of a run -------------------------------------------------------------------------

export function printTrainSummary(command: string, r: TrainClassifierResult, results: string, dir: string | undefined): void {
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  const perEpoch = r.results.epoch_seconds.map((s) => `${s.toFixed(1)}s`).join(", ");
  const n = r.results["test_acc@1"].length;
  if (n > 0) {
    out(`Test accuracy after the last epoch: ${r.results["test_acc@1"][n - 1]} (test loss ${r.results.test_loss[n - 1]})`);
    // The notebook's line: best_test_acc, the best epoch's test accuracy.
    out(`Accuracy on test set (best epoch): ${r.results.best_test_acc}`);
  }
  if (perEpoch) out(`Time per epoch: ${perEpoch}`);
  if (r.best) out(`Best model: ${r.best}`);
  if (r.results.epoch_seconds.length) out(`Results: ${results}`);
  if (r.checkpoint) {
    if (r.interrupted) out(`Interrupted at step ${r.steps}; the run's state is in ${r.checkpoint}. Resume with: xt ${command} --resume ${r.checkpoint}`);
    else out(`Last state: ${r.checkpoint}${dir ? ` (run folder ${dir})` : ""}`);
  }
}

// ---- train ------------------------------------------------------------------------------------

export async function runClassifierTraining<M extends object & { numClasses: number }>(spec: ClassifierCommand<M>, o: ClassifierTrainFlags): Promise<number> {
  if (o.resume !== undefined) return runClassifierResume(spec, o);
  const name = o.dataset === undefined ? DEFAULT_DATASET : parseDatasetName(o.dataset);
  const d = spec.defaults[name];
  const lr = optionalNumber("--lr", o.lr, 0) ?? d.lr;
  const weightDecay = optionalNumber("--weight-decay", o.weightDecay, 0) ?? d.weightDecay;
  const batchSize = optionalInt("--batch-size", o.batchSize, 1) ?? d.batchSize;
  const epochs = optionalInt("--epochs", o.epochs, 1) ?? d.epochs;
  const seed = optionalInt("--seed", o.seed, 0, 0xffffffff) ?? DEFAULT_SEED;
  const maxTrain = optionalInt("--max-train", o.maxTrain, 1);
  const maxTest = optionalInt("--max-test", o.maxTest, 1);
  const printEvery = printEveryFrom(o);
  const labelSmoothing = optionalNumber("--label-smoothing", o.labelSmoothing, 0, 1) ?? 0;
  const aug = parseAugmentFlags(o);
  if (o.results === "") throw new UsageError("--results: expected a file name");
  // Validate the flags that do not need the data before reading 60,000 images.
  spec.precheck(name);
  const parallel = openDataParallel(o);
  const rank0 = (parallel?.rank ?? 0) === 0; // only rank 0 writes and prints
  const named = o.save !== undefined && rank0 ? chooseRunFiles({ save: o.save, overwrite: o.overwrite, defaultName: "" }) : undefined;

  const train = takeFirst(loadVitSplit(name, "train", o.dataDir), maxTrain);
  const test = takeFirst(loadVitSplit(name, "test", o.dataDir), maxTest);
  const model = spec.model(name, train);
  if (test.height !== train.height || test.channels !== train.channels) {
    throw new XtError(`${test.source}: test images are ${test.channels}×${test.height}×${test.width}, train images ${train.channels}×${train.height}×${train.width}`);
  }
  const augment: AugmentConfig = {
    crop: aug.parts?.crop ?? false, flip: aug.parts?.flip ?? false, cropPadding: aug.cropPadding ?? defaultCropPadding(train.height),
  };
  const command = spec.kind.command;
  const files = rank0 ? (named ?? chooseRunFiles({ defaultName: `${command.replace(" ", "-")}-${name}` })) : undefined;
  const r = await withTrainingOutput({ ...o, printEvery }, files, (sink) => trainImageClassifier(spec.kind, {
    train, test, datasetName: name, classes: train.classes,
    datasetLabel: `${name} (${train.n} train / ${test.n} test images, ${train.source})`,
    model, lr, weightDecay, batchSize, epochs, seed, augment, labelSmoothing, maxTrain: maxTrain ?? null, maxTest: maxTest ?? null,
    dataDir: o.dataDir, files, results: rank0 ? o.results : undefined, sink, signal: stopSignal(), parallel,
  }), !rank0);
  if (!o.json && files) printTrainSummary(command, r, o.results ?? files.results, files.dir);
  return r.interrupted ? EXIT.interrupted : EXIT.ok;
}

/** `--resume FILE`: the run continues where its last checkpoint left it, bit for bit. */
async function runClassifierResume<M extends object & { numClasses: number }>(spec: ClassifierCommand<M>, o: ClassifierTrainFlags): Promise<number> {
  const epochs = optionalInt("--epochs", o.epochs, 1);
  const printEvery = printEveryFrom(o);
  if (o.results === "") throw new UsageError("--results: expected a file name");
  const aug = parseAugmentFlags(o);
  const { kind } = spec;
  const parallel = openDataParallel(o);
  const rank0 = (parallel?.rank ?? 0) === 0;
  const ck = loadCheckpoint(o.resume!, { training: true, prefer: "last", kind: kind.kind, kindName: kind.label });
  const resume = prepareClassifierResume(ck, kind, {
    dataset: o.dataset,
    model: stripUndefined(spec.modelFlags),
    lr: optionalNumber("--lr", o.lr, 0),
    weightDecay: optionalNumber("--weight-decay", o.weightDecay, 0),
    batchSize: optionalInt("--batch-size", o.batchSize, 1),
    seed: optionalInt("--seed", o.seed, 0, 0xffffffff),
    maxTrain: optionalInt("--max-train", o.maxTrain, 1),
    maxTest: optionalInt("--max-test", o.maxTest, 1),
    augment: aug.parts,
    cropPadding: aug.cropPadding,
    labelSmoothing: optionalNumber("--label-smoothing", o.labelSmoothing, 0, 1),
  }, o.dataDir, parallel?.size ?? 1);
  const files = rank0 ? chooseRunFiles({ save: o.save, resume: ck.paths.stem, overwrite: o.overwrite, defaultName: "" }) : undefined;
  const { train, test, run } = resume;
  const r = await withTrainingOutput({ ...o, printEvery }, files, (sink) => resumeClassifier(kind, {
    resume, epochs, files, results: rank0 ? o.results : undefined, sink, signal: stopSignal(), parallel,
    datasetLabel: `${run.dataset} (${train.n} train / ${test.n} test images, ${train.source}), resumed from ${ck.paths.weights}`,
  }), !rank0);
  if (!o.json && files) printTrainSummary(kind.command, r, o.results ?? files.results, files.dir);
  return r.interrupted ? EXIT.interrupted : EXIT.ok;
}

// ---- eval -------------------------------------------------------------------------------------

export interface EvalFlags {
  checkpoint?: string;
  dataset?: string;
  dataDir?: string;
  batchSize?: string;
  maxTest?: string;
  json?: boolean;
  out?: string;
  color?: boolean;
}

export interface EvalReport<M> {
  /** The weights file read (a run folder: its best model). */
  checkpoint: string;
  dataset: string;
  source: string;
  model: M;
  classes: string[];
  loss: number;
  accuracy: number;
  correct: number;
  n: number;
  confusion: number[][];
  perClassAccuracy: (number | null)[];
}

/** The model's image shape, for the check that the test images fit it. */
export interface ImageShape {
  imgSize: number;
  inChannels: number;
  numClasses: number;
}

export function addEvalFlags(c: Command, command: string): Command {
  return c
    .option("--checkpoint <file>", `checkpoint written by ${command}: FILE, FILE.safetensors or FILE.json, or a run folder (its best model)`)
    .option("--dataset <name>", "cifar10, fashion-mnist or mnist (default: the checkpoint's)")
    .option("--data-dir <dir>", "folder with the data set's files")
    .option("--batch-size <n>", "evaluation batch size (default: the checkpoint's)")
    .option("--max-test <n>", "the first n test images only")
    .option("--json", "print the report as JSON")
    .option("--out <file>", "also write the confusion matrix as a heat map: .svg or .png")
    .option("--no-color", "no colour");
}

/** Test loss, accuracy and confusion matrix of a checkpoint of kind `k`. */
export async function evalClassifier<M extends ImageShape>(
  k: ClassifierKind<M>,
  o: EvalFlags,
  onBatch?: (done: number, total: number) => void,
): Promise<EvalReport<M>> {
  if (!o.checkpoint) throw new UsageError(`eval ${k.kind}: --checkpoint FILE is required`);
  if (o.out !== undefined) figureFormat(o.out);
  const loaded = loadClassifierCheckpoint(k, o.checkpoint);
  const model = loaded.model;
  const name = o.dataset !== undefined ? parseDatasetName(o.dataset) : loaded.dataset ?? DEFAULT_DATASET;
  const batchSize = o.batchSize !== undefined ? parseIntFlag("--batch-size", o.batchSize, 1) : loaded.batchSize ?? 64;
  const maxTest = optionalInt("--max-test", o.maxTest, 1);
  const test = takeFirst(loadVitSplit(name, "test", o.dataDir), maxTest);
  if (test.height !== model.imgSize || test.channels !== model.inChannels) {
    throw new XtError(
      `${o.checkpoint}: the model takes ${model.inChannels}×${model.imgSize}×${model.imgSize} images, the ${name} test images are ${test.channels}×${test.height}×${test.width}`,
    );
  }
  if (test.classes.length !== model.numClasses) {
    throw new XtError(`${o.checkpoint}: the model has ${model.numClasses} classes, ${name} has ${test.classes.length}`);
  }
  const ev = await evaluateClassifier(loaded.net, test, { batchSize, numClasses: model.numClasses, onBatch });
  return {
    checkpoint: loaded.paths.weights, dataset: name, source: test.source, model, classes: test.classes,
    loss: ev.loss, accuracy: ev.accuracy, correct: ev.correct, n: ev.n, confusion: ev.confusion,
    perClassAccuracy: ev.confusion.map((row, i) => {
      const t = row.reduce((s, v) => s + v, 0);
      return t === 0 ? null : row[i]! / t;
    }),
  };
}

/** The confusion matrix as an aligned table: rows = true class, columns = predicted class. */
export function confusionTable(r: Pick<EvalReport<unknown>, "classes" | "confusion" | "perClassAccuracy">, bold: (s: string) => string = (s) => s): string {
  const C = r.classes.length;
  const labels = r.classes.map((c, i) => `${i} ${c.length > 14 ? `${c.slice(0, 13)}…` : c}`);
  const corner = "true \\ predicted";
  // The label column is as wide as its widest entry, the header's corner included.
  const lw = Math.max(corner.length, ...labels.map((l) => l.length));
  const cells = r.confusion.map((row) => row.map(String));
  const cw = Math.max(4, ...cells.flat().map((s) => s.length), String(C - 1).length);
  const head = `${corner.padEnd(lw)}  ${Array.from({ length: C }, (_, j) => String(j).padStart(cw)).join(" ")}  ${"acc".padStart(6)}`;
  const lines = [bold(head)];
  r.confusion.forEach((row, i) => {
    const acc = r.perClassAccuracy[i];
    const cellsI = row.map((v, j) => (i === j ? bold(String(v).padStart(cw)) : String(v).padStart(cw)));
    lines.push(`${labels[i]!.padEnd(lw)}  ${cellsI.join(" ")}  ${(acc === null || acc === undefined ? "-" : acc.toFixed(3)).padStart(6)}`);
  });
  return lines.join("\n");
}

/** The confusion matrix as a heat map, titled with the checkpoint and the data. */
export function confusionFigure(command: string, r: EvalReport<unknown>): string {
  return confusionSvg({
    title: `${command}: ${r.checkpoint} · ${r.dataset} test (${r.n} images)`,
    subtitle: `test accuracy ${r.accuracy.toFixed(4)} (${r.correct}/${r.n}) · test loss ${r.loss.toFixed(4)} · ${r.source}`,
    classes: r.classes, confusion: r.confusion,
  });
}

/** `eval <kind>`: the report as JSON or as text with the confusion table (and the figure with --out). */
export async function runEvalCommand<M extends ImageShape>(k: ClassifierKind<M>, o: EvalFlags): Promise<number> {
  const status = statusLine();
  let r: EvalReport<M>;
  try {
    r = await evalClassifier(k, o, (done, total) => status.update(`evaluating: ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} test images`));
  } finally {
    status.done();
  }
  if (o.out) await writeFigure(o.out, confusionFigure(`eval ${k.kind}`, r));
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + "\n");
    return EXIT.ok;
  }
  const c = makeStyle(process.stdout, o.color === false);
  process.stdout.write(
    [
      c.bold(`${k.describe(r.model)} from ${r.checkpoint}`),
      `data: ${r.source}`,
      `test accuracy ${r.accuracy.toFixed(4)} (${r.correct}/${r.n})  test loss ${r.loss.toFixed(4)}  on ${currentBackend().name}`,
      "",
      confusionTable(r, (s) => c.bold(s)),
      ...(o.out ? [`Figure: ${o.out}`] : []),
      "",
    ].join("\n"),
  );
  return EXIT.ok;
}

