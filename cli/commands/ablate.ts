/**
 * `xt ablate attention` (Inline Question 1): full / one-head / no-scale / no-proj attention on the
 * ViT or the captioning transformer, each from the same seeds on the same data, and the tables of
 * what they measure. `xt ablate` also holds `small-data` (ablate_small_data.ts); the study plumbing
 * (seeds, output, Ctrl-C keeping rows) is cli/study.ts.
 */
import type { Command } from "commander";
import { loadCocoData, resolveCocoSource } from "../../core/data/coco.ts";
import { XtError } from "../../core/errors.ts";
import { NumpyRandomState } from "../../core/random/index.ts";
import {
  ATTENTION_VARIANT_NAMES, attentionVariantSpecs, captioningAttentionSteps, runCaptioningAttention, runVitAttention, vitAttentionSteps,
  type AttentionVariant, type AttentionVariantName, type CaptioningAttentionSetup, type VitAttentionSetup,
} from "../../core/train/attention_ablation.ts";
import type { StudyVariant } from "../../core/train/events.ts";
import type { StudyOptions, StudyResult } from "../../core/train/study.ts";
import { VIT_TRAIN_DEFAULTS } from "../../core/train/vit_config.ts";
import { parseIntFlag, parseNumberFlag } from "../flags.ts";
import { parentCommand } from "../options.ts";
import { INTERRUPT_EXIT_CODE } from "../render/interrupt.ts";
import { makeStyle } from "../render/style.ts";
import { studyTable, type StudyColumn } from "../render/study_table.ts";
import {
  addStudyOutputFlags, checkOutputFiles, loadVitStudyData, lossCurvesSvg, parseNameList, parseSeeds, runStudyCommand, type StudyOutputFlags,
  type VitStudyFlags,
} from "../study.ts";
import { OVERFIT_DEFAULTS, TRAIN_DEFAULTS } from "./captioning.ts";
import { registerSmallData } from "./ablate_small_data.ts";
import { addModelFlags, modelsOf } from "./vit.ts";

export interface AblateAttentionFlags extends VitStudyFlags, StudyOutputFlags {
  task?: string;
  variants?: string;
  probe?: string;
  gradSteps?: string;
  setup?: string;
  valCaptions?: string;
}

/** The study-length defaults of `ablate attention --task vit` (the rest: `train vit`'s). */
export const ATTENTION_VIT_DEFAULTS = { maxTrain: 10000, maxTest: 2000, epochs: 2, probe: 256, gradSteps: 10 };
/** `ablate attention --task captioning`: the probe and validation captions, the steps whose gradients are read. */
export const ATTENTION_CAPTIONING_DEFAULTS = { setup: "train" as "train" | "overfit", probe: 100, valCaptions: 1000, gradSteps: 10 };

// ---------------------------------------------------------------------------------------------
// ablate attention

const VIT_ONLY: [keyof AblateAttentionFlags, string][] = [
  ["dataset", "--dataset"], ["maxTest", "--max-test"], ["imgSize", "--img-size"], ["patchSize", "--patch-size"],
  ["inChannels", "--in-channels"], ["ffnDim", "--ffn-dim"], ["dropout", "--dropout"], ["weightDecay", "--weight-decay"],
];
const CAPTIONING_ONLY: [keyof AblateAttentionFlags, string][] = [["setup", "--setup"], ["valCaptions", "--val-captions"]];

function refuseFlags(o: AblateAttentionFlags, flags: [keyof AblateAttentionFlags, string][], task: string): void {
  for (const [k, flag] of flags) if (o[k] !== undefined) throw new XtError(`${flag} does not apply to --task ${task}`, 2);
}

/** The table's columns: what `ablate attention` shows for a task. */
function attentionColumns(task: "vit" | "captioning"): StudyColumn[] {
  return [
    { title: "params", metric: "parameters", digits: "int" },
    { title: "train loss", metric: "train_loss" },
    task === "vit" ? { title: "test acc", metric: "test_acc" } : { title: "val loss", metric: "val_loss" },
    { title: "entropy init", metric: "entropy_init", digits: 3 },
    { title: "entropy end", metric: "entropy_end", digits: 3 },
    { title: "max w init", metric: "max_weight_init", digits: 3 },
    { title: "max w end", metric: "max_weight_end", digits: 3 },
    { title: "largest w end", metric: "largest_weight_end", digits: 3 },
    { title: "q/k grad first", metric: "qk_grad_norm", digits: 4 },
    { title: "q/k grad last", metric: "qk_grad_norm_end", digits: 4 },
    { title: "head dist spread", metric: "head_distance_spread", digits: 3 },
  ];
}

/** Layers present in a row's per-layer measures (entropy_end_l1 …). */
function layersOf(v: StudyVariant): number {
  let L = 0;
  while (v.detail?.[`entropy_end_l${L + 1}`]) L++;
  return L;
}

/** The same row with its detail as its measures (for the per-layer tables). */
const detailRow = (v: StudyVariant): StudyVariant => ({ ...v, metrics: v.detail ?? {} });

/** The tables printed after `ablate attention`. */
export function attentionReport(r: StudyResult, task: "vit" | "captioning", bold: (s: string) => string = (s) => s): string {
  const out: string[] = [];
  const seeds = [...new Set(r.variants.flatMap((v) => v.seeds))];
  out.push(bold(`Attention ablation (${task}), mean ± std over seeds ${seeds.join(", ")}${r.interrupted ? " — interrupted: finished runs only" : ""}`));
  out.push(...studyTable(r.variants, attentionColumns(task), bold));
  const L = Math.max(0, ...r.variants.map(layersOf));
  if (L > 0) {
    const perLayer = (prefix: string): StudyColumn[] => Array.from({ length: L }, (_, l) => ({ title: `layer ${l + 1}`, metric: `${prefix}_l${l + 1}`, digits: 3 }));
    out.push("", bold(`Attention entropy per layer at initialisation (nats, mean over ${task === "vit" ? "images, heads and patches" : "captions, heads and tokens"})`));
    const rows = r.variants.map(detailRow);
    out.push(...studyTable(rows, perLayer("entropy_init"), bold));
    out.push("", bold("Attention entropy per layer after training (nats)"));
    out.push(...studyTable(rows, perLayer("entropy_end"), bold));
    const heads = rows.filter((v) => v.name === "full" || v.name === "one-head");
    if (heads.length) {
      const unit = task === "vit" ? "patch-grid units" : "token positions";
      const cell = (l: number) => (v: StudyVariant): string => {
        const vals: string[] = [];
        for (let h = 1; v.metrics[`attn_distance_l${l}_h${h}`]; h++) vals.push(v.metrics[`attn_distance_l${l}_h${h}`]!.mean.toFixed(2));
        return vals.length ? vals.join(" ") : "-";
      };
      out.push("", bold(`Mean attention distance per head after training (${unit}; one number per head, from the nearest-looking to the farthest, mean over seeds)`));
      out.push(...studyTable(heads, Array.from({ length: L }, (_, l) => ({ title: `layer ${l + 1}`, metric: cell(l + 1) })), bold));
    }
  }
  return out.join("\n");
}

export async function runAblateAttention(o: AblateAttentionFlags): Promise<number> {
  const task = o.task ?? "vit";
  if (task !== "vit" && task !== "captioning") throw new XtError(`--task: expected vit or captioning, got '${o.task}'`, 2);
  const names = parseNameList<AttentionVariantName>("--variants", o.variants, ATTENTION_VARIANT_NAMES);
  const seeds = parseSeeds(o.seeds);
  checkOutputFiles(o);
  const gradSteps = o.gradSteps === undefined ? ATTENTION_VIT_DEFAULTS.gradSteps : parseIntFlag("--grad-steps", o.gradSteps, 1);
  let study: Omit<StudyOptions<AttentionVariant>, "sink" | "signal" | "onRows">;
  if (task === "vit") {
    refuseFlags(o, CAPTIONING_ONLY, task);
    const probe = o.probe === undefined ? ATTENTION_VIT_DEFAULTS.probe : parseIntFlag("--probe", o.probe, 1);
    const t = loadVitStudyData(o, ATTENTION_VIT_DEFAULTS);
    const setup: VitAttentionSetup = {
      model: t.model, train: t.train, test: t.test, datasetName: t.name, classes: t.train.classes,
      datasetLabel: `${t.name} (${t.train.n} train / ${t.test.n} test images, ${t.train.source})`,
      lr: t.lr, weightDecay: t.weightDecay, batchSize: t.batchSize, epochs: t.epochs, probe, gradSteps,
    };
    study = {
      command: "ablate attention", variants: attentionVariantSpecs(names, t.model.numHeads), seeds,
      plannedSteps: () => vitAttentionSteps(setup), run: (v, ctx) => runVitAttention(setup, v, ctx),
    };
  } else {
    refuseFlags(o, VIT_ONLY, task);
    const setupName = o.setup ?? ATTENTION_CAPTIONING_DEFAULTS.setup;
    if (setupName !== "train" && setupName !== "overfit") throw new XtError(`--setup: expected train or overfit, got '${o.setup}'`, 2);
    const d = setupName === "overfit" ? OVERFIT_DEFAULTS : TRAIN_DEFAULTS;
    const int = (flag: string, raw: string | undefined, dflt: number, min = 1): number => (raw === undefined ? dflt : parseIntFlag(flag, raw, min));
    const maxTrain = o.maxTrain === undefined ? d.maxTrain : o.maxTrain === "all" ? null : parseIntFlag("--max-train", o.maxTrain, 1);
    const setup: CaptioningAttentionSetup = {
      run: {
        command: "ablate attention", dataDir: o.dataDir, maxTrain, pcaFeatures: d.pca,
        wordvecDim: int("--embed-dim", o.embedDim, d.wordvecDim, 2), numHeads: int("--num-heads", o.numHeads, d.numHeads),
        numLayers: int("--num-layers", o.numLayers, d.numLayers), maxLength: d.maxLength, epochs: int("--epochs", o.epochs, d.epochs),
        batchSize: int("--batch-size", o.batchSize, d.batchSize), lr: o.lr === undefined ? d.lr : parseNumberFlag("--lr", o.lr, 0),
      },
      valCaptions: int("--val-captions", o.valCaptions, ATTENTION_CAPTIONING_DEFAULTS.valCaptions),
      probe: int("--probe", o.probe, ATTENTION_CAPTIONING_DEFAULTS.probe),
      gradSteps,
    };
    // The number of training captions (for the study's progress): max_train draws exactly that many.
    const trainCaptions = maxTrain ?? (await loadCocoData(resolveCocoSource(o.dataDir), { pcaFeatures: d.pca }, new NumpyRandomState(0))).train.numCaptions;
    study = {
      command: "ablate attention", variants: attentionVariantSpecs(names, setup.run.numHeads), seeds,
      plannedSteps: () => captioningAttentionSteps(setup, trainCaptions), run: (v, ctx) => runCaptioningAttention(setup, v, ctx),
    };
  }
  const r = await runStudyCommand(o, study, (res) => lossCurvesSvg(res.curves, `ablate attention (${task}): training loss`));
  if (!o.json) {
    const c = makeStyle(process.stdout, o.color === false);
    process.stdout.write(`\n${attentionReport(r, task, (s) => c.bold(s))}\n`);
    if (o.results) process.stdout.write(`Results: ${o.results}\n`);
    if (o.plot) process.stdout.write(`Loss curves: ${o.plot}\n`);
  }
  return r.interrupted ? INTERRUPT_EXIT_CODE : 0;
}

// ---------------------------------------------------------------------------------------------

export function registerAblate(program: Command, exit: (code: number) => void): void {
  const ablate = parentCommand(program, "ablate", "studies that answer the notebook's inline questions (docs/inline-questions.md)");
  const a = ablate.command("attention").description(
    "Inline Question 1: train the attention variants full, one-head, no-scale, no-proj from the same seeds on the same data; parameters, losses, accuracy, attention entropy, softmax peaks, query/key gradients, per-head attention distance",
  );
  addModelFlags(a, modelsOf(VIT_TRAIN_DEFAULTS));
  addStudyOutputFlags(a, "the training-loss curves of all variants (mean over seeds)")
    .option("--task <task>", "vit (default) or captioning")
    .option("--variants <list>", `which variants, comma-separated (default ${ATTENTION_VARIANT_NAMES.join(",")})`)
    .option("--dataset <name>", "vit: cifar10, fashion-mnist or mnist (default fashion-mnist)")
    .option("--data-dir <dir>", "folder with the data set's files (captioning: a COCO folder; default the embedded coco-mini)")
    .option("--max-train <n>", `vit: the first n training images (default ${ATTENTION_VIT_DEFAULTS.maxTrain}); captioning: n captions drawn like load_coco_data (default: the set-up's)`)
    .option("--max-test <n>", `vit: the first n test images (default ${ATTENTION_VIT_DEFAULTS.maxTest})`)
    .option("--epochs <n>", `epochs (vit default ${ATTENTION_VIT_DEFAULTS.epochs}; captioning: the set-up's)`)
    .option("--lr <x>", "Adam learning rate (default: train vit's, or the captioning set-up's)")
    .option("--weight-decay <x>", "vit: Adam weight decay")
    .option("--batch-size <n>", "batch size (default: train vit's, or the captioning set-up's)")
    .option("--setup <name>", `captioning: train (the whole train split, 10 epochs) or overfit (50 captions, 100 epochs) (default ${ATTENTION_CAPTIONING_DEFAULTS.setup})`)
    .option("--val-captions <n>", `captioning: the final validation loss on the first n val captions (default ${ATTENTION_CAPTIONING_DEFAULTS.valCaptions})`)
    .option("--probe <n>", `the attention is measured on the first n test images (vit, default ${ATTENTION_VIT_DEFAULTS.probe}) or val captions (captioning, default ${ATTENTION_CAPTIONING_DEFAULTS.probe})`)
    .option("--grad-steps <n>", `the query/key gradient norm is averaged over the first n steps, and over the last n (default ${ATTENTION_VIT_DEFAULTS.gradSteps})`)
    .action(async (opts: AblateAttentionFlags) => exit(await runAblateAttention(opts)));
  registerSmallData(ablate, exit);
}
