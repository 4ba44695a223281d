/** Reductions over the innermost `inner` elements of a view's logical order. */
import type { ReduceOp, View } from "../../core/backend.ts";
import { CpuStorage, dataOf } from "./storage.ts";
import { offsetsOf, viewSize } from "./strided.ts";

export function reduce(op: ReduceOp, x: View, inner: number): CpuStorage {
  const n = viewSize(x);
  const outer = inner === 0 ? n : n / inner;
  const inDtype = x.storage.dtype;
  const outDtype =
    op === "argmax" || op === "argmin" ? "int32" : op === "sum" && inDtype === "bool" ? "int32" : inDtype;
  const out = CpuStorage.alloc(outDtype, outer);
  const o = out.data;
  const src = dataOf(x.storage);
  const off = offsetsOf(x);
  for (let r = 0; r < outer; r++) {
    const base = r * inner;
    if (op === "sum") {
      // Accumulate in double: at least as accurate as PyTorch's float32 cascade sum.
      let s = 0;
      for (let i = 0; i < inner; i++) s += src[off[base + i]!]!;
      o[r] = s;
    } else {
      const wantMax = op === "max" || op === "argmax";
      let best = src[off[base]!]!;
      let at = 0;
      for (let i = 1; i < inner; i++) {
        const v = src[off[base + i]!]!;
        if (best !== best) break; // NaN wins, like PyTorch
        if (v !== v || (wantMax ? v > best : v < best)) {
          best = v;
          at = i;
        }
      }
      o[r] = op === "max" || op === "min" ? best : at;
    }
  }
  return out;
}
