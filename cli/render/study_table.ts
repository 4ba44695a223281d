/**
 * A study's rows as an aligned text table: one row per variant, a column per measure, each cell
 * the mean over the seeds ± the sample std (just the value for one seed; "-" when missing).
 */
import type { StudyMetric, StudyVariant } from "../../core/train/events.ts";

export interface StudyColumn {
  title: string;
  /** The metric's name, or a function of the row giving the cell text. */
  metric: string | ((v: StudyVariant) => string);
  /** Decimals (default 4); "int" for whole numbers with thousands separators. */
  digits?: number | "int";
}

/** "0.8123 ± 0.0042", "0.8123" (one seed), "-" (missing). */
export function fmtMeanStd(m: StudyMetric | undefined, digits: number | "int" = 4): string {
  if (!m) return "-";
  const f = (x: number): string => (digits === "int" ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits));
  return m.values.length > 1 && !(digits === "int" && m.std === 0) ? `${f(m.mean)} ± ${f(m.std)}` : f(m.mean);
}

/** The table's lines: a header, then one line per variant. The first column is the variant's name. */
export function studyTable(variants: StudyVariant[], columns: StudyColumn[], bold: (s: string) => string = (s) => s): string[] {
  const head = ["variant", "seeds", ...columns.map((c) => c.title)];
  const rows = variants.map((v) => [
    v.name,
    String(v.seeds.length),
    ...columns.map((c) => (typeof c.metric === "function" ? c.metric(v) : fmtMeanStd(v.metrics[c.metric], c.digits))),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join("  ").trimEnd();
  return [bold(line(head)), ...rows.map(line)];
}
