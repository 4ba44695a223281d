/** Heat maps (a grid of coloured cells), grey-scale/RGB images and colour bars, as SVG pieces. */
import { colormap, parseColor, type ColormapName } from "./colormap.ts";
import { el, line, rect, text } from "./svg.ts";

export interface HeatmapOptions {
  x: number;
  y: number;
  rows: number;
  cols: number;
  /** rows·cols values, row-major. */
  values: ArrayLike<number>;
  cellWidth: number;
  cellHeight: number;
  cmap: ColormapName;
  /** The colour range (default: the values' min and max). */
  vmin?: number;
  vmax?: number;
  opacity?: number;
  /** Text to print in each cell (e.g. counts), in black or white, whichever reads better. */
  labels?: (r: number, c: number) => string | undefined;
  labelSize?: number;
}

export function valueRange(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

export function heatmap(o: HeatmapOptions): string {
  const [lo0, hi0] = valueRange(o.values);
  const lo = o.vmin ?? lo0;
  const hi = o.vmax ?? hi0;
  const span = hi > lo ? hi - lo : 1;
  const cm = colormap(o.cmap);
  const cells: string[] = [];
  const labels: string[] = [];
  for (let r = 0; r < o.rows; r++) {
    for (let c = 0; c < o.cols; c++) {
      const v = o.values[r * o.cols + c]!;
      const t = (v - lo) / span;
      const fill = cm(t);
      const x = o.x + c * o.cellWidth;
      const y = o.y + r * o.cellHeight;
      cells.push(rect(x, y, o.cellWidth, o.cellHeight, fill));
      const s = o.labels?.(r, c);
      if (s !== undefined && s !== "") {
        const size = o.labelSize ?? Math.min(12, o.cellHeight * 0.45);
        labels.push(text(x + o.cellWidth / 2, y + o.cellHeight / 2 + size * 0.36, s, { size, anchor: "middle", fill: readableOn(fill) }));
      }
    }
  }
  // crispEdges: no anti-aliased seams between neighbouring cells.
  return el("g", { "shape-rendering": "crispEdges", opacity: o.opacity }, cells.join("")) + labels.join("");
}

/** Black or white, whichever contrasts more with `fill`. */
export function readableOn(fill: string): string {
  const [r, g, b] = parseColor(fill);
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#000" : "#fff";
}

export interface ImageOptions {
  x: number;
  y: number;
  /** C·H·W values in [0, 1] (C = 1: grey, 3: RGB). */
  pixels: ArrayLike<number>;
  channels: number;
  height: number;
  width: number;
  scale: number;
}

/** An image as one rectangle per pixel (exact in every viewer and in the PNG). */
export function image(o: ImageOptions): string {
  const HW = o.height * o.width;
  const cells: string[] = [];
  const byte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255).toString(16).padStart(2, "0");
  for (let i = 0; i < o.height; i++) {
    for (let j = 0; j < o.width; j++) {
      const k = i * o.width + j;
      const rgb = o.channels >= 3 ? [0, 1, 2].map((c) => byte(o.pixels[c * HW + k]!)).join("") : byte(o.pixels[k]!).repeat(3);
      cells.push(rect(o.x + j * o.scale, o.y + i * o.scale, o.scale, o.scale, `#${rgb}`));
    }
  }
  return el("g", { "shape-rendering": "crispEdges" }, cells.join(""));
}

/** Formats values in [lo, hi] with enough decimals that the ends and the middle read apart. */
export function rangeFormatter(lo: number, hi: number): (v: number) => string {
  const span = hi - lo;
  const decimals = span > 0 ? Math.min(6, Math.max(1, Math.ceil(-Math.log10(span)) + 1)) : 2;
  return (v) => v.toFixed(decimals);
}

/** A vertical colour bar with its min and max (and mid) values. */
export function colorbar(x: number, y: number, width: number, height: number, cmap: ColormapName, lo: number, hi: number, fmt: (v: number) => string): string {
  const cm = colormap(cmap);
  const steps = 64;
  const parts: string[] = [];
  for (let i = 0; i < steps; i++) {
    const t = 1 - (i + 0.5) / steps;
    parts.push(rect(x, y + (i * height) / steps, width, height / steps + 0.5, cm(t)));
  }
  const out = [el("g", { "shape-rendering": "crispEdges" }, parts.join("")), rect(x, y, width, height, "none", { stroke: "#555" })];
  for (const [v, yy] of [[hi, y], [(lo + hi) / 2, y + height / 2], [lo, y + height]] as const) {
    out.push(line(x + width, yy, x + width + 4, yy, "#555"));
    out.push(text(x + width + 6, yy + 4, fmt(v), { size: 11 }));
  }
  return out.join("");
}

