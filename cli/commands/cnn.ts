/**
 * The CNN baseline commands (docs/cnn.md):
 *   xt train cnn   SmallCNN trained as `train vit` trains the ViT: the same data and run flags,
 *                  dashboard, results JSON, checkpoints, run folder and --resume
 *   xt eval cnn    test accuracy and confusion matrix of a CNN checkpoint
 */
import type { Command } from "commander";
import type { ImageDataset } from "../../core/data/image_dataset.ts";
import { XtError } from "../../core/errors.ts";
import { CNN_KIND, CNN_TRAIN_DEFAULTS, parseChannels, validateCnnConfig, type CnnModelConfig } from "../../core/train/cnn_config.ts";
import {
  addClassifierTrainFlags, addEvalFlags, runClassifierTraining, runEvalCommand, type ClassifierCommand, type ClassifierTrainFlags,
  type EvalFlags,
} from "../classifier_command.ts";
import { parentCommand } from "../options.ts";

export interface TrainCnnFlags extends ClassifierTrainFlags {
  channels?: string;
}

/** The CNN's part of `train cnn`: --channels, and the image shape from the data. */
function cnnCommand(o: TrainCnnFlags): ClassifierCommand<CnnModelConfig> {
  const channels = o.channels === undefined ? undefined : parseChannels(o.channels);
  return {
    kind: CNN_KIND,
    defaults: CNN_TRAIN_DEFAULTS,
    modelFlags: channels ? { channels1: channels[0], channels2: channels[1] } : {},
    precheck: () => {},
    model: (name, train: ImageDataset) => {
      if (train.height !== train.width) throw new XtError(`${train.source}: images are ${train.height}×${train.width}; the CNN takes square images`);
      const d = CNN_TRAIN_DEFAULTS[name];
      const cfg: CnnModelConfig = {
        imgSize: train.height, inChannels: train.channels, channels1: channels?.[0] ?? d.channels1, channels2: channels?.[1] ?? d.channels2,
        numClasses: train.classes.length,
      };
      validateCnnConfig(cfg);
      return cfg;
    },
  };
}

const CNN_DEFAULT = CNN_TRAIN_DEFAULTS["fashion-mnist"];

export async function runTrainCnn(o: TrainCnnFlags): Promise<number> {
  return runClassifierTraining(cnnCommand(o), o);
}

export function registerCnn(program: Command, exit: (code: number) => void): void {
  const train = parentCommand(program, "train", "train a model");
  addClassifierTrainFlags(
    train.command("cnn").description(
      "train the CNN baseline (two conv3×3–ReLU–maxpool blocks and a linear head, docs/cnn.md) as train vit trains the ViT: same data, flags, results and checkpoints",
    ),
    "train cnn",
    CNN_TRAIN_DEFAULTS,
  )
    .option("--channels <c1,c2>", `channels of the two conv blocks (default ${CNN_DEFAULT.channels1},${CNN_DEFAULT.channels2})`)
    .action(async (opts: TrainCnnFlags) => exit(await runTrainCnn(opts)));

  const evalCmd = parentCommand(program, "eval", "evaluate a checkpoint");
  addEvalFlags(evalCmd.command("cnn").description("test accuracy and per-class confusion matrix of a CNN checkpoint"), "train cnn")
    .action(async (opts: EvalFlags) => exit(await runEvalCommand(CNN_KIND, opts)));
}
