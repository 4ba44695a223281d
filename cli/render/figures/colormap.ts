/**
 * Perceptually uniform colour maps (matplotlib's viridis and magma, as d3-scale-chromatic ships
 * them) and a qualitative palette for lines and bars.
 */
import { interpolateMagma, interpolateViridis } from "d3-scale-chromatic";

export type ColormapName = "viridis" | "magma";

/** t in [0, 1] (clamped; NaN, e.g. a masked cell, gives light grey) → "#rrggbb". */
export function colormap(name: ColormapName): (t: number) => string {
  const f = name === "viridis" ? interpolateViridis : interpolateMagma;
  return (t) => (Number.isNaN(t) ? "#eeeeee" : toHex(f(Math.min(1, Math.max(0, t)))));
}

/** "rgb(r, g, b)" or "#rrggbb" → [r, g, b] in 0…255. */
export function parseColor(c: string): [number, number, number] {
  const m = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(c);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const h = /^#([0-9a-f]{6})$/i.exec(c);
  if (h) return [0, 2, 4].map((i) => parseInt(h[1]!.slice(i, i + 2), 16)) as [number, number, number];
  throw new Error(`parseColor: '${c}' is not rgb(…) or #rrggbb`);
}

function toHex(c: string): string {
  return `#${parseColor(c).map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

/** Tableau 10 (matplotlib's default cycle): distinct, colour-blind aware. */
export const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

export function paletteColor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}
