/** Row gather (embedding, index_select) and its backward, a row scatter-add. */
import type { View } from "../../core/backend.ts";
import { CpuStorage, dataOf } from "./storage.ts";

/** The index view's values (int32 [n]) without an offset table. */
function indices(index: View): Int32Array {
  const n = index.shape[0] ?? 1;
  const src = dataOf(index.storage);
  const st = index.shape.length === 0 ? 0 : index.strides[0]!;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = src[index.offset + i * st]!;
  return out;
}

export function gatherRows(x: View, index: View): CpuStorage {
  const R = x.shape[0]!;
  const C = x.shape[1]!;
  const idx = indices(index);
  const out = CpuStorage.allocUninit(x.storage.dtype, idx.length * C);
  const o = out.data;
  const src = dataOf(x.storage);
  const [rs, cs] = x.strides as [number, number];
  for (let i = 0; i < idx.length; i++) {
    let r = idx[i]!;
    if (r < 0) r += R;
    if (r < 0 || r >= R) throw new RangeError(`index ${idx[i]} is out of range for ${R} rows`);
    const base = x.offset + r * rs;
    for (let c = 0; c < C; c++) o[i * C + c] = src[base + c * cs]!;
  }
  return out;
}

export function scatterAddRows(src: View, index: View, rows: number): CpuStorage {
  const C = src.shape[1]!;
  const idx = indices(index);
  const out = CpuStorage.alloc(src.storage.dtype, rows * C);
  const o = out.data;
  const s = dataOf(src.storage);
  const [rs, cs] = src.strides as [number, number];
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]! < 0 ? idx[i]! + rows : idx[i]!;
    const base = src.offset + i * rs;
    for (let c = 0; c < C; c++) o[r * C + c] += s[base + c * cs]!;
  }
  return out;
}
