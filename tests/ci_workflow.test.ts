/**
 * The CI workflow of docs/ci.md, run here: every `run:` block of docs/ci/xt-github-actions.yml,
 * in order, in a fresh "course repository" folder, with bash as GitHub runs it (-eo pipefail).
 * The download step fetches XT_RELEASE_URL with curl: a file:// URL of XT_CI_BINARY when set
 * (.ci/run sets it to the compiled dist/xt), else of a two-line wrapper around cli/main.ts.
 */
import { expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { parse } from "yaml";

const ROOT = join(import.meta.dir, "..");
const WORKFLOW = join(ROOT, "docs/ci/xt-github-actions.yml");

interface Step { name?: string; run?: string; uses?: string; env?: Record<string, string> }
interface Workflow { env?: Record<string, string>; jobs: Record<string, { env?: Record<string, string>; steps: Step[] }> }

function binary(): string {
  if (process.env.XT_CI_BINARY) return resolve(process.env.XT_CI_BINARY);
  const wrapper = join(mkdtempSync(join(tmpdir(), "xt-wrapper-")), "xt");
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, "cli/main.ts")}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/** Workflow env without GitHub expressions (${{ … }}), which only GitHub can evaluate. */
const plainEnv = (e: Record<string, string> = {}): Record<string, string> =>
  Object.fromEntries(Object.entries(e).filter(([, v]) => !String(v).includes("${{")).map(([k, v]) => [k, String(v)]));

function runWorkflow(repo: string, only?: (name: string) => boolean): { name: string; code: number; out: string }[] {
  const wf = parse(readFileSync(WORKFLOW, "utf8")) as Workflow;
  const job = Object.values(wf.jobs)[0]!;
  const ran: { name: string; code: number; out: string }[] = [];
  for (const step of job.steps) {
    if (!step.run) continue; // `uses:` steps are GitHub actions (checkout, the report), not shell
    if (only && !only(step.name ?? "")) continue;
    const env = { ...process.env, ...plainEnv(wf.env), ...plainEnv(job.env), ...plainEnv(step.env), XT_RELEASE_URL: `file://${binary()}` };
    const r = Bun.spawnSync(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], { cwd: repo, env });
    ran.push({ name: step.name ?? step.run, code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() });
    if (r.exitCode !== 0) break;
  }
  return ran;
}

test("the workflow's shell steps pass in a course repository with the notebook's outputs", () => {
  const repo = mkdtempSync(join(tmpdir(), "xt-course-"));
  copyFileSync(join(ROOT, "fixtures/grading/torch_seed231.json"), join(repo, "outputs.json"));
  const ran = runWorkflow(repo);
  for (const r of ran) expect({ step: r.name, code: r.code, out: r.code ? r.out : "" }).toEqual({ step: r.name, code: 0, out: "" });
  expect(ran.map((r) => r.name)).toEqual([
    "Download xt", "Smoke run (checks, both overfits, checkpoint round trip)", "The notebook's checks", "Grade the notebook's outputs (outputs.json)",
  ]);
  expect(ran[0]!.out).toContain("0.1.0");
  for (const f of ["smoke.xml", "checks.xml", "outputs.xml"]) {
    expect(XMLValidator.validate(readFileSync(join(repo, "reports", f), "utf8"))).toBe(true);
  }
}, 180_000);

test("the workflow fails at the grading step when the notebook's outputs are wrong", () => {
  const repo = mkdtempSync(join(tmpdir(), "xt-course-bad-"));
  copyFileSync(join(ROOT, "fixtures/grading/wrong/attn_no_scaling.seed231.json"), join(repo, "outputs.json"));
  // The download and the grading step (the smoke and check steps do not read outputs.json).
  const ran = runWorkflow(repo, (name) => name === "Download xt" || name.startsWith("Grade"));
  expect(ran.map((r) => r.code)).toEqual([0, 1]);
  expect(ran[1]!.out).toContain("FAIL");
  expect(existsSync(join(repo, "reports", "outputs.xml"))).toBe(true);
}, 180_000);
