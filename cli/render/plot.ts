/**
 * A loss curve as a standalone SVG (the notebook's "Training loss history" plot): iterations on
 * x, loss on y, optional extra series (e.g. the validation loss at each epoch end), axes with
 * round-number ticks. No dependencies; the output is deterministic for given inputs.
 */
import { extname } from "node:path";
import { UsageError } from "../../core/errors.ts";

/** The figure formats xt writes, by file extension: the one place to add another (PNG). */
export const PLOT_FORMATS = { ".svg": "svg" } as const;
export type PlotFormat = (typeof PLOT_FORMATS)[keyof typeof PLOT_FORMATS];

/**
 * The format a figure path asks for, checked before a run starts: a name xt cannot write in its
 * format (`--plot loss.png`) is a usage error, never an SVG under a .png name.
 */
export function plotFormat(flag: string, path: string): PlotFormat {
  const ext = extname(path).toLowerCase();
  const format = (PLOT_FORMATS as Record<string, PlotFormat>)[ext];
  if (format === undefined) {
    const known = Object.keys(PLOT_FORMATS).join(" or ");
    const what = ext === "" ? "a file name without an extension" : `'${ext}' files`;
    throw new UsageError(`${flag} ${path}: xt cannot write ${what}; use a name ending in ${known} (e.g. ${path.slice(0, path.length - ext.length) || "loss"}.svg)`);
  }
  return format;
}

export interface PlotSeries {
  name: string;
  /** [x, y] points; non-finite y values are skipped. */
  points: [number, number][];
  color?: string;
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

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
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

function fmtTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(6)));
}

/** The SVG document for one or more series. */
export function plotSvg(series: PlotSeries[], opts: PlotOptions = {}): string {
  const W = opts.width ?? 720;
  const H = opts.height ?? 440;
  const m = { left: 70, right: 20, top: opts.title ? 40 : 20, bottom: 55 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const pts = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  let [x0, x1] = pts.length ? [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))] : [0, 1];
  let [y0, y1] = pts.length ? [Math.min(0, ...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))] : [0, 1];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const xt = niceTicks(x0, x1);
  const yt = niceTicks(y0, y1);
  x0 = Math.min(x0, xt[0]!);
  x1 = Math.max(x1, xt[xt.length - 1]!);
  y0 = Math.min(y0, yt[0]!);
  y1 = Math.max(y1, yt[yt.length - 1]!);
  const sx = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const r = (v: number): string => v.toFixed(2);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (opts.title) out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`);
  // grid and ticks
  for (const v of yt) {
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${r(sy(v))}" y2="${r(sy(v))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${r(sy(v) + 4)}" text-anchor="end">${fmtTick(v)}</text>`);
  }
  for (const v of xt) {
    out.push(`<line x1="${r(sx(v))}" x2="${r(sx(v))}" y1="${m.top}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${r(sx(v))}" y="${m.top + ph + 18}" text-anchor="middle">${fmtTick(v)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  if (opts.xlabel) out.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xlabel)}</text>`);
  if (opts.ylabel) {
    out.push(`<text x="16" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.top + ph / 2})">${esc(opts.ylabel)}</text>`);
  }
  // series
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (p.length === 0) return;
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${p.map(([x, y]) => `${r(sx(x))},${r(sy(y))}`).join(" ")}"/>`);
    if (s.markers || p.length === 1) for (const [x, y] of p) out.push(`<circle cx="${r(sx(x))}" cy="${r(sy(y))}" r="3" fill="${color}"/>`);
  });
  // legend
  if (series.length > 1) {
    series.forEach((s, i) => {
      const color = s.color ?? PALETTE[i % PALETTE.length]!;
      const y = m.top + 14 + i * 16;
      out.push(`<line x1="${m.left + pw - 120}" x2="${m.left + pw - 100}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="2"/>`);
      out.push(`<text x="${m.left + pw - 94}" y="${y}">${esc(s.name)}</text>`);
    });
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
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
