/**
 * Runs notebook checks and grades outputs:
 *  - xt's own outputs at the notebook's seed, against the notebook's printed arrays;
 *  - a submission (`--against FILE`) at the notebook's seed, against the same arrays and thresholds;
 *  - a submission at another seed (hidden-seed grading), against xt's own outputs at that seed,
 *    with the measured thresholds of hidden_seed.ts.
 * xt's own outputs at another seed are not graded (graded: false, pass: null everywhere).
 */
import { XtError } from "../core/errors.ts";
import { hiddenSeedError, hiddenSeedThreshold } from "./hidden_seed.ts";
import { nonFinite, submittedOutput, type Submission, type SubmittedOutput } from "./submission.ts";
import type { ExpectedFile, NotebookCheck } from "./types.ts";

/** How an output was compared: null when it was not (an ungraded run). */
export type Metric = "notebook" | "hidden-seed" | null;

export interface OutputResult {
  name: string;
  /** The reference's shape (what the output must have). */
  shape: number[];
  /** null: not compared (ungraded, or the submission's output could not be read). */
  relError: number | null;
  /** null in ungraded runs. */
  threshold: number | null;
  /** PyTorch's own rel_error against the notebook's array; null where that does not apply. */
  pytorchFloor: number | null;
  /** null in ungraded runs. */
  pass: boolean | null;
  /** Why it failed when that is not a plain rel error over the threshold (missing, shape, NaN…). */
  reason?: string;
  /** xt's own values (what --dump writes). */
  values: number[];
}

export interface CheckResult {
  name: string;
  title: string;
  seed: number;
  ms: number;
  graded: boolean;
  metric: Metric;
  /** The submission file, when grading one. */
  against?: string;
  outputs: OutputResult[];
  /** null in ungraded runs. */
  pass: boolean | null;
}

export interface RunOptions {
  /** Default: the notebook's seed (each check's expected.seed). */
  seed?: number;
  submission?: Submission;
  /** Expected arrays to use instead of each check's built-in ones (`--expected DIR`). */
  expected?: ReadonlyMap<string, ExpectedFile>;
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

const shapeText = (s: readonly number[]): string => `[${s.join(",")}]`;

interface Reference {
  shape: number[];
  values: ArrayLike<number>;
  threshold: number;
  pytorchFloor: number | null;
}

/** Compare one candidate output with its reference; the reason names what is wrong. */
function compare(got: SubmittedOutput, ref: Reference, metric: Exclude<Metric, null>): Pick<OutputResult, "relError" | "pass" | "reason"> {
  if ("problem" in got) return { relError: null, pass: false, reason: got.problem };
  if (got.shape.join() !== ref.shape.join()) {
    return { relError: null, pass: false, reason: `shape ${shapeText(got.shape)}, expected ${shapeText(ref.shape)}` };
  }
  const bad = nonFinite(got.values, got.shape);
  if (bad) return { relError: null, pass: false, reason: bad };
  const err = metric === "notebook" ? relError(ref.values, got.values) : hiddenSeedError(got.values, ref.values);
  return { relError: err, pass: err <= ref.threshold };
}

export function runCheck(check: NotebookCheck, o: RunOptions = {}): CheckResult {
  const expected = o.expected?.get(check.name) ?? check.expected;
  const seed = o.seed ?? expected.seed;
  const atNotebookSeed = seed === expected.seed;
  const t0 = performance.now();
  const produced = check.run(seed);
  const ms = performance.now() - t0;
  const sub = o.submission;
  const graded = atNotebookSeed || sub !== undefined;
  const metric: Metric = !graded ? null : atNotebookSeed ? "notebook" : "hidden-seed";

  const fileProblem = !sub ? null
    : sub.problem ?? (sub.seed !== seed
      ? `${sub.file} was written at seed ${sub.seed}, graded at seed ${seed}${sub.seed === expected.seed ? "" : ` (pass --seed ${sub.seed} to grade it at its own seed)`}`
      : null);
  const entry = sub && !fileProblem ? sub.checks[check.name] : undefined;
  const entryProblem = !sub || fileProblem ? fileProblem
    : entry === undefined ? `missing: ${sub.file} has no "${check.name}"`
    : entry === null || typeof entry !== "object" || Array.isArray(entry) ? `"${check.name}" in ${sub.file} is not an object of output name → array`
    : null;

  const outputs = expected.outputs.map((exp): OutputResult => {
    const t = produced[exp.name];
    if (!t) throw new Error(`check ${check.name} produced no output named ${exp.name}`);
    const values = t.toArray();
    const base = { name: exp.name, shape: [...exp.shape], values };
    if (!graded) return { ...base, shape: [...t.shape], relError: null, threshold: null, pytorchFloor: null, pass: null };
    const ref: Reference = atNotebookSeed
      ? { shape: exp.shape, values: exp.values, threshold: exp.threshold, pytorchFloor: exp.pytorchFloor ?? null }
      : { shape: [...t.shape], values, threshold: hiddenSeedThreshold(check.name, exp.name), pytorchFloor: null };
    const head = { ...base, shape: [...ref.shape], threshold: ref.threshold, pytorchFloor: ref.pytorchFloor };
    if (!sub) return { ...head, ...compare({ shape: [...t.shape], values: Float64Array.from(values) }, ref, "notebook") };
    if (entryProblem) return { ...head, relError: null, pass: false, reason: entryProblem };
    const candidate = (entry as Record<string, unknown>)[exp.name];
    if (candidate === undefined) return { ...head, relError: null, pass: false, reason: `missing: "${check.name}" in ${sub.file} has no "${exp.name}"` };
    return { ...head, ...compare(submittedOutput(candidate), ref, metric!) };
  });
  return {
    name: check.name, title: check.title, seed, ms, graded, metric, ...(sub ? { against: sub.file } : {}),
    outputs, pass: graded ? outputs.every((r) => r.pass === true) : null,
  };
}

export function runChecks(checks: readonly NotebookCheck[], o: RunOptions = {}): CheckResult[] {
  return checks.map((c) => runCheck(c, o));
}

/**
 * The outputs that are not finite in xt's own run at this seed: a fully masked attention row
 * (every mask entry of a row ≥ 0.5), whose softmax over all −inf is NaN in PyTorch as in xt.
 * No submission can be graded there.
 */
export function nonFiniteReferences(checks: readonly NotebookCheck[], seed: number): string[] {
  const bad: string[] = [];
  for (const c of checks) {
    for (const [name, t] of Object.entries(c.run(seed))) {
      if (t.toArray().some((v) => !Number.isFinite(v))) bad.push(`${c.name}/${name}`);
    }
  }
  return bad;
}
