/** Reductions over the innermost `inner` elements of a view's logical order. */
import type { ReduceOp, View } from "../../core/backend.ts";
import { CpuStorage, dataOf } from "./storage.ts";
import { RowWalker, viewSize } from "./strided.ts";

export function reduce(op: ReduceOp, x: View, inner: number): CpuStorage {
  const n = viewSize(x);
  const outer = inner === 0 ? n : n / inner;
  const inDtype = x.storage.dtype;
  const outDtype = op === "argmax" ? "int32" : op === "sum" && inDtype === "bool" ? "int32" : inDtype;
  const out = CpuStorage.alloc(outDtype, outer);
  const o = out.data;
  const src = dataOf(x.storage);
  if (outer === 0 || inner === 0) return out;
  // Elements arrive in logical order; every `inner` of them close one output.
  const w = new RowWalker(x.shape, x);
  let r = 0;
  let cnt = 0;
  if (op === "sum") {
    // Accumulate in double: at least as accurate as PyTorch's float32 cascade sum.
    let s = 0;
    for (let row = 0; row < w.rows; row++, w.next()) {
      for (let j = 0, i = w.a; j < w.inner; j++, i += w.sa) {
        s += src[i]!;
        if (++cnt === inner) {
          o[r++] = s;
          s = 0;
          cnt = 0;
        }
      }
    }
    return out;
  }
  const wantValue = op === "max";
  let best = 0;
  let at = 0;
  for (let row = 0; row < w.rows; row++, w.next()) {
    for (let j = 0, i = w.a; j < w.inner; j++, i += w.sa) {
      const v = src[i]!;
      if (cnt === 0) {
        best = v;
        at = 0;
      } else if (best === best && (v !== v || v > best)) {
        // NaN wins (and then stays), like PyTorch; ties keep the first index.
        best = v;
        at = cnt;
      }
      if (++cnt === inner) {
        o[r++] = wantValue ? best : at;
        cnt = 0;
      }
    }
  }
  return out;
}
