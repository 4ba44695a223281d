/** Elementwise ops with NumPy broadcasting, and their gradients. */
import type { BinaryOp, UnaryOp } from "../backend.ts";
import { isFloating, promote, type DType } from "../dtype.ts";
import { XtError } from "../errors.ts";
import { broadcastShapes, sameShape, shapeStr } from "../shape.ts";
import type { Tensor, TensorLike } from "../tensor.ts";
import { record, wrap } from "./graph.ts";
import { expandTo } from "./views.ts";
import { sumTo } from "./reduce.ts";

/** A 0-d tensor holding `v`, on `like`'s backend. */
export function scalarLike(like: Tensor, v: number, dtype: DType): Tensor {
  return wrap(like, like.backend.fromHost([v], dtype), []);
}

export function fullLike(like: Tensor, v: number, dtype: DType = like.dtype, shape: readonly number[] = like.shape): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  return wrap(like, like.backend.full(n, v, dtype), shape);
}

/** A Python scalar joins a tensor op with the tensor's dtype, or float32 if it is fractional. */
function asTensor(like: Tensor, o: TensorLike): Tensor {
  if (typeof o !== "number") return o;
  const dtype: DType = isFloating(like.dtype) ? like.dtype : Number.isInteger(o) ? "int32" : "float32";
  return scalarLike(like, o, dtype);
}

function checkSameBackend(op: string, a: Tensor, b: Tensor): void {
  if (a.backend !== b.backend) {
    throw new XtError(`${op}: tensors are on different devices (${a.backend.name} and ${b.backend.name})`);
  }
}

function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor, outDtype: DType): Tensor {
  checkSameBackend(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const s = a.backend.binary(op, expandTo(a, shape), expandTo(b, shape), outDtype);
  return wrap(a, s, shape);
}

function unaryRaw(op: UnaryOp, x: Tensor): Tensor {
  return wrap(x, x.backend.unary(op, x), x.shape);
}

function arith(op: "add" | "sub" | "mul" | "div" | "pow" | "maximum", a0: TensorLike, b0: TensorLike): Tensor {
  const a = typeof a0 === "number" ? asTensor(b0 as Tensor, a0) : a0;
  const b = asTensor(a, b0);
  let dtype = promote(a.dtype, b.dtype);
  if (op === "div" && !isFloating(dtype)) dtype = "float32";
  if (dtype === "bool") dtype = "int32";
  return binaryRaw(op, a, b, dtype);
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  const out = arith("add", a, b);
  return recordBinary(out, "AddBackward", a, b, (g) => [g, g]);
}

export function sub(a: TensorLike, b: TensorLike): Tensor {
  const out = arith("sub", a, b);
  return recordBinary(out, "SubBackward", a, b, (g) => [g, neg(g)]);
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  const out = arith("mul", a, b);
  return recordBinary(out, "MulBackward", a, b, (g, ta, tb) => [tb ? mul(g, tb) : null, ta ? mul(g, ta) : null]);
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  const out = arith("div", a, b);
  return recordBinary(out, "DivBackward", a, b, (g, ta, tb) => [
    tb ? div(g, tb) : null,
    tb ? neg(div(mul(g, out.detach()), tb)) : null,
  ]);
}

export function pow(a: TensorLike, b: TensorLike): Tensor {
  const out = arith("pow", a, b);
  return recordBinary(out, "PowBackward", a, b, (g, ta, tb) => {
    // d/da a^b = b·a^(b-1); d/db a^b = a^b·ln a.
    const ga = ta && tb ? mul(g, mul(tb, arith("pow", ta, sub(tb, 1)))) : null;
    const gb = ta && tb ? mul(g, mul(out.detach(), log(ta))) : null;
    return [ga, gb];
  });
}

export function maximum(a: TensorLike, b: TensorLike): Tensor {
  const out = arith("maximum", a, b);
  return recordBinary(out, "MaximumBackward", a, b, (g, ta, tb) => {
    const aWins = cast(compare("ge", ta!, tb!), g.dtype);
    return [mul(g, aWins), mul(g, sub(1, aWins))];
  });
}

/**
 * Attach a binary op's backward, reducing each input gradient back to that input's shape
 * (broadcasting's backward is a sum). Scalars passed as numbers get no gradient.
 */
function recordBinary(
  out: Tensor,
  name: string,
  a0: TensorLike,
  b0: TensorLike,
  grads: (g: Tensor, a: Tensor | null, b: Tensor | null) => (Tensor | null)[],
): Tensor {
  const a = typeof a0 === "number" ? null : a0;
  const b = typeof b0 === "number" ? null : b0;
  const aDetached = a?.detach() ?? (typeof a0 === "number" ? asTensor(out, a0) : null);
  const bDetached = b?.detach() ?? (typeof b0 === "number" ? asTensor(out, b0) : null);
  return record(out, name, [a, b], (g) => {
    const [ga, gb] = grads(g, aDetached, bDetached);
    return [ga && a ? sumTo(ga, a.shape) : null, gb && b ? sumTo(gb, b.shape) : null];
  });
}

function unaryWithGrad(op: UnaryOp, x: Tensor, name: string, grad: (g: Tensor, x: Tensor, y: Tensor) => Tensor): Tensor {
  const out = unaryRaw(op, x);
  const xd = x.detach();
  return record(out, name, [x], (g) => [grad(g, xd, out.detach())]);
}

export function neg(x: Tensor): Tensor {
  return unaryWithGrad("neg", x, "NegBackward", (g) => neg(g));
}
export function exp(x: Tensor): Tensor {
  return unaryWithGrad("exp", x, "ExpBackward", (g, _x, y) => mul(g, y));
}
export function log(x: Tensor): Tensor {
  return unaryWithGrad("log", x, "LogBackward", (g, xd) => div(g, xd));
}
export function sqrt(x: Tensor): Tensor {
  return unaryWithGrad("sqrt", x, "SqrtBackward", (g, _x, y) => div(g, mul(y, 2)));
}
export function rsqrt(x: Tensor): Tensor {
  // d/dx x^(-1/2) = -1/2 · y³
  return unaryWithGrad("rsqrt", x, "RsqrtBackward", (g, _x, y) => mul(g, mul(unaryRaw("square", y), mul(y, -0.5))));
}
export function tanh(x: Tensor): Tensor {
  return unaryWithGrad("tanh", x, "TanhBackward", (g, _x, y) => mul(g, sub(1, unaryRaw("square", y))));
}
export function erf(x: Tensor): Tensor {
  return unaryWithGrad("erf", x, "ErfBackward", (g, xd) => binaryRaw("erf_grad", xd, g, g.dtype));
}
export function relu(x: Tensor): Tensor {
  return unaryWithGrad("relu", x, "ReluBackward", (g, xd) => binaryRaw("relu_grad", xd, g, g.dtype));
}
export function gelu(x: Tensor): Tensor {
  return unaryWithGrad("gelu", x, "GeluBackward", (g, xd) => binaryRaw("gelu_grad", xd, g, g.dtype));
}
export function abs(x: Tensor): Tensor {
  return unaryWithGrad("abs", x, "AbsBackward", (g, xd) => mul(g, unaryRaw("sign", xd)));
}
export function square(x: Tensor): Tensor {
  return unaryWithGrad("square", x, "SquareBackward", (g, xd) => mul(g, mul(xd, 2)));
}

export type CompareOp = "lt" | "le" | "gt" | "ge" | "eq" | "ne";

/** Comparisons give bool tensors and no gradient. */
export function compare(op: CompareOp, a: Tensor, b0: TensorLike): Tensor {
  const b = asTensor(a, b0);
  return binaryRaw(op, a, b, "bool");
}

/** out = cond ? a : b, broadcasting all three. */
export function where(cond: Tensor, a0: TensorLike, b0: TensorLike): Tensor {
  if (cond.dtype !== "bool") throw new XtError(`where: condition must be a bool tensor, got ${cond.dtype}`);
  const a = typeof a0 === "number" ? asTensor(typeof b0 === "number" ? scalarLike(cond, 0, "float32") : b0, a0) : a0;
  const b = asTensor(a, b0);
  checkSameBackend("where", a, b);
  const shape = broadcastShapes("where", broadcastShapes("where", cond.shape, a.shape), b.shape);
  const dtype = promote(a.dtype, b.dtype);
  const out = wrap(a, a.backend.where(expandTo(cond, shape), expandTo(a, shape), expandTo(b, shape), dtype), shape);
  const ta = typeof a0 === "number" ? null : a0;
  const tb = typeof b0 === "number" ? null : b0;
  return record(out, "WhereBackward", [ta, tb], (g) => {
    const zero = scalarLike(g, 0, g.dtype);
    return [ta ? sumTo(where(cond, g, zero), ta.shape) : null, tb ? sumTo(where(cond, zero, g), tb.shape) : null];
  });
}

/** x with `value` wherever mask is true (mask broadcasts to x, not the other way round). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  const shape = broadcastShapes("masked_fill", x.shape, mask.shape);
  if (!sameShape(shape, x.shape)) {
    throw new XtError(`masked_fill: mask of shape ${shapeStr(mask.shape)} does not broadcast to input shape ${shapeStr(x.shape)}`);
  }
  return where(mask, scalarLike(x, value, x.dtype), x);
}

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const out = wrap(x, x.backend.contiguous(x, dtype), x.shape);
  if (!isFloating(dtype)) return out;
  const from = x.dtype;
  return record(out, "CastBackward", [x], (g) => [cast(g, from)]);
}
