/**
 * What a ViT looks at for one image: the image, the attention rollout over the patch grid (alone
 * and laid on the image), and for each layer (rows) and head (columns) the attention each patch
 * receives, averaged over the queries. Shared colour scales, with colour bars.
 */
import { colorbar, heatmap, image, rangeFormatter, valueRange } from "./heatmap.ts";
import { rect, svgDocument, text, textWidth } from "./svg.ts";

export interface VitAttentionFigure {
  title: string;
  subtitle: string;
  /** C·H·W pixels in [0, 1]. */
  pixels: ArrayLike<number>;
  channels: number;
  height: number;
  width: number;
  /** Patches per side. */
  grid: number;
  /** [layer][head]: grid·grid values, the attention each patch receives (mean over queries). */
  received: ArrayLike<number>[][];
  /** grid·grid values: the rollout's share of each patch in the pooled output. */
  rollout: ArrayLike<number>;
}

export function vitAttentionSvg(f: VitAttentionFigure): string {
  const big = 168;
  const scale = big / f.width;
  const G = f.grid;
  const layers = f.received.length;
  const heads = f.received[0]?.length ?? 0;
  const small = 88;
  const gap = 14;
  const left = 64;
  const top = 64;
  const body: string[] = [];

  // Top row: the image, the rollout, the rollout on the image.
  const [rlo, rhi] = valueRange(f.rollout);
  const img = (x: number) => image({ x, y: top + 18, pixels: f.pixels, channels: f.channels, height: f.height, width: f.width, scale });
  const hm = (x: number, opacity?: number) => heatmap({
    x, y: top + 18, rows: G, cols: G, values: f.rollout, cellWidth: big / G, cellHeight: big / G, cmap: "magma", vmin: rlo, vmax: rhi, opacity,
  });
  const xs = [left, left + big + 24, left + 2 * (big + 24)];
  body.push(text(xs[0]! + big / 2, top + 10, "input", { anchor: "middle" }), img(xs[0]!));
  body.push(text(xs[1]! + big / 2, top + 10, "attention rollout", { anchor: "middle" }), hm(xs[1]!));
  body.push(text(xs[2]! + big / 2, top + 10, "rollout on the image", { anchor: "middle" }), img(xs[2]!), hm(xs[2]!, 0.6));
  for (const x of xs) body.push(rect(x, top + 18, big, big, "none", { stroke: "#555" }));
  const bar1 = xs[2]! + big + 16;
  body.push(colorbar(bar1, top + 18, 12, big, "magma", rlo, rhi, rangeFormatter(rlo, rhi)));

  // The grid: layers × heads.
  const gy = top + 18 + big + 54;
  const all = f.received.flatMap((l) => l.flatMap((h) => Array.from(h)));
  const [lo, hi] = valueRange(all);
  body.push(text(left, gy - 26, "attention each patch receives (mean over queries), per layer and head", { size: 13 }));
  for (let h = 0; h < heads; h++) body.push(text(left + h * (small + gap) + small / 2, gy - 6, `head ${h}`, { anchor: "middle", size: 11 }));
  f.received.forEach((row, l) => {
    const y = gy + l * (small + gap);
    body.push(text(left - 10, y + small / 2 + 4, `layer ${l}`, { anchor: "end", size: 11 }));
    row.forEach((values, h) => {
      const x = left + h * (small + gap);
      body.push(heatmap({ x, y, rows: G, cols: G, values, cellWidth: small / G, cellHeight: small / G, cmap: "viridis", vmin: lo, vmax: hi }));
      body.push(rect(x, y, small, small, "none", { stroke: "#555" }));
    });
  });
  const gridW = heads * (small + gap) - gap;
  const gridH = layers * (small + gap) - gap;
  body.push(colorbar(left + gridW + 16, gy, 12, Math.max(small, gridH), "viridis", lo, hi, rangeFormatter(lo, hi)));

  const width = Math.max(bar1 + 70, left + gridW + 90, textWidth(f.title, 15) + 40);
  body.unshift(text(width / 2, 24, f.title, { size: 15, anchor: "middle" }), text(width / 2, 46, f.subtitle, { anchor: "middle", size: 13, fill: "#333" }));
  return svgDocument(width, gy + Math.max(small, gridH) + 24, body);
}
