/**
 * `xt plot RUN... --out FILE.svg|.png`: learning curves from run folders, results JSON files or
 * event logs (several runs overlaid), or an ablation's grouped bars with error bars.
 */
import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import { readRunRecord, runLabel, type AblationRecord, type CurvesRecord } from "../../core/train/run_records.ts";
import { ablationSvg } from "../render/figures/ablation_figure.ts";
import { learningCurvesSvg } from "../render/figures/learning_curves_figure.ts";
import { figureFormat, writeFigure } from "../render/figures/write_figure.ts";

export interface PlotOpts {
  out?: string;
  title?: string;
}

/** Labels that tell the runs apart: file names, or paths where the names clash. */
function labels(files: string[]): string[] {
  const short = files.map(runLabel);
  return short.map((s, i) => (short.indexOf(s) !== short.lastIndexOf(s) ? files[i]! : s));
}

/** "label: command on data" for each run whose log says so. */
function dataLines(records: { dataset?: string; command?: string }[], names: string[]): string[] {
  return records.flatMap((r, i) => {
    const what = [r.command, r.dataset].filter(Boolean).join(" on ");
    return what ? [`${names[i]}: ${what}`] : [];
  });
}

/** The figure's SVG for the given files. */
export function plotFigure(files: string[], title?: string): string {
  if (files.length === 0) throw new UsageError("plot: name at least one run folder, results JSON, event log or ablation file");
  const records = files.map(readRunRecord);
  const names = labels(files);
  const ablations = records.filter((r): r is AblationRecord => r.kind === "ablation");
  if (ablations.length > 0 && ablations.length < records.length) {
    const a = files[records.findIndex((r) => r.kind === "ablation")]!;
    const c = files[records.findIndex((r) => r.kind === "curves")]!;
    throw new UsageError(`plot: ${a} is an ablation and ${c} a training run; plot them separately`);
  }
  if (ablations.length > 0) {
    return ablationSvg({
      title: title ?? `Ablation: ${names.join(", ")}`,
      subtitle: [...dataLines(ablations, names), "bars: mean over seeds, whiskers: ±1 std"].join(" · "),
      runs: ablations.map((r, i) => ({
        label: names[i]!,
        variants: r.variants.map((v) => ({ name: v.name, seeds: Array.isArray(v.seeds) ? v.seeds.length : v.seeds, metrics: v.metrics })),
      })),
    });
  }
  const curves = records as CurvesRecord[];
  return learningCurvesSvg({
    title: title ?? `Learning curves: ${names.join(", ")}`,
    subtitle: dataLines(curves, names),
    runs: curves.map((r, i) => ({ label: names[i]!, steps: r.steps, epochs: r.epochs })),
  });
}

export async function runPlot(files: string[], o: PlotOpts): Promise<number> {
  if (!o.out) throw new UsageError("plot: --out FILE.svg|FILE.png is required");
  figureFormat(o.out);
  await writeFigure(o.out, plotFigure(files, o.title));
  process.stdout.write(`Figure: ${o.out}\n`);
  return 0;
}

export function registerPlot(program: Command, exit: (code: number) => void): void {
  program
    .command("plot")
    .description("learning curves of runs (run folders, results JSON, event logs), or an ablation's bars, as an SVG or PNG")
    .argument("<run...>", "run folders (their events.jsonl, else results.json), results JSON files, event logs (events.jsonl, saved --json output) or ablation files")
    .option("--out <file>", "the figure to write: .svg or .png")
    .option("--title <text>", "the figure's title (default: names the runs)")
    .action(async (runs: string[], opts: PlotOpts) => exit(await runPlot(runs, opts)));
}
