/**
 * `xt check <name>|all`: the notebook's numeric checks as a grader — of xt itself, or, with
 * --against FILE, of outputs made elsewhere (a student's notebook), at the notebook's seed or a
 * hidden one; reports as a table, --json, --junit FILE and --gradescope FILE.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import {
  CHECKS, CHECK_NAMES, loadExpectedDir, nonFiniteReferences, readSubmission, runChecks, submissionDocument,
  type CheckResult, type NotebookCheck,
} from "../../checks/index.ts";
import { UsageError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic_write.ts";
import { checkJson, checkTable } from "../render/check_table.ts";
import { gradescopeResults } from "../render/gradescope.ts";
import { checkSuites, junitXml } from "../render/junit.ts";
import { makeStyle } from "../render/style.ts";
import { parseIntFlag } from "../flags.ts";
import { didYouMean } from "../suggest.ts";

export interface CheckOpts {
  json?: boolean;
  seed?: string;
  dump?: string;
  against?: string;
  junit?: string;
  gradescope?: string;
  weights?: string;
  expected?: string;
  color?: boolean;
}

export function pickChecks(name: string): readonly NotebookCheck[] {
  if (name === "all") return CHECKS;
  const picked = CHECKS.filter((c) => c.name === name);
  if (picked.length === 0) {
    const valid = [...CHECK_NAMES, "all"];
    throw new UsageError(`unknown check '${name}'${didYouMean(name, valid)}; valid checks: ${valid.join(", ")}`);
  }
  return picked;
}

/** --weights FILE: {"check": points, ...}; every graded check needs one. */
export function readWeights(file: string, checks: readonly NotebookCheck[]): Map<string, number> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : `not valid JSON (${(e as Error).message})`;
    throw new UsageError(`--weights: ${file} ${why}`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new UsageError(`--weights: ${file} must hold an object of check name → points`);
  const weights = new Map<string, number>();
  for (const [k, v] of Object.entries(doc)) {
    if (!CHECK_NAMES.includes(k)) throw new UsageError(`--weights: ${file} names '${k}', not a check${didYouMean(k, CHECK_NAMES)}; checks: ${CHECK_NAMES.join(", ")}`);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new UsageError(`--weights: '${k}' in ${file} must be a number of points ≥ 0, got ${JSON.stringify(v)}`);
    weights.set(k, v);
  }
  const missing = checks.filter((c) => !weights.has(c.name)).map((c) => c.name);
  if (missing.length) throw new UsageError(`--weights: ${file} gives no points for ${missing.join(", ")} (every graded check needs a weight)`);
  return weights;
}

/** Refuse a seed at which the reference itself is NaN (no submission can match it), naming seeds that work. */
function refuseDegenerateSeed(checks: readonly NotebookCheck[], seed: number): void {
  const bad = nonFiniteReferences(checks, seed);
  if (bad.length === 0) return;
  const good: number[] = [];
  for (let s = seed + 1; good.length < 3 && s < seed + 40; s++) if (nonFiniteReferences(checks, s).length === 0) good.push(s);
  throw new UsageError(
    `seed ${seed} cannot grade ${bad.join(", ")}: the reference is NaN there (a fully masked attention row, ` +
      `whose softmax over all -inf is NaN in PyTorch too); pick another seed${good.length ? `, e.g. ${good.join(", ")}` : ""}`,
  );
}

/** Runs the picked checks (grading a submission when given) and writes the requested files. */
export function gradeChecks(name: string, opts: CheckOpts): { results: CheckResult[]; seconds: number } {
  const checks = pickChecks(name);
  const seed = opts.seed === undefined ? undefined : parseIntFlag("--seed", opts.seed, 0, 0xffffffff);
  if (opts.weights !== undefined && opts.gradescope === undefined) throw new UsageError("--weights goes with --gradescope FILE");
  for (const [flag, v] of [["--against", opts.against], ["--junit", opts.junit], ["--gradescope", opts.gradescope], ["--dump", opts.dump], ["--weights", opts.weights], ["--expected", opts.expected]] as const) {
    if (v === "") throw new UsageError(`${flag}: expected a file name`);
  }
  const weights = opts.gradescope !== undefined && opts.weights !== undefined ? readWeights(opts.weights, checks) : new Map<string, number>();
  const expected = opts.expected !== undefined ? loadExpectedDir(opts.expected, checks) : undefined;
  const submission = opts.against !== undefined ? readSubmission(opts.against) : undefined;
  const hidden = seed !== undefined && checks.some((c) => seed !== (expected?.get(c.name) ?? c.expected).seed);
  if (submission && hidden) refuseDegenerateSeed(checks, seed);
  if (opts.gradescope !== undefined && !submission && hidden) {
    throw new UsageError(`--gradescope: nothing is graded at seed ${seed} without --against FILE (xt's own outputs have no expected values there)`);
  }

  const t0 = performance.now();
  const results = runChecks(checks, { seed, submission, expected });
  const seconds = (performance.now() - t0) / 1000;

  if (submission) {
    const unknown = Object.keys(submission.checks).filter((k) => !CHECK_NAMES.includes(k));
    for (const k of unknown) process.stderr.write(`xt: ${submission.file}: '${k}' is not a check${didYouMean(k, CHECK_NAMES)}; ignored\n`);
  }
  if (opts.dump !== undefined) {
    const seeds = new Set(results.map((r) => r.seed));
    if (seeds.size > 1) throw new UsageError("--dump: the checks ran at different seeds (their --expected files differ); dump them one at a time");
    writeFileAtomic(opts.dump, JSON.stringify(submissionDocument(results[0]!.seed, results)) + "\n");
  }
  if (opts.junit !== undefined) writeFileAtomic(opts.junit, junitXml("xt check", checkSuites(results)));
  if (opts.gradescope !== undefined) {
    writeFileAtomic(opts.gradescope, JSON.stringify(gradescopeResults(results, weights, seconds), null, 1) + "\n");
  }
  return { results, seconds };
}

export function runCheckCommand(name: string, opts: CheckOpts): number {
  const { results } = gradeChecks(name, opts);
  process.stdout.write((opts.json ? checkJson(results) : checkTable(results, makeStyle(process.stdout, opts.color === false))) + "\n");
  return results.every((r) => r.pass !== false) ? 0 : 1;
}

export function addCheckFlags(c: Command): Command {
  return c
    .option("--json", "print machine-readable results")
    .option("--seed <n>", "run at another seed: xt's own outputs are then not graded; with --against, hidden-seed grading")
    .option("--against <file>", "grade outputs made elsewhere (a notebook's), in the --dump format: {\"seed\": N, check: {output: nested array}}")
    .option("--dump <file>", "write xt's outputs in that format")
    .option("--junit <file>", "also write a JUnit XML report (one test case per output)")
    .option("--gradescope <file>", "also write Gradescope's results.json (one test per check)")
    .option("--weights <file>", "points per check for --gradescope, as {\"attention\": 3, ...} (default 1 each)")
    .option("--expected <dir>", "read the expected arrays from DIR/<check>.json instead of the built-in ones")
    .option("--no-color", "plain text even on a terminal");
}

export function registerCheck(program: Command, exit: (code: number) => void): void {
  addCheckFlags(
    program
      .command("check")
      .argument("[name]", `one of ${[...CHECK_NAMES, "all"].join(", ")}`, "all")
      .description("run the notebook's numeric checks and grade them (or a notebook's outputs, --against) against its expected arrays"),
  ).action((name: string, opts: CheckOpts) => exit(runCheckCommand(name, opts)));
  // The design card's hyphenated spellings (check-attention, check-all) are rewritten to
  // `check <name>` in cli/argv.ts.
}
