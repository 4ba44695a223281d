/** The `xt check` report: an aligned table (coloured on a terminal), or the --json document. */
import type { ChalkInstance } from "chalk";
import type { CheckResult } from "../../checks/index.ts";

const fmt = (x: number | null): string => (x === null ? "-" : x.toExponential(2));

/** What was compared with what, in one line; null for xt's own run at the notebook's seed. */
export function gradingLine(results: CheckResult[]): string | null {
  const r = results[0];
  if (!r) return null;
  if (!r.graded) {
    return `seed ${r.seed}: xt's own outputs, not graded (no expected values at this seed; grade a notebook's outputs here with --against FILE --seed ${r.seed})`;
  }
  if (!r.against) return null;
  return r.metric === "hidden-seed"
    ? `${r.against} at seed ${r.seed} against xt's own outputs at that seed (hidden-seed thresholds)`
    : `${r.against} at seed ${r.seed} against the notebook's expected arrays`;
}

export function checkTable(results: CheckResult[], c: ChalkInstance): string {
  const graded = results.some((r) => r.graded);
  const floors = results.some((r) => r.outputs.some((o) => o.pytorchFloor !== null));
  const head = graded
    ? ["check", "output", "shape", "rel error", "threshold", ...(floors ? ["torch floor"] : []), "result"]
    : ["check", "output", "shape", "result"];
  const numeric = new Set(graded ? [3, 4, 5].slice(0, floors ? 3 : 2) : []);
  const rows = results.flatMap((r) =>
    r.outputs.map((o) => {
      const result = o.pass === null ? "RAN" : o.pass ? "PASS" : "FAIL";
      const cells = graded
        ? [r.name, o.name, `[${o.shape.join(",")}]`, fmt(o.relError), fmt(o.threshold), ...(floors ? [fmt(o.pytorchFloor)] : []), result]
        : [r.name, o.name, `[${o.shape.join(",")}]`, result];
      return { cells, result, reason: o.reason };
    }),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((s, i) => (numeric.has(i) ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join("  ").trimEnd();
  const colour = (cell: string): string =>
    cell === "PASS" ? c.green(cell) : cell === "FAIL" ? c.red.bold(cell) : c.yellow(cell);
  const out: string[] = [];
  const about = gradingLine(results);
  if (about) out.push(about, "");
  out.push(c.bold(line(head)));
  for (const r of rows) {
    const text = line(r.cells);
    out.push(text.slice(0, text.length - r.result.length) + colour(r.result) + (r.reason ? `  ${r.reason}` : ""));
  }
  const ms = results.reduce((s, r) => s + r.ms, 0);
  let summary: string;
  if (!graded) {
    summary = `${rows.length} outputs computed at seed ${results[0]?.seed}, not graded, in ${ms.toFixed(0)} ms`;
  } else {
    const passed = rows.filter((r) => r.result === "PASS").length;
    const checksPassed = results.filter((r) => r.pass).length;
    summary = `${passed}/${rows.length} outputs pass, ${checksPassed}/${results.length} checks pass, in ${ms.toFixed(0)} ms`;
  }
  const ok = !graded || results.every((r) => r.pass);
  out.push("", ok ? (graded ? c.green(summary) : c.yellow(summary)) : c.red(summary));
  return out.join("\n");
}

export function checkJson(results: CheckResult[]): string {
  const graded = results.some((r) => r.graded);
  const first = results[0];
  return JSON.stringify({
    graded,
    seed: first?.seed ?? null,
    ...(first?.against ? { against: first.against } : {}),
    metric: first?.metric ?? null,
    pass: graded ? results.every((r) => r.pass) : null,
    checks: results.map((r) => ({
      name: r.name,
      seed: r.seed,
      graded: r.graded,
      pass: r.pass,
      outputs: r.outputs.map((o) =>
        r.graded
          ? {
            name: o.name, shape: o.shape, relError: o.relError, threshold: o.threshold,
            ...(o.pytorchFloor !== null ? { pytorchFloor: o.pytorchFloor } : {}), pass: o.pass, ...(o.reason ? { reason: o.reason } : {}),
          }
          : { name: o.name, shape: o.shape, pass: null },
      ),
    })),
  });
}
