/** Row gather (embedding, index_select) and its backward, a row scatter-add. */
import type { View } from "../../core/backend.ts";
import { CpuStorage, dataOf } from "./storage.ts";
import { offsetsOf } from "./strided.ts";

export function gatherRows(x: View, index: View): CpuStorage {
  const R = x.shape[0]!;
  const C = x.shape[1]!;
  const idx = offsetsOf(index).map((o) => dataOf(index.storage)[o]!);
  const out = CpuStorage.alloc(x.storage.dtype, idx.length * C);
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
  const idx = offsetsOf(index).map((o) => dataOf(index.storage)[o]!);
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
