/** The `xt check` report: an aligned table (coloured on a terminal), or the --json document. */
import type { ChalkInstance } from "chalk";
import type { CheckResult } from "../../checks/index.ts";

const fmt = (x: number | null): string => (x === null ? "-" : x === Infinity ? "shape!" : x.toExponential(2));

export function checkTable(results: CheckResult[], c: ChalkInstance): string {
  const rows = results.flatMap((r) =>
    r.outputs.map((o) => [
      r.name,
      o.name,
      `[${o.shape.join(",")}]`,
      fmt(o.relError),
      fmt(o.threshold),
      fmt(o.pytorchFloor),
      o.pass === null ? "RAN" : o.pass ? "PASS" : "FAIL",
    ]),
  );
  const head = ["check", "output", "shape", "rel error", "threshold", "torch floor", "result"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((s, i) => (i >= 3 && i <= 5 ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join("  ").trimEnd();
  const colour = (cell: string): string =>
    cell === "PASS" ? c.green(cell) : cell === "FAIL" ? c.red.bold(cell) : c.yellow(cell);
  const out = [c.bold(line(head))];
  for (const r of rows) {
    const text = line(r);
    const res = r[6]!;
    out.push(text.slice(0, text.length - res.length) + colour(res));
  }
  const failed = results.filter((r) => !r.pass).length;
  const outputs = rows.length;
  const passed = rows.filter((r) => r[6] === "PASS").length;
  const ms = results.reduce((s, r) => s + r.ms, 0);
  const summary = rows.some((r) => r[6] === "RAN")
    ? `${outputs} outputs computed (seed ${results[0]?.seed}: no expected values to compare) in ${ms.toFixed(0)} ms`
    : `${passed}/${outputs} outputs pass, ${results.length - failed}/${results.length} checks pass, in ${ms.toFixed(0)} ms`;
  out.push("", failed ? c.red(summary) : c.green(summary));
  return out.join("\n");
}

export function checkJson(results: CheckResult[]): string {
  return JSON.stringify({
    checks: results.map((r) => ({
      name: r.name,
      seed: r.seed,
      pass: r.pass,
      outputs: r.outputs.map((o) => ({ name: o.name, relError: o.relError, threshold: o.threshold, pass: o.pass })),
    })),
  });
}
