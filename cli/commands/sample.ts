/**
 * `xt sample --checkpoint FILE --split train|val -n K`: the notebook's sampling cell. K images
 * are drawn with sample_coco_minibatch (np.random.choice over the split's captions, from the
 * NumPy state saved in the checkpoint, i.e. where the training run left it, or from --seed);
 * for each, the model's greedy caption (model.sample, max_length 30), the ground truth and the
 * image URL, decoded with decode_captions' semantics.
 *
 * The train split is the one the model was trained on: with a max_train run, the same
 * subsample (re-drawn from the run's seed and checked against the checkpoint).
 */
import type { Command } from "commander";
import { DataError, UsageError } from "../../core/errors.ts";
import { decodeCaptions, sampleCocoMinibatch } from "../../core/data/coco.ts";
import { fromArray } from "../../core/ops/creation.ts";
import { NumpyRandomState, defaultGenerator, manualSeed } from "../../core/random/index.ts";
import { loadCheckpointData, modelFromCheckpoint, readCaptioningCheckpoint } from "../../core/train/captioning_run.ts";
import { parseIntFlag } from "../flags.ts";
import { makeStyle } from "../render/style.ts";

export interface SampleOpts {
  checkpoint?: string;
  split?: string;
  n?: string;
  dataDir?: string;
  seed?: string;
  maxLength?: string;
  dropout?: boolean;
  json?: boolean;
  color?: boolean;
}

export interface CaptionSample {
  split: "train" | "val";
  /** The caption's row in the split (after max_train subsampling for train). */
  caption: number;
  image: number;
  sampled: string;
  groundTruth: string;
  url: string;
}

export interface SampleResult {
  checkpoint: string;
  split: "train" | "val";
  data: string;
  samples: CaptionSample[];
}

export async function sampleCaptions(o: SampleOpts): Promise<SampleResult> {
  if (!o.checkpoint) throw new UsageError("sample: --checkpoint FILE is required");
  const split = o.split ?? "train";
  if (split !== "train" && split !== "val") throw new UsageError(`--split: expected 'train' or 'val', got '${split}'`);
  const n = o.n === undefined ? 2 : parseIntFlag("-n", o.n, 1);
  const maxLength = o.maxLength === undefined ? 30 : parseIntFlag("--max-length", o.maxLength, 1);
  const seed = o.seed === undefined ? undefined : parseIntFlag("--seed", o.seed, 0, 0xffffffff);
  const path = o.checkpoint;

  // A resumable checkpoint carries the run's RNG states, which sampling continues (unless --seed).
  const ck = readCaptioningCheckpoint(path, { training: seed === undefined ? "if-present" : false });
  if (maxLength > ck.config.maxLength) {
    throw new UsageError(`--max-length ${maxLength} exceeds the model's max_length ${ck.config.maxLength}`);
  }
  const model = modelFromCheckpoint(ck, path);
  const run = ck.run;
  const data = await loadCheckpointData(ck, path, o.dataDir);
  if (data[split].numCaptions === 0) throw new DataError(data.source, `the ${split} split has no captions`);

  // The notebook's sampling cell continues np.random (and torch, for dropout) from where training
  // left them; a model-only checkpoint (a best model) starts from the run's seed.
  const rng = ck.loaded.training?.rng;
  const np = new NumpyRandomState(seed ?? run?.seed ?? 0);
  if (seed === undefined && rng?.numpy) np.setState(rng.numpy);
  if (o.dropout) {
    if (seed !== undefined) manualSeed(seed);
    else if (rng?.torch) defaultGenerator.setState(rng.torch);
  } else {
    model.eval();
  }

  const mb = sampleCocoMinibatch(data, n, split, np);
  const ids = model.sample(fromArray(mb.features, [n, mb.featureDim]), maxLength);
  const sampled = decodeCaptions(ids.data() as ArrayLike<number>, data.idxToWord, maxLength);
  const truth = decodeCaptions(mb.captions, data.idxToWord, mb.captionLength);
  return {
    checkpoint: path,
    split,
    data: data.source,
    samples: mb.mask.map((k, i) => ({
      split,
      caption: k,
      image: mb.imageIdxs[i]!,
      sampled: sampled[i]!,
      groundTruth: truth[i]!,
      url: mb.urls[i]!,
    })),
  };
}

export async function runSampleCommand(o: SampleOpts): Promise<number> {
  const r = await sampleCaptions(o);
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + "\n");
    return 0;
  }
  const c = makeStyle(process.stdout, o.color === false);
  const lines: string[] = [];
  r.samples.forEach((s, i) => {
    if (i > 0) lines.push("");
    lines.push(c.bold(`${s.split} #${i + 1} (caption ${s.caption}, image ${s.image})`));
    lines.push(`  sample: ${s.sampled}`);
    lines.push(`  GT:     ${s.groundTruth}`);
    lines.push(`  url:    ${s.url}`);
  });
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

export function registerSample(program: Command, exit: (code: number) => void): void {
  program
    .command("sample")
    .description("caption images with a trained captioning checkpoint, next to the ground truth and the image URL")
    .option("--checkpoint <file>", "a captioning checkpoint: FILE, FILE.safetensors or FILE.json, or a run folder (its best model)")
    .option("--split <split>", "train or val", "train")
    .option("-n <k>", "how many images", "2")
    .option("--data-dir <dir>", "COCO captioning folder (default: the data the checkpoint was trained on)")
    .option("--seed <n>", "draw the images after np.random.seed(n) (default: continue the run's saved NumPy state)")
    .option("--max-length <n>", "sampled caption length (default 30)")
    .option("--dropout", "keep dropout on while sampling, as the notebook's sampling cell does (the model stays in training mode there)")
    .option("--json", "print the samples as JSON")
    .option("--no-color", "no colour")
    .action(async (opts: SampleOpts) => exit(await runSampleCommand(opts)));
}
