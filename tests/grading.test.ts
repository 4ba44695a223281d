/**
 * Grading outputs made elsewhere (`--against`), with files written by PyTorch
 * (fixtures/gen/gen_grading.py): the reference layers pass at the notebook's seed and at a hidden
 * seed, under every BLAS kernel and every correct rewrite measured; realistic bugs fail; malformed
 * files fail per output with the reason.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHECKS, readSubmission, runChecks, type CheckResult, type Submission } from "../checks/index.ts";
import { hiddenSeedError, hiddenSeedThreshold } from "../checks/hidden_seed.ts";
import { nonFinite, submittedOutput } from "../checks/submission.ts";
import hiddenSeedFile from "../checks/expected/hidden_seed.json";
import measurements from "../fixtures/grading/measurements.json";

const DIR = join(import.meta.dir, "../fixtures/grading");
const HIDDEN = measurements.hiddenSeed;

/** A submission from an in-memory document (the variants files hold many). */
function submissionOf(doc: unknown, name: string): Submission {
  const file = join(tmpdir(), `xt-grading-${process.pid}-${name.replace(/[^a-z0-9]+/gi, "_")}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return readSubmission(file);
}

const failing = (rs: CheckResult[]): string[] => rs.flatMap((r) => r.outputs.filter((o) => o.pass !== true).map((o) => `${r.name}/${o.name}`));

// xt's own reference runs, computed once per seed and reused by the many submissions below.
const gradeAt = (sub: Submission, seed?: number): CheckResult[] => runChecks(CHECKS, { submission: sub, seed });

describe("PyTorch's reference layers pass", () => {
  test("at the notebook's seed, against the notebook's arrays", () => {
    const rs = gradeAt(readSubmission(join(DIR, "torch_seed231.json")));
    expect(failing(rs)).toEqual([]);
    expect(rs.every((r) => r.metric === "notebook" && r.graded)).toBe(true);
  });
  test(`at hidden seed ${HIDDEN}, against xt's own outputs`, () => {
    const rs = gradeAt(readSubmission(join(DIR, `torch_seed${HIDDEN}.json`)), HIDDEN);
    expect(failing(rs)).toEqual([]);
    expect(rs.every((r) => r.metric === "hidden-seed" && r.graded)).toBe(true);
    for (const o of rs.flatMap((r) => r.outputs)) expect(o.pytorchFloor).toBeNull();
  });
  for (const seed of [231, HIDDEN]) {
    const variants = JSON.parse(readFileSync(join(DIR, `variants_seed${seed}.json`), "utf8")) as Record<string, unknown>;
    test(`under every OpenBLAS kernel and correct rewrite at seed ${seed} (${Object.keys(variants).length} variants)`, () => {
      const bad: string[] = [];
      for (const [name, doc] of Object.entries(variants)) {
        const f = failing(gradeAt(submissionOf(doc, name), seed === 231 ? undefined : seed));
        if (f.length) bad.push(`${name}: ${f.join(", ")}`);
      }
      expect(bad).toEqual([]);
    });
  }
});

describe("realistic bugs fail", () => {
  const files = readdirSync(join(DIR, "wrong")).filter((f) => f.endsWith(".json")).sort();
  test("the fixture set is there", () => {
    expect(files.length).toBeGreaterThanOrEqual(18);
  });
  for (const f of files) {
    const seed = Number(/\.seed(\d+)\.json$/.exec(f)![1]);
    test(f, () => {
      const rs = gradeAt(readSubmission(join(DIR, "wrong", f)), seed === 231 ? undefined : seed);
      const bad = failing(rs);
      expect(bad.length).toBeGreaterThan(0);
      // Every failure says by how much (or why) — a number over the threshold, or a reason.
      for (const o of rs.flatMap((r) => r.outputs).filter((o) => !o.pass)) {
        expect(o.reason !== undefined || (o.relError !== null && o.relError > o.threshold!) || Number.isNaN(o.relError)).toBe(true);
      }
    });
  }
  test("each bug lands well above the threshold of the outputs it breaks (measured over 81 seeds)", () => {
    // From measurements.json: the smallest error over every seed of the check that tests the
    // layer the bug is in; these are the margins docs/grading.md quotes.
    const own: Record<string, string> = {
      attn_no_scaling: "attention/self_attn_output", attn_mask_inverted: "attention/masked_self_attn_output",
      attn_no_dropout: "attention/self_attn_output", attn_head_split_wrong: "attention/self_attn_output",
      pe_sin_cos_swapped: "pe/pe_output", encoder_prenorm: "encoder/output", patch_channels_last: "patch/output",
      vit_first_token: "vit/scores", no_dropout_anywhere: "pe/pe_output",
    };
    const bugs = measurements.bugs as unknown as Record<string, Record<string, { min: number }>>;
    for (const [bug, out] of Object.entries(own)) {
      const [check, name] = out.split("/") as [string, string];
      expect(bugs[bug]![out]!.min).toBeGreaterThan(10 * hiddenSeedThreshold(check, name));
    }
  });
});

test("check all catches every bug students write at every measured seed (gen_grading.py's record)", () => {
  const bugs = measurements.bugs as unknown as Record<string, { checkAll: { caughtAtEverySeed: boolean } }>;
  const missed = Object.entries(bugs).filter(([, b]) => !b.checkAll.caughtAtEverySeed).map(([n]) => n);
  // Both change the output by less than BLAS noise, and both are in code the starter gives.
  expect(missed).toEqual(["gelu_tanh_approximation", "layernorm_eps_1e-6"]);
  expect(Object.keys(bugs).length).toBe(23);
});

describe("malformed submissions fail per output, with the reason", () => {
  const grade = (name: string) => {
    const rs = gradeAt(readSubmission(join(DIR, "broken", name)));
    return Object.fromEntries(rs.flatMap((r) => r.outputs.map((o) => [`${r.name}/${o.name}`, o])));
  };
  test("missing outputs and a missing check", () => {
    const o = grade("missing.json");
    expect(o["attention/masked_self_attn_output"]!.pass).toBe(false);
    expect(o["attention/masked_self_attn_output"]!.reason).toContain(`has no "masked_self_attn_output"`);
    expect(o["vit/scores"]!.reason).toContain(`has no "vit"`);
    expect(o["attention/self_attn_output"]!.pass).toBe(true);
  });
  test("misshapen outputs", () => {
    const o = grade("misshapen.json");
    expect(o["attention/self_attn_output"]!.reason).toBe("shape [3,8], expected [1,3,8]");
    expect(o["pe/pe_output"]!.reason).toBe("shape [1,6,2], expected [1,2,6]");
    expect(o["vit/scores"]!.reason).toBe("shape [3,11], expected [3,10]");
    expect(o["decoder/output"]!.pass).toBe(true);
  });
  test("NaN and ±Infinity written by Python's json.dump", () => {
    expect(readFileSync(join(DIR, "broken", "nan.json"), "utf8")).toContain("NaN");
    const o = grade("nan.json");
    expect(o["attention/attn_output"]!.reason).toBe("1 value is not finite (NaN at [0,1,2])");
    expect(o["decoder/output"]!.reason).toBe("1 value is not finite (Infinity at [0,0,0])");
    expect(o["encoder/output"]!.reason).toBe("1 value is not finite (-Infinity at [0,3,11])");
    expect(o["attention/self_attn_output"]!.pass).toBe(true);
  });
  test("values that are not numbers", () => {
    const o = grade("non_numeric.json");
    expect(o["attention/self_attn_output"]!.reason).toBe(`not a number at [0,0,0]: a string "0.1"`);
    expect(o["pe/pe_output"]!.reason).toContain("not a nested array of numbers: it is a string");
    expect(o["decoder/output"]!.reason).toBe("not a number at [0,2,5]: null");
    expect(o["captioning/scores"]!.reason).toBe("not a nested array of numbers: it is an object");
    expect(o["patch/output"]!.reason).toBe("not a number at [1,0,0]: a boolean true");
    expect(o["vit/scores"]!.pass).toBe(true);
  });
  test("ragged rows", () => {
    expect(grade("ragged.json")["encoder/output"]!.reason).toBe("ragged: 11 entries at [0,1], 12 in the first row at that depth");
  });
});

describe("file-level problems fail every output with one reason", () => {
  const reasons = (content: string | null): string[] => {
    const file = join(tmpdir(), `xt-grading-file-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
    if (content !== null) writeFileSync(file, content);
    const rs = gradeAt(readSubmission(file));
    expect(rs.every((r) => r.pass === false)).toBe(true);
    return [...new Set(rs.flatMap((r) => r.outputs.map((o) => o.reason!.replace(file, "FILE"))))];
  };
  test("not found, not JSON, not an object, no seed, another seed", () => {
    expect(reasons(null)).toEqual(["FILE not found"]);
    expect(reasons("{\"seed\": 231, \"pe\": [")[0]).toMatch(/^FILE is not valid JSON \(invalid end of input at 1:/);
    expect(reasons("[1, 2]")).toEqual(["FILE holds an array, not an object of check name → outputs"]);
    expect(reasons("{\"pe\": {}}")).toEqual([`FILE has no "seed" (the seed its outputs were made at)`]);
    expect(reasons("{\"seed\": \"231\"}")).toEqual([`FILE: "seed" is a string "231", not a whole number`]);
    expect(reasons("{\"seed\": 7}")).toEqual(["FILE was written at seed 7, graded at seed 231 (pass --seed 7 to grade it at its own seed)"]);
  });
});

describe("reading a nested array", () => {
  test("shapes, scalars and the first problem", () => {
    expect(submittedOutput([[1, 2, 3], [4, 5, 6]])).toEqual({ shape: [2, 3], values: Float64Array.from([1, 2, 3, 4, 5, 6]) });
    expect(submittedOutput(2.5)).toEqual({ shape: [], values: Float64Array.of(2.5) });
    expect(submittedOutput([])).toEqual({ shape: [0], values: new Float64Array(0) });
    expect(submittedOutput([[1, 2], 3])).toEqual({ problem: "ragged: a number at [1] where the first rows have arrays" });
    expect(submittedOutput([1, [2]])).toEqual({ problem: "ragged: an array at [1] where the first rows have numbers" });
    expect(submittedOutput([[1], ["x"]])).toEqual({ problem: `not a number at [1,0]: a string "x"` });
    expect(nonFinite([1, NaN, Infinity], [3])).toBe("2 values are not finite (NaN at [1], the first)");
    expect(nonFinite([1, 2], [2])).toBeNull();
  });
});

describe("the hidden-seed metric and thresholds", () => {
  test("is the notebook's rel_error with the denominator floored at a fraction of the reference's scale", () => {
    expect(hiddenSeedError([1, 2], [1, 2])).toBe(0);
    // An element near zero: rel_error would be ~1; here it is measured against 1e-3 × max|y| = 1e-3.
    expect(hiddenSeedError([1, 1e-7], [1, -1e-7])).toBeCloseTo(2e-7 / 1e-3, 12);
    expect(hiddenSeedError([1.1, 0], [1, 0])).toBeCloseTo(0.1 / 2.1, 12);
    expect(hiddenSeedError([NaN], [1])).toBeNaN();
  });
  test("every threshold is at least 10x the largest error a correct implementation made, and each output has one", () => {
    for (const c of CHECKS) {
      for (const o of c.expected.outputs) {
        const entry = hiddenSeedFile.outputs.find((e) => e.check === c.name && e.name === o.name)!;
        expect(entry.threshold).toBeGreaterThanOrEqual(10 * entry.correctMax);
      }
    }
    expect(hiddenSeedFile.outputs.length).toBe(9);
  });
});
