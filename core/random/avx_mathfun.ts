/**
 * One lane of PyTorch's AVX2 Cephes float32 log and sincos (aten/src/ATen/native/cpu/avx_mathfun.h:
 * log256_ps, sincos256_ps), as the shipping Linux x86-64 wheel computes them: gcc contracts
 * several mul+add pairs into FMAs, and randn's float32 output depends on exactly which ones
 * (rng.md section 3a). Every intermediate is float32, so each op is followed by fround.
 */
import { fmaf } from "./fmaf.ts";

const fr = Math.fround;

// Scratch views for float32 bit manipulation; module-level so the hot path never allocates.
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

// log constants (float32, rounded from the decimal literals in avx_mathfun.h).
const MIN_NORM_POS = fr(1.17549435e-38);
const SQRTHF = fr(0.707106781186547524);
const LOG_P0 = fr(7.0376836292e-2);
const LOG_P1 = fr(-1.1514610310e-1);
const LOG_P2 = fr(1.1676998740e-1);
const LOG_P3 = fr(-1.2420140846e-1);
const LOG_P4 = fr(1.4249322787e-1);
const LOG_P5 = fr(-1.6668057665e-1);
const LOG_P6 = fr(2.0000714765e-1);
const LOG_P7 = fr(-2.4999993993e-1);
const LOG_P8 = fr(3.3333331174e-1);
const LOG_Q1 = fr(-2.12194440e-4);
const LOG_Q2 = fr(0.693359375);

/** Cephes logf, one lane of log256_ps. Returns NaN for x <= 0 (the invalid mask), like the SIMD code. */
export function logPs(x: number): number {
  if (!(x > 0)) return NaN; // invalid_mask: x <= 0 (and NaN) -> all-ones bits = NaN
  x = fr(x);
  if (x < MIN_NORM_POS) x = MIN_NORM_POS; // _mm256_max_ps(x, min_norm_pos): no denormals
  f32buf[0] = x;
  const bits = u32buf[0]!;
  let e = fr(((bits >>> 23) - 127) + 1); // exponent as float, +1 (ints this small are exact)
  u32buf[0] = (bits & 0x807fffff) | 0x3f000000; // keep mantissa, force exponent -> [0.5, 1)
  let m = f32buf[0]!;
  // if m < SQRTHF: e -= 1; m = m + m - 1   else m = m - 1
  const mask = m < SQRTHF;
  const t = mask ? m : 0;
  m = fr(m - 1);
  if (mask) e = fr(e - 1);
  m = fr(m + t);
  const z = fr(m * m);
  let y = LOG_P0;
  y = fmaf(y, m, LOG_P1);
  y = fmaf(y, m, LOG_P2);
  y = fmaf(y, m, LOG_P3);
  y = fmaf(y, m, LOG_P4);
  y = fmaf(y, m, LOG_P5);
  y = fmaf(y, m, LOG_P6);
  y = fmaf(y, m, LOG_P7);
  y = fmaf(y, m, LOG_P8);
  y = fr(y * m);
  y = fmaf(y, z, fr(e * LOG_Q1)); // y*z + e*q1: the e*q1 product is rounded first
  y = fmaf(-z, 0.5, y); // y - z*0.5 with one rounding
  m = fr(m + y);
  return fmaf(e, LOG_Q2, m);
}

// sincos constants
const FOPI = fr(1.27323954473516); // 4 / pi
const DP1 = fr(-0.78515625);
const DP2 = fr(-2.4187564849853515625e-4);
const DP3 = fr(-3.77489497744594108e-8);
const SINCOF_P0 = fr(-1.9515295891e-4);
const SINCOF_P1 = fr(8.3321608736e-3);
const SINCOF_P2 = fr(-1.6666654611e-1);
const COSCOF_P0 = fr(2.443315711809948e-5);
const COSCOF_P1 = fr(-1.388731625493765e-3);
const COSCOF_P2 = fr(4.166664568298827e-2);

/** Results of sincosPs, written into a caller-owned object so the hot loop does not allocate. */
export interface SinCos {
  sin: number;
  cos: number;
}

/**
 * Cephes sincosf, one lane of sincos256_ps. Writes sin(x) and cos(x) (float32) into `out`.
 * Valid for |x| up to ~8192 like the original (range reduction is single precision).
 */
export function sincosPs(x: number, out: SinCos): SinCos {
  x = fr(x);
  let signSin = x < 0 || Object.is(x, -0); // sign bit of x
  x = Math.abs(x);
  // cvttps truncates toward zero; then j = (j + 1) & ~1 rounds j up to even.
  let j = Math.trunc(fr(x * FOPI)) | 0;
  j = (j + 1) & ~1;
  const yq = j; // int -> float exact (|j| < 2^24 for supported inputs)
  if (j & 4) signSin = !signSin;
  const poly = (j & 2) === 0; // true: sin uses the sine polynomial
  const signCos = ((~(j - 2)) & 4) !== 0;
  // Extended-precision modular arithmetic: x = ((x - y*DP1) - y*DP2) - y*DP3, contracted.
  x = fmaf(yq, DP1, x);
  x = fmaf(yq, DP2, x);
  x = fmaf(yq, DP3, x);
  const z = fr(x * x);
  // Cosine polynomial on [0, pi/4].
  let yc = fmaf(COSCOF_P0, z, COSCOF_P1);
  yc = fmaf(yc, z, COSCOF_P2);
  yc = fr(yc * z);
  yc = fmaf(yc, z, -fr(z * 0.5)); // y*z - tmp where tmp = z*0.5 is rounded first (fmsub)
  yc = fr(yc + 1);
  // Sine polynomial on [0, pi/4].
  let ys = fmaf(SINCOF_P0, z, SINCOF_P1);
  ys = fmaf(ys, z, SINCOF_P2);
  ys = fr(ys * z);
  ys = fmaf(ys, x, x);
  // The SIMD code blends with and/andnot and then adds +0 pieces: -0 becomes +0 before the sign xor.
  let s = (poly ? ys : yc) + 0;
  let c = (poly ? yc : ys) + 0;
  if (signSin) s = -s;
  if (signCos) c = -c;
  out.sin = s;
  out.cos = c;
  return out;
}
