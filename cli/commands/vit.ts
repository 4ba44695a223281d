/**
 * The Vision Transformer commands:
 *   xt overfit vit   the notebook's overfit cell: the first 64 training images, dropout 0
 *   xt train vit     ClassificationSolverViT: epochs of train + test, results JSON, best checkpoint
 *   xt eval vit      test accuracy and confusion matrix of a checkpoint
 *   xt cost vit      parameters and FLOPs per layer, and what doubling a size does (Inline Q3)
 */
import type { Command } from "commander";
import { EXIT, UsageError, XtError } from "../../core/errors.ts";
import type { ImageDataset, ImageDatasetName } from "../../core/data/image_dataset.ts";
import { takeFirst } from "../../core/data/dataloader.ts";
import { stopSignal } from "../../core/train/stop.ts";
import {
  DATASET_SHAPES, DEFAULT_STEM_CHANNELS, MODEL_FLAGS, NOTEBOOK_VIT, VIT_KIND, VIT_OVERFIT_DEFAULTS, VIT_TRAIN_DEFAULTS, describeVit,
  resolveModelConfig, validateModelConfig, type VitModelConfig, type VitModelOverrides,
} from "../../core/train/vit_config.ts";
import { vitCost, vitScaling, type VitCost, type VitScaling } from "../../core/train/vit_cost.ts";
import { measureVitScaling, type MeasuredScaling } from "../../core/train/vit_cost_measure.ts";
import { loadEmbeddedFirst64, loadVitSplit, parseDatasetName } from "../../core/train/vit_data.ts";
import { overfitVit } from "../../core/train/vit_trainer.ts";
import {
  addClassifierTrainFlags, addEvalFlags, DEFAULT_DATASET, DEFAULT_SEED, perDataset, runClassifierTraining, runEvalCommand,
  stripUndefined, type ClassifierCommand, type ClassifierTrainFlags, type EvalFlags,
} from "../classifier_command.ts";
import { parseIntFlag, parseNumberFlag } from "../flags.ts";
import { addDepthFlags, addOutputFlags, parentCommand, printEveryFrom, type OutputFlags } from "../options.ts";
import { withTrainingOutput } from "../training_output.ts";
import { makeStyle } from "../render/style.ts";

export interface VitModelFlags {
  imgSize?: string;
  patchSize?: string;
  inChannels?: string;
  embedDim?: string;
  numLayers?: string;
  numHeads?: string;
  ffnDim?: string;
  dropout?: string;
}

export interface OverfitVitFlags extends VitModelFlags, OutputFlags {
  dataset?: string;
  dataDir?: string;
  lr?: string;
  weightDecay?: string;
  steps?: string;
  seed?: string;
  untilPerfect?: boolean;
}

export interface TrainVitFlags extends VitModelFlags, ClassifierTrainFlags {
  /** --conv-stem [channels]: true when given without a number. */
  convStem?: string | boolean;
}

export interface CostVitFlags extends VitModelFlags {
  dataset?: string;
  json?: boolean;
  color?: boolean;
  measure?: boolean;
  warmup?: string;
  repeats?: string;
  batchSize?: string;
}

/** Strictly parsed model flags; undefined where not given. */
export function parseModelFlags(o: VitModelFlags): VitModelOverrides {
  const int = (flag: string, raw: string | undefined): number | undefined => (raw === undefined ? undefined : parseIntFlag(flag, raw, 1));
  return {
    imgSize: int("--img-size", o.imgSize),
    patchSize: int("--patch-size", o.patchSize),
    inChannels: int("--in-channels", o.inChannels),
    embedDim: int("--embed-dim", o.embedDim),
    numLayers: int("--num-layers", o.numLayers),
    numHeads: int("--num-heads", o.numHeads),
    dimFeedforward: int("--ffn-dim", o.ffnDim),
    dropout: o.dropout === undefined ? undefined : parseNumberFlag("--dropout", o.dropout, 0, 0.999999),
  };
}

/** The model must take the data set's images as they are (no resizing, like the notebook). */
function checkModelFitsData(cfg: VitModelConfig, ds: ImageDataset, what: string): void {
  if (ds.height !== ds.width) throw new XtError(`${ds.source}: images are ${ds.height}×${ds.width}; the ViT needs square images`);
  if (cfg.imgSize !== ds.height) {
    throw new UsageError(`--img-size ${cfg.imgSize} does not match the ${what} images (${ds.height}×${ds.width}); leave it out to follow the data`);
  }
  if (cfg.inChannels !== ds.channels) {
    throw new UsageError(`--in-channels ${cfg.inChannels} does not match the ${what} images (${ds.channels} channel${ds.channels === 1 ? "" : "s"}); leave it out to follow the data`);
  }
  validateModelConfig(cfg);
}

function dataShape(ds: ImageDataset): { channels: number; height: number; width: number; numClasses: number } {
  return { channels: ds.channels, height: ds.height, width: ds.width, numClasses: ds.classes.length };
}

// ---------------------------------------------------------------------------------------------

export async function runOverfitVit(o: OverfitVitFlags): Promise<number> {
  const useEmbedded = o.dataset === undefined && o.dataDir === undefined;
  const name = o.dataset === undefined ? DEFAULT_DATASET : parseDatasetName(o.dataset);
  const d = VIT_OVERFIT_DEFAULTS[name];
  const flags = parseModelFlags(o);
  const lr = o.lr === undefined ? d.lr : parseNumberFlag("--lr", o.lr, 0);
  const weightDecay = o.weightDecay === undefined ? d.weightDecay : parseNumberFlag("--weight-decay", o.weightDecay, 0);
  const steps = o.steps === undefined ? d.steps : parseIntFlag("--steps", o.steps, 1);
  const seed = o.seed === undefined ? DEFAULT_SEED : parseIntFlag("--seed", o.seed, 0, 0xffffffff);
  const printEvery = printEveryFrom(o);
  const full = useEmbedded ? await loadEmbeddedFirst64() : loadVitSplit(name, "train", o.dataDir);
  const data = takeFirst(full, 64);
  const model = resolveModelConfig(d.model, dataShape(data), { dropout: 0, ...stripUndefined(flags) });
  checkModelFitsData(model, data, useEmbedded ? "embedded Fashion-MNIST" : name);

  const r = await withTrainingOutput({ ...o, printEvery }, undefined, (sink) => overfitVit({
    data, dataset: useEmbedded ? data.source : `${name} ${data.source}`, model, lr, weightDecay, steps, seed,
    untilPerfect: o.untilPerfect, sink, signal: stopSignal(),
  }));
  if (!o.json) {
    const when = o.untilPerfect && r.accuracy === 1 && !r.interrupted ? ` (reached at step ${r.steps})` : "";
    process.stdout.write(`Overfitting ViT on one batch. Top-1 accuracy: ${r.accuracy}${when}\n`);
  }
  return r.interrupted ? EXIT.interrupted : EXIT.ok;
}

// ---------------------------------------------------------------------------------------------

/** `--conv-stem [channels]` (16 when given alone). */
function parseConvStem(raw: string | boolean | undefined): number | undefined {
  if (raw === undefined || raw === false) return undefined;
  return raw === true ? DEFAULT_STEM_CHANNELS : parseIntFlag("--conv-stem", raw, 1);
}

/** The ViT's part of `train vit`: its flags, and the model they make for the data. */
function vitCommand(o: TrainVitFlags): ClassifierCommand<VitModelConfig> {
  const flags: VitModelOverrides = { ...parseModelFlags(o), stemChannels: parseConvStem(o.convStem) };
  return {
    kind: VIT_KIND,
    defaults: VIT_TRAIN_DEFAULTS,
    modelFlags: flags,
    precheck: (name) => {
      const d = VIT_TRAIN_DEFAULTS[name].model;
      const s = DATASET_SHAPES[name];
      validateModelConfig({ ...d, ...stripUndefined(flags), imgSize: flags.imgSize ?? s.size, inChannels: flags.inChannels ?? s.channels });
    },
    model: (name, train) => {
      const cfg = resolveModelConfig(VIT_TRAIN_DEFAULTS[name].model, dataShape(train), flags);
      checkModelFitsData(cfg, train, name);
      return cfg;
    },
  };
}

export async function runTrainVit(o: TrainVitFlags): Promise<number> {
  return runClassifierTraining(vitCommand(o), o);
}

// ---------------------------------------------------------------------------------------------

const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");
const fmtRatio = (x: number): string => {
  if (!Number.isFinite(x)) return "∞";
  const s = x >= 1 ? (Number.isInteger(x) ? String(x) : x.toFixed(2)) : Number.isInteger(1 / x) ? `1/${1 / x}` : x.toFixed(3);
  return `×${s}`;
};

/** The model `cost vit` describes, and which one that is in words. */
export interface CostModel {
  config: VitModelConfig;
  /** "the notebook's CIFAR-10 model", "train vit's fashion-mnist model", then any flags that change it. */
  describes: string;
}

export function costConfig(o: CostVitFlags): CostModel {
  const flags = stripUndefined(parseModelFlags(o));
  let base: VitModelConfig = { ...NOTEBOOK_VIT };
  let describes = "the notebook's CIFAR-10 model (VisionTransformer() as the notebook builds it)";
  if (o.dataset !== undefined) {
    const name = parseDatasetName(o.dataset);
    const s = DATASET_SHAPES[name];
    base = { ...VIT_TRAIN_DEFAULTS[name].model, imgSize: s.size, inChannels: s.channels };
    describes = `train vit's ${name} model (train vit --dataset ${name})`;
  }
  const config = { ...base, ...flags };
  validateModelConfig(config);
  const changed = Object.keys(flags).filter((k) => k !== "dropout") as (keyof VitModelConfig)[];
  if (changed.length) describes += `, changed by ${changed.map((k) => `${MODEL_FLAGS[k]} ${config[k]}`).join(", ")}`;
  return { config, describes };
}

export function costReport(cost: VitCost, scaling: VitScaling[], describes: string): string {
  const k = cost.config;
  const L = k.numLayers;
  const rows: [string, string, string, string][] = [
    ["patch embedding", fmtInt(cost.patchEmbedding.params), fmtInt(cost.patchEmbedding.flops), "2·T·p·D"],
    ["per encoder layer:", "", "", ""],
    ["  attention projections", fmtInt(cost.layer.attentionProjections.params), fmtInt(cost.layer.attentionProjections.flops), "8·T·D²  (Q, K, V, out)"],
    ["  attention scores", "0", fmtInt(cost.layer.attentionScores.flops), "4·T²·D  (QKᵀ, weights·V)"],
    ["  feed-forward", fmtInt(cost.layer.feedForward.params), fmtInt(cost.layer.feedForward.flops), "4·T·D·F"],
    ["  layer norms", fmtInt(cost.layer.layerNorms.params), "-", ""],
    ["  layer total", fmtInt(cost.layer.total.params), fmtInt(cost.layer.total.flops), ""],
    [`× ${L} layers`, fmtInt(L * cost.layer.total.params), fmtInt(L * cost.layer.total.flops), ""],
    ["head", fmtInt(cost.head.params), fmtInt(cost.head.flops), "2·D·K"],
    ["total", fmtInt(cost.total.params), fmtInt(cost.total.forwardFlops), `training ≈ 3× = ${(cost.total.trainFlops / 1e6).toFixed(1)} MFLOPs/image`],
  ];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["part", "params", "FLOPs/image"][i]!.length));
  const line = (r: string[]): string => `${r[0]!.padEnd(w[0]!)}  ${r[1]!.padStart(w[1]!)}  ${r[2]!.padStart(w[2]!)}  ${r[3]}`.trimEnd();
  const out = [
    `Cost of ${describes}`,
    describeVit(k),
    `T = (${k.imgSize}/${k.patchSize})² = ${cost.tokens} tokens, p = ${k.patchSize}·${k.patchSize}·${k.inChannels} = ${cost.patchValues} values per patch, D = ${k.embedDim}, F = ${k.dimFeedforward}, K = ${k.numClasses}`,
    "FLOPs: forward pass, one image, matrix products (multiply-add = 2); softmax, GELU, norms left out",
    "",
    line(["part", "params", "FLOPs/image", "formula"]),
    ...rows.map(line),
    "",
    "Inline Question 3: one size doubled at a time (new / old)",
  ];
  const srows = scaling.map((s) => {
    const c = s.config;
    const what = s.change === "hidden size" ? `D ${c.embedDim}` : s.change === "image size" ? `img ${c.imgSize} (T ${s.cost.tokens})`
      : s.change === "patch size" ? `patch ${c.patchSize} (T ${s.cost.tokens})` : `layers ${c.numLayers}`;
    return [
      s.change, what + (s.buildable ? "" : " *"), fmtRatio(s.ratio.attentionProjections), fmtRatio(s.ratio.attentionScores),
      fmtRatio(s.ratio.selfAttentionAllLayers), fmtRatio(s.ratio.feedForward), fmtRatio(s.ratio.forwardFlops), fmtRatio(s.ratio.params),
    ];
  });
  const sh = ["change", "new", "attn proj", "attn scores", "self-attn (all layers)", "feed-fwd", "model FLOPs", "params"];
  const sw = sh.map((h, i) => Math.max(h.length, ...srows.map((r) => r[i]!.length)));
  const sline = (r: string[]): string => r.map((v, i) => (i < 2 ? v.padEnd(sw[i]!) : v.padStart(sw[i]!))).join("  ");
  out.push(sline(sh), ...srows.map(sline));
  if (scaling.some((s) => !s.buildable)) out.push("* the image size is then not divisible by the patch size; the formulas still apply");
  const T = cost.tokens;
  const D = k.embedDim;
  out.push(
    "",
    `(i)   hidden size ×2: projections grow with D² (×4), scores with D (×2); here projections are ${((cost.layer.attentionProjections.flops / cost.layer.selfAttention.flops) * 100).toFixed(0)}% of self-attention (T = ${T} < 2D = ${2 * D} makes them dominate), so ${fmtRatio(scaling[0]!.ratio.selfAttention)}.`,
    `(ii)  image height and width ×2: 4× the tokens, projections ×4 (linear in T), scores ×16 (quadratic in T): ${fmtRatio(scaling[1]!.ratio.selfAttention)} here.`,
    `(iii) patch size ×2: 1/4 of the tokens, projections ×1/4, scores ×1/16: ${fmtRatio(scaling[2]!.ratio.selfAttention)} here (the patch embedding's parameters grow ×4).`,
    `(iv)  layers ×2: every per-layer cost is paid twice: self-attention ×2, parameters ${fmtRatio(scaling[3]!.ratio.params)}.`,
  );
  return out.join("\n");
}

/** The measured ratios beside the predicted ones (`cost vit --measure`). */
export function measuredReport(m: MeasuredScaling): string {
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  const rows = [
    ["base", `T ${m.base.tokens}`, "", "", ms(m.base.stepMs), "", "", ms(m.base.attentionMs)],
    ...m.variants.map((v) => [
      v.change, v.change === "hidden size" ? `D ${v.config.embedDim}` : v.change === "layers" ? `layers ${v.config.numLayers}` : `T ${v.tokens}`,
      fmtRatio(v.predicted.step), fmtRatio(v.measured.step), ms(v.stepMs), fmtRatio(v.predicted.attention), fmtRatio(v.measured.attention), ms(v.attentionMs),
    ]),
  ];
  const head = ["change", "new", "step predicted", "step measured", "step time", "self-attn predicted", "self-attn measured", "self-attn time"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((v, i) => (i < 2 ? v.padEnd(w[i]!) : v.padStart(w[i]!))).join("  ");
  const out = [
    `Measured (${m.batchSize} random images a step, ${m.warmup} warm-up steps, median of ${m.repeats}; times depend on the machine and its load, read the ratios):`,
    "  step: one training step of the whole model (forward, loss, backward, Adam), predicted by its FLOPs;",
    "  self-attn: the model's self-attention layers alone (forward and backward), predicted by their FLOPs.",
    line(head), ...rows.map(line),
  ];
  if (m.skipped.length) out.push(`not measured (the image size is then not divisible by the patch size): ${m.skipped.join(", ")}`);
  return out.join("\n");
}

function runCostVit(o: CostVitFlags): number {
  const { config: cfg, describes } = costConfig(o);
  const cost = vitCost(cfg);
  const scaling = vitScaling(cfg);
  const measureFlags = [["--warmup", o.warmup], ["--repeats", o.repeats], ["--batch-size", o.batchSize]].filter(([, v]) => v !== undefined);
  if (!o.measure && measureFlags.length) throw new UsageError(`${measureFlags[0]![0]} needs --measure`);
  const measured = o.measure
    ? measureVitScaling(cfg, {
      warmup: o.warmup === undefined ? 2 : parseIntFlag("--warmup", o.warmup, 0),
      repeats: o.repeats === undefined ? 7 : parseIntFlag("--repeats", o.repeats, 1),
      batchSize: o.batchSize === undefined ? 64 : parseIntFlag("--batch-size", o.batchSize, 1),
      onConfig: o.json ? undefined : (label) => void process.stderr.write(`measuring: ${label}\n`),
    })
    : undefined;
  if (o.json) {
    const m = measured && { ...measured, base: withoutConfig(measured.base), variants: measured.variants.map(withoutConfig) };
    process.stdout.write(JSON.stringify({
      describes, ...cost, scaling: scaling.map(({ cost: c, ...s }) => ({ ...s, tokens: c.tokens, params: c.total.params, forwardFlops: c.total.forwardFlops })),
      ...(m ? { measured: m } : {}),
    }) + "\n");
  } else {
    const c = makeStyle(process.stdout, o.color === false);
    const text = costReport(cost, scaling, describes).split("\n");
    if (o.dataset === undefined) text.push("", "train vit trains a model shaped for its data set: `xt cost vit --dataset fashion-mnist` (or mnist, cifar10) describes that one.");
    text[0] = c.bold(text[0]!);
    if (measured) text.push("", ...measuredReport(measured).split("\n"));
    process.stdout.write(text.join("\n") + "\n");
  }
  return 0;
}

const withoutConfig = <T extends { config: VitModelConfig }>({ config: _c, ...rest }: T): Omit<T, "config"> => rest;

// ---------------------------------------------------------------------------------------------

export function addModelFlags(c: Command, models: Partial<Record<ImageDatasetName, VitModelConfig>>): Command {
  const d = (k: keyof VitModelConfig): string => perDataset(models as Record<ImageDatasetName, VitModelConfig>, k);
  c.option("--img-size <n>", "image size (default: the data set's)")
    .option("--patch-size <n>", `patch size (${d("patchSize")})`)
    .option("--in-channels <n>", "image channels (default: the data set's)")
    .option("--embed-dim <n>", `embedding width D (${d("embedDim")})`);
  return addDepthFlags(c, `encoder layers (${d("numLayers")})`, `attention heads (${d("numHeads")})`)
    .option("--ffn-dim <n>", `feed-forward width (${d("dimFeedforward")})`)
    .option("--dropout <p>", `dropout (${d("dropout")})`);
}

export const modelsOf = (t: Readonly<Record<ImageDatasetName, { model: VitModelConfig }>>): Record<ImageDatasetName, VitModelConfig> =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.model])) as Record<ImageDatasetName, VitModelConfig>;

export function registerVit(program: Command, exit: (code: number) => void): void {
  const overfit = parentCommand(program, "overfit", "overfit a model on a small training set (the notebook's overfit cells)");
  addOutputFlags(addModelFlags(
    overfit.command("vit").description(
      "overfit the Vision Transformer (dropout 0) on the first 64 training images; embedded Fashion-MNIST images unless --dataset/--data-dir",
    ),
    modelsOf(VIT_OVERFIT_DEFAULTS),
  ))
    .option("--dataset <name>", "cifar10, fashion-mnist or mnist (default: the embedded first 64 Fashion-MNIST images)")
    .option("--data-dir <dir>", "folder with the data set's files")
    .option("--lr <x>", `Adam learning rate (${perDataset(VIT_OVERFIT_DEFAULTS, "lr")})`)
    .option("--weight-decay <x>", `Adam weight decay, L2 on the gradient (${perDataset(VIT_OVERFIT_DEFAULTS, "weightDecay")})`)
    .option("--steps <n>", `optimisation steps (${perDataset(VIT_OVERFIT_DEFAULTS, "steps")})`)
    .option("--until-perfect", "stop at the first step whose top-1 on the batch is 1.00 (at most --steps steps)")
    .option("--seed <n>", `torch.manual_seed (default ${DEFAULT_SEED})`)
    .action(async (opts: OverfitVitFlags) => exit(await runOverfitVit(opts)));

  const train = parentCommand(program, "train", "train a model");
  addClassifierTrainFlags(addModelFlags(
    train.command("vit").description("train the Vision Transformer: each epoch train loss/accuracy then test loss/accuracy; results JSON and the best checkpoint"),
    modelsOf(VIT_TRAIN_DEFAULTS),
  ), "train vit", VIT_TRAIN_DEFAULTS)
    .option("--conv-stem [channels]", `the hybrid ViT: two conv3×3–ReLU layers of this many channels (default ${DEFAULT_STEM_CHANNELS}) before the patch embedding`)
    .action(async (opts: TrainVitFlags) => exit(await runTrainVit(opts)));

  const evalCmd = parentCommand(program, "eval", "evaluate a checkpoint");
  addEvalFlags(evalCmd.command("vit").description("test accuracy and per-class confusion matrix of a ViT checkpoint"), "train vit")
    .action(async (opts: EvalFlags) => exit(await runEvalCommand(VIT_KIND, opts)));

  const cost = parentCommand(program, "cost", "parameter and FLOP counts");
  addModelFlags(
    cost.command("vit").description("parameters and FLOPs per layer of a ViT, and how they change when a size doubles (Inline Question 3)"),
    { cifar10: { ...NOTEBOOK_VIT } },
  )
    .option("--dataset <name>", "describe the model train vit trains on this data set: cifar10, fashion-mnist or mnist (default: the notebook's CIFAR-10 model)")
    .option("--measure", "also time real training steps (and the self-attention layers alone) of the base model and each doubled variant: measured ratios beside the predicted ones")
    .option("--warmup <n>", "with --measure: untimed steps first (default 2)")
    .option("--repeats <n>", "with --measure: timed steps, the median is reported (default 7)")
    .option("--batch-size <n>", "with --measure: images a step (default 64)")
    .option("--json", "print the numbers as JSON")
    .option("--no-color", "no colour")
    .action((opts: CostVitFlags) => exit(runCostVit(opts)));
}
