/** A classifier checkpoint (a training run's best model) back as a model in eval mode, with what it was trained on. */
import type { ImageDatasetName } from "../data/image_dataset.ts";
import { loadCheckpoint, type CheckpointMeta, type CheckpointPaths } from "../io/checkpoint.ts";
import { manualSeed } from "../random/index.ts";
import type { ClassifierKind } from "./classifier_run.ts";
import { parseDatasetName } from "./vit_data.ts";
import type { ClassifierModel } from "./vit_eval.ts";

export interface LoadedClassifier<M, Net extends ClassifierModel> {
  net: Net;
  model: M;
  /** The data set the checkpoint names, if any. */
  dataset?: ImageDatasetName;
  batchSize?: number;
  meta: CheckpointMeta;
  /** The files read (a run folder names its best model). */
  paths: CheckpointPaths;
}

/** Any of a checkpoint's names (FILE, FILE.safetensors, FILE.json, a run folder: its best model), of kind `k`. */
export function loadClassifierCheckpoint<M extends object, Net extends ClassifierModel>(k: ClassifierKind<M, Net>, path: string): LoadedClassifier<M, Net> {
  const ck = loadCheckpoint(path, { kind: k.kind, kindName: k.label });
  const cfg = ck.meta.config as { model?: unknown; dataset?: unknown; batchSize?: unknown };
  const model = k.modelFrom(cfg.model, path);
  manualSeed(0); // construction draws initial weights, all overwritten below; fixed so it is deterministic
  const net = k.build(model);
  net.loadStateDict(ck.weights);
  net.eval();
  return {
    net, model, meta: ck.meta, paths: ck.paths,
    dataset: typeof cfg.dataset === "string" ? parseDatasetName(cfg.dataset) : undefined,
    batchSize: typeof cfg.batchSize === "number" ? cfg.batchSize : undefined,
  };
}
