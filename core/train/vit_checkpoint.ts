/** A ViT checkpoint (train vit's best model) back as a model in eval mode, with what it was trained on. */
import type { ImageDatasetName } from "../data/image_dataset.ts";
import { loadCheckpoint, type CheckpointMeta, type CheckpointPaths } from "../io/checkpoint.ts";
import type { VisionTransformer } from "../models/vision_transformer.ts";
import { manualSeed } from "../random/index.ts";
import { buildVit, modelConfigFrom, type VitModelConfig } from "./vit_config.ts";
import { parseDatasetName } from "./vit_data.ts";

export interface LoadedVit {
  net: VisionTransformer;
  model: VitModelConfig;
  /** The data set the checkpoint names, if any. */
  dataset?: ImageDatasetName;
  batchSize?: number;
  meta: CheckpointMeta;
  /** The files read (a run folder names its best model). */
  paths: CheckpointPaths;
}

/** Any of a checkpoint's names (FILE, FILE.safetensors, FILE.json, a run folder: its best model). */
export function loadVitCheckpoint(path: string): LoadedVit {
  const ck = loadCheckpoint(path, { kind: "vit", kindName: "ViT" });
  const cfg = ck.meta.config as { model?: unknown; dataset?: unknown; batchSize?: unknown };
  const model = modelConfigFrom(cfg.model, path);
  manualSeed(0); // construction draws initial weights, all overwritten below; fixed so it is deterministic
  const net = buildVit(model);
  net.loadStateDict(ck.weights);
  net.eval();
  return {
    net, model, meta: ck.meta, paths: ck.paths,
    dataset: typeof cfg.dataset === "string" ? parseDatasetName(cfg.dataset) : undefined,
    batchSize: typeof cfg.batchSize === "number" ? cfg.batchSize : undefined,
  };
}
