/** Reductions over dims (sum, mean, var, max, argmax) and sumTo, broadcasting's backward. */
import type { ReduceOp } from "../backend.ts";
import { isFloating } from "../dtype.ts";
import { XtError } from "../errors.ts";
import { normDim, numel, sameShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { record, wrap } from "./graph.ts";
import { div, mul, sub, compare, cast, square } from "./elementwise.ts";
import { expandTo, permute, reshape } from "./views.ts";

function normDims(op: string, x: Tensor, dim: number | number[] | null | undefined): number[] {
  if (dim === undefined || dim === null) return x.shape.map((_, i) => i);
  const dims = (Array.isArray(dim) ? dim : [dim]).map((d) => normDim(op, d, x.ndim, x.shape));
  if (new Set(dims).size !== dims.length) throw new XtError(`${op}: dim ${JSON.stringify(dim)} appears more than once`);
  return dims.sort((a, b) => a - b);
}

/** Run a backend reduction over `dims`; returns the result shaped as the kept dims (or keepdim). */
function reduceRaw(op: ReduceOp, x: Tensor, dims: number[], keepdim: boolean): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const inner = numel(dims.map((d) => x.shape[d]!));
  if (inner === 0 && op !== "sum") throw new XtError(`${op}: cannot reduce over an empty dimension`);
  // Move the reduced dims last (a view), so the kernel reduces the innermost elements.
  const moved = dims.length === 0 ? x : permute(x.detach(), [...kept, ...dims]);
  const s = x.backend.reduce(op, moved, inner);
  const outShape = keepdim ? x.shape.map((d, i) => (dims.includes(i) ? 1 : d)) : kept.map((i) => x.shape[i]!);
  return wrap(x, s, outShape);
}

/** Shape of x with the reduced dims kept as size 1 (to broadcast a reduced gradient back). */
function keptShape(x: Tensor, dims: number[]): number[] {
  return x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

export function sum(x: Tensor, dim?: number | number[] | null, keepdim = false): Tensor {
  const dims = normDims("sum", x, dim);
  let out = reduceRaw("sum", x, dims, keepdim);
  if (!isFloating(x.dtype) && x.dtype === "bool") out = cast(out, "int32");
  const inShape = x.shape;
  return record(out, "SumBackward", [x], (g) => [expandTo(reshape(g, keptShape(x, dims)), inShape)]);
}

export function mean(x: Tensor, dim?: number | number[] | null, keepdim = false): Tensor {
  if (!isFloating(x.dtype)) throw new XtError(`mean: input dtype must be floating point, got ${x.dtype}`);
  const dims = normDims("mean", x, dim);
  const n = numel(dims.map((d) => x.shape[d]!));
  return div(sum(x, dims, keepdim), n);
}

export function variance(x: Tensor, dim: number | number[] | null | undefined, unbiased: boolean, keepdim = false): Tensor {
  const dims = normDims("var", x, dim);
  const n = numel(dims.map((d) => x.shape[d]!));
  const centered = sub(x, mean(x, dims, true));
  return div(sum(square(centered), dims, keepdim), unbiased ? n - 1 : n);
}

export function maxAll(x: Tensor): Tensor {
  const dims = x.shape.map((_, i) => i);
  const out = reduceRaw("max", x, dims, false);
  return record(out, "MaxBackward", [x], (g) => {
    // Ties share the gradient evenly, as PyTorch's max() (no dim) does.
    const hit = cast(compare("eq", x.detach(), out.detach()), g.dtype);
    return [mul(div(hit, sum(hit)), g)];
  });
}

export function maxDim(x: Tensor, dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
  const d = normDim("max", dim, x.ndim, x.shape);
  const values = reduceRaw("max", x, [d], keepdim);
  const indices = reduceRaw("argmax", x, [d], keepdim);
  record(values, "MaxBackward", [x], (g) => [routeToIndex(g, indices, x.shape, d, keepdim)]);
  return { values, indices };
}

export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  if (dim === undefined) return reduceRaw("argmax", x, x.shape.map((_, i) => i), false);
  return reduceRaw("argmax", x, [normDim("argmax", dim, x.ndim, x.shape)], keepdim);
}

/** Scatter g into `shape` at the positions `indices` pick along `dim` (max's backward). */
function routeToIndex(g: Tensor, indices: Tensor, shape: readonly number[], dim: number, keepdim: boolean): Tensor {
  const kshape = shape.map((s, i) => (i === dim ? 1 : s));
  const idx = keepdim ? indices : reshape(indices, kshape);
  const gk = keepdim ? g : reshape(g, kshape);
  const positions = new Array<number>(shape.length).fill(1);
  positions[dim] = shape[dim]!;
  const ar = wrap(g, g.backend.fromHost(Array.from({ length: shape[dim]! }, (_, i) => i), "int32"), positions);
  const hit = cast(compare("eq", ar, idx), g.dtype);
  return mul(hit, gk);
}

/** Sum g down to `shape` (the reverse of broadcasting g's source to g's shape). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const s = dims.length ? sum(g, dims, true) : g;
  return reshape(s, [...shape]);
}
