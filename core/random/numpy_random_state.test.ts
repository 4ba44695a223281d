/** NumpyRandomState against rng.md section 10 and fixtures/random/numpy_legacy.json (NumPy 1.24). */
import { describe, expect, test } from "bun:test";
import { NumpyRandomState } from "./numpy_random_state.ts";
import { compareArray, loadFixture, type EncodedArray } from "./test_fixtures.ts";

describe("rng.md vectors (seed 231, one sequence)", () => {
  test("randint, rand, permutation, choice, randn, 2^40 randint", () => {
    const rs = new NumpyRandomState(231);
    expect(rs.randint(0, 10, 8)).toEqual([7, 0, 4, 9, 6, 2, 7, 4]);
    expect(rs.rand(3)).toEqual([0.9034294766039185, 0.03893810541480702, 0.9152225967482464]);
    expect(rs.permutation(10)).toEqual([0, 2, 5, 6, 7, 8, 4, 9, 3, 1]);
    expect(rs.choice(20, 5, false)).toEqual([14, 16, 8, 11, 18]);
    expect(rs.choice(20, 5)).toEqual([15, 5, 17, 11, 5]);
    expect(rs.randn(5)).toEqual([-0.7387903399571644, -1.7040587986414482, -1.1534071533681867, 0.0009593590647447115, 2.712358809948789]);
    expect(rs.randint(0, 2 ** 40, 3)).toEqual([638147934604, 1098960498216, 613320644296]);
  });

  test("same raw words as torch for the same seed, separate state", () => {
    const rs = new NumpyRandomState(231);
    expect([rs.next32(), rs.next32()]).toEqual([3356491351, 2600961200]);
  });
});

interface Stream {
  seed: number;
  steps: { op: string; out: number[] | EncodedArray }[];
  next_u32: number;
}

describe("NumPy legacy streams (fixtures)", () => {
  const { streams } = loadFixture<{ streams: Stream[] }>("numpy_legacy.json");
  for (const st of streams) {
    test(`seed ${st.seed}`, () => {
      const rs = new NumpyRandomState(st.seed);
      const errs: string[] = [];
      for (const s of st.steps) {
        let got: number[];
        switch (s.op) {
          case "randint_0_10_8": got = rs.randint(0, 10, 8); break;
          case "rand_3": got = rs.rand(3); break;
          case "permutation_10": got = rs.permutation(10); break;
          case "choice_20_5_noreplace": got = rs.choice(20, 5, false); break;
          case "choice_20_5": got = rs.choice(20, 5); break;
          case "randn_5": got = rs.randn(5); break;
          case "randint_0_2p40_3": got = rs.randint(0, 2 ** 40, 3); break;
          case "randn_4": got = rs.randn(4); break;
          case "randint_-5_5_6": got = rs.randint(-5, 5, 6); break;
          case "randint_7_none_4": got = rs.randint(7, undefined, 4); break;
          case "randint_0_2p32_3": got = rs.randint(0, 2 ** 32, 3); break;
          case "randint_3_4_2": got = rs.randint(3, 4, 2); break;
          case "randint_0_2p33p5_4": got = rs.randint(0, 2 ** 33 + 5, 4); break;
          case "permutation_33": got = rs.permutation(33); break;
          case "shuffle_list_12": got = rs.shuffle(Array.from({ length: 12 }, (_, i) => 100 + i)); break;
          case "choice_1000_3_noreplace": got = rs.choice(1000, 3, false); break;
          case "rand_1": got = rs.rand(1); break;
          case "randn_1": got = rs.randn(1); break;
          case "normal_1.5_0.5_3": got = rs.normal(1.5, 0.5, 3); break;
          case "uniform_-2_3_3": got = rs.uniform(-2, 3, 3); break;
          case "randn_1000": got = rs.randn(1000); break;
          case "rand_1000": got = rs.rand(1000); break;
          case "randint_0_1000_1000": got = rs.randint(0, 1000, 1000); break;
          default:
            throw new Error(`unknown numpy op ${s.op}`);
        }
        const e = Array.isArray(s.out)
          ? got.length === s.out.length && got.every((v, i) => v === (s.out as number[])[i]) ? [] : [`got ${got.slice(0, 6)} want ${s.out.slice(0, 6)}`]
          : compareArray(got, s.out);
        if (e.length) errs.push(`${s.op}: ${e.slice(0, 3).join("; ")}`);
      }
      expect(errs).toEqual([]);
      expect(rs.next32()).toBe(st.next_u32);
    });
  }
});

describe("state and caches", () => {
  test("the gauss cache survives across calls; seed() clears it", () => {
    const a = new NumpyRandomState(5);
    const b = new NumpyRandomState(5);
    const joined = [...a.randn(3), ...a.randn(3)];
    expect(b.randn(6)).toEqual(joined);
    a.seed(5);
    a.randn(1);
    a.seed(5);
    expect(a.randn(1)).toEqual(new NumpyRandomState(5).randn(1));
  });

  test("getState/setState round-trip through JSON with a pending gauss", () => {
    const rs = new NumpyRandomState(11);
    rs.randn(1);
    const state = JSON.parse(JSON.stringify(rs.getState()));
    expect(state.hasGauss).toBe(true);
    const want = [...rs.randn(3), ...rs.rand(2), ...rs.randint(0, 100, 4)];
    const other = new NumpyRandomState(0);
    other.setState(state);
    expect([...other.randn(3), ...other.rand(2), ...other.randint(0, 100, 4)]).toEqual(want);
  });

  test("shuffle works on Int32Array in place; argument checks", () => {
    const rs = new NumpyRandomState(3);
    const arr = Int32Array.from({ length: 10 }, (_, i) => i);
    rs.shuffle(arr);
    expect(Array.from(arr)).toEqual(new NumpyRandomState(3).permutation(10));
    expect(() => rs.seed(2 ** 32)).toThrow();
    expect(() => rs.randint(3, 3, 1)).toThrow();
    expect(() => rs.choice(3, 4, false)).toThrow();
    expect(rs.randint(3, 4, 3)).toEqual([3, 3, 3]); // range of one value draws nothing
  });
});
