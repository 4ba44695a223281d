/**
 * Gradescope's autograder results.json (gradescope-autograders.readthedocs.io, "Autograder
 * Specifications"): {score, execution_time, output, tests: [{name, number, score, max_score,
 * status, output}]}. One test per check; a check's score is its weight × the share of its
 * outputs that pass (partial credit per output); the top-level score is the sum.
 */
import type { CheckResult } from "../../checks/index.ts";
import { outputFailure } from "./junit.ts";

export interface GradescopeTest {
  name: string;
  number: string;
  score: number;
  max_score: number;
  status: "passed" | "failed";
  output: string;
}

export interface GradescopeResults {
  score: number;
  execution_time: number;
  output: string;
  tests: GradescopeTest[];
}

/** Scores with float noise removed (1/3 + 1/3 + 1/3 adds to 1, not 0.9999999999999999). */
const round = (x: number): number => Math.round(x * 1e6) / 1e6;

export function gradescopeResults(results: CheckResult[], weights: ReadonlyMap<string, number>, seconds: number): GradescopeResults {
  const tests = results.map((r, i): GradescopeTest => {
    const weight = weights.get(r.name) ?? 1;
    const passed = r.outputs.filter((o) => o.pass).length;
    const lines = r.outputs.map((o) => o.pass
      ? `PASS  ${o.name}: rel error ${o.relError!.toExponential(2)} <= ${o.threshold!.toExponential(2)}`
      : `FAIL  ${o.name}: ${outputFailure(r, o)}`);
    return {
      name: `${r.name}: ${r.title}`,
      number: String(i + 1),
      score: round((weight * passed) / r.outputs.length),
      max_score: weight,
      status: r.pass ? "passed" : "failed",
      output: `${passed}/${r.outputs.length} outputs pass at seed ${r.seed}\n${lines.join("\n")}`,
    };
  });
  const score = round(tests.reduce((s, t) => s + t.score, 0));
  const max = round(tests.reduce((s, t) => s + t.max_score, 0));
  const sub = results[0]?.against;
  return {
    score,
    execution_time: Math.round(seconds * 1000) / 1000,
    output: `xt check${sub ? ` of ${sub}` : ""} at seed ${results[0]?.seed}: ${results.filter((r) => r.pass).length}/${results.length} checks pass, score ${score}/${max}`,
    tests,
  };
}
