/**
 * Outputs produced elsewhere (a student's notebook) for `xt check --against FILE`, in the shape
 * `xt check --dump` writes:
 *
 *   {"seed": 231,
 *    "attention": {"self_attn_output": [[[...]]], "masked_self_attn_output": ..., "attn_output": ...},
 *    "pe": {"pe_output": [[[...]]]}, ...}
 *
 * i.e. the seed the outputs were made at, then check name → output name → nested array (what
 * `tensor.tolist()` gives). Python's json.dump writes NaN and ±inf as the bare tokens NaN and
 * Infinity, which plain JSON rejects; the file is read as JSON5 so those arrive as numbers and are
 * graded (as failures) per output instead of making the whole file unreadable.
 *
 * Nothing here throws for a bad submission: every problem becomes a reason, per file or per output.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import JSON5 from "json5";

export interface Submission {
  file: string;
  /** The seed the file says its outputs were made at (null when it says none). */
  seed: number | null;
  /** Why nothing in the file can be graded (unreadable, not an object, no seed), else null. */
  problem: string | null;
  /** check name → that check's entry, as parsed (validated per output by submittedOutput). */
  checks: Record<string, unknown>;
}

export type SubmittedOutput = { shape: number[]; values: Float64Array } | { problem: string };

const MAX_BYTES = 256 * 1024 * 1024;

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `a string ${JSON.stringify(v.length > 24 ? `${v.slice(0, 21)}...` : v)}`;
  return `${typeof v === "boolean" ? "a boolean" : typeof v} ${String(v)}`;
}

export function readSubmission(file: string): Submission {
  const none = (problem: string): Submission => ({ file, seed: null, problem, checks: {} });
  if (!existsSync(file)) return none(`${file} not found`);
  if (statSync(file).isDirectory()) return none(`${file} is a folder, not a JSON file`);
  if (statSync(file).size > MAX_BYTES) return none(`${file} is larger than ${MAX_BYTES >> 20} MiB; the checks' outputs take a few kB`);
  let doc: unknown;
  try {
    doc = JSON5.parse(readFileSync(file, "utf8"));
  } catch (e) {
    return none(`${file} is not valid JSON (${(e as Error).message.replace(/^JSON5: /, "")})`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    return none(`${file} holds ${kindOf(doc)}, not an object of check name → outputs`);
  }
  const { seed, ...checks } = doc as Record<string, unknown>;
  if (seed === undefined) return { ...none(`${file} has no "seed" (the seed its outputs were made at)`), checks };
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0) {
    return { ...none(`${file}: "seed" is ${kindOf(seed)}, not a whole number`), checks };
  }
  return { file, seed, problem: null, checks };
}

/** One output's nested array → shape and values, or the first thing wrong with it. */
export function submittedOutput(raw: unknown): SubmittedOutput {
  if (typeof raw === "number") return { shape: [], values: Float64Array.of(raw) };
  if (!Array.isArray(raw)) return { problem: `not a nested array of numbers: it is ${kindOf(raw)}` };
  const shape: number[] = [];
  for (let a: unknown = raw; Array.isArray(a); a = a[0]) {
    shape.push(a.length);
    if (a.length === 0) break;
  }
  const values: number[] = [];
  let problem: string | null = null;
  const walk = (a: unknown, depth: number, at: number[]): void => {
    if (problem) return;
    const where = `[${at.join(",")}]`;
    if (depth === shape.length) {
      if (typeof a === "number") values.push(a);
      else problem = Array.isArray(a) ? `ragged: an array at ${where} where the first rows have numbers` : `not a number at ${where}: ${kindOf(a)}`;
      return;
    }
    if (!Array.isArray(a)) {
      problem = typeof a === "number" ? `ragged: a number at ${where} where the first rows have arrays` : `not a number at ${where}: ${kindOf(a)}`;
      return;
    }
    if (a.length !== shape[depth]) {
      problem = `ragged: ${a.length} entries at ${where}, ${shape[depth]} in the first row at that depth`;
      return;
    }
    for (let i = 0; i < a.length; i++) walk(a[i], depth + 1, [...at, i]);
  };
  walk(raw, 0, []);
  if (problem) return { problem };
  return { shape, values: Float64Array.from(values) };
}

/** The first non-finite value, as "NaN at [0,1,2]", and how many there are; null when all are finite. */
export function nonFinite(values: ArrayLike<number>, shape: number[]): string | null {
  let count = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      count++;
      if (first < 0) first = i;
    }
  }
  if (count === 0) return null;
  const at: number[] = [];
  let rest = first;
  for (let d = shape.length - 1; d >= 0; d--) {
    at.unshift(rest % shape[d]!);
    rest = Math.floor(rest / shape[d]!);
  }
  const v = values[first]!;
  const what = Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  return `${count} value${count === 1 ? " is" : "s are"} not finite (${what} at [${at.join(",")}]${count > 1 ? ", the first" : ""})`;
}

/** Flat row-major values → nested arrays of that shape (torch's tolist()). */
export function nestedArray(values: ArrayLike<number>, shape: readonly number[]): unknown {
  if (shape.length === 0) return values[0];
  const build = (dim: number, off: number): unknown => {
    if (dim === shape.length) return values[off];
    let step = 1;
    for (let d = dim + 1; d < shape.length; d++) step *= shape[d]!;
    return Array.from({ length: shape[dim]! }, (_, i) => build(dim + 1, off + i * step));
  };
  return build(0, 0);
}

/** The document --dump writes and --against reads: {"seed": N, check: {output: nested array}}. */
export function submissionDocument(seed: number, checks: { name: string; outputs: { name: string; shape: number[]; values: ArrayLike<number> }[] }[]): Record<string, unknown> {
  const doc: Record<string, unknown> = { seed };
  for (const c of checks) doc[c.name] = Object.fromEntries(c.outputs.map((o) => [o.name, nestedArray(o.values, o.shape)]));
  return doc;
}
