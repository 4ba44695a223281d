/**
 * The CNN baseline's configuration (core/models/small_cnn.ts, docs/cnn.md): per-data-set training
 * defaults (the ViT's optimiser, batch size and epochs, so that the two compare like for like),
 * validation with messages that name the flags, construction, and reading a config back.
 */
import type { ImageDatasetName } from "../data/image_dataset.ts";
import { UsageError, XtError } from "../errors.ts";
import { SmallCNN } from "../models/small_cnn.ts";
import type { ClassifierKind } from "./classifier_run.ts";

/** SmallCNN's constructor arguments, in their order. */
export interface CnnModelConfig {
  imgSize: number;
  inChannels: number;
  /** Channels of the first and second conv–ReLU–pool block (`--channels c1,c2`). */
  channels1: number;
  channels2: number;
  numClasses: number;
}

export interface CnnTrainDefaults {
  channels1: number;
  channels2: number;
  lr: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
}

/**
 * Per-data-set `train cnn` defaults: channels 32 and 64, and the ViT's Adam lr 7e-4, no weight
 * decay, batch 64 and 2 epochs (docs/vit-defaults.md), so that `train cnn` and `train vit` differ
 * in the model only.
 */
export const CNN_TRAIN_DEFAULTS: Readonly<Record<ImageDatasetName, Readonly<CnnTrainDefaults>>> = Object.freeze({
  "cifar10": { channels1: 32, channels2: 64, lr: 7e-4, weightDecay: 0, batchSize: 64, epochs: 2 },
  "fashion-mnist": { channels1: 32, channels2: 64, lr: 7e-4, weightDecay: 0, batchSize: 64, epochs: 2 },
  "mnist": { channels1: 32, channels2: 64, lr: 7e-4, weightDecay: 0, batchSize: 64, epochs: 2 },
});

const FLAG: Record<keyof CnnModelConfig, string> = {
  imgSize: "the image size", inChannels: "the image channels", channels1: "--channels", channels2: "--channels", numClasses: "classes",
};

/** Throws an XtError (exit 2) naming the flag when the configuration cannot build a model. */
export function validateCnnConfig(cfg: CnnModelConfig): void {
  for (const k of Object.keys(FLAG) as (keyof CnnModelConfig)[]) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${FLAG[k]}: expected a positive whole number, got ${v}`);
  }
  if (cfg.imgSize < 4) throw new UsageError(`images of ${cfg.imgSize}×${cfg.imgSize} are too small for the CNN's two 2×2 poolings (at least 4×4)`);
}

/** `--channels 32,64`. */
export function parseChannels(raw: string): [number, number] {
  const parts = raw.split(",").map((s) => s.trim());
  const v = parts.map(Number);
  if (parts.length !== 2 || v.some((x, i) => parts[i] === "" || !Number.isInteger(x) || x < 1)) {
    throw new UsageError(`--channels: expected two positive whole numbers like 32,64, got '${raw}'`);
  }
  return [v[0]!, v[1]!];
}

/** Validate and construct (draws the initial weights from the global generator, as PyTorch does). */
export function buildCnn(cfg: CnnModelConfig): SmallCNN {
  validateCnnConfig(cfg);
  return new SmallCNN(cfg.imgSize, cfg.inChannels, cfg.channels1, cfg.channels2, cfg.numClasses);
}

/** "SmallCNN(img 28, C 1, channels 32/64, classes 10)" */
export function describeCnn(cfg: CnnModelConfig): string {
  return `SmallCNN(img ${cfg.imgSize}, C ${cfg.inChannels}, channels ${cfg.channels1}/${cfg.channels2}, classes ${cfg.numClasses})`;
}

/** Reads a CNN config back from a checkpoint sidecar, checking every field. */
export function cnnConfigFrom(raw: unknown, where: string): CnnModelConfig {
  const o = (raw ?? {}) as Record<string, unknown>;
  const cfg = {} as CnnModelConfig;
  for (const k of Object.keys(FLAG) as (keyof CnnModelConfig)[]) {
    const v = o[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new XtError(`${where}: model config has no valid '${k}'`);
    cfg[k] = v;
  }
  return cfg;
}

/** What the CNN is to the shared classifier training and resume (classifier_run.ts). */
export const CNN_KIND: ClassifierKind<CnnModelConfig, SmallCNN> = {
  kind: "cnn", label: "CNN", command: "train cnn", build: buildCnn, describe: describeCnn, modelFrom: cnnConfigFrom, flags: FLAG,
};
