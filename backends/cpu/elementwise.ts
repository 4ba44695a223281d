/** Elementwise kernels over strided (possibly broadcast) views. */
import type { BinaryOp, UnaryOp, View } from "../../core/backend.ts";
import type { DType } from "../../core/dtype.ts";
import { erf, erfGrad, gelu, geluGrad } from "./math.ts";
import { CpuStorage, dataOf } from "./storage.ts";
import { isDense, RowWalker, viewSize } from "./strided.ts";

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
  square: (x) => x * x,
};

const BINARY: Record<BinaryOp, Bin> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
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
  const out = CpuStorage.allocUninit(outDtype, n);
  const o = out.data;
  const xs = dataOf(x.storage);
  if (isDense(x)) {
    const off = x.offset;
    for (let i = 0; i < n; i++) o[i] = f(xs[off + i]!);
    return out;
  }
  const w = new RowWalker(x.shape, x);
  let k = 0;
  for (let r = 0; r < w.rows; r++, w.next()) {
    for (let j = 0, ix = w.a; j < w.inner; j++, ix += w.sa) o[k++] = f(xs[ix]!);
  }
  return out;
}

export function binary(op: BinaryOp, a: View, b: View, outDtype: DType): CpuStorage {
  const f = BINARY[op];
  const n = viewSize(a);
  const out = CpuStorage.allocUninit(outDtype, n);
  const o = out.data;
  const as = dataOf(a.storage);
  const bs = dataOf(b.storage);
  const aDense = isDense(a);
  if (aDense && isDense(b)) {
    const oa = a.offset;
    const ob = b.offset;
    for (let i = 0; i < n; i++) o[i] = f(as[oa + i]!, bs[ob + i]!);
    return out;
  }
  if (aDense && b.strides.every((s) => s === 0)) {
    const oa = a.offset;
    const bv = bs[b.offset]!;
    for (let i = 0; i < n; i++) o[i] = f(as[oa + i]!, bv);
    return out;
  }
  const w = new RowWalker(a.shape, a, b);
  let k = 0;
  for (let r = 0; r < w.rows; r++, w.next()) {
    for (let j = 0, ia = w.a, ib = w.b; j < w.inner; j++, ia += w.sa, ib += w.sb) o[k++] = f(as[ia]!, bs[ib]!);
  }
  return out;
}

export function where(cond: View, a: View, b: View, outDtype: DType): CpuStorage {
  const n = viewSize(a);
  const out = CpuStorage.allocUninit(outDtype, n);
  const o = out.data;
  const cs = dataOf(cond.storage);
  const as = dataOf(a.storage);
  const bs = dataOf(b.storage);
  const w = new RowWalker(a.shape, cond, a, b);
  let k = 0;
  for (let r = 0; r < w.rows; r++, w.next()) {
    for (let j = 0, ic = w.a, ia = w.b, ib = w.c; j < w.inner; j++, ic += w.sa, ia += w.sb, ib += w.sc) {
      o[k++] = cs[ic] ? as[ia]! : bs[ib]!;
    }
  }
  return out;
}

/** Gather a view into a new dense storage (with a dtype conversion when asked). */
export function contiguous(v: View, dtype: DType = v.storage.dtype): CpuStorage {
  const n = viewSize(v);
  const src = dataOf(v.storage);
  const toInt = dtype === "int32" || dtype === "bool";
  if (isDense(v) && !toInt) {
    const out = CpuStorage.allocUninit(dtype, n);
    out.data.set(src.subarray(v.offset, v.offset + n) as never);
    return out;
  }
  const out = CpuStorage.allocUninit(dtype, n);
  const o = out.data;
  const w = new RowWalker(v.shape, v);
  let k = 0;
  for (let r = 0; r < w.rows; r++, w.next()) {
    if (dtype === "bool") for (let j = 0, i = w.a; j < w.inner; j++, i += w.sa) o[k++] = src[i] ? 1 : 0;
    else if (dtype === "int32") for (let j = 0, i = w.a; j < w.inner; j++, i += w.sa) o[k++] = Math.trunc(src[i]!);
    else for (let j = 0, i = w.a; j < w.inner; j++, i += w.sa) o[k++] = src[i]!;
  }
  return out;
}

export function copyInto(dst: View, src: View): void {
  const d = dataOf(dst.storage);
  const s = dataOf(src.storage);
  const toBool = dst.storage.dtype === "bool";
  const w = new RowWalker(dst.shape, dst, src);
  for (let r = 0; r < w.rows; r++, w.next()) {
    if (toBool) for (let j = 0, id = w.a, is = w.b; j < w.inner; j++, id += w.sa, is += w.sb) d[id] = s[is] ? 1 : 0;
    else for (let j = 0, id = w.a, is = w.b; j < w.inner; j++, id += w.sa, is += w.sb) d[id] = s[is]!;
  }
}
