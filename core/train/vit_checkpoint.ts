/** A ViT checkpoint (train vit's best model) back as a model in eval mode, with what it was trained on. */
import type { VisionTransformer } from "../models/vision_transformer.ts";
import { loadClassifierCheckpoint, type LoadedClassifier } from "./classifier_checkpoint.ts";
import { VIT_KIND, type VitModelConfig } from "./vit_config.ts";

export type LoadedVit = LoadedClassifier<VitModelConfig, VisionTransformer>;

/** Any of a checkpoint's names (FILE, FILE.safetensors, FILE.json, a run folder: its best model). */
export function loadVitCheckpoint(path: string): LoadedVit {
  return loadClassifierCheckpoint(VIT_KIND, path);
}
