import { describe, expect, test } from "bun:test";
import { RunHistory, resample, sparkline } from "./sparkline.ts";

describe("sparkline", () => {
  test("scales min..max onto ▁..█", () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)).toBe("▁▂▃▄▅▆▇█");
    expect(sparkline([7, 0], 8)).toBe("█▁");
  });
  test("flat series, empty, non-finite values", () => {
    expect(sparkline([2, 2, 2], 10)).toBe("▄▄▄");
    expect(sparkline([], 10)).toBe("");
    expect(sparkline([1, NaN, 3], 10)).toBe("▁ █");
    expect(sparkline([1, 2], 0)).toBe("");
  });
  test("resamples to the width by averaging", () => {
    expect(resample([1, 3, 5, 7], 2)).toEqual([2, 6]);
    expect(resample([1, 2], 5)).toEqual([1, 2]);
    expect([...sparkline(Array.from({ length: 1000 }, (_, i) => i), 50)].length).toBe(50);
  });
});

describe("RunHistory", () => {
  test("one step per bucket until full, then pairs merge and the width doubles", () => {
    const h = new RunHistory(4);
    for (const x of [1, 2, 3, 4]) h.push(x);
    expect([...h.values()]).toEqual([1, 2, 3, 4]);
    expect(h.bucketWidth).toBe(1);
    h.push(5);
    expect(h.bucketWidth).toBe(2);
    expect([...h.values()]).toEqual([1.5, 3.5, 5]);
    h.push(6);
    expect([...h.values()]).toEqual([1.5, 3.5, 5.5]);
  });
  test("covers the whole run in fixed memory: the means stay exact", () => {
    const h = new RunHistory(256);
    const n = 100_000;
    let total = 0;
    for (let i = 0; i < n; i++) {
      h.push(i);
      total += i;
    }
    expect(h.length).toBeLessThanOrEqual(256);
    expect(h.length).toBeGreaterThan(128);
    const v = h.values();
    // Buckets hold bucketWidth values each (the last may hold fewer): reconstruct the sum.
    let sum = 0;
    for (let i = 0; i < v.length - 1; i++) sum += v[i]! * h.bucketWidth;
    const lastCount = n - (v.length - 1) * h.bucketWidth;
    sum += v.at(-1)! * lastCount;
    expect(sum).toBeCloseTo(total, -2);
    expect(v[0]).toBe((h.bucketWidth - 1) / 2);
  });
  test("non-finite values fill their bucket but stay out of the mean", () => {
    const h = new RunHistory(4);
    for (const x of [1, NaN, Infinity, 4]) h.push(x);
    const v = [...h.values()];
    expect(v[0]).toBe(1);
    expect(Number.isNaN(v[1]!)).toBe(true);
    expect(v[3]).toBe(4);
    h.push(5);
    expect([...h.values()]).toEqual([1, 4, 5]);
  });
  test("capacity must be even", () => {
    expect(() => new RunHistory(5)).toThrow();
  });
});
