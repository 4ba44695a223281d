/** Gathers and joins: index_select, embedding, cat, stack. */
import { XtError } from "../errors.ts";
import { promote } from "../dtype.ts";
import { normDim, numel, shapeStr } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { record, wrap } from "./graph.ts";
import { cast } from "./elementwise.ts";
import { contiguous, narrow, reshape, sliceView, transpose, unsqueeze } from "./views.ts";

function checkIndex(op: string, index: Tensor): void {
  if (index.dtype !== "int32") throw new XtError(`${op}: index must be an integer tensor, got ${index.dtype}`);
}

/** Rows of a 2-D weight picked by an index tensor of any shape → index.shape + [C]. */
export function embedding(weight: Tensor, index: Tensor, paddingIdx?: number): Tensor {
  checkIndex("embedding", index);
  if (weight.ndim !== 2) throw new XtError(`embedding: weight must be 2-D, got ${shapeStr(weight.shape)}`);
  const [R, C] = weight.shape as [number, number];
  const bad = index.toArray().find((i) => i < 0 || i >= R);
  if (bad !== undefined) {
    throw new XtError(`embedding: index ${bad} is out of range for weight of shape ${shapeStr(weight.shape)}`);
  }
  const flat = reshape(index.detach(), [index.numel]);
  const out = wrap(weight, weight.backend.gatherRows(weight, flat), [...index.shape, C]);
  return record(out, "EmbeddingBackward", [weight], (g) => {
    const g2 = reshape(g, [index.numel, C]);
    let gw = wrap(g, g.backend.scatterAddRows(g2, flat, R), [R, C]);
    if (paddingIdx !== undefined) {
      // The padding row never learns (PyTorch skips it in the backward).
      const keep = wrap(g, g.backend.fromHost(Array.from({ length: R }, (_, r) => (r === paddingIdx ? 0 : 1)), g.dtype), [R, 1]);
      gw = gw.mul(keep);
    }
    return [gw];
  });
}

export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex("index_select", index);
  if (index.ndim > 1) throw new XtError(`index_select: index must be 0-D or 1-D, got ${shapeStr(index.shape)}`);
  const d = normDim("index_select", dim, x.ndim, x.shape);
  const size = x.shape[d]!;
  for (const i of index.toArray()) {
    if (i < -size || i >= size) throw new XtError(`index_select: index ${i} is out of range for dim ${dim} of input shape ${shapeStr(x.shape)}`);
  }
  // Bring dim to the front as rows of a 2-D matrix, gather, then move it back.
  const front = contiguous(transpose(x, 0, d));
  const rest = front.shape.slice(1);
  const rows = reshape(front, [size, numel(rest)]);
  const picked = embedding(rows, reshape(index, [index.numel]));
  return transpose(reshape(picked, [index.numel, ...rest]), 0, d);
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new XtError("cat: expected a non-empty list of tensors");
  const first = tensors[0]!;
  const d = normDim("cat", dim, first.ndim, first.shape);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new XtError(
        `cat: sizes of tensors must match except in dimension ${dim}: got ${shapeStr(first.shape)} and ${shapeStr(t.shape)}`,
      );
    }
  }
  const dtype = tensors.map((t) => t.dtype).reduce(promote);
  const shape = [...first.shape];
  shape[d] = tensors.reduce((s, t) => s + t.shape[d]!, 0);
  const out = wrap(first, first.backend.full(numel(shape), 0, dtype), shape);
  let at = 0;
  const starts: number[] = [];
  for (const t of tensors) {
    starts.push(at);
    first.backend.copyInto(sliceView(out, d, at, t.shape[d]!), cast(t, dtype));
    at += t.shape[d]!;
  }
  return record(out, "CatBackward", tensors, (g) => tensors.map((t, i) => narrow(g, d, starts[i]!, t.shape[d]!)));
}

export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new XtError("stack: expected a non-empty list of tensors");
  const first = tensors[0]!;
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((s, i) => s !== first.shape[i])) {
      throw new XtError(`stack: expects each tensor to be equal size, but got ${shapeStr(first.shape)} and ${shapeStr(t.shape)}`);
    }
  }
  const d = dim < 0 ? dim + first.ndim + 1 : dim;
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}
