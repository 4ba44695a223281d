/** Walking strided views in row-major logical order. */
import type { View } from "../../core/backend.ts";

export function viewSize(v: View): number {
  let n = 1;
  for (const d of v.shape) n *= d;
  return n;
}

/** True when the view's elements sit at offset, offset+1, … in logical order. */
export function isDense(v: View): boolean {
  let s = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.strides[i] !== s) return false;
    s *= v.shape[i]!;
  }
  return true;
}

/**
 * Walks up to three views of one logical shape row by row, without a per-element offset table:
 * dimensions are merged where every view allows it (and size-1 dims dropped), the innermost
 * merged dim is the row. Per row: `a`, `b`, `c` are the row's start offsets and `sa`, `sb`, `sc`
 * the strides along it; next() moves to the following row.
 *
 *   const w = new RowWalker(shape, x);
 *   for (let r = 0; r < w.rows; r++, w.next()) for (let j = 0, i = w.a; j < w.inner; j++, i += w.sa) …
 */
export class RowWalker {
  /** Row length and number of rows (rows·inner = the element count). */
  readonly inner: number;
  readonly rows: number;
  readonly sa: number;
  readonly sb: number;
  readonly sc: number;
  a: number;
  b: number;
  c: number;
  private readonly nd: number;
  private readonly shape: number[];
  private readonly stA: number[];
  private readonly stB: number[];
  private readonly stC: number[];
  private readonly idx: number[];

  constructor(shape: readonly number[], va: View, vb?: View, vc?: View) {
    const dims: number[] = [];
    const A: number[] = [];
    const B: number[] = [];
    const C: number[] = [];
    let n = 1;
    for (let d = 0; d < shape.length; d++) {
      const size = shape[d]!;
      n *= size;
      if (size === 1) continue;
      const a = va.strides[d]!;
      const b = vb ? vb.strides[d]! : 0;
      const c = vc ? vc.strides[d]! : 0;
      const k = dims.length - 1;
      if (k >= 0 && A[k] === a * size && B[k] === b * size && C[k] === c * size) {
        dims[k]! *= size;
        A[k] = a;
        B[k] = b;
        C[k] = c;
      } else {
        dims.push(size);
        A.push(a);
        B.push(b);
        C.push(c);
      }
    }
    if (dims.length === 0) {
      dims.push(1);
      A.push(1);
      B.push(1);
      C.push(1);
    }
    const nd = dims.length;
    this.nd = nd;
    this.shape = dims;
    this.stA = A;
    this.stB = B;
    this.stC = C;
    this.inner = n === 0 ? 0 : dims[nd - 1]!;
    this.rows = n === 0 ? 0 : n / this.inner;
    this.sa = A[nd - 1]!;
    this.sb = B[nd - 1]!;
    this.sc = C[nd - 1]!;
    this.a = va.offset;
    this.b = vb ? vb.offset : 0;
    this.c = vc ? vc.offset : 0;
    this.idx = new Array<number>(nd).fill(0);
  }

  next(): void {
    for (let d = this.nd - 2; d >= 0; d--) {
      const size = this.shape[d]!;
      this.a += this.stA[d]!;
      this.b += this.stB[d]!;
      this.c += this.stC[d]!;
      if (++this.idx[d]! < size) return;
      this.a -= this.stA[d]! * size;
      this.b -= this.stB[d]! * size;
      this.c -= this.stC[d]! * size;
      this.idx[d] = 0;
    }
  }
}

/** Storage offset of every element of the view, in row-major logical order. */
export function offsetsOf(v: View): Int32Array {
  const n = viewSize(v);
  const out = new Int32Array(n);
  if (n === 0) return out;
  const w = new RowWalker(v.shape, v);
  let k = 0;
  for (let r = 0; r < w.rows; r++, w.next()) {
    for (let j = 0, i = w.a; j < w.inner; j++, i += w.sa) out[k++] = i;
  }
  return out;
}
