/**
 * An ablation as grouped bars: one panel per measure; in each, a group per variant and a bar per
 * ablation file (one bar when there is one file), at the mean over seeds with a ±1 std error bar.
 */
import { paletteColor } from "./colormap.ts";
import { fmtTick, niceTicks } from "./line_chart.ts";
import { el, fitText, line, rect, svgDocument, text, textWidth } from "./svg.ts";

export interface AblationBars {
  /** One per file: its label and, per variant name, per measure, mean ± std over `seeds`. */
  label: string;
  variants: { name: string; seeds: number; metrics: Record<string, { mean: number; std: number }> }[];
}

export interface AblationFigure {
  title: string;
  subtitle?: string;
  runs: AblationBars[];
}

export function ablationSvg(f: AblationFigure): string {
  const measures = [...new Set(f.runs.flatMap((r) => r.variants.flatMap((v) => Object.keys(v.metrics))))];
  const groups = [...new Set(f.runs.flatMap((r) => r.variants.map((v) => v.name)))];
  const R = f.runs.length;
  const barW = Math.max(10, Math.min(36, Math.floor(300 / (groups.length * R))));
  const groupW = barW * R + 18;
  const pw = Math.max(300, 70 + groups.length * groupW + 20);
  const ph = 340;
  const top = (f.subtitle ? 62 : 44) + (R > 1 ? 22 : 0);
  const cols = Math.min(measures.length, Math.max(1, Math.floor(1000 / pw)));
  const body: string[] = [];
  if (R > 1) {
    let lx = 20;
    f.runs.forEach((r, i) => {
      body.push(rect(lx, top - 30, 12, 12, paletteColor(i)), text(lx + 16, top - 20, r.label));
      lx += 40 + textWidth(r.label, 12);
    });
  }
  measures.forEach((m, k) => {
    const bx = 10 + (k % cols) * pw;
    const by = top + Math.floor(k / cols) * ph;
    const left = bx + 60;
    const plotTop = by + 30;
    const plotH = ph - 30 - 80;
    const cells = f.runs.flatMap((r) => r.variants.map((v) => v.metrics[m]).filter((x) => x !== undefined));
    const hi0 = Math.max(...cells.map((c) => c.mean + c.std));
    const lo0 = Math.min(0, ...cells.map((c) => c.mean - c.std));
    const ticks = niceTicks(lo0, hi0 > lo0 ? hi0 : lo0 + 1);
    const lo = Math.min(lo0, ticks[0]!);
    const hi = Math.max(hi0, ticks[ticks.length - 1]!);
    const sy = (v: number): number => plotTop + plotH - ((v - lo) / (hi - lo)) * plotH;
    const plotW = groups.length * groupW;
    body.push(text(left + plotW / 2, by + 18, m, { size: 14, anchor: "middle" }));
    for (const t of ticks) {
      body.push(line(left, sy(t), left + plotW, sy(t), "#e5e5e5"), text(left - 6, sy(t) + 4, fmtTick(t), { anchor: "end" }));
    }
    groups.forEach((g, gi) => {
      const gx = left + gi * groupW + 9;
      f.runs.forEach((r, ri) => {
        const v = r.variants.find((x) => x.name === g);
        const c = v?.metrics[m];
        if (!v || !c) return;
        const x = gx + ri * barW;
        const y = sy(Math.max(c.mean, 0));
        body.push(rect(x + 1, y, barW - 2, Math.abs(sy(c.mean) - sy(0)), paletteColor(ri)));
        const cx = x + barW / 2;
        const [e0, e1] = [sy(c.mean - c.std), sy(c.mean + c.std)];
        body.push(el("path", { d: `M${cx} ${e0}V${e1}M${cx - 4} ${e0}H${cx + 4}M${cx - 4} ${e1}H${cx + 4}`, stroke: "#222", "stroke-width": 1.3, fill: "none" }));
        body.push(text(cx, e1 - 4, fmtTick(Number(c.mean.toPrecision(3))), { size: 10, anchor: "middle" }));
      });
      const label = fitText(g, 11, 110);
      body.push(text(gx + (barW * R) / 2 + 4, plotTop + plotH + 12, label, { size: 11, anchor: "end", rotate: -35 }));
    });
    body.push(line(left, sy(0), left + plotW, sy(0), "#333"), line(left, plotTop, left, plotTop + plotH, "#333"));
  });
  const rows = Math.ceil(measures.length / cols);
  const width = Math.max(cols * pw + 20, textWidth(f.title, 15) + 40);
  body.unshift(text(width / 2, 24, f.title, { size: 15, anchor: "middle" }));
  if (f.subtitle) body.splice(1, 0, text(width / 2, 44, fitText(f.subtitle, 12, width - 30), { size: 12, anchor: "middle", fill: "#444" }));
  return svgDocument(width, top + rows * ph, body);
}
