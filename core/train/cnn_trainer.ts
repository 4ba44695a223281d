/**
 * `train cnn`: the CNN baseline trained exactly as `train vit` trains the ViT (the shared loop,
 * data, checkpoints, results and resume of classifier_run.ts / classifier_resume.ts). After
 * manualSeed(seed) the draws are PyTorch's: SmallCNN's default init, then per epoch the loader's
 * shuffle, the augmentation (if any) and the test loader's base seed, as
 * fixtures/gen/vit_torch_train.py --model cnn makes them.
 */
import type { LoadedCheckpoint } from "../io/checkpoint.ts";
import { prepareClassifierResume, resumeClassifier, type ClassifierResume, type ResumeGiven, type ResumeOptions } from "./classifier_resume.ts";
import { trainImageClassifier, type TrainImageClassifierOptions } from "./classifier_run.ts";
import type { TrainClassifierResult } from "./classifier_trainer.ts";
import { CNN_KIND, type CnnModelConfig } from "./cnn_config.ts";

export type TrainCnnOptions = TrainImageClassifierOptions<CnnModelConfig>;

export async function trainCnn(o: TrainCnnOptions): Promise<TrainClassifierResult> {
  return trainImageClassifier(CNN_KIND, o);
}

/** Reads the run a CNN checkpoint continues and loads its data (see prepareVitResume). */
export function prepareCnnResume(ck: LoadedCheckpoint, given: ResumeGiven<CnnModelConfig>, dataDir?: string): ClassifierResume<CnnModelConfig> {
  return prepareClassifierResume(ck, CNN_KIND, given, dataDir);
}

/** Continues a CNN run from its resumable checkpoint, bit for bit. */
export async function resumeCnn(o: ResumeOptions<CnnModelConfig>): Promise<TrainClassifierResult> {
  return resumeClassifier(CNN_KIND, o);
}
