/** softmax / log_softmax and their backward over the last dim of a view. */
import type { View } from "../../core/backend.ts";
import { CpuStorage, dataOf } from "./storage.ts";
import { offsetsOf, viewSize } from "./strided.ts";

function lastDim(v: View): number {
  return v.shape.length === 0 ? 1 : v.shape[v.shape.length - 1]!;
}

export function softmax(x: View, log: boolean): CpuStorage {
  const n = viewSize(x);
  const C = lastDim(x);
  const out = CpuStorage.alloc(x.storage.dtype, n);
  const o = out.data;
  const src = dataOf(x.storage);
  const off = offsetsOf(x);
  const row = new Float64Array(C);
  for (let base = 0; base < n; base += C) {
    let max = -Infinity;
    for (let j = 0; j < C; j++) {
      const v = src[off[base + j]!]!;
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
  const out = CpuStorage.alloc(gy.storage.dtype, n);
  const o = out.data;
  const ys = dataOf(y.storage);
  const gs = dataOf(gy.storage);
  const oy = offsetsOf(y);
  const og = offsetsOf(gy);
  for (let base = 0; base < n; base += C) {
    let dot = 0;
    for (let j = 0; j < C; j++) {
      const g = gs[og[base + j]!]!;
      dot += log ? g : g * ys[oy[base + j]!]!;
    }
    for (let j = 0; j < C; j++) {
      const yv = ys[oy[base + j]!]!;
      const g = gs[og[base + j]!]!;
      o[base + j] = log ? g - Math.exp(yv) * dot : yv * (g - dot);
    }
  }
  return out;
}
