/**
 * `xt overfit captioning` (the notebook's overfit cell, its settings as defaults) and
 * `xt train captioning` (longer runs on the whole train split, with a validation loss each
 * epoch and best/last checkpoints).
 */
import { basename } from "node:path";
import type { Command } from "commander";
import { EMBEDDED_COCO_LOCATION } from "../../core/data/coco.ts";
import { currentBackend } from "../../core/device.ts";
import { EXIT } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic_write.ts";
import { jsonText } from "../../core/io/json_text.ts";
import { captioningResults, evaluateCaptioningLoss } from "../../core/train/captioning_solver.ts";
import { stopSignal } from "../../core/train/stop.ts";
import {
  resumeCaptioningRun, saveCaptioningCheckpoint, saveCaptioningModel, startCaptioningRun, type CaptioningRun,
} from "../../core/train/captioning_run.ts";
import { chooseRunFiles, type RunFiles } from "../../core/train/run_files.ts";
import { parseIntFlag, parseNumberFlag } from "../flags.ts";
import { addDepthFlags, addOutputFlags, parentCommand, printEveryFrom, type OutputFlags } from "../options.ts";
import { lossCurveSvg } from "../render/figures/line_chart.ts";
import { figureFormat, writeFigure } from "../render/figures/write_figure.ts";
import { distributedFlags, openDataParallel, type DistributedFlags } from "../distributed.ts";
import { withTrainingOutput } from "../training_output.ts";

export interface CaptioningCommandOpts extends OutputFlags, DistributedFlags {
  maxTrain?: string;
  wordvecDim?: string;
  numHeads?: string;
  numLayers?: string;
  maxLength?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  seed?: string;
  dataDir?: string;
  pca?: boolean;
  plot?: string;
  save?: string;
  resume?: string;
  overwrite?: boolean;
  valCaptions?: string;
}

type Mode = "overfit" | "train";

/** The notebook's overfit cell. */
export const OVERFIT_DEFAULTS = {
  maxTrain: 50 as number | null, wordvecDim: 256, numHeads: 2, numLayers: 2, maxLength: 30,
  epochs: 100, batchSize: 25, lr: 1e-3, seed: 231, pca: true,
};
/** Longer runs: the whole train split, the notebook's model. */
export const TRAIN_DEFAULTS = {
  maxTrain: null as number | null, wordvecDim: 256, numHeads: 2, numLayers: 2, maxLength: 30,
  epochs: 10, batchSize: 25, lr: 1e-3, seed: 231, pca: true, valCaptions: 1000,
};

function parseMaxTrain(raw: string): number | null {
  if (raw === "all") return null;
  return parseIntFlag("--max-train", raw, 1);
}

export async function runCaptioningCommand(mode: Mode, o: CaptioningCommandOpts): Promise<number> {
  const d = mode === "overfit" ? OVERFIT_DEFAULTS : TRAIN_DEFAULTS;
  const command = `${mode} captioning`;
  // Flags the user gave (undefined: not given), parsed strictly.
  const given = {
    maxTrain: o.maxTrain === undefined ? undefined : parseMaxTrain(o.maxTrain),
    wordvecDim: o.wordvecDim === undefined ? undefined : parseIntFlag("--wordvec-dim", o.wordvecDim, 2),
    numHeads: o.numHeads === undefined ? undefined : parseIntFlag("--num-heads", o.numHeads, 1),
    numLayers: o.numLayers === undefined ? undefined : parseIntFlag("--num-layers", o.numLayers, 1),
    maxLength: o.maxLength === undefined ? undefined : parseIntFlag("--max-length", o.maxLength, 1),
    batchSize: o.batchSize === undefined ? undefined : parseIntFlag("--batch-size", o.batchSize, 1),
    lr: o.lr === undefined ? undefined : parseNumberFlag("--lr", o.lr, 0),
    seed: o.seed === undefined ? undefined : parseIntFlag("--seed", o.seed, 0, 0xffffffff),
    pcaFeatures: o.pca,
  };
  const epochs = o.epochs === undefined ? undefined : parseIntFlag("--epochs", o.epochs, 0);
  const printEvery = printEveryFrom(o);
  const valCaptions = mode === "train"
    ? (o.valCaptions === undefined ? TRAIN_DEFAULTS.valCaptions : parseIntFlag("--val-captions", o.valCaptions, 1))
    : undefined;
  if (o.plot !== undefined) figureFormat(o.plot, "--plot"); // before training, not after
  // `train captioning` under mpirun is data-parallel; rank 0 alone writes and prints.
  const parallel = mode === "train" ? openDataParallel(o) : undefined;
  const rank0 = (parallel?.rank ?? 0) === 0;
  // --save and --resume name the files now (refusing a previous run's before loading any data);
  // `train` without them gets a fresh run folder once the data is loaded; `overfit` writes none.
  const named = rank0 && (o.save !== undefined || o.resume !== undefined)
    ? chooseRunFiles({ save: o.save, resume: o.resume, overwrite: o.overwrite, defaultName: command })
    : undefined;

  let r: CaptioningRun;
  if (o.resume !== undefined) {
    r = await resumeCaptioningRun(o.resume, command, { dataDir: o.dataDir, epochs, given, parallel });
  } else {
    r = await startCaptioningRun({
      command,
      dataDir: o.dataDir,
      seed: given.seed ?? d.seed,
      maxTrain: given.maxTrain !== undefined ? given.maxTrain : d.maxTrain,
      pcaFeatures: given.pcaFeatures ?? d.pca,
      wordvecDim: given.wordvecDim ?? d.wordvecDim,
      numHeads: given.numHeads ?? d.numHeads,
      numLayers: given.numLayers ?? d.numLayers,
      maxLength: given.maxLength ?? d.maxLength,
      epochs: epochs ?? d.epochs,
      batchSize: given.batchSize ?? d.batchSize,
      lr: given.lr ?? d.lr,
      valCaptions,
      parallel,
    });
  }
  const { solver, data, model } = r;
  const vCaptions = valCaptions ?? r.run.valCaptions;
  const dataName = data.source === EMBEDDED_COCO_LOCATION ? "coco-mini" : basename(data.source);
  const files: RunFiles | undefined = named || (rank0 && mode === "train" ? chooseRunFiles({ defaultName: `${command}-${dataName}` }) : undefined);

  let best = Math.min(Infinity, ...solver.valHistory.map((v) => v.loss));
  let bestFile: string | undefined;
  let lastFile: string | undefined;
  let savedAt = -1;
  const saveLast = (): void => {
    if (!files || savedAt === solver.iteration) return;
    lastFile = saveCaptioningCheckpoint(files.last, r).weights;
    savedAt = solver.iteration;
  };
  const writeResults = (): void => {
    if (files) writeFileAtomic(files.results, jsonText(captioningResults(solver)));
  };
  const dataset = `${data.source}${r.run.maxTrain !== null ? ` (${r.run.maxTrain} train captions)` : ""}${data.pcaFeatures ? "" : " fc7"}`;
  // The renderer installs the two-stage Ctrl-C handler (first: stop after this iteration, the
  // state written, `end` with interrupted; second: quit now); the loop yields to it every iteration.
  const result = await withTrainingOutput({ ...o, printEvery }, files, (sink) =>
    solver.train({
      sink,
      command,
      dataset,
      device: parallel ? `${currentBackend().name}, ${parallel.describe()}` : currentBackend().name,
      signal: stopSignal(),
      parallel,
      valLoss: mode === "train"
        ? () => evaluateCaptioningLoss(model, data.val, data.captionLength, data.featureDim, vCaptions, Math.max(solver.batchSize, 50), parallel)
        : undefined,
      afterEpoch: (_epoch, _train, val) => {
        if (!files) return;
        if (val !== undefined && val < best) {
          best = val;
          bestFile = saveCaptioningModel(files.best, r).weights;
        }
        if (mode === "train") saveLast();
        writeResults();
      },
      atEnd: () => {
        saveLast();
        writeResults();
        return { ...(lastFile ? { checkpoint: lastFile } : {}), ...(bestFile ? { best: bestFile } : {}) };
      },
    }), !rank0);
  if (!rank0) return result.interrupted ? EXIT.interrupted : EXIT.ok;
  if (o.plot) {
    await writeFigure(o.plot, lossCurveSvg(solver.lossHistory, {
      title: `${command}: training loss history`,
      val: solver.valHistory.map((v) => [v.epoch * solver.iterationsPerEpoch, v.loss] as [number, number]),
    }), "--plot");
  }
  if (!o.json) {
    // The notebook's "Final loss": loss_history[-1], the last minibatch's training loss.
    if (result.finalLoss !== undefined) process.stdout.write(`Final training loss (last batch): ${result.finalLoss}\n`);
    if (o.plot) process.stdout.write(`Loss curve: ${o.plot}\n`);
    if (lastFile && result.interrupted) {
      process.stdout.write(`Interrupted at iteration ${solver.iteration}; the run's state is in ${lastFile}. Resume with: xt ${command} --resume ${lastFile}\n`);
    } else if (lastFile) {
      process.stdout.write(`Checkpoint: ${lastFile}${files?.dir ? ` (run folder ${files.dir})` : ""}\n`);
    }
  }
  return result.interrupted ? EXIT.interrupted : EXIT.ok;
}

function addCaptioningFlags(c: Command, mode: Mode): Command {
  const d = mode === "overfit" ? OVERFIT_DEFAULTS : TRAIN_DEFAULTS;
  c.option("--max-train <n>", `train on n captions drawn like load_coco_data(max_train=n) (${mode === "train" ? "'all' or unset: the whole split" : `default ${d.maxTrain}`})`)
    .option("--wordvec-dim <n>", `word vector (model) width (default ${d.wordvecDim})`);
  addDepthFlags(c, `decoder layers (default ${d.numLayers})`, `attention heads (default ${d.numHeads})`)
    .option("--max-length <n>", `model max_length (default ${d.maxLength})`)
    .option("--epochs <n>", `epochs (default ${d.epochs}); with --resume, the total to reach`)
    .option("--batch-size <n>", `minibatch size${mode === "train" ? ", per rank under mpirun" : ""} (default ${d.batchSize})`)
    .option("--lr <x>", `Adam learning rate (default ${d.lr})`)
    .option("--seed <n>", `torch.manual_seed and np.random.seed (default ${d.seed})`)
    .option("--data-dir <dir>", "COCO captioning folder (default: $XT_DATA_DIR, else the embedded coco-mini)")
    .option("--pca", "use the 512-d PCA features (default)")
    .option("--no-pca", "use the 4096-d fc7 features")
    .option("--plot <file>", "write the loss curve: .svg or .png")
    .option("--save <file>", mode === "train"
      ? "the resumable checkpoint FILE.safetensors (+ .json, .optim.safetensors) each epoch, the best model FILE.best.*, FILE.results.json (default: a fresh folder runs/train-captioning-<data>/)"
      : "write a resumable checkpoint FILE.safetensors (+ .json, .optim.safetensors) and FILE.results.json at the end")
    .option("--resume <file>", "continue the run saved in this checkpoint (FILE, FILE.safetensors, FILE.json or its run folder); it keeps saving there unless --save")
    .option("--overwrite", "let --save replace a previous run's files");
  addOutputFlags(c);
  if (mode === "train") {
    c.option("--val-captions <n>", `validation loss on the first n val captions (default ${TRAIN_DEFAULTS.valCaptions})`);
    distributedFlags(c);
  }
  return c;
}

export function registerCaptioning(program: Command, exit: (code: number) => void): void {
  const overfit = parentCommand(program, "overfit", "overfit a model on a small training set (the notebook's overfit cells)");
  addCaptioningFlags(
    overfit.command("captioning").description(
      "overfit the captioning transformer on 50 training captions with the notebook's settings; prints progress and the final training loss",
    ),
    "overfit",
  ).action(async (opts: CaptioningCommandOpts) => exit(await runCaptioningCommand("overfit", opts)));
  const train = parentCommand(program, "train", "train a model");
  addCaptioningFlags(
    train.command("captioning").description("train the captioning transformer, with a validation loss each epoch"),
    "train",
  ).action(async (opts: CaptioningCommandOpts) => exit(await runCaptioningCommand("train", opts)));
}
