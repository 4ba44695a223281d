/** Tensor factories: constants, ranges, nested arrays, and the seeded random draws. */
import type { DType } from "../dtype.ts";
import { hostArrayFor } from "../dtype.ts";
import { currentBackend } from "../device.ts";
import { XtError } from "../errors.ts";
import { numel, shapeStr } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { defaultGenerator, type TorchGenerator } from "../random/index.ts";
import { where } from "./elementwise.ts";

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

function finish(t: Tensor, opts?: CreateOptions): Tensor {
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

function checkShape(op: string, shape: readonly number[]): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new XtError(`${op}: invalid shape ${shapeStr(shape)} (sizes must be non-negative integers)`);
  }
}

export function fromArray(data: ArrayLike<number>, shape: readonly number[], dtype: DType = "float32", opts?: CreateOptions): Tensor {
  checkShape("tensor", shape);
  if (data.length !== numel(shape)) {
    throw new XtError(`tensor: ${data.length} values do not fill shape ${shapeStr(shape)}`);
  }
  const b = currentBackend();
  return finish(new Tensor(b, b.fromHost(data, dtype), [...shape]), opts);
}

export function full(shape: readonly number[], value: number, opts?: CreateOptions): Tensor {
  checkShape("full", shape);
  const b = currentBackend();
  return finish(new Tensor(b, b.full(numel(shape), value, opts?.dtype ?? "float32"), [...shape]), opts);
}

export const zeros = (shape: readonly number[], opts?: CreateOptions): Tensor => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts?: CreateOptions): Tensor => full(shape, 1, opts);

/** arange(end) or arange(start, end, step); integer arguments give int32 like PyTorch gives int64. */
export function arange(start: number, end?: number, step = 1, opts?: CreateOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new XtError("arange: step must be non-zero");
  const n = Math.max(0, Math.ceil((end - start) / step));
  const ints = [start, end, step].every(Number.isInteger);
  const values = Array.from({ length: n }, (_, i) => start + i * step);
  return fromArray(values, [n], opts?.dtype ?? (ints ? "int32" : "float32"), opts);
}

type Nested = number | boolean | Nested[];

/** tensor(nested arrays): the shape is read off the nesting; booleans give bool. */
export function tensor(data: Nested, opts?: CreateOptions): Tensor {
  const shape: number[] = [];
  let probe: Nested = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] as Nested;
  }
  const flat: number[] = [];
  const walk = (x: Nested, depth: number): void => {
    if (Array.isArray(x)) {
      if (x.length !== shape[depth]) throw new XtError(`tensor: ragged nested array at depth ${depth} (expected length ${shape[depth]}, got ${x.length})`);
      for (const y of x) walk(y, depth + 1);
    } else {
      if (depth !== shape.length) throw new XtError(`tensor: ragged nested array at depth ${depth}`);
      flat.push(typeof x === "boolean" ? (x ? 1 : 0) : x);
    }
  };
  walk(data, 0);
  const dtype = opts?.dtype ?? (typeof probe === "boolean" ? "bool" : "float32");
  return fromArray(flat, shape, dtype, opts);
}

/** Lower triangle of the last two dims (elements above `diagonal` become 0). */
export function tril(x: Tensor, diagonal = 0): Tensor {
  if (x.ndim < 2) throw new XtError(`tril: input must have at least 2 dims, got ${shapeStr(x.shape)}`);
  const R = x.shape[x.ndim - 2]!;
  const C = x.shape[x.ndim - 1]!;
  const mask = new Uint8Array(R * C);
  for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) mask[i * C + j] = j - i <= diagonal ? 1 : 0;
  const keep = new Tensor(x.backend, x.backend.fromHost(mask, "bool"), [R, C]);
  return where(keep, x, 0);
}

// ---- random draws: bit-exact with torch's CPU generator (core/random) ----

export interface RandomOptions extends CreateOptions {
  generator?: TorchGenerator;
}

function floatHost(shape: readonly number[], dtype: DType): Float32Array | Float64Array {
  if (dtype !== "float32" && dtype !== "float64") throw new XtError(`random floats need a floating dtype, got ${dtype}`);
  return hostArrayFor(dtype, numel(shape)) as Float32Array | Float64Array;
}

export function randn(shape: readonly number[], opts?: RandomOptions): Tensor {
  checkShape("randn", shape);
  const dtype = opts?.dtype ?? "float32";
  const host = floatHost(shape, dtype);
  (opts?.generator ?? defaultGenerator).fillNormal(host, 0, 1);
  return fromArray(host, shape, dtype, opts);
}

export function rand(shape: readonly number[], opts?: RandomOptions): Tensor {
  checkShape("rand", shape);
  const dtype = opts?.dtype ?? "float32";
  const host = floatHost(shape, dtype);
  (opts?.generator ?? defaultGenerator).fillUniform(host, 0, 1);
  return fromArray(host, shape, dtype, opts);
}

export function randint(low: number, high: number, shape: readonly number[], opts?: RandomOptions): Tensor {
  checkShape("randint", shape);
  if (!(high > low)) throw new XtError(`randint: expects low < high, got low=${low}, high=${high}`);
  const v = (opts?.generator ?? defaultGenerator).randint(low, high, numel(shape));
  return fromArray(v, shape, "int32", opts);
}

export function randperm(n: number, opts?: RandomOptions): Tensor {
  const v = (opts?.generator ?? defaultGenerator).randperm(n);
  return fromArray(v, [n], "int32", opts);
}
