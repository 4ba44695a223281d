/**
 * Exact float32 fused multiply-add, fmaf(a, b, c) = round_f32(a*b + c) with ONE rounding.
 *
 * PyTorch's AVX2 kernels (uniform_, the Cephes log/sincos of randn, normal_'s final
 * `n*std + mean`) are compiled with FMA contraction, so their float32 results need a true fmaf
 * (rng.md sections 3a, 7, 9).
 *
 * For float32 inputs a*b is exact in a double (24+24 <= 53 bits), so only the double sum
 * s = fl(a*b + c) rounds before the final fround. That double rounding is wrong only when s lands
 * exactly on a float32 midpoint while the exact sum is not on it (musl's fmaf reasoning). Then we
 * pick the float32 neighbour on the side of the TwoSum error term. The midpoint test below works
 * for normal and subnormal float32 results alike.
 *
 * The arguments must already be float32 values (Math.fround'ed); the result is a float32 value.
 */
export function fmaf(a: number, b: number, c: number): number {
  const ab = a * b; // exact
  const s = ab + c;
  const r = Math.fround(s);
  const d = s - r; // exact (Sterbenz: r and s are within a factor 2)
  if (d === 0) return r; // s is already a float32
  if (d - d !== 0) {
    // d is NaN or infinite: s is NaN/infinite, or s overflowed float32 (r = +-Infinity).
    return Math.abs(s) === OVERFLOW_MIDPOINT ? overflowCase(a * b, c, s, r) : r;
  }
  // s is a float32 midpoint iff the point mirrored across s is the other float32 neighbour.
  const t = r + 2 * d;
  if (Math.fround(t) !== t || t === r) return r; // not a midpoint: the single rounding was fine
  // TwoSum: err = (ab + c) - s exactly.
  const bb = s - ab;
  const err = (ab - (s - bb)) + (c - bb);
  if (err === 0) return r; // a true tie: fround already rounded half to even
  // The exact value lies beyond the midpoint towards err: take that neighbour.
  return (err > 0) === (t > r) ? t : r;
}

/** 2^128 - 2^103: halfway between FLT_MAX and 2^128. */
const OVERFLOW_MIDPOINT = 3.4028235677973366e38;

/** Midpoint between FLT_MAX and 2^128 (the overflow threshold). Rare; kept for completeness. */
function overflowCase(ab: number, c: number, s: number, r: number): number {
  const bb = s - ab;
  const err = (ab - (s - bb)) + (c - bb);
  const fltMax = 3.4028234663852886e38;
  // Exactly at the threshold rounds to infinity; strictly inside stays at +-FLT_MAX.
  if (r > 0) return err < 0 ? fltMax : r;
  return err > 0 ? -fltMax : r;
}

/** float32 multiply, a named helper so kernels read like the C they port. */
export const f32 = Math.fround;
