/**
 * Bit-exact port of PyTorch's CPU generator (at::CPUGeneratorImpl) and the CPU distribution
 * kernels that draw from it (aten/src/ATen/native/cpu/DistributionTemplates.h and friends),
 * as PyTorch 1.13-2.x on Linux x86-64 (AVX2) computes them. See rng.md sections 1-6 (/work/shared/reference).
 *
 * Hot paths (fillUniform, fillNormal, fillBernoulli, dropoutMask) use no BigInt and allocate
 * nothing per element.
 */
import { MT19937, lowU32, type MT19937State } from "./mt19937.ts";
import { fmaf } from "./fmaf.ts";
import { fma64 } from "./fma64.ts";
import { logPs, sincosPs, type SinCos } from "./avx_mathfun.ts";

/**
 * An optional bulk kernel for the default bernoulli_ path (the native CPU library registers one):
 * draws out.length elements from the MT19937 stream (key advanced in place from pos), writing
 * `on` where u < p and 0 elsewhere, and returns the new position — or null to fall back.
 */
export type BulkBernoulli = (key: Uint32Array, pos: number, p: number, on: number, out: Float32Array) => number | null;
let bulkBernoulli: BulkBernoulli | null = null;

export function setBulkBernoulli(fn: BulkBernoulli | null): void {
  bulkBernoulli = fn;
}

/**
 * Optional bulk kernels for uniform_ and normal_ on float32 (the native CPU library registers
 * them): each draws out.length elements from the MT19937 stream (key advanced in place from pos)
 * exactly as fillUniform / normalFillAvx2 below do, and returns the new position — or null to
 * fall back. uniform's mode: 0 the uniform itself (from 0, range 1), 1 u·range + from fused,
 * 2 rounded twice.
 */
export interface BulkFills {
  uniform(key: Uint32Array, pos: number, from: number, range: number, mode: 0 | 1 | 2, out: Float32Array): number | null;
  normal(key: Uint32Array, pos: number, mean: number, std: number, out: Float32Array): number | null;
}
let bulkFills: BulkFills | null = null;

export function setBulkFills(fills: BulkFills | null): void {
  bulkFills = fills;
}

/** c10 default_rng_seed_val: what torch.Generator() and the start-up default generator use. */
export const DEFAULT_TORCH_SEED = 67280421310721n;

const TWO_POW_M24 = 2 ** -24;
const TWO_POW_M53 = 2 ** -53;
const TWO_POW_32 = 4294967296;
const TWO_PI_F = Math.fround(2 * Math.PI); // 6.2831854820251465f, the AVX2 kernel's two_pi
const TWO_PI = 2 * Math.PI; // `2.0f * c10::pi<double>` in the double kernels: exact in double
const MCG31_M = 2147483647;
/** randperm's "small n" bound (UINT32_MAX / 20); larger n takes a different algorithm in 2.x. */
const RANDPERM_MAX = 214748364;

export interface TorchGeneratorOptions {
  /** Initial seed; default 67280421310721 like torch.Generator(). */
  seed?: number | bigint;
  /**
   * uniform_ computes `x*(to-from)+from`. true (default): one fused rounding, as the Linux x86-64
   * AVX2 build does (settled against PyTorch 1.13 here). false: mul then add, two roundings.
   */
  uniformFma?: boolean;
  /** Use the MKL bernoulli_(p) path (MCG31 stream seeded by one 32-bit draw), rng.md 4c. Default false. */
  bernoulliMkl?: boolean;
}

/** JSON-serialisable generator state (torch's get_state covers the same: engine, seed, normal caches). */
export interface TorchGeneratorState {
  mt: MT19937State;
  /** The full 64-bit seed as a decimal string (only kept for initialSeed()). */
  seed: string;
  nextDoubleNormal: number | null;
  nextFloatNormal: number | null;
}

/** Caller-owned output for random64Into: [hi, lo] words, high word drawn first. */
export type U64Pair = [number, number];

export class TorchGenerator {
  private readonly mt: MT19937;
  private seedValue: bigint = DEFAULT_TORCH_SEED;
  /** Second Box–Muller sample of the scalar double normal path (std::optional<double> in torch). */
  private nextDoubleNormal: number | null = null;
  /** Only normal_distribution<float> uses this; no CPU kernel does, but it is part of the state. */
  private nextFloatNormal: number | null = null;
  uniformFma: boolean;
  bernoulliMkl: boolean;
  /** Scratch for sincosPs so fillNormal does not allocate. */
  private readonly sc: SinCos = { sin: 0, cos: 0 };

  constructor(options: TorchGeneratorOptions = {}) {
    this.mt = new MT19937(0);
    this.uniformFma = options.uniformFma ?? true;
    this.bernoulliMkl = options.bernoulliMkl ?? false;
    this.manualSeed(options.seed ?? DEFAULT_TORCH_SEED);
  }

  /** torch.manual_seed / Generator.manual_seed: MT seeded with the low 32 bits; both normal caches cleared. */
  manualSeed(seed: number | bigint): this {
    if (typeof seed === "number" && !Number.isInteger(seed)) throw new TypeError(`seed must be an integer, got ${seed}`);
    this.seedValue = BigInt.asUintN(64, BigInt(seed));
    this.nextDoubleNormal = null;
    this.nextFloatNormal = null;
    this.mt.seed(lowU32(seed));
    return this;
  }

  /** The seed last given to manualSeed, as the uint64 torch stores. */
  initialSeed(): bigint {
    return this.seedValue;
  }

  // ---------------------------------------------------------------- raw draws

  /** One 32-bit word (CPUGeneratorImpl::random). */
  random(): number {
    return this.mt.nextU32();
  }

  /** CPUGeneratorImpl::random64: (first draw << 32) | second draw. */
  random64(): bigint {
    const hi = this.mt.nextU32();
    const lo = this.mt.nextU32();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** random64 without BigInt: writes [hi, lo] into `out`. */
  random64Into(out: U64Pair): U64Pair {
    out[0] = this.mt.nextU32();
    out[1] = this.mt.nextU32();
    return out;
  }

  /** uniform_real_distribution<double>(0,1): (random64 & (2^53-1)) * 2^-53. Exact in a double. */
  uniformF64(): number {
    const hi = this.mt.nextU32();
    const lo = this.mt.nextU32();
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) * TWO_POW_M53;
  }

  /** uniform_real_distribution<float>(0,1): (random & 0xFFFFFF) * 2^-24. Exact in float32. */
  uniformF32(): number {
    return (this.mt.nextU32() & 0xffffff) * TWO_POW_M24;
  }

  // ---------------------------------------------------------------- uniform_

  /** tensor.uniform_(from, to), elements in memory order, one draw each (random for f32, random64 for f64). */
  fillUniform(out: Float32Array | Float64Array, from: number, to: number): void {
    if (!(from <= to)) throw new RangeError(`uniform_ expects to return a [from, to) range, but found from=${from} > to=${to}`);
    const n = out.length;
    const mt = this.mt;
    if (out instanceof Float32Array) {
      // from/to are static_cast<float>(double); (to - from) is a float op.
      const lo = Math.fround(from);
      const range = Math.fround(Math.fround(to) - lo);
      const mode = lo === 0 && range === 1 ? 0 : this.uniformFma ? 1 : 2;
      if (bulkFills && n > 0 && mt.drawInPlace((key, pos) => bulkFills!.uniform(key, pos, lo, range, mode, out))) return;
      if (lo === 0 && range === 1) {
        for (let i = 0; i < n; i++) out[i] = (mt.nextU32() & 0xffffff) * TWO_POW_M24;
      } else if (this.uniformFma) {
        for (let i = 0; i < n; i++) out[i] = fmaf((mt.nextU32() & 0xffffff) * TWO_POW_M24, range, lo);
      } else {
        for (let i = 0; i < n; i++) {
          out[i] = Math.fround(Math.fround((mt.nextU32() & 0xffffff) * TWO_POW_M24 * range) + lo);
        }
      }
    } else {
      const range = to - from;
      const fused = this.uniformFma;
      for (let i = 0; i < n; i++) {
        const hi = mt.nextU32();
        const x = ((hi & 0x1fffff) * TWO_POW_32 + mt.nextU32()) * TWO_POW_M53;
        out[i] = from === 0 && range === 1 ? x : fused ? fma64(x, range, from) : x * range + from;
      }
    }
  }

  // ---------------------------------------------------------------- normal_

  /**
   * tensor.normal_(mean, std) on a contiguous tensor (normal_kernel):
   *  - float32, n >= 16: normal_fill_AVX2 (Cephes log/sincos with FMAs, tail redraw);
   *  - float64, n >= 16: normal_fill<double> (libm log/cos/sin, tail redraw);
   *  - n < 16: serial normal_distribution<double> with the cached second sample.
   */
  fillNormal(out: Float32Array | Float64Array, mean: number, std: number): void {
    if (!(std >= 0)) throw new RangeError(`normal expects std >= 0.0, but found std ${std}`);
    const n = out.length;
    if (n >= 16) {
      if (out instanceof Float32Array) this.normalFillAvx2(out, Math.fround(mean), Math.fround(std));
      else this.normalFill64(out, mean, std);
      return;
    }
    if (out instanceof Float32Array) {
      for (let i = 0; i < n; i++) out[i] = Math.fround(this.normalDouble(mean, std));
    } else {
      for (let i = 0; i < n; i++) out[i] = this.normalDouble(mean, std);
    }
  }

  /** at::normal_distribution<double>: one Box–Muller pair per two calls, the sin half cached. */
  normalDouble(mean: number, std: number): number {
    let v: number;
    const cached = this.nextDoubleNormal;
    if (cached !== null) {
      v = cached;
      this.nextDoubleNormal = null;
    } else {
      const u1 = this.uniformF64();
      const u2 = this.uniformF64();
      // 1 - u2 is exact, so log(1-u2) and log1p(-u2) see the same argument.
      const r = Math.sqrt(-2 * Math.log(1 - u2));
      const theta = TWO_PI * u1;
      this.nextDoubleNormal = r * Math.sin(theta);
      v = r * Math.cos(theta);
    }
    // transformation::normal: v*std + mean, contracted to one fma by the compiler.
    return std === 1 && mean === 0 ? v : fma64(v, std, mean);
  }

  /** normal_fill_AVX2: all uniforms first, 16-element blocks, last 16 redrawn when n % 16 != 0. */
  private normalFillAvx2(data: Float32Array, meanF: number, stdF: number): void {
    const n = data.length;
    const mt = this.mt;
    if (bulkFills && mt.drawInPlace((key, pos) => bulkFills!.normal(key, pos, meanF, stdF, data))) return;
    for (let i = 0; i < n; i++) data[i] = (mt.nextU32() & 0xffffff) * TWO_POW_M24;
    for (let i = 0; i + 16 <= n; i += 16) this.fill16Avx2(data, i, meanF, stdF);
    if (n % 16 !== 0) {
      const o = n - 16;
      for (let j = 0; j < 16; j++) data[o + j] = (mt.nextU32() & 0xffffff) * TWO_POW_M24;
      this.fill16Avx2(data, o, meanF, stdF);
    }
  }

  /** normal_fill_16_AVX2, lane by lane: lanes j and j+8 form one Box–Muller pair. */
  private fill16Avx2(d: Float32Array, o: number, meanF: number, stdF: number): void {
    const sc = this.sc;
    const fr = Math.fround;
    for (let j = 0; j < 8; j++) {
      const u1 = fr(1 - d[o + j]!);
      const u2 = d[o + j + 8]!;
      const radius = fr(Math.sqrt(fr(-2 * logPs(u1))));
      const theta = fr(TWO_PI_F * u2);
      sincosPs(theta, sc);
      // _mm256_fmadd_ps(n, std, mean): one rounding; for std 1, mean 0 this maps -0 to +0.
      d[o + j] = fmaf(fr(radius * sc.cos), stdF, meanF);
      d[o + j + 8] = fmaf(fr(radius * sc.sin), stdF, meanF);
    }
  }

  /** normal_fill<double>: same layout as the AVX2 path but double uniforms and libm log/cos/sin. */
  private normalFill64(data: Float64Array, mean: number, std: number): void {
    const n = data.length;
    for (let i = 0; i < n; i++) data[i] = this.uniformF64();
    for (let i = 0; i + 16 <= n; i += 16) fill16Double(data, i, mean, std);
    if (n % 16 !== 0) {
      const o = n - 16;
      for (let j = 0; j < 16; j++) data[o + j] = this.uniformF64();
      fill16Double(data, o, mean, std);
    }
  }

  // ---------------------------------------------------------------- bernoulli_ / dropout

  /** tensor.bernoulli_(p) with a scalar p, elements in memory order. */
  fillBernoulli(out: Float32Array | Float64Array | Uint8Array, p: number): void {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`bernoulli_ expects p to be in [0, 1], but got p=${p}`);
    const n = out.length;
    if (this.bernoulliMkl) {
      bernoulliMcg31(out, p, this.mt.nextU32());
      return;
    }
    if (out instanceof Float32Array && bulkBernoulli && this.mt.drawInPlace((key, pos) => bulkBernoulli!(key, pos, p, 1, out))) return;
    // Default kernel: one uniform double (random64, 2 words) per element, keep iff u < p.
    const mt = this.mt;
    for (let i = 0; i < n; i++) {
      const hi = mt.nextU32();
      const u = ((hi & 0x1fffff) * TWO_POW_32 + mt.nextU32()) * TWO_POW_M53;
      out[i] = u < p ? 1 : 0;
    }
  }

  /**
   * The multiplier CPU dropout applies (at::native::dropout -> _dropout_impl): 0 or
   * fround(1/fround(1-p)), drawn as noise.bernoulli_(1-p). p == 0 (and n == 0) draw nothing and
   * give ones; p == 1 draws nothing and gives zeros.
   */
  dropoutMask(n: number, p: number): Float32Array {
    return this.dropoutMaskInto(new Float32Array(n), p);
  }

  /** dropoutMask into a caller-owned buffer (no allocation). */
  dropoutMaskInto(out: Float32Array, p: number): Float32Array {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout probability has to be between 0 and 1, but got ${p}`);
    const n = out.length;
    if (p === 0 || n === 0) return out.fill(1);
    if (p === 1) return out.fill(0);
    const q = 1 - p; // a double: bernoulli_ compares against it
    // noise.div_(1-p): the scalar is cast to float, then 1.0f / q_f.
    const scale = Math.fround(1 / Math.fround(q));
    if (!this.bernoulliMkl && bulkBernoulli && this.mt.drawInPlace((key, pos) => bulkBernoulli!(key, pos, q, scale, out))) return out;
    this.fillBernoulli(out, q);
    for (let i = 0; i < n; i++) out[i] = out[i] === 0 ? 0 : scale;
    return out;
  }

  // ---------------------------------------------------------------- integers

  /**
   * torch.randint(low, high, (n,)) = random_(low, high) (random_from_to_kernel): per element
   * low + random() % range (biased, no rejection), or random64() % range when range >= 2^32.
   */
  randint(low: number, high: number, n: number): Int32Array {
    if (!Number.isInteger(low) || !Number.isInteger(high)) throw new TypeError("randint bounds must be integers");
    if (!(low < high)) throw new RangeError(`random_ expects 'from' to be less than 'to', but got from=${low} >= to=${high}`);
    if (low < -2147483648 || high > 2147483648) throw new RangeError("randint: bounds outside int32 (use randintBigInt)");
    const range = high - low;
    const out = new Int32Array(n);
    const mt = this.mt;
    if (range >= TWO_POW_32) {
      // Only range == 2^32 fits int32 bounds: random64 % 2^32 is the low (second) word.
      for (let i = 0; i < n; i++) {
        mt.nextU32();
        out[i] = low + mt.nextU32();
      }
    } else {
      for (let i = 0; i < n; i++) out[i] = low + (mt.nextU32() % range);
    }
    return out;
  }

  /** randint with int64 bounds and results (any range up to 2^64), the same draws as torch's int64 randint. */
  randintBigInt(low: bigint, high: bigint, n: number): BigInt64Array {
    if (!(low < high)) throw new RangeError(`random_ expects 'from' to be less than 'to', but got from=${low} >= to=${high}`);
    const range = BigInt.asUintN(64, high - low);
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const v = range >= 1n << 32n ? this.random64() % range : BigInt(this.mt.nextU32()) % range;
      out[i] = BigInt.asIntN(64, low + v);
    }
    return out;
  }

  /** random_() on an int64 tensor: random64() % 2^63 (the top bit cleared). */
  randomInt64(): bigint {
    const hi = this.mt.nextU32();
    const lo = this.mt.nextU32();
    return (BigInt(hi & 0x7fffffff) << 32n) | BigInt(lo);
  }

  /** torch.randperm(n) on CPU: forward Fisher–Yates, z = random() % (n - i), n-1 draws. */
  randperm(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`randperm: n must be a non-negative integer, got ${n}`);
    if (n >= RANDPERM_MAX) throw new RangeError(`randperm: n >= ${RANDPERM_MAX} uses a different algorithm (not ported)`);
    const r = new Int32Array(n);
    for (let i = 0; i < n; i++) r[i] = i;
    const mt = this.mt;
    for (let i = 0; i < n - 1; i++) {
      const z = mt.nextU32() % (n - i);
      const sav = r[i]!;
      r[i] = r[i + z]!;
      r[i + z] = sav;
    }
    return r;
  }

  // ---------------------------------------------------------------- state

  getState(): TorchGeneratorState {
    return {
      mt: this.mt.getState(),
      seed: this.seedValue.toString(),
      nextDoubleNormal: this.nextDoubleNormal,
      nextFloatNormal: this.nextFloatNormal,
    };
  }

  setState(state: TorchGeneratorState): void {
    this.mt.setState(state.mt);
    this.seedValue = BigInt.asUintN(64, BigInt(state.seed));
    this.nextDoubleNormal = state.nextDoubleNormal ?? null;
    this.nextFloatNormal = state.nextFloatNormal ?? null;
  }

  /** An independent copy: same stream position, caches and options (torch Generator.clone_state). */
  clone(): TorchGenerator {
    const g = new TorchGenerator({ uniformFma: this.uniformFma, bernoulliMkl: this.bernoulliMkl });
    g.setState(this.getState());
    return g;
  }
}

/** normal_fill_16<double>: u1 = 1 - d[j] in (0,1], radius*cos(theta)*std + mean fused. */
function fill16Double(d: Float64Array, o: number, mean: number, std: number): void {
  const plain = std === 1 && mean === 0;
  for (let j = 0; j < 8; j++) {
    const u1 = 1 - d[o + j]!;
    const u2 = d[o + j + 8]!;
    const radius = Math.sqrt(-2 * Math.log(u1));
    const theta = TWO_PI * u2;
    const c = radius * Math.cos(theta);
    const s = radius * Math.sin(theta);
    d[o + j] = plain ? c : fma64(c, std, mean);
    d[o + j + 8] = plain ? s : fma64(s, std, mean);
  }
}

/**
 * MKL viRngBernoulli (ICDF) on a VSL_BRNG_MCG31 stream seeded with one 32-bit word:
 * x0 = seed mod (2^31-1) (0 -> 1), u_i = x_i / (2^31-1), out = u < p, x_{i+1} = 1132489760 x_i mod (2^31-1).
 * The chunked parallel_for with skip-ahead equals this one sequential stream.
 */
function bernoulliMcg31(out: Float32Array | Float64Array | Uint8Array, p: number, seed: number): void {
  let x = seed % MCG31_M;
  if (x === 0) x = 1;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    out[i] = x / MCG31_M < p ? 1 : 0;
    x = mcg31Next(x);
  }
}

/** 1132489760 * x mod (2^31 - 1) without BigInt: split the multiplier so every product is < 2^53. */
export function mcg31Next(x: number): number {
  // 1132489760 = 17280 * 65536 + 27680; each partial product stays below 2^48, so doubles are exact.
  const hi = (17280 * x) % MCG31_M;
  return (hi * 65536 + 27680 * x) % MCG31_M;
}
