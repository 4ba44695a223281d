/** softmax / log_softmax and their backward over the last dim of a view. */
import type { View } from "../../core/backend.ts";
import { CpuStorage, dataOf } from "./storage.ts";
import { RowWalker, viewSize } from "./strided.ts";

function lastDim(v: View): number {
  return v.shape.length === 0 ? 1 : v.shape[v.shape.length - 1]!;
}

/** Row r of the view starts at rowStart[r]; elements of a row are `step` apart. */
function rowStarts(v: View): { starts: Float64Array; step: number } {
  const nd = v.shape.length;
  const C = lastDim(v);
  const rows = C === 0 ? 0 : viewSize(v) / C;
  const starts = new Float64Array(rows);
  if (rows === 0) return { starts, step: 1 };
  if (nd <= 1) {
    starts[0] = v.offset;
    return { starts, step: nd === 0 ? 1 : v.strides[0]! };
  }
  const lead: View = { storage: v.storage, shape: v.shape.slice(0, -1), strides: v.strides.slice(0, -1), offset: v.offset };
  const w = new RowWalker(lead.shape, lead);
  let k = 0;
  for (let r = 0; r < w.rows; r++, w.next()) for (let j = 0, i = w.a; j < w.inner; j++, i += w.sa) starts[k++] = i;
  return { starts, step: v.strides[nd - 1]! };
}

export function softmax(x: View, log: boolean): CpuStorage {
  const n = viewSize(x);
  const C = lastDim(x);
  const out = CpuStorage.allocUninit(x.storage.dtype, n);
  const o = out.data;
  const src = dataOf(x.storage);
  const { starts, step } = rowStarts(x);
  const row = new Float64Array(C);
  for (let r = 0, base = 0; r < starts.length; r++, base += C) {
    const s0 = starts[r]!;
    let max = -Infinity;
    for (let j = 0; j < C; j++) {
      const v = src[s0 + j * step]!;
      row[j] = v;
      if (v > max) max = v;
    }
    if (max === -Infinity) max = 0; // an all -inf row gives NaN below, as in PyTorch
    let sum = 0;
    for (let j = 0; j < C; j++) sum += Math.exp(row[j]! - max);
    if (log) {
      const lse = Math.log(sum);
      for (let j = 0; j < C; j++) o[base + j] = row[j]! - max - lse;
    } else {
      for (let j = 0; j < C; j++) o[base + j] = Math.exp(row[j]! - max) / sum;
    }
  }
  return out;
}

/** softmax: gx = y·(g − Σ g·y); log_softmax: gx = g − exp(y)·Σ g. */
export function softmaxBackward(y: View, gy: View, log: boolean): CpuStorage {
  const n = viewSize(y);
  const C = lastDim(y);
  const out = CpuStorage.allocUninit(gy.storage.dtype, n);
  const o = out.data;
  const ys = dataOf(y.storage);
  const gs = dataOf(gy.storage);
  const ry = rowStarts(y);
  const rg = rowStarts(gy);
  for (let r = 0, base = 0; r < ry.starts.length; r++, base += C) {
    const y0 = ry.starts[r]!;
    const g0 = rg.starts[r]!;
    let dot = 0;
    for (let j = 0; j < C; j++) {
      const g = gs[g0 + j * rg.step]!;
      dot += log ? g : g * ys[y0 + j * ry.step]!;
    }
    for (let j = 0; j < C; j++) {
      const yv = ys[y0 + j * ry.step]!;
      const g = gs[g0 + j * rg.step]!;
      o[base + j] = log ? g - Math.exp(yv) * dot : yv * (g - dot);
    }
  }
  return out;
}
