/** View ops: new shape/strides/offset over the same storage (copying only when a view is impossible). */
import { XtError } from "../errors.ts";
import { contiguousStrides, normDim, numel, sameShape, shapeStr } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { record, wrap } from "./graph.ts";
import { sumTo } from "./reduce.ts";

export function flatShapeArgs(args: (number | number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...args[0]] : (args as number[]);
}

export function sameShapeAs(a: Tensor, b: Tensor): boolean {
  return sameShape(a.shape, b.shape);
}

function viewOf(x: Tensor, shape: number[], strides: number[], offset = x.offset): Tensor {
  return new Tensor(x.backend, x.storage, shape, strides, offset);
}

/** Broadcast view (stride 0 on expanded dims) without autograd; used inside kernels' callers. */
export function expandTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const n = shape.length;
  const strides = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const j = x.ndim - n + i;
    const d = j >= 0 ? x.shape[j]! : 1;
    if (d === shape[i]) strides[i] = j >= 0 ? x.strides[j]! : 0;
    else if (d === 1) strides[i] = 0;
    else throw new XtError(`expand: shape ${shapeStr(x.shape)} cannot be expanded to ${shapeStr(shape)}`);
  }
  return viewOf(x, [...shape], strides);
}

export function expand(x: Tensor, shape0: number[]): Tensor {
  if (shape0.length < x.ndim) {
    throw new XtError(`expand: the number of sizes (${shape0.length}) must be at least the tensor's rank (${x.ndim})`);
  }
  const shape = shape0.map((d, i) => (d === -1 ? x.shape[x.ndim - shape0.length + i] ?? -1 : d));
  const out = expandTo(x, shape);
  const inShape = x.shape;
  return record(out === x ? x.detach() : out, "ExpandBackward", [x], (g) => [sumTo(g, inShape)]);
}

function inferShape(op: string, x: Tensor, shape0: number[]): number[] {
  const shape = [...shape0];
  const free = shape.indexOf(-1);
  const known = shape.reduce((p, d, i) => (i === free ? p : p * d), 1);
  if (free >= 0) {
    if (shape.indexOf(-1, free + 1) >= 0) throw new XtError(`${op}: only one dimension can be inferred`);
    if (known === 0 || x.numel % known !== 0) {
      throw new XtError(`${op}: shape ${shapeStr(shape0)} is invalid for input of shape ${shapeStr(x.shape)} (size ${x.numel})`);
    }
    shape[free] = x.numel / known;
  }
  if (numel(shape) !== x.numel) throw new XtError(`${op}: shape ${shapeStr(shape0)} is invalid for input of shape ${shapeStr(x.shape)} (size ${x.numel})`);
  return shape;
}

/** Strides for viewing x as `shape` without a copy, or null if the layout forbids it (PyTorch's computeStride). */
function viewStrides(x: Tensor, shape: number[]): number[] | null {
  if (x.isContiguous()) return contiguousStrides(shape);
  const oldShape = x.shape;
  const oldStrides = x.strides;
  const newStrides = new Array<number>(shape.length);
  let viewD = shape.length - 1;
  let chunkBase = oldStrides[oldStrides.length - 1]!;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d]!;
    // At the end of a run of dims that are contiguous among themselves, match view dims to it.
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBase;
        viewNumel *= shape[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = oldStrides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? newStrides : null;
}

export function view(x: Tensor, shape0: number[]): Tensor {
  const shape = inferShape("view", x, shape0);
  const strides = viewStrides(x, shape);
  if (!strides) {
    throw new XtError(`view: size ${shapeStr(shape0)} is not compatible with input of shape ${shapeStr(x.shape)} and strides ${shapeStr(x.strides)}; use reshape`);
  }
  const inShape = x.shape;
  return record(viewOf(x, shape, strides), "ViewBackward", [x], (g) => [reshape(g, inShape)]);
}

export function reshape(x: Tensor, shape0: number[]): Tensor {
  const shape = inferShape("reshape", x, shape0);
  const strides = viewStrides(x, shape);
  const inShape = x.shape;
  const out = strides ? viewOf(x, shape, strides) : wrap(x, x.backend.contiguous(x), shape);
  return record(out, "ReshapeBackward", [x], (g) => [reshape(g, inShape)]);
}

export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim("flatten", start, x.ndim, x.shape);
  const e = normDim("flatten", end, x.ndim, x.shape);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function permute(x: Tensor, dims0: number[]): Tensor {
  if (dims0.length !== x.ndim) {
    throw new XtError(`permute: ${dims0.length} dims given for a tensor of shape ${shapeStr(x.shape)}`);
  }
  const dims = dims0.map((d) => normDim("permute", d, x.ndim, x.shape));
  if (new Set(dims).size !== dims.length) throw new XtError(`permute: repeated dim in ${shapeStr(dims0)}`);
  const out = viewOf(x, dims.map((d) => x.shape[d]!), dims.map((d) => x.strides[d]!));
  const inverse = new Array<number>(dims.length);
  dims.forEach((d, i) => (inverse[d] = i));
  return record(out, "PermuteBackward", [x], (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  const dims = x.shape.map((_, i) => i);
  const a = normDim("transpose", d0, x.ndim, x.shape);
  const b = normDim("transpose", d1, x.ndim, x.shape);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim("unsqueeze", dim < 0 ? dim + x.ndim + 1 : dim, x.ndim + 1, x.shape);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d]! * x.shape[d]! : 1);
  const inShape = x.shape;
  return record(viewOf(x, shape, strides), "UnsqueezeBackward", [x], (g) => [reshape(g, inShape)]);
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  const keep = x.shape.map((s, i) => (dim === undefined ? s !== 1 : i !== normDim("squeeze", dim, x.ndim, x.shape) || s !== 1));
  const out = viewOf(x, x.shape.filter((_, i) => keep[i]), x.strides.filter((_, i) => keep[i]));
  const inShape = x.shape;
  return record(out, "SqueezeBackward", [x], (g) => [reshape(g, inShape)]);
}

export function narrow(x: Tensor, dim: number, start0: number, length: number): Tensor {
  const d = normDim("narrow", dim, x.ndim, x.shape);
  const size = x.shape[d]!;
  const start = start0 < 0 ? start0 + size : start0;
  if (start < 0 || length < 0 || start + length > size) {
    throw new XtError(`narrow: start ${start0} + length ${length} exceeds dim ${dim} (size ${size}) of shape ${shapeStr(x.shape)}`);
  }
  const shape = [...x.shape];
  shape[d] = length;
  const out = viewOf(x, shape, [...x.strides], x.offset + start * x.strides[d]!);
  const inShape = x.shape;
  return record(out, "NarrowBackward", [x], (g) => [padInto(g, inShape, d, start)]);
}

/** Zeros of `shape` with g written at [start, start+len) along dim: narrow's backward. */
export function padInto(g: Tensor, shape: readonly number[], dim: number, start: number): Tensor {
  const out = wrap(g, g.backend.full(numel(shape), 0, g.dtype), shape);
  const region = viewOf(out, [...g.shape], out.strides.slice(), out.offset + start * out.strides[dim]!);
  g.backend.copyInto(region, g);
  return out;
}

export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  return record(wrap(x, x.backend.contiguous(x), x.shape), "ContiguousBackward", [x], (g) => [g]);
}

/** A new tensor holding x's values (PyTorch's clone()). */
export function clone(x: Tensor): Tensor {
  return record(wrap(x, x.backend.contiguous(x), x.shape), "CloneBackward", [x], (g) => [g]);
}

/** A view's strides must stay valid; used by cat/stack to write a slice. */
export function sliceView(out: Tensor, dim: number, start: number, length: number): Tensor {
  const shape = [...out.shape];
  shape[dim] = length;
  return viewOf(out, shape, [...out.strides], out.offset + start * out.strides[dim]!);
}

