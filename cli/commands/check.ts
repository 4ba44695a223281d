/** `xt check <name>|all`: the notebook's numeric checks as a grader. */
import type { Command } from "commander";
import { CHECKS, CHECK_NAMES, runChecks } from "../../checks/index.ts";
import { XtError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic_write.ts";
import { checkJson, checkTable } from "../render/check_table.ts";
import { makeStyle } from "../render/style.ts";
import { parseIntFlag } from "../flags.ts";

interface CheckOpts {
  json?: boolean;
  seed?: string;
  dump?: string;
  color?: boolean;
}

export function runCheckCommand(name: string, opts: CheckOpts): number {
  const picked = name === "all" ? CHECKS : CHECKS.filter((c) => c.name === name);
  if (picked.length === 0) {
    throw new XtError(`unknown check '${name}'; valid checks: ${[...CHECK_NAMES, "all"].join(", ")}`, 2);
  }
  const seed = opts.seed === undefined ? undefined : parseIntFlag("--seed", opts.seed, 0);
  const results = runChecks(picked, seed);
  if (opts.dump) {
    const dump = Object.fromEntries(
      results.map((r) => [r.name, { seed: r.seed, outputs: Object.fromEntries(r.outputs.map((o) => [o.name, { shape: o.shape, values: o.values }])) }]),
    );
    writeFileAtomic(opts.dump, JSON.stringify(dump));
  }
  process.stdout.write((opts.json ? checkJson(results) : checkTable(results, makeStyle(process.stdout, opts.color === false))) + "\n");
  return results.every((r) => r.pass) ? 0 : 1;
}

export function registerCheck(program: Command, exit: (code: number) => void): void {
  const addFlags = (c: Command): Command =>
    c
      .option("--json", "print machine-readable results")
      .option("--seed <n>", "run with another seed (no expected values then)")
      .option("--dump <file>", "write every output's values as JSON")
      .option("--no-color", "plain text even on a terminal");
  addFlags(
    program
      .command("check")
      .argument("[name]", `one of ${[...CHECK_NAMES, "all"].join(", ")}`, "all")
      .description("run the notebook's numeric checks and grade them against its expected arrays"),
  ).action((name: string, opts: CheckOpts) => exit(runCheckCommand(name, opts)));
  // The design card's hyphenated spellings (check-attention, check-all) are rewritten to
  // `check <name>` in cli/argv.ts.
}
