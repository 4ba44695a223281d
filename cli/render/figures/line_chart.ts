/**
 * Line charts: one or more series on round-number axes, as a standalone SVG (the notebook's
 * "Training loss history" plot) or as a panel inside a larger figure (learning curves).
 * Deterministic for given inputs.
 */
import { paletteColor } from "./colormap.ts";
import { el, line, num, rect, svgDocument, text } from "./svg.ts";

export interface PlotSeries {
  name: string;
  /** [x, y] points; non-finite values are skipped. */
  points: [number, number][];
  color?: string;
  /** SVG stroke-dasharray, e.g. "6 3" for a dashed line. */
  dash?: string;
  /** Draw dots at the points (for sparse series). */
  markers?: boolean;
}

export interface PlotOptions {
  title?: string;
  xlabel?: string;
  ylabel?: string;
  width?: number;
  height?: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PanelOptions {
  title?: string;
  xlabel?: string;
  ylabel?: string;
  /** Start the y axis at 0 (default true: losses and accuracies read best from 0). */
  yFromZero?: boolean;
  /** Draw a legend in the top-right corner (default: when there are several series). */
  legend?: boolean;
  /** Whole-number x ticks only (epochs). */
  integerX?: boolean;
}

/** About `count` round tick values covering [lo, hi] (1, 2 or 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Round ticks that are whole numbers, at least 1 apart. */
export function integerTicks(lo: number, hi: number, count = 5): number[] {
  const t = niceTicks(lo, hi, count).filter(Number.isInteger);
  return t.length >= 2 ? t : niceTicks(Math.floor(lo), Math.max(Math.ceil(hi), Math.floor(lo) + 1), Math.max(1, Math.ceil(hi) - Math.floor(lo)));
}

export function fmtTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(6)));
}

const finitePoints = (s: PlotSeries): [number, number][] => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));

/** One chart (axes, grid, series, legend) inside `box`; the box includes room for tick labels. */
export function linePanel(series: PlotSeries[], box: Box, opts: PanelOptions = {}): string[] {
  const m = { left: 62, right: 12, top: opts.title ? 28 : 10, bottom: opts.xlabel ? 44 : 26 };
  const pw = box.width - m.left - m.right;
  const ph = box.height - m.top - m.bottom;
  const left = box.x + m.left;
  const top = box.y + m.top;
  const pts = series.flatMap(finitePoints);
  let [x0, x1] = pts.length ? [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))] : [0, 1];
  const ys = pts.map((p) => p[1]);
  let [y0, y1] = pts.length ? [opts.yFromZero === false ? Math.min(...ys) : Math.min(0, ...ys), Math.max(...ys)] : [0, 1];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const xt = opts.integerX ? integerTicks(x0, x1) : niceTicks(x0, x1);
  const yt = niceTicks(y0, y1);
  x0 = Math.min(x0, xt[0]!);
  x1 = Math.max(x1, xt[xt.length - 1]!);
  y0 = Math.min(y0, yt[0]!);
  y1 = Math.max(y1, yt[yt.length - 1]!);
  const sx = (x: number): number => left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => top + ph - ((y - y0) / (y1 - y0)) * ph;

  const out: string[] = [];
  if (opts.title) out.push(text(left + pw / 2, box.y + 18, opts.title, { size: 14, anchor: "middle" }));
  for (const v of yt) {
    out.push(line(left, sy(v), left + pw, sy(v), "#e5e5e5"));
    out.push(text(left - 6, sy(v) + 4, fmtTick(v), { anchor: "end" }));
  }
  for (const v of xt) {
    out.push(line(sx(v), top, sx(v), top + ph, "#f0f0f0"));
    out.push(text(sx(v), top + ph + 16, fmtTick(v), { anchor: "middle" }));
  }
  out.push(rect(left, top, pw, ph, "none", { stroke: "#333" }));
  if (opts.xlabel) out.push(text(left + pw / 2, top + ph + 36, opts.xlabel, { anchor: "middle" }));
  if (opts.ylabel) out.push(text(box.x + 14, top + ph / 2, opts.ylabel, { anchor: "middle", rotate: -90 }));
  series.forEach((s, i) => {
    const color = s.color ?? paletteColor(i);
    const p = finitePoints(s);
    if (p.length === 0) return;
    out.push(el("polyline", {
      fill: "none", stroke: color, "stroke-width": 1.6, "stroke-dasharray": s.dash, "stroke-linejoin": "round",
      points: p.map(([x, y]) => `${num(sx(x))},${num(sy(y))}`).join(" "),
    }));
    if (s.markers || p.length === 1) for (const [x, y] of p) out.push(el("circle", { cx: sx(x), cy: sy(y), r: 3, fill: color }));
  });
  if (opts.legend ?? series.length > 1) {
    const lw = Math.min(pw * 0.6, Math.max(...series.map((s) => s.name.length)) * 7 + 40);
    const lx = left + pw - lw - 6;
    out.push(rect(lx - 4, top + 4, lw + 6, series.length * 16 + 6, "white", { opacity: 0.85, stroke: "#ccc" }));
    series.forEach((s, i) => {
      const color = s.color ?? paletteColor(i);
      const y = top + 18 + i * 16;
      out.push(line(lx, y - 4, lx + 22, y - 4, color, { "stroke-width": 2, "stroke-dasharray": s.dash }));
      out.push(text(lx + 28, y, s.name));
    });
  }
  return out;
}

/** The SVG document for one or more series. */
export function plotSvg(series: PlotSeries[], opts: PlotOptions = {}): string {
  const W = opts.width ?? 720;
  const H = opts.height ?? 440;
  return svgDocument(W, H, linePanel(series, { x: 0, y: 0, width: W, height: H }, opts));
}

/** The training loss per iteration (x = 1…n), plus validation losses at epoch ends if any. */
export function lossCurveSvg(losses: number[], opts: PlotOptions & { val?: [number, number][] } = {}): string {
  const series: PlotSeries[] = [{ name: "train loss", points: losses.map((l, i) => [i + 1, l]) }];
  if (opts.val && opts.val.length) series.push({ name: "val loss", points: opts.val, markers: true });
  return plotSvg(series, {
    width: opts.width,
    height: opts.height,
    title: opts.title ?? "Training loss history",
    xlabel: opts.xlabel ?? "Iteration",
    ylabel: opts.ylabel ?? "Loss",
  });
}
