/**
 * Exact float64 fused multiply-add fma(a, b, c) = RN(a*b + c).
 *
 * PyTorch's CPU kernels are compiled with FMA contraction, so double-precision uniform_
 * (`x*(to-from)+from`) and normal_ (`v*std+mean`) round once, not twice (checked against
 * PyTorch 1.13 here: 2000/2000 fused vs ~50% plain). JS has no fma, so:
 *  - fast path: Dekker TwoProduct + TwoSum give a*b + c = s + y + v exactly with r = RN(s + y);
 *    r is the correct answer unless the leftover error sits right at a rounding boundary;
 *  - slow path (rare, or out-of-range operands): exact BigInt arithmetic.
 */

const SPLITTER = 134217729; // 2^27 + 1, Veltkamp split constant

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Little-endian hosts (x86, ARM) keep the sign/exponent in the upper word.
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Spacing between |r| and the next double toward zero (smaller of the two spacings around r). */
function minSpacing(r: number): number {
  f64[0] = r;
  const e = (u32[HI]! >>> 20) & 0x7ff;
  const mantZero = (u32[HI]! & 0xfffff) === 0 && u32[1 - HI] === 0;
  if (e <= 1) return 4.9406564584124654e-324; // subnormal or smallest normal binade
  // ulp above |r| is 2^(e-1075); below a power of two it halves.
  const ulpExp = e - 1075 - (mantZero ? 1 : 0);
  return ulpExp >= -1074 ? Math.pow(2, ulpExp) : 4.9406564584124654e-324;
}

export function fma64(a: number, b: number, c: number): number {
  const p = a * b;
  const ap = Math.abs(p);
  // Dekker's product needs no overflow in the split and no underflow in the error term.
  if (!(ap < 1e300) || (ap < 1e-290 && ap !== 0) || Math.abs(a) > 1e300 || Math.abs(b) > 1e300 || !(Math.abs(c) < 1e300)) {
    return fmaSlow(a, b, c);
  }
  // a or b zero: p + c is exact with IEEE zero-sign rules; a tiny nonzero product underflowed.
  if (p === 0) return a === 0 || b === 0 ? p + c : fmaSlow(a, b, c);
  // TwoProduct: a*b = p + e exactly.
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  // TwoSum(p, c) = s + t2 exactly.
  const s = p + c;
  let bb = s - p;
  const t2 = (p - (s - bb)) + (c - bb);
  // y + v = t2 + e exactly.
  const y = t2 + e;
  bb = y - t2;
  const v = (t2 - (y - bb)) + (e - bb);
  // r + w = s + y exactly, r = RN(s + y).
  const r = s + y;
  bb = r - s;
  const w = (s - (r - bb)) + (y - bb);
  if (v === 0) return r; // exact value is r + w and r = RN(r + w)
  // Exact value r + w + v; r is still RN of it when w + v stays clear of half a spacing.
  if (Math.abs(w) + 2 * Math.abs(v) < 0.5 * minSpacing(r)) return r;
  return fmaSlow(a, b, c);
}

/** Decompose a finite double into m * 2^k with integer m (bigint). */
function decompose(x: number): [bigint, number] {
  if (x === 0) return [0n, 0];
  f64[0] = x;
  const hi = u32[HI]!;
  const lo = u32[1 - HI]!;
  const e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let k: number;
  if (e === 0) {
    k = -1074;
  } else {
    m |= 1n << 52n;
    k = e - 1075;
  }
  return [x < 0 ? -m : m, k];
}

/** Round n * 2^k (exact) to the nearest double, ties to even. */
export function roundScaledBigInt(n: bigint, k: number): number {
  if (n === 0n) return 0;
  const neg = n < 0n;
  let m = neg ? -n : n;
  const len = m.toString(2).length;
  const topExp = len - 1 + k; // exponent of the leading bit
  if (topExp > 1023) return neg ? -Infinity : Infinity;
  // Lowest kept bit: 53 significant bits, but never below 2^-1074 (subnormals).
  const q = Math.max(topExp - 52, -1074);
  const shift = q - k;
  let scale = k;
  if (shift > 0) {
    const sh = BigInt(shift);
    const rem = m & ((1n << sh) - 1n);
    m >>= sh;
    const half = 1n << (sh - 1n);
    if (rem > half || (rem === half && (m & 1n) === 1n)) m += 1n;
    scale = q;
  }
  // m <= 2^53 here; scale by 2^scale in two steps so 2^scale itself never overflows/underflows.
  let r = Number(m);
  const s1 = Math.trunc(scale / 2);
  r = r * Math.pow(2, s1) * Math.pow(2, scale - s1);
  return neg ? -r : r;
}

/** Exact fma through BigInt. Also handles infinities/NaN like IEEE fma. */
export function fmaSlow(a: number, b: number, c: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || !Number.isFinite(c)) return a * b + c;
  const [ma, ka] = decompose(a);
  const [mb, kb] = decompose(b);
  const [mc, kc] = decompose(c);
  const mp = ma * mb;
  const kp = ka + kb;
  if (mp === 0n) return a * b + c;
  const k = Math.min(kp, kc);
  const n = (mp << BigInt(kp - k)) + (mc << BigInt(kc - k));
  if (n === 0n) return a * b + c; // exact zero: a*b == -c exactly, so this sum is exact and signed right
  return roundScaledBigInt(n, k);
}
