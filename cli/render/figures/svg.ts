/**
 * The few SVG pieces every figure is made of. Figures are SVG documents built as strings; PNGs
 * are the same documents rasterised (png.ts), so both formats always show the same thing.
 */

/** The font the rasteriser embeds (DejaVu Sans), also Debian Chromium's default sans-serif. */
export const FONT_FAMILY = "DejaVu Sans, sans-serif";

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Coordinates with two decimals at most (shorter files, deterministic text). */
export function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

type Attrs = Record<string, string | number | undefined>;

function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === "number" ? num(v) : esc(v!)}"`)
    .join("");
}

export function el(name: string, a: Attrs, body?: string): string {
  return body === undefined ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${body}</${name}>`;
}

export function rect(x: number, y: number, w: number, h: number, fill: string, extra: Attrs = {}): string {
  return el("rect", { x, y, width: w, height: h, fill, ...extra });
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra: Attrs = {}): string {
  return el("line", { x1, y1, x2, y2, stroke, ...extra });
}

export interface TextOptions {
  size?: number;
  anchor?: "start" | "middle" | "end";
  weight?: "bold";
  fill?: string;
  /** Degrees, about (x, y). */
  rotate?: number;
}

export function text(x: number, y: number, s: string, o: TextOptions = {}): string {
  return el("text", {
    x, y,
    "font-size": o.size,
    "text-anchor": o.anchor,
    "font-weight": o.weight,
    fill: o.fill,
    transform: o.rotate ? `rotate(${num(o.rotate)} ${num(x)} ${num(y)})` : undefined,
  }, esc(s));
}

/** Roughly how wide DejaVu Sans sets `s` (mean advance ≈ 0.6 em), for layout only. */
export function textWidth(s: string, size: number): number {
  return s.length * size * 0.6;
}

/** `s` cut to about `width` pixels with a trailing "…". */
export function fitText(s: string, size: number, width: number): string {
  const max = Math.max(1, Math.floor(width / (size * 0.6)));
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/** A standalone SVG document with a white background. */
export function svgDocument(width: number, height: number, body: string[]): string {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${FONT_FAMILY}" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    ...body,
    "</svg>",
  ].join("\n") + "\n";
}
