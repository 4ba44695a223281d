/**
 * What the captioning decoder's words attend to: the greedy caption beside the ground truth,
 * then for each layer (rows) and head (columns) the masked self-attention as a word × word heat
 * map (row: the word read when predicting the next one; column: the earlier word it attends to;
 * the future, masked out, in light grey).
 */
import { colorbar, heatmap } from "./heatmap.ts";
import { fitText, rect, svgDocument, text, textWidth } from "./svg.ts";

export interface CaptionAttentionFigure {
  title: string;
  greedy: string;
  truth: string;
  /** The decoder's input tokens (<START> and the greedy words before the last). */
  tokens: string[];
  /** [layer][head]: tokens² weights, row-major (query row, key column). */
  selfAttention: ArrayLike<number>[][];
}

export function captionAttentionSvg(f: CaptionAttentionFigure): string {
  const T = f.tokens.length;
  const cell = Math.max(12, Math.min(26, Math.floor(300 / Math.max(1, T))));
  const size = cell * T;
  const labelSize = Math.min(12, Math.max(9, cell * 0.5));
  const words = f.tokens.map((w) => fitText(w, labelSize, 90));
  const labelW = Math.max(...words.map((w) => textWidth(w, labelSize))) + 10;
  const layers = f.selfAttention.length;
  const heads = f.selfAttention[0]?.length ?? 0;
  const left = 60 + labelW;
  const colW = labelW + size + 24;
  const top = 118;
  const rowH = 22 + size + labelW * 0.72 + 22;
  const body: string[] = [];
  f.selfAttention.forEach((row, l) => {
    const y = top + l * rowH;
    body.push(text(20, y + 22 + size / 2, `layer ${l}`, { size: 12, anchor: "middle", rotate: -90 }));
    row.forEach((w, h) => {
      const x = left + h * colW;
      const gy = y + 22;
      body.push(text(x + size / 2, y + 14, `layer ${l}, head ${h}`, { size: 12, anchor: "middle" }));
      // Masked (future) positions: NaN, drawn light grey; the scale is 0…1 for every map.
      const values = Float64Array.from({ length: T * T }, (_, k) => (k % T > Math.floor(k / T) ? NaN : w[k]!));
      body.push(heatmap({ x, y: gy, rows: T, cols: T, values, cellWidth: cell, cellHeight: cell, cmap: "viridis", vmin: 0, vmax: 1 }));
      body.push(rect(x, gy, size, size, "none", { stroke: "#555" }));
      words.forEach((word, i) => {
        body.push(text(x - 4, gy + i * cell + cell / 2 + labelSize * 0.36, word, { size: labelSize, anchor: "end" }));
        body.push(text(x + i * cell + cell / 2 + labelSize * 0.36, gy + size + 6, word, { size: labelSize, anchor: "end", rotate: -60 }));
      });
    });
  });
  const gridW = left + (heads - 1) * colW + size + 20;
  body.push(colorbar(gridW, top + 22, 12, Math.max(size, 120), "viridis", 0, 1, (v) => v.toFixed(1)));
  const captionSize = 13;
  const width = Math.max(gridW + 60, textWidth(f.greedy, captionSize) + 110, textWidth(f.truth, captionSize) + 110, textWidth(f.title, 15) + 40);
  body.unshift(
    text(width / 2, 24, f.title, { size: 15, anchor: "middle" }),
    text(30, 56, "greedy", { size: captionSize, weight: "bold" }),
    text(90, 56, f.greedy, { size: captionSize }),
    text(30, 78, "truth", { size: captionSize, weight: "bold", fill: "#444" }),
    text(90, 78, f.truth, { size: captionSize, fill: "#444" }),
    text(30, 102, "decoder self-attention: row = word read when predicting the next, column = earlier word attended to", { size: 11, fill: "#444" }),
  );
  return svgDocument(width, top + layers * rowH, body);
}
