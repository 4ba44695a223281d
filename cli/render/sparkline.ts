/**
 * The loss history behind the dashboard's sparkline, and the sparkline itself.
 *
 * `RunHistory` keeps the whole run in a fixed number of buckets: it starts at one step per bucket
 * and, when the buckets are full, merges neighbours pairwise and doubles the bucket width. A push
 * is O(1) amortized (a merge of `capacity` buckets happens once per `capacity/2 × width` pushes),
 * the memory is fixed, and the sparkline always spans the run from its first step.
 */

const BLOCKS = "▁▂▃▄▅▆▇█";

export class RunHistory {
  readonly capacity: number;
  private sums: Float64Array;
  private counts: Float64Array;
  /** Non-finite values per bucket, so a bucket still fills after `width` pushes. */
  private missing: Float64Array;
  /** Steps per bucket: a power of two. */
  private width = 1;
  /** Buckets in use (the last may be partly filled). */
  private used = 0;

  constructor(capacity = 256) {
    if (capacity < 2 || capacity % 2 !== 0) throw new Error(`RunHistory capacity must be even and ≥ 2, got ${capacity}`);
    this.capacity = capacity;
    this.sums = new Float64Array(capacity);
    this.counts = new Float64Array(capacity);
    this.missing = new Float64Array(capacity);
  }

  /** Add one value. Non-finite values (a diverged loss) are kept out of the means. */
  push(x: number): void {
    let i = this.used - 1;
    if (i < 0 || this.counts[i]! + this.missing[i]! >= this.width) {
      if (this.used === this.capacity) this.compact();
      i = this.used++;
      this.sums[i] = 0;
      this.counts[i] = 0;
      this.missing[i] = 0;
    }
    if (Number.isFinite(x)) {
      this.sums[i]! += x;
      this.counts[i]! += 1;
    } else {
      this.missing[i]! += 1;
    }
  }

  private compact(): void {
    const half = this.capacity / 2;
    for (let j = 0; j < half; j++) {
      this.sums[j] = this.sums[2 * j]! + this.sums[2 * j + 1]!;
      this.counts[j] = this.counts[2 * j]! + this.counts[2 * j + 1]!;
      this.missing[j] = this.missing[2 * j]! + this.missing[2 * j + 1]!;
    }
    this.used = half;
    this.width *= 2;
  }

  /** Steps per bucket now. */
  get bucketWidth(): number {
    return this.width;
  }

  get length(): number {
    return this.used;
  }

  /** Bucket means, oldest first (NaN for a bucket that holds only non-finite values). */
  values(): Float64Array {
    const out = new Float64Array(this.used);
    for (let i = 0; i < this.used; i++) out[i] = this.counts[i]! > 0 ? this.sums[i]! / this.counts[i]! : NaN;
    return out;
  }
}

/** Average `values` down to at most `width` points (each output point covers an equal share). */
export function resample(values: ArrayLike<number>, width: number): number[] {
  const n = values.length;
  if (n <= width) return Array.from(values);
  const out: number[] = [];
  for (let k = 0; k < width; k++) {
    const a = Math.floor((k * n) / width);
    const b = Math.floor(((k + 1) * n) / width);
    let s = 0;
    let c = 0;
    for (let i = a; i < b; i++) {
      const v = values[i]!;
      if (Number.isFinite(v)) {
        s += v;
        c++;
      }
    }
    out.push(c > 0 ? s / c : NaN);
  }
  return out;
}

/**
 * A one-line chart of `values` in block characters, scaled from their minimum (▁) to their
 * maximum (█), at most `width` characters. Non-finite values are drawn as a space.
 */
export function sparkline(values: ArrayLike<number>, width: number): string {
  if (width <= 0) return "";
  const pts = resample(values, width);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of pts) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo;
  let s = "";
  for (const v of pts) {
    if (!Number.isFinite(v)) s += " ";
    else if (!(span > 0)) s += BLOCKS[3];
    else s += BLOCKS[Math.min(7, Math.floor(((v - lo) / span) * 8))];
  }
  return s;
}
