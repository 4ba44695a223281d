/**
 * A confusion matrix as a heat map: rows are the true classes, columns the predicted ones; each
 * cell shows its count and is coloured by its share of the row (so classes with fewer images
 * read the same), with each class's accuracy beside its row.
 */
import { colorbar, heatmap } from "./heatmap.ts";
import { fitText, svgDocument, text, textWidth } from "./svg.ts";

export interface ConfusionFigure {
  title: string;
  subtitle?: string;
  classes: string[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
}

export function confusionSvg(f: ConfusionFigure): string {
  const C = f.classes.length;
  const cell = C <= 12 ? 46 : Math.max(14, Math.floor(560 / C));
  const labelSize = C <= 12 ? 12 : 10;
  const names = f.classes.map((c) => fitText(c, labelSize, 150));
  const labelW = Math.max(...names.map((n) => textWidth(n, labelSize))) + 12;
  const left = 34 + labelW;
  const top = f.subtitle ? 70 : 52;
  const size = cell * C;
  const bottom = top + size + labelW * 0.75 + 34;
  const accX = left + size + 10;
  const barX = accX + 52;
  const width = Math.max(barX + 70, textWidth(f.title, 15) + 40);
  const rowShare = f.confusion.flatMap((row) => {
    const t = row.reduce((s, v) => s + v, 0);
    return row.map((v) => (t === 0 ? 0 : v / t));
  });
  const body: string[] = [text(width / 2, 24, f.title, { size: 15, anchor: "middle" })];
  if (f.subtitle) body.push(text(width / 2, 44, f.subtitle, { size: 12, anchor: "middle", fill: "#444" }));
  body.push(heatmap({
    x: left, y: top, rows: C, cols: C, values: rowShare, cellWidth: cell, cellHeight: cell, cmap: "viridis", vmin: 0, vmax: 1,
    labels: cell >= 26 ? (r, c) => String(f.confusion[r]![c]) : undefined, labelSize: Math.min(12, cell * 0.3),
  }));
  names.forEach((n, i) => {
    body.push(text(left - 6, top + i * cell + cell / 2 + 4, n, { size: labelSize, anchor: "end" }));
    const x = left + i * cell + cell / 2 + 4;
    body.push(text(x, top + size + 8, n, { size: labelSize, anchor: "end", rotate: -45 }));
  });
  body.push(text(accX, top - 8, "acc", { size: 11, fill: "#444" }));
  f.confusion.forEach((row, i) => {
    const t = row.reduce((s, v) => s + v, 0);
    body.push(text(accX, top + i * cell + cell / 2 + 4, t === 0 ? "-" : (row[i]! / t).toFixed(2), { size: 11 }));
  });
  body.push(text(14, top + size / 2, "true class", { anchor: "middle", rotate: -90, size: 13 }));
  body.push(text(left + size / 2, bottom - 8, "predicted class", { anchor: "middle", size: 13 }));
  body.push(colorbar(barX, top, 14, size, "viridis", 0, 1, (v) => v.toFixed(1)));
  body.push(text(barX + 7, top + size + 18, "share of row", { size: 10, anchor: "middle", fill: "#444" }));
  return svgDocument(width, bottom, body);
}
