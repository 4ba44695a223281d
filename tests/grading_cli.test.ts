/**
 * `xt check --against / --junit / --gradescope / --weights` as a grader meets them, with files
 * written by PyTorch (fixtures/grading), and ungraded runs that say so (issue 11, defect 6).
 */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";

const MAIN = join(import.meta.dir, "../cli/main.ts");
const DIR = join(import.meta.dir, "../fixtures/grading");
const HIDDEN = 4242;
const tmp = mkdtempSync(join(tmpdir(), "xt-grading-cli-"));

function xt(...args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { env: { ...process.env, NO_COLOR: "1", XT_DEVICE: "cpu" } });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

interface JsonOutput { name: string; relError?: number | null; threshold?: number | null; pass: boolean | null; reason?: string }
interface JsonCheck { name: string; graded: boolean; pass: boolean | null; outputs: JsonOutput[] }

test("a PyTorch-written file passes at the notebook's seed and, with --seed, at a hidden seed", () => {
  const a = xt("check", "all", "--against", join(DIR, "torch_seed231.json"));
  expect(a.code).toBe(0);
  expect(a.out).toContain("against the notebook's expected arrays");
  expect(a.out).toContain("9/9 outputs pass, 7/7 checks pass");
  const b = xt("check", "all", "--against", join(DIR, `torch_seed${HIDDEN}.json`), "--seed", String(HIDDEN), "--json");
  expect(b.code).toBe(0);
  const doc = JSON.parse(b.out);
  expect(doc).toMatchObject({ graded: true, seed: HIDDEN, metric: "hidden-seed", pass: true });
  expect(doc.checks.every((c: JsonCheck) => c.outputs.every((o) => o.pass === true && typeof o.relError === "number"))).toBe(true);
});

test("a hidden-seed file graded without --seed fails with the reason, not a crash", () => {
  const r = xt("check", "pe", "--against", join(DIR, `torch_seed${HIDDEN}.json`));
  expect(r.code).toBe(1);
  expect(r.out).toContain(`was written at seed ${HIDDEN}, graded at seed 231 (pass --seed ${HIDDEN} to grade it at its own seed)`);
});

test("wrong, missing, misshapen, NaN and non-numeric outputs fail with a reason per output", () => {
  const bug = xt("check", "attention", "--against", join(DIR, "wrong", "attn_no_scaling.seed231.json"), "--json");
  expect(bug.code).toBe(1);
  const outs = (JSON.parse(bug.out).checks[0] as JsonCheck).outputs;
  expect(outs.every((o) => o.pass === false && o.relError! > o.threshold!)).toBe(true);
  for (const [file, reason] of [
    ["missing.json", `has no "masked_self_attn_output"`],
    ["misshapen.json", "shape [3,8], expected [1,3,8]"],
    ["nan.json", "1 value is not finite (NaN at [0,1,2])"],
    ["non_numeric.json", `not a number at [0,0,0]: a string "0.1"`],
  ] as const) {
    const r = xt("check", "all", "--against", join(DIR, "broken", file));
    expect(r.code).toBe(1);
    expect(r.out).toContain(reason);
    expect(r.out).toMatch(/FAIL {2}/);
    expect(r.err).not.toContain("    at "); // no stack trace
  }
});

test("--seed without --against is not graded: graded false, pass null everywhere, no thresholds (issue 11 #6)", () => {
  const j = xt("check", "all", "--seed", "7", "--json");
  expect(j.code).toBe(0);
  const doc = JSON.parse(j.out);
  expect(doc.graded).toBe(false);
  expect(doc.pass).toBeNull();
  for (const c of doc.checks as JsonCheck[]) {
    expect(c.graded).toBe(false);
    expect(c.pass).toBeNull();
    for (const o of c.outputs) {
      expect(o.pass).toBeNull();
      expect(o).not.toHaveProperty("threshold");
      expect(o).not.toHaveProperty("relError");
    }
  }
  const t = xt("check", "all", "--seed", "7");
  expect(t.code).toBe(0);
  expect(t.out).toContain("not graded");
  expect(t.out).not.toContain("threshold");
  expect(t.out).not.toContain("torch floor");
  expect(t.out).not.toContain("PASS");
});

test("a seed where the reference itself is NaN is refused, naming seeds that work", () => {
  const r = xt("check", "all", "--seed", "8", "--against", join(DIR, `torch_seed${HIDDEN}.json`));
  expect(r.code).toBe(2);
  expect(r.err).toContain("seed 8 cannot grade decoder/output");
  expect(r.err).toContain("e.g. 9, 10, 12");
});

test("an unknown check name gets 'did you mean' and exit 2", () => {
  const r = xt("check", "atention");
  expect(r.code).toBe(2);
  expect(r.err).toContain("unknown check 'atention' (did you mean 'attention'?)");
  const far = xt("check", "zzz");
  expect(far.code).toBe(2);
  expect(far.err).not.toContain("did you mean");
});

const parseXml = (file: string) => {
  const xml = readFileSync(file, "utf8");
  expect(XMLValidator.validate(xml)).toBe(true);
  return new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => ["testsuite", "testcase"].includes(name) }).parse(xml);
};

test("--junit: valid JUnit XML, one test case per output, failures where they belong", () => {
  const file = join(tmp, "checks.xml");
  const r = xt("check", "all", "--against", join(DIR, "wrong", "pe_sin_cos_swapped.seed231.json"), "--junit", file);
  expect(r.code).toBe(1);
  const doc = parseXml(file);
  const suites = doc.testsuites.testsuite as { name: string; testcase: { name: string; failure?: { message: string } }[] }[];
  const cases = suites.flatMap((s) => s.testcase.map((c) => ({ suite: s.name, ...c })));
  expect(cases.length).toBe(9);
  expect(Number(doc.testsuites.tests)).toBe(9);
  const failed = cases.filter((c) => c.failure).map((c) => `${c.suite}/${c.name}`);
  // The PE table feeds the PE check and both whole models that use it.
  expect(failed).toEqual(["xt.check.pe/pe_output", "xt.check.captioning/scores", "xt.check.vit/scores"]);
  expect(Number(doc.testsuites.failures)).toBe(3);
  const msg = cases.find((c) => c.name === "pe_output")!.failure!.message;
  expect(msg).toMatch(/^rel error \d\.\d\de[+-]\d+ > threshold 4\.20e-3 \(seed 231/);

  const own = join(tmp, "own.xml");
  expect(xt("check", "all", "--junit", own).code).toBe(0);
  const ok = parseXml(own);
  expect(Number(ok.testsuites.failures)).toBe(0);
  expect(Number(ok.testsuites.tests)).toBe(9);

  const ungraded = join(tmp, "ungraded.xml");
  expect(xt("check", "pe", "--seed", "7", "--junit", ungraded).code).toBe(0);
  expect(Number(parseXml(ungraded).testsuites.skipped)).toBe(1);
});

test("--gradescope: Gradescope's results.json schema, one test per check, scores that add up; --weights", () => {
  const file = join(tmp, "results.json");
  const r = xt("check", "all", "--against", join(DIR, "broken", "missing.json"), "--gradescope", file);
  expect(r.code).toBe(1);
  const doc = JSON.parse(readFileSync(file, "utf8"));
  expect(Object.keys(doc).sort()).toEqual(["execution_time", "output", "score", "tests"]);
  expect(doc.tests.length).toBe(7);
  for (const t of doc.tests) {
    expect(Object.keys(t).sort()).toEqual(["max_score", "name", "number", "output", "score", "status"]);
    expect(["passed", "failed"]).toContain(t.status);
    expect(t.score).toBeLessThanOrEqual(t.max_score);
  }
  const sum = doc.tests.reduce((s: number, t: { score: number }) => s + t.score, 0);
  expect(doc.score).toBeCloseTo(sum, 9);
  // Equal weights: 1 per check; attention lost one of three outputs, vit is missing.
  expect(doc.tests.map((t: { score: number }) => t.score)).toEqual([0.666667, 1, 1, 1, 1, 1, 0]);
  expect(doc.tests[0].output).toContain(`FAIL  masked_self_attn_output: missing:`);

  const weights = join(tmp, "weights.json");
  writeFileSync(weights, JSON.stringify({ attention: 30, pe: 10, decoder: 10, captioning: 15, patch: 10, encoder: 10, vit: 15 }));
  expect(xt("check", "all", "--against", join(DIR, "broken", "missing.json"), "--gradescope", file, "--weights", weights).code).toBe(1);
  const w = JSON.parse(readFileSync(file, "utf8"));
  expect(w.tests.map((t: { max_score: number }) => t.max_score)).toEqual([30, 10, 10, 15, 10, 10, 15]);
  expect(w.score).toBe(20 + 10 + 10 + 15 + 10 + 10);

  writeFileSync(weights, JSON.stringify({ atention: 3 }));
  const bad = xt("check", "all", "--gradescope", file, "--weights", weights);
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("names 'atention', not a check (did you mean 'attention'?)");
  writeFileSync(weights, JSON.stringify({ attention: 3 }));
  const partial = xt("check", "all", "--gradescope", file, "--weights", weights);
  expect(partial.code).toBe(2);
  expect(partial.err).toContain("gives no points for pe, decoder, captioning, patch, encoder, vit");
  expect(xt("check", "all", "--weights", weights).code).toBe(2);
});

test("--dump writes the --against format and grades back to the same numbers", () => {
  const dump = join(tmp, "dump.json");
  expect(xt("check", "all", "--seed", String(HIDDEN), "--dump", dump).code).toBe(0);
  const d = JSON.parse(readFileSync(dump, "utf8"));
  expect(d.seed).toBe(HIDDEN);
  expect(Object.keys(d.attention)).toEqual(["self_attn_output", "masked_self_attn_output", "attn_output"]);
  expect(d.pe.pe_output.length).toBe(1);
  expect(d.pe.pe_output[0].length).toBe(2);
  expect(d.pe.pe_output[0][0].length).toBe(6);
  const r = xt("check", "all", "--seed", String(HIDDEN), "--against", dump, "--json");
  expect(r.code).toBe(0);
  for (const c of JSON.parse(r.out).checks as JsonCheck[]) for (const o of c.outputs) expect(o.relError).toBe(0);
});
