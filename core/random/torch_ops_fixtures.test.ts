/**
 * Every op of fixtures/random/torch_ops.json (PyTorch 1.13 CPU, AVX2): seeds 0, 1, 231, 12345,
 * sizes 1..1000, each right after manual_seed, plus the next word afterwards (stream consumption).
 */
import { describe, expect, test } from "bun:test";
import { TorchGenerator } from "./torch_generator.ts";
import { compareArray, compareMask, loadFixture, type EncodedArray, type EncodedMask } from "./test_fixtures.ts";

interface OpCase {
  op: string;
  seed: number;
  n: number;
  out: EncodedArray & EncodedMask;
  next: number;
}

const { cases } = loadFixture<{ cases: OpCase[] }>("torch_ops.json");

/** Run one fixture op on a freshly seeded generator. Returns the errors and the generator afterwards. */
function runOp(c: OpCase): { errs: string[]; g: TorchGenerator } {
  const g = new TorchGenerator({ seed: c.seed });
  const n = c.n;
  let errs: string[];
  switch (c.op) {
    case "rand_f32": {
      const a = new Float32Array(n);
      g.fillUniform(a, 0, 1);
      errs = compareArray(a, c.out);
      break;
    }
    case "rand_f64": {
      const a = new Float64Array(n);
      g.fillUniform(a, 0, 1);
      errs = compareArray(a, c.out);
      break;
    }
    case "randn_f32": {
      const a = new Float32Array(n);
      g.fillNormal(a, 0, 1);
      errs = compareArray(a, c.out);
      break;
    }
    case "randn_f64": {
      const a = new Float64Array(n);
      g.fillNormal(a, 0, 1);
      // n >= 16 runs libm log/cos/sin: allow 1 ulp of float64 there (bit-exact below 16).
      errs = compareArray(a, c.out, n >= 16 ? 1 : 0);
      break;
    }
    case "uniform_f32": {
      const a = new Float32Array(n);
      g.fillUniform(a, -0.3, 0.3);
      errs = compareArray(a, c.out);
      break;
    }
    case "uniform_f64": {
      const a = new Float64Array(n);
      g.fillUniform(a, -0.3, 0.3);
      errs = compareArray(a, c.out);
      break;
    }
    case "normal_f32_0_0.02": {
      const a = new Float32Array(n);
      g.fillNormal(a, 0, 0.02);
      errs = compareArray(a, c.out);
      break;
    }
    case "normal_f32_0.5_2": {
      const a = new Float32Array(n);
      g.fillNormal(a, 0.5, 2.0);
      errs = compareArray(a, c.out);
      break;
    }
    case "normal_f64_0.5_2": {
      const a = new Float64Array(n);
      g.fillNormal(a, 0.5, 2.0);
      errs = compareArray(a, c.out, n >= 16 ? 1 : 0);
      break;
    }
    case "bernoulli_0.1":
    case "bernoulli_0.5": {
      const a = new Float32Array(n);
      g.fillBernoulli(a, c.op === "bernoulli_0.1" ? 0.1 : 0.5);
      errs = compareMask(a, c.out);
      break;
    }
    case "dropout_0.1":
    case "dropout_0.5": {
      const p = c.op === "dropout_0.1" ? 0.1 : 0.5;
      const m = g.dropoutMask(n, p);
      const scale = Math.fround(1 / Math.fround(1 - p));
      errs = compareMask(m, c.out, scale);
      if (c.out.scale != null && c.out.scale !== scale) errs.push(`scale ${scale} != ${c.out.scale}`);
      break;
    }
    case "randint_0_10":
      errs = compareArray(g.randint(0, 10, n), c.out);
      break;
    case "randint_-3_100003":
      errs = compareArray(g.randint(-3, 100003, n), c.out);
      break;
    case "randperm":
      errs = compareArray(g.randperm(n), c.out);
      break;
    default:
      throw new Error(`unknown fixture op ${c.op}`);
  }
  return { errs, g };
}

describe("torch ops vs PyTorch fixtures", () => {
  const ops = [...new Set(cases.map((c) => c.op))];
  test("fixture covers the expected ops, seeds and sizes", () => {
    expect(ops.length).toBe(16);
    expect(new Set(cases.map((c) => c.seed))).toEqual(new Set([0, 1, 231, 12345]));
    expect(new Set(cases.map((c) => c.n))).toEqual(new Set([1, 15, 16, 17, 31, 33, 1000]));
  });
  for (const op of ops) {
    test(op, () => {
      const failures: string[] = [];
      for (const c of cases.filter((x) => x.op === op)) {
        const { errs, g } = runOp(c);
        // The next word after the op (low 31 bits) proves the op consumed exactly the right draws.
        const next = g.random() % 2 ** 31;
        if (next !== c.next) errs.push(`next word ${next} != ${c.next}`);
        if (errs.length) failures.push(`seed ${c.seed} n ${c.n}: ${errs.slice(0, 3).join("; ")}`);
      }
      expect(failures).toEqual([]);
    });
  }
});
