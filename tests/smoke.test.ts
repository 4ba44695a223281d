/** `xt smoke`: passes as shipped, and fails (exit 1, JUnit failure) when a check's expected array is wrong. */
import { expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { CHECK_NAMES } from "../checks/index.ts";

const MAIN = join(import.meta.dir, "../cli/main.ts");
const EXPECTED = join(import.meta.dir, "../checks/expected");

function xt(...args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { env: { ...process.env, NO_COLOR: "1", XT_DEVICE: "cpu" } });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

function junitCases(file: string): { name: string; classname: string; failure?: { message: string } }[] {
  const xml = readFileSync(file, "utf8");
  expect(XMLValidator.validate(xml)).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (n) => ["testsuite", "testcase"].includes(n) }).parse(xml);
  return doc.testsuites.testsuite.flatMap((s: { testcase: unknown[] }) => s.testcase);
}

test("xt smoke passes: checks, both overfits, the checkpoint round trip; a summary line; JUnit", () => {
  const dir = mkdtempSync(join(tmpdir(), "xt-smoke-"));
  const r = xt("smoke", "--junit", join(dir, "smoke.xml"));
  expect(r.code).toBe(0);
  for (const step of ["checks", "overfit vit", "overfit captioning", "checkpoint round trip"]) expect(r.out).toMatch(new RegExp(`PASS  ${step} `));
  expect(r.out).toMatch(/smoke: 4\/4 steps pass on cpu in \d+\.\d s/);
  const cases = junitCases(join(dir, "smoke.xml"));
  expect(cases.length).toBe(9 + 3);
  expect(cases.filter((c) => c.failure)).toEqual([]);
}, 120_000);

test("xt smoke fails (exit 1) when a check's expected array is wrong (--expected DIR)", () => {
  const dir = mkdtempSync(join(tmpdir(), "xt-smoke-broken-"));
  for (const n of CHECK_NAMES) copyFileSync(join(EXPECTED, `${n}.json`), join(dir, `${n}.json`));
  const pe = JSON.parse(readFileSync(join(dir, "pe.json"), "utf8"));
  pe.outputs[0].values[3] += 0.5; // one number off
  writeFileSync(join(dir, "pe.json"), JSON.stringify(pe));
  const r = xt("smoke", "--expected", dir, "--junit", join(dir, "smoke.xml"), "--json");
  expect(r.code).toBe(1);
  const doc = JSON.parse(r.out);
  expect(doc.pass).toBe(false);
  const checks = doc.steps.find((s: { name: string }) => s.name === "checks");
  expect(checks.pass).toBe(false);
  expect(checks.detail).toBe("8/9 outputs, 6/7 checks pass; failing: pe/pe_output");
  expect(doc.steps.filter((s: { pass: boolean }) => !s.pass).length).toBe(1);
  const failed = junitCases(join(dir, "smoke.xml")).filter((c) => c.failure);
  expect(failed.map((c) => `${c.classname}/${c.name}`)).toEqual(["xt.smoke.check.pe/pe_output"]);
}, 120_000);

test("--expected DIR with a missing or malformed file is a clear error", () => {
  const dir = mkdtempSync(join(tmpdir(), "xt-expected-"));
  const missing = xt("check", "pe", "--expected", dir);
  expect(missing.code).toBe(2);
  expect(missing.err).toContain(`--expected: ${join(dir, "pe.json")} not found`);
  writeFileSync(join(dir, "pe.json"), JSON.stringify({ name: "pe", seed: 231, outputs: [{ name: "pe_output", shape: [1, 2, 6], values: [1], threshold: 1e-3 }] }));
  const bad = xt("check", "pe", "--expected", dir);
  expect(bad.code).toBe(1);
  expect(bad.err).toContain(`${join(dir, "pe.json")}: outputs[0]: "values" must be 12 numbers (shape [1,2,6], row-major)`);
});
