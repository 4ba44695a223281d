/** Elementwise kernels over strided (possibly broadcast) views. */
import type { BinaryOp, UnaryOp, View } from "../../core/backend.ts";
import type { DType } from "../../core/dtype.ts";
import { erf, erfGrad, gelu, geluGrad } from "./math.ts";
import { CpuStorage, dataOf } from "./storage.ts";
import { isDense, offsetsOf, viewSize } from "./strided.ts";

type Un = (x: number) => number;
type Bin = (a: number, b: number) => number;

const UNARY: Record<UnaryOp, Un> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  tanh: Math.tanh,
  erf,
  relu: (x) => (x > 0 ? x : 0),
  gelu,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  reciprocal: (x) => 1 / x,
  square: (x) => x * x,
};

const BINARY: Record<BinaryOp, Bin> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
  minimum: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  gelu_grad: (x, g) => g * geluGrad(x),
  relu_grad: (x, g) => (x > 0 ? g : 0),
  erf_grad: (x, g) => g * erfGrad(x),
};

export function unary(op: UnaryOp, x: View): CpuStorage {
  const f = UNARY[op];
  const n = viewSize(x);
  const outDtype = x.storage.dtype === "bool" && op !== "neg" ? "float32" : x.storage.dtype;
  const out = CpuStorage.alloc(outDtype, n);
  const o = out.data;
  const xs = dataOf(x.storage);
  if (isDense(x)) {
    const off = x.offset;
    for (let i = 0; i < n; i++) o[i] = f(xs[off + i]!);
  } else {
    const ox = offsetsOf(x);
    for (let i = 0; i < n; i++) o[i] = f(xs[ox[i]!]!);
  }
  return out;
}

export function binary(op: BinaryOp, a: View, b: View, outDtype: DType): CpuStorage {
  const f = BINARY[op];
  const n = viewSize(a);
  const out = CpuStorage.alloc(outDtype, n);
  const o = out.data;
  const as = dataOf(a.storage);
  const bs = dataOf(b.storage);
  const aDense = isDense(a);
  const bDense = isDense(b);
  const bScalar = b.strides.every((s) => s === 0);
  if (aDense && bDense) {
    const oa = a.offset;
    const ob = b.offset;
    for (let i = 0; i < n; i++) o[i] = f(as[oa + i]!, bs[ob + i]!);
  } else if (aDense && bScalar) {
    const oa = a.offset;
    const bv = bs[b.offset]!;
    for (let i = 0; i < n; i++) o[i] = f(as[oa + i]!, bv);
  } else {
    const offA = offsetsOf(a);
    const offB = offsetsOf(b);
    for (let i = 0; i < n; i++) o[i] = f(as[offA[i]!]!, bs[offB[i]!]!);
  }
  return out;
}

export function where(cond: View, a: View, b: View, outDtype: DType): CpuStorage {
  const n = viewSize(a);
  const out = CpuStorage.alloc(outDtype, n);
  const o = out.data;
  const cs = dataOf(cond.storage);
  const as = dataOf(a.storage);
  const bs = dataOf(b.storage);
  const oc = offsetsOf(cond);
  const oa = offsetsOf(a);
  const ob = offsetsOf(b);
  for (let i = 0; i < n; i++) o[i] = cs[oc[i]!] ? as[oa[i]!]! : bs[ob[i]!]!;
  return out;
}

/** Gather a view into a new dense storage (with a dtype conversion when asked). */
export function contiguous(v: View, dtype: DType = v.storage.dtype): CpuStorage {
  const n = viewSize(v);
  const out = CpuStorage.alloc(dtype, n);
  const src = dataOf(v.storage);
  const o = out.data;
  const toInt = dtype === "int32" || dtype === "bool";
  if (isDense(v) && !toInt) {
    o.set(src.subarray(v.offset, v.offset + n) as never);
    return out;
  }
  const off = offsetsOf(v);
  if (dtype === "bool") for (let i = 0; i < n; i++) o[i] = src[off[i]!] ? 1 : 0;
  else if (dtype === "int32") for (let i = 0; i < n; i++) o[i] = Math.trunc(src[off[i]!]!);
  else for (let i = 0; i < n; i++) o[i] = src[off[i]!]!;
  return out;
}

export function copyInto(dst: View, src: View): void {
  const d = dataOf(dst.storage);
  const s = dataOf(src.storage);
  const od = offsetsOf(dst);
  const os = offsetsOf(src);
  const toBool = dst.storage.dtype === "bool";
  for (let i = 0; i < od.length; i++) {
    const v = s[os[i]!]!;
    d[od[i]!] = toBool ? (v ? 1 : 0) : v;
  }
}
