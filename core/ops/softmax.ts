/** softmax / log_softmax over one dim, computed by the backend over the (moved) last dim. */
import { XtError } from "../errors.ts";
import { isFloating } from "../dtype.ts";
import { normDim } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { record, wrap } from "./graph.ts";
import { transpose } from "./views.ts";

function softmaxImpl(x: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? "log_softmax" : "softmax";
  if (!isFloating(x.dtype)) throw new XtError(`${op}: input dtype must be floating point, got ${x.dtype}`);
  if (x.ndim === 0) return softmaxImpl(x.reshape(1), 0, log).reshape([]);
  const d = normDim(op, dim, x.ndim, x.shape);
  const last = x.ndim - 1;
  // Move dim last as a view; the kernel writes a contiguous result in that order; move it back.
  const moved = d === last ? x.detach() : transpose(x.detach(), d, last);
  const yMoved = wrap(x, x.backend.softmax(moved, log), moved.shape);
  const y = d === last ? yMoved : transpose(yMoved, d, last);
  return record(y, log ? "LogSoftmaxBackward" : "SoftmaxBackward", [x], (g) => {
    const gMoved = d === last ? g : transpose(g, d, last);
    const gx = wrap(g, g.backend.softmaxBackward(yMoved, gMoved, log), moved.shape);
    return [d === last ? gx : transpose(gx, d, last)];
  });
}

export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxImpl(x, dim, false);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return softmaxImpl(x, dim, true);
}
