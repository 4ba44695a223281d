/**
 * MT19937 (Matsumoto–Nishimura), the engine under both PyTorch's CPU generator
 * (aten/src/ATen/core/MT19937RNGEngine.h) and NumPy's legacy RandomState
 * (numpy/random/src/mt19937). Both seed with Knuth's init_genrand on the low 32
 * bits and produce the identical tempered uint32 stream (rng.md section 1).
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UMASK = 0x80000000;
const LMASK = 0x7fffffff;

/** Plain JSON-serialisable engine state. `pos` = index of the next word; 624 means "twist first". */
export interface MT19937State {
  key: number[];
  pos: number;
}

export class MT19937 {
  /** The 624-word state. Uint32Array so reads come back as unsigned words. */
  private readonly mt = new Uint32Array(N);
  /** Next word to temper; N forces a twist before the next draw (both torch and numpy start there). */
  private pos = N;

  constructor(seed = 5489) {
    this.seed(seed);
  }

  /** init_genrand(seed & 0xffffffff). Accepts any integer number; only the low 32 bits matter. */
  seed(seed: number): void {
    const mt = this.mt;
    let s = lowU32(seed);
    mt[0] = s;
    for (let j = 1; j < N; j++) {
      // Math.imul keeps the 32x32 multiply exact mod 2^32 (a double product would lose bits).
      s = (Math.imul(1812433253, s ^ (s >>> 30)) + j) >>> 0;
      mt[j] = s;
    }
    this.pos = N;
  }

  /** Regenerate all 624 words (the standard twist). */
  private twist(): void {
    const mt = this.mt;
    let kk = 0;
    let y: number;
    for (; kk < N - M; kk++) {
      y = (mt[kk]! & UMASK) | (mt[kk + 1]! & LMASK);
      mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < N - 1; kk++) {
      y = (mt[kk]! & UMASK) | (mt[kk + 1]! & LMASK);
      mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    y = (mt[N - 1]! & UMASK) | (mt[0]! & LMASK);
    mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.pos = 0;
  }

  /** One tempered 32-bit word, as an unsigned number in [0, 2^32). */
  nextU32(): number {
    if (this.pos >= N) this.twist();
    let y = this.mt[this.pos++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  getState(): MT19937State {
    return { key: Array.from(this.mt), pos: this.pos };
  }

  setState(state: MT19937State): void {
    if (!state || !Array.isArray(state.key) || state.key.length !== N) {
      throw new RangeError(`MT19937 state needs a key of ${N} words`);
    }
    const pos = state.pos;
    if (!Number.isInteger(pos) || pos < 0 || pos > N) throw new RangeError(`MT19937 pos must be in 0..${N}, got ${pos}`);
    for (let i = 0; i < N; i++) {
      const w = state.key[i]!;
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new RangeError(`MT19937 key[${i}] is not a uint32`);
      this.mt[i] = w;
    }
    this.pos = pos;
  }

  /**
   * Let a bulk kernel draw `fn` words in place: it gets the live 624-word key and position and
   * returns the new position (a native kernel advances the same stream bit for bit).
   */
  drawInPlace(fn: (key: Uint32Array, pos: number) => number | null): boolean {
    const next = fn(this.mt, this.pos);
    if (next === null) return false;
    this.pos = next;
    return true;
  }

  clone(): MT19937 {
    const c = new MT19937(0);
    c.mt.set(this.mt);
    c.pos = this.pos;
    return c;
  }
}

/** Low 32 bits of an integer seed given as number or bigint (two's complement for negatives). */
export function lowU32(seed: number | bigint): number {
  if (typeof seed === "bigint") return Number(BigInt.asUintN(32, seed));
  if (!Number.isInteger(seed)) throw new TypeError(`seed must be an integer, got ${seed}`);
  if (Number.isSafeInteger(seed)) {
    // % keeps the low bits exactly for safe integers; fix up the sign afterwards.
    const r = seed % 4294967296;
    return r < 0 ? r + 4294967296 : r;
  }
  return Number(BigInt.asUintN(32, BigInt(seed)));
}
