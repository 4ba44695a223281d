/**
 * Learning curves of one or more runs: loss and accuracy per step (top row) and per epoch
 * (bottom row; train solid, test dashed, validation dotted), one colour per run. Panels with no
 * data are left out.
 */
import { paletteColor } from "./colormap.ts";
import { linePanel, type PlotSeries } from "./line_chart.ts";
import { fitText, line, svgDocument, text, textWidth } from "./svg.ts";

export interface RunCurves {
  label: string;
  steps: { step: number; loss: number; accuracy?: number }[];
  epochs: { epoch: number; trainLoss?: number; trainAcc?: number; testLoss?: number; testAcc?: number; valLoss?: number }[];
}

export interface LearningCurvesFigure {
  title: string;
  /** Lines under the title (e.g. each run's command and data), cut to the figure's width. */
  subtitle?: string[];
  runs: RunCurves[];
}

const DASH = { train: undefined, test: "7 4", val: "2 3" } as const;

/** One legend for all panels: a colour per run, a line style per split. */
function legendRow(y: number, runs: RunCurves[], styles: (keyof typeof DASH)[]): string[] {
  const out: string[] = [];
  let x = 20;
  const item = (color: string, dash: string | undefined, label: string) => {
    out.push(line(x, y - 4, x + 24, y - 4, color, { "stroke-width": 2, "stroke-dasharray": dash }), text(x + 30, y, label));
    x += 48 + textWidth(label, 12);
  };
  if (runs.length > 1) runs.forEach((r, i) => item(paletteColor(i), undefined, r.label));
  if (styles.length > 1) for (const s of styles) item("#333", DASH[s], s);
  return out;
}

export function learningCurvesSvg(f: LearningCurvesFigure): string {
  const name = (r: RunCurves, what: string): string => `${r.label} ${what}`;
  type Pick = (r: RunCurves) => PlotSeries[];
  const panels: { title: string; xlabel: string; ylabel: string; series: Pick }[] = [
    { title: "loss per step", xlabel: "step", ylabel: "loss", series: (r) => [{ name: name(r, "train"), points: r.steps.map((s) => [s.step, s.loss]) }] },
    {
      title: "accuracy per step", xlabel: "step", ylabel: "accuracy",
      series: (r) => [{ name: name(r, "train"), points: r.steps.filter((s) => s.accuracy !== undefined).map((s) => [s.step, s.accuracy!]) }],
    },
    {
      title: "loss per epoch", xlabel: "epoch", ylabel: "loss",
      series: (r) => [
        { name: name(r, "train"), points: r.epochs.filter((e) => e.trainLoss !== undefined).map((e) => [e.epoch, e.trainLoss!]), markers: true },
        { name: name(r, "test"), points: r.epochs.filter((e) => e.testLoss !== undefined).map((e) => [e.epoch, e.testLoss!]), dash: DASH.test, markers: true },
        { name: name(r, "val"), points: r.epochs.filter((e) => e.valLoss !== undefined).map((e) => [e.epoch, e.valLoss!]), dash: DASH.val, markers: true },
      ],
    },
    {
      title: "accuracy per epoch", xlabel: "epoch", ylabel: "accuracy",
      series: (r) => [
        { name: name(r, "train"), points: r.epochs.filter((e) => e.trainAcc !== undefined).map((e) => [e.epoch, e.trainAcc!]), markers: true },
        { name: name(r, "test"), points: r.epochs.filter((e) => e.testAcc !== undefined).map((e) => [e.epoch, e.testAcc!]), dash: DASH.test, markers: true },
      ],
    },
  ];
  const drawn = panels
    .map((p) => ({
      ...p,
      all: f.runs.flatMap((r, i) => p.series(r).filter((s) => s.points.length > 0).map((s) => ({ ...s, color: paletteColor(i) }))),
    }))
    .filter((p) => p.all.length > 0);
  const pw = 460;
  const ph = 320;
  const styles = (["train", "test", "val"] as const).filter((st) => drawn.some((p) => p.all.some((s) => s.name.endsWith(` ${st}`))));
  const legend = f.runs.length > 1 || styles.length > 1;
  const sub = f.subtitle ?? [];
  const top = 44 + 18 * sub.length + (legend ? 22 : 0);
  const cols = drawn.length > 1 ? 2 : 1;
  const rows = Math.ceil(drawn.length / cols);
  const body: string[] = [];
  drawn.forEach((p, i) => {
    const box = { x: 10 + (i % cols) * pw, y: top + Math.floor(i / cols) * ph, width: pw - 10, height: ph - 10 };
    body.push(...linePanel(p.all, box, { title: p.title, xlabel: p.xlabel, ylabel: p.ylabel, legend: false, integerX: true }));
  });
  const width = Math.max(cols * pw + 20, textWidth(f.title, 15) + 40);
  body.unshift(text(width / 2, 24, f.title, { size: 15, anchor: "middle" }));
  sub.forEach((line, i) => body.push(text(width / 2, 44 + 18 * i, fitText(line, 12, width - 30), { size: 12, anchor: "middle", fill: "#444" })));
  if (legend) body.push(...legendRow(top - 8, f.runs, [...styles]));
  return svgDocument(width, top + rows * ph + 6, body);
}
