/** Scalar math the CPU kernels need and JavaScript lacks, accurate to double precision. */

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;

/** erf(x) to ~1 ulp of double: a positive-term series below 3, erfc's continued fraction above. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return x > 0 ? 1 : -1;
  if (ax < 3) {
    // erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)); every term is positive.
    const x2 = x * x;
    let term = x;
    let s = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      s += term;
      if (Math.abs(term) < 1e-17 * Math.abs(s)) break;
    }
    return TWO_OVER_SQRT_PI * Math.exp(-x2) * s;
  }
  return x > 0 ? 1 - erfcLarge(ax) : erfcLarge(ax) - 1;
}

/** erfc(x) for x ≥ 3 by Lentz's method on the continued fraction x + (1/2)/(x + 1/(x + (3/2)/…)). */
function erfcLarge(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = x + an * d;
    d = d === 0 ? tiny : d;
    c = x + an / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (INV_SQRT_PI * Math.exp(-x * x)) / f;
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;

/** GELU, exact erf form: x·Φ(x). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x * SQRT1_2));
}

/** d/dx GELU(x) = Φ(x) + x·φ(x). */
export function geluGrad(x: number): number {
  return 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** d/dx erf(x) = 2/√π · e^(−x²). */
export function erfGrad(x: number): number {
  return TWO_OVER_SQRT_PI * Math.exp(-x * x);
}
