/**
 * Setting up a captioning run the way the notebook's overfit cell does (seeds, data, model,
 * solver), resuming one from a checkpoint, and loading a trained captioning model.
 *
 * Fresh run, in the notebook's order:
 *   torch.manual_seed(seed); np.random.seed(seed)
 *   data = load_coco_data(max_train=...)            (np draws: the subsample)
 *   model = CaptioningTransformer(...)              (torch draws: the init)
 *   solver = CaptioningSolverTransformer(...)       (np: minibatches, torch: dropout)
 * Resume: the same construction (so the data and model are built identically), then the
 * checkpoint's weights, Adam state, both RNG states, iteration and loss history replace the
 * fresh ones.
 */
import { existsSync } from "node:fs";
import { DataError, XtError } from "../errors.ts";
import {
  EMBEDDED_COCO_LOCATION, embeddedCocoSource, loadCocoData, resolveCocoSource, type CocoData, type CocoSource,
} from "../data/coco.ts";
import { envDataDir } from "../data/data_dir.ts";
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta, type CheckpointPaths, type LoadedCheckpoint } from "../io/checkpoint.ts";
import { CaptioningTransformer } from "../models/captioning_transformer.ts";
import type { AttentionOptions } from "../models/multi_head_attention.ts";
import { manualSeed, NumpyRandomState } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";
import type { DataParallel } from "./data_parallel.ts";
import {
  CaptioningSolver, captioningCheckpoint, resumeStateFromCheckpoint, sameSubsample, subsampleRecord,
  type CaptioningModelConfig, type CaptioningRunConfig,
} from "./captioning_solver.ts";

export interface CaptioningRunOptions {
  command: string;
  /** --data-dir; undefined: $XT_DATA_DIR, else the embedded coco-mini. */
  dataDir?: string;
  seed: number;
  /** null: the whole train split. */
  maxTrain: number | null;
  pcaFeatures: boolean;
  wordvecDim: number;
  numHeads: number;
  numLayers: number;
  maxLength: number;
  epochs: number;
  batchSize: number;
  lr: number;
  valCaptions?: number;
  /** A data-parallel run: rank 0's weights everywhere, batchSize per rank, minibatches sharded. */
  parallel?: DataParallel;
  /** Attention-block ablations (`xt ablate attention --task captioning`); absent: the notebook's block. */
  attention?: AttentionOptions;
}

export interface CaptioningRun {
  solver: CaptioningSolver;
  data: CocoData;
  run: CaptioningRunConfig;
  model: CaptioningTransformer;
}

function checkModelShape(o: { wordvecDim: number; numHeads: number; numLayers: number; maxLength: number }): void {
  const pos = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v <= 0) throw new XtError(`${name} must be a positive integer, got ${v}`, 2);
  };
  pos("--wordvec-dim", o.wordvecDim);
  pos("--num-heads", o.numHeads);
  pos("--num-layers", o.numLayers);
  pos("--max-length", o.maxLength);
  if (o.wordvecDim % o.numHeads !== 0) throw new XtError(`--wordvec-dim ${o.wordvecDim} is not divisible by --num-heads ${o.numHeads}`, 2);
  if (o.wordvecDim % 2 !== 0) throw new XtError(`--wordvec-dim must be even (positional encoding), got ${o.wordvecDim}`, 2);
}

/** A fresh run with the notebook's construction order. */
export async function startCaptioningRun(o: CaptioningRunOptions): Promise<CaptioningRun> {
  checkModelShape(o);
  if (!Number.isInteger(o.batchSize) || o.batchSize <= 0) throw new XtError(`--batch-size must be a positive integer, got ${o.batchSize}`, 2);
  if (o.maxTrain !== null && (!Number.isInteger(o.maxTrain) || o.maxTrain <= 0)) {
    throw new XtError(`--max-train must be a positive integer, got ${o.maxTrain}`, 2);
  }
  const source = resolveCocoSource(o.dataDir);
  manualSeed(o.seed);
  const np = new NumpyRandomState(o.seed);
  const data = await loadCocoData(source, { maxTrain: o.maxTrain ?? undefined, pcaFeatures: o.pcaFeatures }, np);
  if (data.captionLength - 1 > o.maxLength) {
    throw new XtError(`--max-length ${o.maxLength} is shorter than the captions' ${data.captionLength - 1} input tokens`, 2);
  }
  const model = new CaptioningTransformer(data.wordToIdx, data.featureDim, o.wordvecDim, o.numHeads, o.numLayers, o.maxLength, o.attention);
  o.parallel?.wrap(model);
  const solver = new CaptioningSolver(model, data, { batchSize: o.batchSize, numEpochs: o.epochs, learningRate: o.lr, np, ranks: o.parallel });
  const run: CaptioningRunConfig = {
    command: o.command,
    seed: o.seed,
    maxTrain: o.maxTrain,
    batchSize: o.batchSize,
    epochs: o.epochs,
    lr: o.lr,
    pcaFeatures: o.pcaFeatures,
    dataSource: data.source,
    trainSubsample: subsampleRecord(data.trainSubsample),
    ...(o.valCaptions !== undefined ? { valCaptions: o.valCaptions } : {}),
    ...(o.parallel ? { ranks: o.parallel.size } : {}),
  };
  return { solver, data, run, model };
}

/** A resumable checkpoint of the run (weights, sidecar, training state); returns its files. */
export function saveCaptioningCheckpoint(path: string, r: { solver: CaptioningSolver; run: CaptioningRunConfig }): CheckpointPaths {
  const { meta, training } = captioningCheckpoint(r.solver, r.run);
  return saveCheckpoint(path, r.solver.model, meta, training);
}

/** The model alone with its metadata (the best model so far): weights and sidecar, no training state. */
export function saveCaptioningModel(path: string, r: { solver: CaptioningSolver; run: CaptioningRunConfig }): CheckpointPaths {
  return saveCheckpoint(path, r.solver.model, captioningCheckpoint(r.solver, r.run).meta);
}

export interface LoadedCaptioningCheckpoint {
  loaded: LoadedCheckpoint;
  meta: CheckpointMeta;
  config: CaptioningModelConfig;
  run: CaptioningRunConfig | null;
  weights: Map<string, Tensor>;
  vocab: { idx_to_word: string[]; word_to_idx: Record<string, number> };
}

/**
 * Reads a checkpoint (any of its names; a run folder gives its best model, or with
 * `training` its last state) and checks that it is a captioning one with what a model needs.
 */
export function readCaptioningCheckpoint(path: string, opts: { training?: boolean | "if-present" } = {}): LoadedCaptioningCheckpoint {
  const loaded = loadCheckpoint(path, { training: opts.training, prefer: opts.training === true ? "last" : "best", kind: "captioning" });
  const { weights, meta } = loaded;
  const c = meta.config as Partial<CaptioningModelConfig>;
  for (const k of ["inputDim", "wordvecDim", "numHeads", "numLayers", "maxLength"] as const) {
    if (!Number.isInteger(c[k]) || c[k]! <= 0) throw new DataError(path, `the checkpoint's config has no valid '${k}'`);
  }
  const idxToWord = meta.vocab?.idx_to_word;
  if (!Array.isArray(idxToWord) || !idxToWord.includes("<NULL>")) {
    throw new DataError(path, "the checkpoint has no vocabulary (idx_to_word with <NULL>)");
  }
  // word_to_idx is idx_to_word inverted (the first format stored both).
  const vocab = { idx_to_word: idxToWord, word_to_idx: meta.vocab!.word_to_idx ?? Object.fromEntries(idxToWord.map((w, i) => [w, i])) };
  const run = ((meta.extra as { run?: CaptioningRunConfig } | undefined)?.run) ?? null;
  return { loaded, meta, config: c as CaptioningModelConfig, run, weights, vocab };
}

/** Builds the model a checkpoint describes and loads its weights. */
export function modelFromCheckpoint(ck: LoadedCaptioningCheckpoint, path: string): CaptioningTransformer {
  const c = ck.config;
  const model = new CaptioningTransformer(ck.vocab.word_to_idx, c.inputDim, c.wordvecDim, c.numHeads, c.numLayers, c.maxLength);
  try {
    model.loadStateDict(ck.weights);
  } catch (e) {
    if (e instanceof XtError) throw new DataError(path, `weights do not fit the model in its sidecar (${e.message})`);
    throw e;
  }
  return model;
}

/**
 * The data a checkpoint's model goes with: --data-dir when given, else the folder (or the
 * embedded data) the checkpoint was trained on, else the usual default.
 */
export function checkpointDataSource(run: CaptioningRunConfig | null, dataDir?: string): CocoSource {
  if (dataDir !== undefined) return resolveCocoSource(dataDir);
  envDataDir(); // a wrong XT_DATA_DIR is an error even where the checkpoint's own data is used
  if (run?.dataSource === EMBEDDED_COCO_LOCATION) return embeddedCocoSource();
  if (run?.dataSource && existsSync(run.dataSource)) return resolveCocoSource(run.dataSource);
  return resolveCocoSource();
}

function sameVocab(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((w, i) => w === b[i]);
}

/** Checks that loaded data fits a checkpoint's model (vocabulary and feature width). */
export function checkDataMatchesCheckpoint(data: CocoData, ck: LoadedCaptioningCheckpoint, path: string): void {
  if (!sameVocab(data.idxToWord, ck.vocab.idx_to_word)) {
    throw new DataError(path, `the checkpoint's vocabulary (${ck.vocab.idx_to_word.length} words) differs from the data's in ${data.source} (${data.idxToWord.length} words); pass the --data-dir it was trained on`);
  }
  if (data.featureDim !== ck.config.inputDim) {
    throw new DataError(path, `the model takes ${ck.config.inputDim}-wide features but ${data.source} has ${data.featureDim}-wide ones (${data.pcaFeatures ? "PCA" : "fc7"}); check --pca/--no-pca`);
  }
}

/**
 * The data a trained checkpoint goes with, as it saw it: with a max_train run, the same train
 * subsample (re-drawn from the run's seed and checked against the checkpoint).
 */
export async function loadCheckpointData(ck: LoadedCaptioningCheckpoint, path: string, dataDir?: string): Promise<CocoData> {
  const run = ck.run;
  const source = checkpointDataSource(run, dataDir);
  const pcaFeatures = run?.pcaFeatures ?? ck.config.inputDim !== 4096;
  let data: CocoData;
  if (run && run.maxTrain !== null) {
    // Rebuild the run's train split: the same np draws from the run's seed.
    const np = new NumpyRandomState(run.seed);
    data = await loadCocoData(source, { maxTrain: run.maxTrain, pcaFeatures }, np);
    if (!sameSubsample(run.trainSubsample, data.trainSubsample)) {
      throw new DataError(path, `the training captions drawn from ${data.source} differ from the ones this model was trained on`);
    }
  } else {
    data = await loadCocoData(source, { pcaFeatures });
  }
  checkDataMatchesCheckpoint(data, ck, path);
  return data;
}

export interface ResumeOverrides {
  dataDir?: string;
  /** Total epochs (may extend the run). */
  epochs?: number;
  /** Flags the user gave explicitly: they must agree with the checkpoint. */
  given?: Partial<Pick<CaptioningRunOptions, "seed" | "maxTrain" | "pcaFeatures" | "wordvecDim" | "numHeads" | "numLayers" | "maxLength" | "batchSize" | "lr">>;
  /**
   * A data-parallel run. The run's global batch (batch size · ranks) stays; the per-rank batch
   * follows from the ranks here, so 2 ranks × 25 resume as one process × 50 and the other way round.
   */
  parallel?: DataParallel;
}

const RESUME_FLAGS: Record<string, string> = {
  seed: "--seed", maxTrain: "--max-train", pcaFeatures: "--pca/--no-pca", batchSize: "--batch-size", lr: "--lr",
  wordvecDim: "--wordvec-dim", numHeads: "--num-heads", numLayers: "--num-layers", maxLength: "--max-length",
};

/** Continues a run from a checkpoint written by saveCaptioningCheckpoint. */
export async function resumeCaptioningRun(path: string, command: string, o: ResumeOverrides = {}): Promise<CaptioningRun> {
  const ck = readCaptioningCheckpoint(path, { training: true });
  if (!ck.loaded.resumable) {
    throw new DataError(ck.loaded.paths.sidecar, "has no training state to resume from (a best-model checkpoint); resume from the run's last checkpoint");
  }
  const state = resumeStateFromCheckpoint(ck.meta, ck.loaded.training, ck.loaded.paths.sidecar);
  const saved = ck.run;
  if (!saved) throw new DataError(path, "this checkpoint does not record how its run was set up (extra.run); it cannot be resumed");
  const ranks = o.parallel?.size ?? 1;
  const globalBatch = saved.batchSize * (saved.ranks ?? 1);
  if (globalBatch % ranks !== 0) {
    throw new XtError(`--resume: the run's global batch is ${globalBatch} (${saved.ranks ?? 1} rank(s) × ${saved.batchSize}); it does not split over ${ranks} ranks`, 2);
  }
  const batchSize = globalBatch / ranks;
  const have: Record<string, unknown> = {
    seed: saved.seed, maxTrain: saved.maxTrain, pcaFeatures: saved.pcaFeatures, batchSize, lr: saved.lr,
    wordvecDim: ck.config.wordvecDim, numHeads: ck.config.numHeads, numLayers: ck.config.numLayers, maxLength: ck.config.maxLength,
  };
  for (const [k, v] of Object.entries(o.given ?? {})) {
    if (v !== undefined && have[k] !== v) {
      const flag = RESUME_FLAGS[k] ?? k;
      throw new XtError(`--resume: ${flag} is ${JSON.stringify(have[k])} in ${path}; it cannot change (to ${JSON.stringify(v)}) when resuming`, 2);
    }
  }
  const epochs = o.epochs ?? saved.epochs;
  const source = checkpointDataSource(saved, o.dataDir);
  manualSeed(saved.seed);
  const np = new NumpyRandomState(saved.seed);
  const data = await loadCocoData(source, { maxTrain: saved.maxTrain ?? undefined, pcaFeatures: saved.pcaFeatures }, np);
  checkDataMatchesCheckpoint(data, ck, path);
  if (!sameSubsample(saved.trainSubsample, data.trainSubsample)) {
    throw new DataError(path, `the training captions drawn from ${data.source} differ from the ones this run was trained on`);
  }
  const model = new CaptioningTransformer(data.wordToIdx, data.featureDim, ck.config.wordvecDim, ck.config.numHeads, ck.config.numLayers, ck.config.maxLength);
  try {
    model.loadStateDict(ck.weights);
  } catch (e) {
    if (e instanceof XtError) throw new DataError(path, `weights do not fit the model in its sidecar (${e.message})`);
    throw e;
  }
  o.parallel?.wrap(model);
  const solver = new CaptioningSolver(model, data, { batchSize, numEpochs: epochs, learningRate: saved.lr, np, ranks: o.parallel });
  const savedIpe = (ck.meta.extra as { iterationsPerEpoch?: number } | undefined)?.iterationsPerEpoch;
  if (savedIpe !== undefined && savedIpe !== solver.iterationsPerEpoch) {
    throw new DataError(path, `the run had ${savedIpe} iterations per epoch, the data now gives ${solver.iterationsPerEpoch}`);
  }
  solver.restore(state);
  if (solver.iteration > solver.numIterations) {
    throw new XtError(`--resume: the checkpoint is at iteration ${solver.iteration}, past the ${solver.numIterations} iterations of ${epochs} epochs`, 2);
  }
  const { ranks: _saved, ...rest } = saved;
  const run = { ...rest, command, epochs, batchSize, trainSubsample: subsampleRecord(data.trainSubsample), ...(o.parallel ? { ranks } : {}) };
  return { solver, data, model, run };
}
