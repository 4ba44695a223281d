/**
 * Make every rank hold root's values of some tensors (DDP's broadcast of the initial weights and
 * buffers from rank 0): one broadcast of all of them packed per dtype, written back in place so
 * that the tensors (and an optimizer holding them) keep their identity.
 */
import { noGrad } from "../autograd.ts";
import { XtError } from "../errors.ts";
import type { Tensor } from "../tensor.ts";
import { bytesOf, type Collective } from "./collective.ts";

export function broadcastTensors(tensors: Iterable<Tensor>, c: Collective, root = 0): void {
  if (c.size === 1) return;
  const byDtype = new Map<string, Tensor[]>();
  for (const t of tensors) {
    if (t.dtype !== "float32" && t.dtype !== "float64" && t.dtype !== "int32") throw new XtError(`broadcast: cannot send ${t.dtype} tensors`);
    if (!t.isContiguous()) throw new XtError("broadcast: tensors must be contiguous");
    const list = byDtype.get(t.dtype) ?? [];
    list.push(t);
    byDtype.set(t.dtype, list);
  }
  // Sorted dtype order: the same sequence of broadcasts on every rank.
  for (const dtype of [...byDtype.keys()].sort()) {
    const list = byDtype.get(dtype)!;
    const total = list.reduce((s, t) => s + t.numel, 0);
    const buf = dtype === "float64" ? new Float64Array(total) : dtype === "int32" ? new Int32Array(total) : new Float32Array(total);
    let off = 0;
    if (c.rank === root) {
      for (const t of list) {
        buf.set(t.data() as typeof buf, off);
        off += t.numel;
      }
    }
    c.broadcast(bytesOf(buf), root);
    if (c.rank === root) continue;
    off = 0;
    noGrad(() => {
      for (const t of list) {
        const src = t.backend.fromHost(buf.subarray(off, off + t.numel), t.dtype);
        t.backend.copyInto(t, { storage: src, shape: t.shape, strides: t.strides, offset: 0 });
        off += t.numel;
      }
    });
  }
}
