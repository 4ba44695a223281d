/**
 * fmaf (float32) and fma64 (float64) against exact BigInt arithmetic. The references here are
 * written independently of the implementations: they round by comparing exact distances to the
 * neighbouring candidates.
 */
import { describe, expect, test } from "bun:test";
import { fmaf } from "./fmaf.ts";
import { fma64, fmaSlow, roundScaledBigInt } from "./fma64.ts";

/** Exact m * 2^k for a finite double (any float32 is one). */
function exact(x: number): [bigint, number] {
  if (!Number.isFinite(x)) throw new Error(`exact(${x})`);
  if (x === 0) return [0n, 0];
  let k = 0;
  let m = Math.abs(x);
  // Scale to an integer by exact power-of-two steps.
  while (!Number.isInteger(m)) {
    m *= 2;
    k--;
  }
  while (m > 2 ** 53) {
    m /= 2;
    k++;
  }
  return [BigInt(x < 0 ? -m : m), k];
}

/** a*b + c exactly as n * 2^k. */
function exactFma(a: number, b: number, c: number): [bigint, number] {
  const [ma, ka] = exact(a);
  const [mb, kb] = exact(b);
  const [mc, kc] = exact(c);
  const kp = ka + kb;
  const k = Math.min(kp, kc);
  return [((ma * mb) << BigInt(kp - k)) + (mc << BigInt(kc - k)), k];
}

/** Compare |n*2^k - cand| exactly; returns the BigInt distance scaled to 2^kk. */
function dist(n: bigint, k: number, cand: number): [bigint, number] {
  const [mc, kc] = exact(cand);
  const kk = Math.min(k, kc);
  const d = (n << BigInt(k - kk)) - (mc << BigInt(kc - kk));
  return [d < 0n ? -d : d, kk];
}

function cmpScaled(a: [bigint, number], b: [bigint, number]): number {
  const kk = Math.min(a[1], b[1]);
  const x = a[0] << BigInt(a[1] - kk);
  const y = b[0] << BigInt(b[1] - kk);
  return x < y ? -1 : x > y ? 1 : 0;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function f32FromBits(b: number): number {
  u32[0] = b >>> 0;
  return f32[0]!;
}
function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}
/** Next float32 toward +inf / -inf (finite inputs). */
function nextUp(x: number): number {
  if (x === 0) return f32FromBits(1);
  const b = f32Bits(x);
  return f32FromBits(x > 0 ? b + 1 : b - 1);
}
function nextDown(x: number): number {
  return -nextUp(-x);
}

/** Reference: correctly rounded float32 of n*2^k (ties to even), by exact nearest-candidate search. */
function refRoundF32(n: bigint, k: number): number {
  if (n === 0n) return 0;
  const approx = Math.fround(Number(n) * 2 ** k); // within a couple of ulps
  const cands = [nextDown(nextDown(approx)), nextDown(approx), approx, nextUp(approx), nextUp(nextUp(approx))];
  let best = cands[0]!;
  let bestD = dist(n, k, best);
  for (const c of cands.slice(1)) {
    const d = dist(n, k, c);
    const cmp = cmpScaled(d, bestD);
    if (cmp < 0 || (cmp === 0 && (f32Bits(c) & 1) === 0)) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** Seeded xorshift so the test is reproducible without depending on the code under test. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** A random float32 with exponent in [lo, hi] and a random sign. */
function randF32(next: () => number, lo: number, hi: number): number {
  const e = lo + (next() % (hi - lo + 1));
  const mant = next() & 0x7fffff;
  const sign = next() & 1 ? 0x80000000 : 0;
  return f32FromBits(sign | ((e + 127) << 23) | mant);
}

describe("fmaf", () => {
  test("the reference itself: double rounding really happens for naive fround(a*b+c)", () => {
    // a*b = 2^-24 - 2^-54, c = 1 + 2^-23: the exact sum is just below the float32 midpoint
    // 1 + 2^-23 + 2^-24, but the double sum rounds onto it and then ties-to-even goes up.
    const a = Math.fround(1 + 2 ** -15);
    const b = Math.fround((1 - 2 ** -15) * 2 ** -24);
    const c = Math.fround(1 + 2 ** -23);
    const naive = Math.fround(a * b + c);
    const [n, k] = exactFma(a, b, c);
    const want = refRoundF32(n, k);
    expect(want).toBe(c);
    expect(naive).toBe(Math.fround(1 + 2 ** -22));
    expect(fmaf(a, b, c)).toBe(want);
  });

  test("random float32 triples of mixed magnitude", () => {
    const next = rng(12345);
    let bad = 0;
    for (let i = 0; i < 20000; i++) {
      const a = randF32(next, -20, 20);
      const b = randF32(next, -20, 20);
      const c = randF32(next, -30, 30);
      const [n, k] = exactFma(a, b, c);
      if (fmaf(a, b, c) !== refRoundF32(n, k)) bad++;
    }
    expect(bad).toBe(0);
  });

  test("constructed near-halfway cases (where one double rounding is wrong)", () => {
    const next = rng(777);
    let naiveWrong = 0;
    let bad = 0;
    for (let i = 0; i < 20000; i++) {
      // c = +-[1, 2) * 2^ec; a*b = j * half-ulp(c) * (1 - u^2 2^-2m): an odd multiple of half an
      // ulp of c, off by a residue below c's double precision.
      const ec = (next() % 40) - 20;
      const c = randF32(next, ec, ec);
      const m = 17 + (next() % 3);
      const u = 1 + (next() % 7);
      const j = 1 + 2 * (next() % 8);
      let a: number;
      let b: number;
      if (next() & 1) {
        a = Math.fround(1 + u * 2 ** -m);
        b = Math.fround(j * (1 - u * 2 ** -m) * 2 ** (ec - 24));
      } else {
        // A looser construction: b rounded from the quotient, residue random.
        a = randF32(next, -1, 0);
        b = Math.fround((j * 2 ** (ec - 24)) / a);
      }
      if (next() & 1) b = -b;
      const [n, k] = exactFma(a, b, c);
      const want = refRoundF32(n, k);
      if (Math.fround(a * b + c) !== want) naiveWrong++;
      if (fmaf(a, b, c) !== want) bad++;
    }
    expect(bad).toBe(0);
    expect(naiveWrong).toBeGreaterThan(1000); // the generator really hits the hard cases
  });

  test("subnormal results, exact ties, zeros and infinities", () => {
    const next = rng(99);
    let bad = 0;
    for (let i = 0; i < 5000; i++) {
      const a = randF32(next, -75, -60);
      const b = randF32(next, -75, -60);
      const c = next() & 1 ? f32FromBits(next() & 0x807fffff) : randF32(next, -126, -120); // subnormal or tiny
      const [n, k] = exactFma(a, b, c);
      const got = fmaf(a, b, c);
      const want = refRoundF32(n, k);
      if (!(got === want)) bad++;
    }
    expect(bad).toBe(0);
    // An exact tie in float32 (no residue) rounds half to even.
    expect(fmaf(1, Math.fround(2 ** -24), 1)).toBe(1);
    expect(fmaf(1, Math.fround(2 ** -24), Math.fround(1 + 2 ** -23))).toBe(Math.fround(1 + 2 ** -22));
    expect(Object.is(fmaf(-0, 1, 0), 0)).toBe(true); // -0*1 + 0 = +0 (randn's -0 -> +0)
    expect(Object.is(fmaf(-0, 1, -0), -0)).toBe(true);
    expect(fmaf(Math.fround(3e38), 2, 0)).toBe(Infinity);
    const fltMax = f32FromBits(0x7f7fffff);
    // a*b lands exactly on the overflow midpoint minus a tiny bit: stays finite.
    const half = Math.fround(2 ** 103);
    expect(fmaf(fltMax, 1, half)).toBe(Infinity); // exact midpoint rounds to even -> 2^128 -> inf
    expect(fmaf(fltMax, 1, Math.fround(2 ** 103 * (1 - 2 ** -23)))).toBe(fltMax);
    expect(Number.isNaN(fmaf(NaN, 1, 0))).toBe(true);
  });
});

describe("fma64", () => {
  test("roundScaledBigInt agrees with Number(bigint) (correctly rounded by the engine)", () => {
    const next = rng(5);
    for (let i = 0; i < 3000; i++) {
      let n = 0n;
      const words = 1 + (next() % 5);
      for (let w = 0; w < words; w++) n = (n << 32n) | BigInt(next());
      if (next() & 1) n = -n;
      expect(roundScaledBigInt(n, 0)).toBe(Number(n));
    }
    expect(roundScaledBigInt(1n, -1074)).toBe(5e-324);
    expect(roundScaledBigInt(1n, -1075)).toBe(0); // exact tie to even (0)
    expect(roundScaledBigInt(3n, -1076)).toBe(5e-324);
  });

  test("known hard cases", () => {
    const e = 2 ** -52;
    // (1+e)^2 - (1+2e) = e^2: lost completely without a fused product.
    expect(fma64(1 + e, 1 + e, -(1 + 2 * e))).toBe(2 ** -104);
    expect((1 + e) * (1 + e) - (1 + 2 * e)).toBe(0);
    expect(fma64(0.1, 10, -1)).toBe(5.551115123125783e-17);
    expect(fma64(2, 3, 4)).toBe(10);
    expect(Object.is(fma64(-0, 1, 0), 0)).toBe(true);
    expect(fma64(1e308, 10, -1e308)).toBe(Infinity); // exact 9e308 overflows
    expect(fma64(1e300, 1e10, -1e310 + 0)).toBe(fmaSlow(1e300, 1e10, -1e310)); // -inf operand
    expect(fma64(2 ** -600, 2 ** -600, 1)).toBe(1); // product underflows; slow path
  });

  test("fast path == exact BigInt path on random and near-tie inputs", () => {
    const next = rng(31337);
    const rnd = () => (next() * 2 ** 21 + (next() >>> 11)) * 2 ** -53; // 53-bit uniform in [0,1)
    let bad = 0;
    for (let i = 0; i < 20000; i++) {
      const a = rnd() * 2 ** ((next() % 20) - 10) * (next() & 1 ? -1 : 1);
      const b = rnd() * 2 ** ((next() % 20) - 10);
      // c either random or chosen to nearly cancel a*b (stress the cancellation branch).
      const c = next() & 1 ? rnd() * 2 ** ((next() % 20) - 10) : -(a * b) * (1 + (next() % 3) * 2 ** -52);
      if (!Object.is(fma64(a, b, c), fmaSlow(a, b, c))) bad++;
    }
    expect(bad).toBe(0);
  });

  test("uniform_ float64 usage: x*(to-from)+from fused", () => {
    // From the PyTorch fixtures: with range 0.6 and from -0.3 about half the elements differ from
    // the unfused result. Here just check fused != plain somewhere, and fused == exact.
    const next = rng(8);
    let differ = 0;
    for (let i = 0; i < 2000; i++) {
      const x = (next() * 2 ** 21 + (next() >>> 11)) * 2 ** -53;
      const f = fma64(x, 0.6, -0.3);
      if (f !== x * 0.6 - 0.3) differ++;
      expect(f).toBe(fmaSlow(x, 0.6, -0.3));
    }
    expect(differ).toBeGreaterThan(100);
  });
});
