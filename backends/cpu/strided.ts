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

/** Storage offset of every element of the view, in row-major logical order. */
export function offsetsOf(v: View): Int32Array {
  const n = viewSize(v);
  const out = new Int32Array(n);
  if (n === 0) return out;
  const nd = v.shape.length;
  if (nd === 0) {
    out[0] = v.offset;
    return out;
  }
  if (isDense(v)) {
    for (let i = 0; i < n; i++) out[i] = v.offset + i;
    return out;
  }
  const shape = v.shape;
  const strides = v.strides;
  const last = shape[nd - 1]!;
  const ls = strides[nd - 1]!;
  const idx = new Int32Array(nd);
  let base = v.offset;
  let k = 0;
  for (;;) {
    for (let j = 0; j < last; j++) out[k++] = base + j * ls;
    let d = nd - 2;
    for (; d >= 0; d--) {
      idx[d]!++;
      base += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      base -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  return out;
}
