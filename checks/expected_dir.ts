/**
 * `--expected DIR`: the notebook's expected arrays read from DIR/<check>.json instead of the
 * built-in checks/expected/ — for a course whose notebook prints other arrays (another seed or
 * another version of the assignment), and for testing that a wrong expected array fails.
 * Every picked check needs its file, in the built-in files' format (copy checks/expected/ and
 * edit): name, seed, outputs [{name, shape, values, threshold, pytorchFloor?}].
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DataError, UsageError } from "../core/errors.ts";
import type { ExpectedFile, ExpectedOutput, NotebookCheck } from "./types.ts";

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
}

function readExpected(file: string, check: NotebookCheck): ExpectedFile {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DataError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (doc === null || typeof doc !== "object") throw new DataError(file, "not a JSON object");
  if (doc.name !== check.name) throw new DataError(file, `"name" is ${JSON.stringify(doc.name)}, expected "${check.name}"`);
  if (!Number.isInteger(doc.seed) || (doc.seed as number) < 0) throw new DataError(file, `"seed" must be a whole number`);
  if (!Array.isArray(doc.outputs)) throw new DataError(file, `"outputs" must be an array`);
  const names = check.expected.outputs.map((o) => o.name);
  const outputs = (doc.outputs as Record<string, unknown>[]).map((o, i): ExpectedOutput => {
    const where = `outputs[${i}]`;
    if (!names.includes(o?.name as string)) throw new DataError(file, `${where}: "name" must be one of ${names.join(", ")}`);
    if (!isShape(o.shape)) throw new DataError(file, `${where}: "shape" must be a list of sizes`);
    const n = o.shape.reduce((a, b) => a * b, 1);
    if (!Array.isArray(o.values) || o.values.length !== n || !o.values.every((v) => typeof v === "number")) {
      throw new DataError(file, `${where}: "values" must be ${n} numbers (shape [${o.shape.join(",")}], row-major)`);
    }
    if (typeof o.threshold !== "number" || !(o.threshold > 0)) throw new DataError(file, `${where}: "threshold" must be a positive number`);
    const floor = o.pytorchFloor;
    if (floor !== undefined && floor !== null && typeof floor !== "number") throw new DataError(file, `${where}: "pytorchFloor" must be a number`);
    return {
      name: o.name as string, shape: o.shape, values: o.values as number[], threshold: o.threshold,
      notebookTolerance: typeof o.notebookTolerance === "number" ? o.notebookTolerance : o.threshold,
      pytorchFloor: typeof floor === "number" ? floor : null, reason: typeof o.reason === "string" ? o.reason : "",
    };
  });
  const missing = names.filter((n) => !outputs.some((o) => o.name === n));
  if (missing.length) throw new DataError(file, `no expected array for ${missing.join(", ")}`);
  return { name: check.name, seed: doc.seed as number, outputs };
}

export function loadExpectedDir(dir: string, checks: readonly NotebookCheck[]): Map<string, ExpectedFile> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--expected: ${dir} is not a folder`);
  const out = new Map<string, ExpectedFile>();
  for (const c of checks) {
    const file = join(dir, `${c.name}.json`);
    if (!existsSync(file)) throw new UsageError(`--expected: ${file} not found (every check needs its file; start from a copy of checks/expected/)`);
    out.set(c.name, readExpected(file, c));
  }
  return out;
}
