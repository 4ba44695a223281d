/**
 * NumPy's legacy np.random.RandomState (numpy/random/mtrand.pyx, _bounded_integers.pyx.in,
 * src/distributions/distributions.c, src/legacy/legacy-distributions.c), whose stream has been
 * frozen since NumPy 1.16/1.17 (rng.md section 8). Its MT19937 is separate from torch's even when
 * both are seeded with the same number.
 */
import { MT19937, type MT19937State } from "./mt19937.ts";

const TWO_POW_32 = 4294967296;

/** JSON-serialisable state, the same content as np.random.get_state(). */
export interface NumpyRandomStateState extends MT19937State {
  hasGauss: boolean;
  gauss: number;
}

export class NumpyRandomState {
  private readonly mt = new MT19937(0);
  private hasGauss = false;
  private gauss = 0;

  /** Without a seed NumPy draws OS entropy; we do the same (not reproducible, like NumPy). */
  constructor(seed?: number) {
    this.seed(seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!);
  }

  /** np.random.seed(s): init_genrand(s) for 0 <= s < 2^32, and the gauss cache reset. */
  seed(s: number): void {
    if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) throw new RangeError(`Seed must be between 0 and 2**32 - 1, got ${s}`);
    this.mt.seed(s);
    this.hasGauss = false;
    this.gauss = 0;
  }

  /** mt19937_next32. */
  next32(): number {
    return this.mt.nextU32();
  }

  /** mt19937_next_double: 27 + 26 bits, (a*2^26 + b) / 2^53 (not torch's 53-bit mask). */
  nextDouble(): number {
    const a = this.mt.nextU32() >>> 5;
    const b = this.mt.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * randint(low, high, size) with the default int64 dtype (high omitted: [0, low)). Legacy always
   * uses masked rejection: 32-bit words when high-1-low fits in 32 bits, else 64-bit (hi word first).
   * Bounds must be safe integers.
   */
  randint(low: number, high: number | undefined, size: number): number[] {
    if (high === undefined) {
      high = low;
      low = 0;
    }
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high)) throw new RangeError("randint bounds must be safe integers");
    if (!(low < high)) throw new RangeError(`low >= high (${low} >= ${high})`);
    const rng = high - 1 - low;
    const out = new Array<number>(size);
    for (let i = 0; i < size; i++) out[i] = low + this.boundedMasked(rng);
    return out;
  }

  /** A value in [0, rng] by masked rejection (random_bounded_uint64_fill, use_masked=True). */
  private boundedMasked(rng: number): number {
    if (rng === 0) return 0; // no draw
    const mt = this.mt;
    if (rng <= 0xffffffff) {
      if (rng === 0xffffffff) return mt.nextU32();
      const mask = genMask32(rng);
      let v: number;
      do v = (mt.nextU32() & mask) >>> 0; while (v > rng);
      return v;
    }
    return this.masked64(rng);
  }

  /** 64-bit masked rejection for ranges above 2^32 (mask < 2^53 here, so doubles stay exact). */
  private masked64(rng: number): number {
    const mask = genMask32(Math.floor(rng / TWO_POW_32)); // rng >= 2^32: the low word of the mask is all ones
    const mt = this.mt;
    let v: number;
    do {
      const hi = (mt.nextU32() & mask) >>> 0;
      const lo = mt.nextU32();
      v = hi * TWO_POW_32 + lo;
    } while (v > rng);
    return v;
  }

  /** random_interval(max): masked rejection on [0, max], 32- or 64-bit words (shuffle/permutation). */
  private randomInterval(max: number): number {
    if (max === 0) return 0;
    if (max <= 0xffffffff) {
      const mask = genMask32(max);
      let v: number;
      do v = (this.mt.nextU32() & mask) >>> 0; while (v > max);
      return v;
    }
    return this.masked64(max);
  }

  /** rand(size) / random_sample: next_double each. */
  rand(size: number): number[] {
    const out = new Array<number>(size);
    for (let i = 0; i < size; i++) out[i] = this.nextDouble();
    return out;
  }

  /** legacy_gauss: polar Box–Muller; the second value is cached across calls until seed()/setState. */
  standardNormal(): number {
    if (this.hasGauss) {
      this.hasGauss = false;
      const g = this.gauss;
      this.gauss = 0;
      return g;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.nextDouble() - 1;
      x2 = 2 * this.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  /** randn(size) / standard_normal. */
  randn(size: number): number[] {
    const out = new Array<number>(size);
    for (let i = 0; i < size; i++) out[i] = this.standardNormal();
    return out;
  }

  /** normal(loc, scale, size): loc + scale * gauss (x86 wheels do not fuse this). */
  normal(loc: number, scale: number, size: number): number[] {
    const out = new Array<number>(size);
    for (let i = 0; i < size; i++) out[i] = loc + scale * this.standardNormal();
    return out;
  }

  /** uniform(low, high, size): low + (high - low) * next_double. */
  uniform(low: number, high: number, size: number): number[] {
    const range = high - low;
    const out = new Array<number>(size);
    for (let i = 0; i < size; i++) out[i] = low + range * this.nextDouble();
    return out;
  }

  /** shuffle(x) in place: for i = n-1 down to 1, swap x[i] with x[random_interval(i)]. */
  shuffle<T extends number[] | Int32Array>(x: T): T {
    for (let i = x.length - 1; i >= 1; i--) {
      const j = this.randomInterval(i);
      const t = x[i]!;
      x[i] = x[j]!;
      x[j] = t;
    }
    return x;
  }

  /** permutation(n) = shuffle(arange(n)). */
  permutation(n: number): number[] {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`permutation: n must be a non-negative integer, got ${n}`);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }

  /**
   * choice(a, size, replace) for an int population without p: replace -> randint(0, a, size);
   * no replace -> permutation(a)[:size] (a full shuffle of all a).
   */
  choice(a: number, size: number, replace = true): number[] {
    if (!Number.isInteger(a) || a < 0) throw new RangeError(`a must be a non-negative integer, got ${a}`);
    if (a === 0 && size > 0) throw new RangeError("a cannot be empty unless no samples are taken");
    if (replace) return size === 0 ? [] : this.randint(0, a, size);
    if (size > a) throw new RangeError("Cannot take a larger sample than population when 'replace=False'");
    return this.permutation(a).slice(0, size);
  }

  getState(): NumpyRandomStateState {
    const s = this.mt.getState();
    return { key: s.key, pos: s.pos, hasGauss: this.hasGauss, gauss: this.gauss };
  }

  setState(state: NumpyRandomStateState): void {
    this.mt.setState({ key: state.key, pos: state.pos });
    this.hasGauss = !!state.hasGauss;
    this.gauss = state.hasGauss ? state.gauss : 0;
  }
}

/** Smallest all-ones mask >= v, for v < 2^32 (gen_mask). */
function genMask32(v: number): number {
  let m = v >>> 0;
  m |= m >>> 1;
  m |= m >>> 2;
  m |= m >>> 4;
  m |= m >>> 8;
  m |= m >>> 16;
  return m >>> 0;
}
