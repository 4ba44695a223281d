/** Runs notebook checks and scores them with the notebook's rel_error. */
import { XtError } from "../core/errors.ts";
import type { NotebookCheck } from "./types.ts";

export interface OutputResult {
  name: string;
  shape: number[];
  /** null when the run has no expected values (another seed). */
  relError: number | null;
  threshold: number;
  pytorchFloor: number;
  pass: boolean | null;
  values: number[];
}

export interface CheckResult {
  name: string;
  title: string;
  seed: number;
  ms: number;
  outputs: OutputResult[];
  pass: boolean;
}

/** The notebook's rel_error: max over elements of |x−y| / max(1e-8, |x|+|y|). */
export function relError(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new XtError(`rel_error: ${x.length} values vs ${y.length}`);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const b = y[i]!;
    const e = Math.abs(a - b) / Math.max(1e-8, Math.abs(a) + Math.abs(b));
    if (!(e <= worst)) worst = e; // NaN propagates as a failure
  }
  return worst;
}

export function runCheck(check: NotebookCheck, seed = check.expected.seed): CheckResult {
  const t0 = performance.now();
  const produced = check.run(seed);
  const ms = performance.now() - t0;
  const compare = seed === check.expected.seed;
  const outputs = check.expected.outputs.map((exp): OutputResult => {
    const t = produced[exp.name];
    if (!t) throw new Error(`check ${check.name} produced no output named ${exp.name}`);
    const values = t.toArray();
    const shapeOk = t.shape.join() === exp.shape.join();
    const err = !compare ? null : shapeOk ? relError(exp.values, values) : Infinity;
    return {
      name: exp.name,
      shape: [...t.shape],
      relError: err,
      threshold: exp.threshold,
      pytorchFloor: exp.pytorchFloor,
      pass: err === null ? null : err <= exp.threshold,
      values,
    };
  });
  return { name: check.name, title: check.title, seed, ms, outputs, pass: outputs.every((o) => o.pass !== false) };
}

export function runChecks(checks: readonly NotebookCheck[], seed?: number): CheckResult[] {
  return checks.map((c) => runCheck(c, seed));
}
