/**
 * nn.Dropout as PyTorch's CPU kernel does it: a bernoulli(1-p) mask scaled by 1/(1-p), drawn in
 * the input's memory order from the global generator; no draws when p is 0 or in eval mode.
 */
import { mul } from "../ops/elementwise.ts";
import { defaultGenerator } from "../random/index.ts";
import type { Backend } from "../backend.ts";
import type { DType } from "../dtype.ts";
import { contiguousStrides, numel } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";

export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!training || p === 0 || x.numel === 0) return x;
  return mul(x, dropoutMultipliers(x.backend, x.shape, x.dtype, p, memoryOrderStrides(x)));
}

/**
 * Dropout's multipliers (0 or 1/(1−p)) for a tensor of `shape`, drawn now from the global
 * generator; `strides` place the i-th draw (default: row-major). For kernels that apply dropout
 * themselves (core/ops/attention.ts), drawn where dropout would draw them in the stream.
 */
export function dropoutMultipliers(backend: Backend, shape: readonly number[], dtype: DType, p: number, strides?: number[]): Tensor {
  const mask = defaultGenerator.dropoutMaskInto(hostBuffer(numel(shape)), p);
  return new Tensor(backend, backend.fromHost(mask, dtype), [...shape], strides);
}

/**
 * The host arrays masks are drawn into before fromHost copies them to the device, one per size
 * (a model has a few): a fresh array per mask cost page faults each step. At most 16 sizes kept.
 */
const hostBuffers = new Map<number, Float32Array>();
function hostBuffer(n: number): Float32Array {
  let b = hostBuffers.get(n);
  if (!b) {
    if (hostBuffers.size >= 16) hostBuffers.clear();
    hostBuffers.set(n, (b = new Float32Array(n)));
  }
  return b;
}

/** empty_like keeps a dense tensor's layout, so the i-th draw lands at the i-th memory slot. */
function memoryOrderStrides(x: Tensor): number[] {
  if (x.isContiguous()) return contiguousStrides(x.shape);
  const dims = x.shape.map((_, i) => i).sort((a, b) => x.strides[b]! - x.strides[a]!);
  const strides = new Array<number>(x.ndim);
  let acc = 1;
  for (let k = dims.length - 1; k >= 0; k--) {
    const d = dims[k]!;
    if (x.strides[d] !== acc && x.shape[d] !== 1) return contiguousStrides(x.shape); // not dense
    strides[d] = acc;
    acc *= x.shape[d]!;
  }
  return strides;
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}
