/**
 * Row stores: a 2-D table (captions, image indices, features) handed out by rows. `ArrayRows`
 * holds a table in memory; `FileRows` reads an HDF5 dataset's rows on demand, in place, and
 * keeps each row once read, so a process holds exactly the rows it used (50 training images'
 * features out of 82,783, the first 1,000 validation captions, ...) and never a whole file.
 */
import { DataError } from "../errors.ts";
import type { H5Array, H5Kind, Hdf5File, SpanView } from "./h5.ts";

type RowArray = Int32Array | Float32Array;

export interface Rows<A extends RowArray> {
  readonly rows: number;
  readonly cols: number;
  /** The given rows, in that order, as one `idxs.length × cols` array (reading any not yet read). */
  gather(idxs: ArrayLike<number>): A;
  /** Rows held in memory. */
  readonly residentRows: number;
}

function checkIndex(rows: number, idxs: ArrayLike<number>): void {
  for (let i = 0; i < idxs.length; i++) {
    const r = idxs[i]!;
    if (!Number.isInteger(r) || r < 0 || r >= rows) throw new RangeError(`row ${r} is outside [0, ${rows})`);
  }
}

/** A table held in memory (rows × cols, row-major). */
export class ArrayRows<A extends RowArray> implements Rows<A> {
  readonly rows: number;
  constructor(readonly data: A, readonly cols: number) {
    if (cols <= 0 || data.length % cols !== 0) throw new RangeError(`${data.length} values are not rows of ${cols}`);
    this.rows = data.length / cols;
  }

  get residentRows(): number {
    return this.rows;
  }

  gather(idxs: ArrayLike<number>): A {
    checkIndex(this.rows, idxs);
    const c = this.cols;
    const out = new (this.data.constructor as new (n: number) => A)(idxs.length * c);
    for (let i = 0; i < idxs.length; i++) copyValues(this.data, idxs[i]! * c, out, i * c, c);
    return out;
  }
}

/** Copies n values from a span as read (any element type) into an int32 or float32 block. */
function copyRows(src: SpanView, from: number, dst: Int32Array | Float32Array, at: number, n: number, file: string, key: string, rowOf: (i: number) => number): void {
  if ((dst instanceof Float32Array && src instanceof Float32Array) || (dst instanceof Int32Array && src instanceof Int32Array)) {
    dst.set(src.subarray(from, from + n), at);
    return;
  }
  for (let i = 0; i < n; i++) {
    const x = Number(src[from + i]!);
    if (dst instanceof Int32Array && (x < -2147483648 || x > 2147483647)) {
      throw new DataError(file, `dataset '${key}' value ${x} in row ${rowOf(i)} does not fit in int32`);
    }
    dst[at + i] = x;
  }
}

/** For messages: the row of value i of a run of rows that starts at row r0, c values a row. */
function rowOfValue(c: number, r0: number): (i: number) => number {
  return (i) => r0 + Math.floor(i / c);
}

/** The rows of `idxs` not read yet (slot -1), each once, in ascending order. */
function missingRows(slot: Int32Array, idxs: ArrayLike<number>): Int32Array {
  const want = new Uint8Array(slot.length);
  let n = 0;
  for (let i = 0; i < idxs.length; i++) {
    const r = idxs[i]!;
    if (slot[r] === -1 && want[r] === 0) {
      want[r] = 1;
      n++;
    }
  }
  const out = new Int32Array(n);
  if (n === 0) return out;
  for (let r = 0, k = 0; k < n; r++) if (want[r] === 1) out[k++] = r;
  return out;
}

/** from, from+1, ..., to-1 as row indices. */
export function rowRange(from: number, to: number): Int32Array {
  const out = new Int32Array(Math.max(0, to - from));
  for (let i = 0; i < out.length; i++) out[i] = from + i;
  return out;
}

/** n values from src[from] to dst[at]: a loop for short rows (no subarray object per row). */
function copyValues<A extends RowArray>(src: A, from: number, dst: A, at: number, n: number): void {
  if (n >= 256) {
    dst.set(src.subarray(from, from + n), at);
    return;
  }
  for (let t = 0; t < n; t++) dst[at + t] = src[from + t]!;
}

export interface FileRowsLimits {
  /** One read (a hyperslab) is at most this many bytes: it bounds h5wasm's heap and the copy out. */
  spanBytes: number;
  /** Rows between two wanted rows that are read (and dropped) rather than starting a second read. */
  gapRows: number;
  /** Rows read are kept in blocks of at most this many bytes. */
  blockBytes: number;
}

export const FILE_ROWS_LIMITS: FileRowsLimits = { spanBytes: 4 << 20, gapRows: 8, blockBytes: 64 << 20 };

/**
 * The rows of an HDF5 dataset (2-D, or 1-D with cols 1), read on demand and kept. `check` sees
 * each row as it is read (before it is kept) and throws a DataError for a bad one.
 */
export class FileRows<K extends H5Kind> implements Rows<H5Array<K>> {
  /** Row → its place among the rows read (-1: not read); allocated on the first read. */
  private slot: Int32Array | null = null;
  /** The rows read, in blocks; blockStart[b] is the place of block b's first row. */
  private readonly blocks: H5Array<K>[] = [];
  private readonly blockStart: number[] = [];
  private count = 0;
  private readsMade = 0;

  constructor(
    private readonly file: Hdf5File,
    private readonly key: string,
    private readonly kind: K,
    readonly rows: number,
    readonly cols: number,
    private readonly elementSize: number,
    private readonly check?: (row: number, values: H5Array<K>, at: number) => void,
    private readonly limits: FileRowsLimits = FILE_ROWS_LIMITS,
  ) {}

  get residentRows(): number {
    return this.count;
  }

  /** In-place reads (hyperslabs) made so far. */
  get reads(): number {
    return this.readsMade;
  }

  /** Reads (once) the given rows, in as few in-place reads as their spacing allows. */
  load(idxs: ArrayLike<number>): void {
    checkIndex(this.rows, idxs);
    const slot = (this.slot ??= new Int32Array(this.rows).fill(-1));
    const missing = missingRows(slot, idxs);
    if (missing.length === 0) return;
    const c = this.cols;
    const ctor = (this.kind === "int" ? Int32Array : Float32Array) as unknown as new (n: number) => H5Array<K>;
    const { spanBytes, gapRows, blockBytes } = this.limits;
    const spanRows = Math.max(1, Math.floor(spanBytes / (c * this.elementSize)));
    const blockRows = Math.max(1, Math.floor(blockBytes / (c * 4)));
    let dst: H5Array<K> | null = null;
    let dstRow = 0;
    this.file.read((f) => {
      for (let i = 0; i < missing.length;) {
        const r0 = missing[i]!;
        let j = i + 1;
        while (j < missing.length && missing[j]! - missing[j - 1]! <= gapRows + 1 && missing[j]! + 1 - r0 <= spanRows) j++;
        const span = f.readSpan(this.key, r0, missing[j - 1]! + 1, c);
        this.readsMade++;
        for (let k = i; k < j;) {
          // a run of consecutive rows, copied with one call (as much of it as the block holds)
          let e = k + 1;
          while (e < j && missing[e] === missing[e - 1]! + 1) e++;
          if (dst === null || dstRow * c === dst.length) {
            dst = new ctor(Math.min(blockRows, missing.length - k) * c);
            dstRow = 0;
            this.blocks.push(dst);
            this.blockStart.push(this.count);
          }
          const m = Math.min(e - k, dst.length / c - dstRow);
          copyRows(span, (missing[k]! - r0) * c, dst, dstRow * c, m * c, f.name, this.key, rowOfValue(c, missing[k]!));
          for (let t = 0; t < m; t++) {
            this.check?.(missing[k + t]!, dst, (dstRow + t) * c);
            slot[missing[k + t]!] = this.count++;
          }
          dstRow += m;
          k += m;
        }
        i = j;
      }
    });
  }

  /** Reads every row (a file that is about to go away: a temporary copy). */
  loadAll(): void {
    this.load(rowRange(0, this.rows));
  }

  gather(idxs: ArrayLike<number>): H5Array<K> {
    this.load(idxs);
    const c = this.cols;
    const out = (this.kind === "int" ? new Int32Array(idxs.length * c) : new Float32Array(idxs.length * c)) as H5Array<K>;
    for (let i = 0; i < idxs.length; i++) {
      const s = this.slot![idxs[i]!]!;
      // the last block starting at or before s
      let lo = 0;
      let hi = this.blockStart.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.blockStart[mid]! <= s) lo = mid;
        else hi = mid - 1;
      }
      copyValues(this.blocks[lo]!, (s - this.blockStart[lo]!) * c, out, i * c, c);
    }
    return out;
  }
}
