import { describe, expect, test } from "bun:test";
import { logPs, sincosPs, type SinCos } from "./avx_mathfun.ts";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function ulps32(a: number, b: number): number {
  f32[0] = a;
  const x = u32[0]! | 0;
  f32[0] = b;
  const y = u32[0]! | 0;
  return Math.abs(x - y);
}

describe("Cephes logPs", () => {
  test("special values", () => {
    expect(logPs(1)).toBe(0);
    expect(Number.isNaN(logPs(0))).toBe(true);
    expect(Number.isNaN(logPs(-1))).toBe(true);
    expect(logPs(0.5)).toBe(Math.fround(Math.log(0.5)));
  });

  test("within 2 float32 ulps of the true log on the randn domain (0, 1]", () => {
    let worst = 0;
    for (let i = 1; i <= 1 << 16; i++) {
      const x = Math.fround(i * 2 ** -16); // the u1 values randn sees are multiples of 2^-24
      const got = logPs(x);
      expect(Math.fround(got)).toBe(got); // a float32 value
      if (x !== 1) worst = Math.max(worst, ulps32(got, Math.fround(Math.log(x))));
    }
    expect(worst).toBeLessThanOrEqual(2);
  });

  test("FMA pattern: some results differ from correctly rounded logf (it is Cephes, not libm)", () => {
    let differ = 0;
    for (let i = 1; i < 1 << 14; i++) {
      const x = Math.fround(1 - i * 2 ** -14);
      if (logPs(x) !== Math.fround(Math.log(x))) differ++;
    }
    expect(differ).toBeGreaterThan(0);
  });
});

describe("Cephes sincosPs", () => {
  test("accurate on [0, 2pi] and exact at 0", () => {
    const sc: SinCos = { sin: 0, cos: 0 };
    sincosPs(0, sc);
    expect(Object.is(sc.sin, 0)).toBe(true);
    expect(sc.cos).toBe(1);
    let worst = 0;
    for (let i = 0; i < 1 << 14; i++) {
      const th = Math.fround(Math.fround(2 * Math.PI) * Math.fround(i * 2 ** -14));
      sincosPs(th, sc);
      const s = Math.sin(th);
      const c = Math.cos(th);
      worst = Math.max(worst, Math.abs(sc.sin - s), Math.abs(sc.cos - c));
      expect(Math.fround(sc.sin)).toBe(sc.sin);
    }
    expect(worst).toBeLessThan(3e-7);
  });

  test("odd/even symmetry of the sign handling", () => {
    const a: SinCos = { sin: 0, cos: 0 };
    const b: SinCos = { sin: 0, cos: 0 };
    for (const x of [0.3, 1.2, 2.5, 3.9, 5.1, 6.2]) {
      sincosPs(Math.fround(x), a);
      sincosPs(Math.fround(-x), b);
      expect(b.sin).toBe(-a.sin);
      expect(b.cos).toBe(a.cos);
    }
  });
});
