/** In-place initialisers (torch.nn.init), drawing from the torch-compatible generator. */
import { noGrad } from "../autograd.ts";
import { hostArrayFor } from "../dtype.ts";
import { defaultGenerator, type TorchGenerator } from "../random/index.ts";
import { contiguousStrides } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

/** Overwrite t's elements (row-major) with host values. */
export function assignHost(t: Tensor, values: ArrayLike<number>): void {
  noGrad(() => {
    const src = t.backend.fromHost(values, t.dtype);
    t.backend.copyInto(t, { storage: src, shape: t.shape, strides: contiguousStrides(t.shape), offset: 0 });
  });
}

function floatHost(t: Tensor): Float32Array | Float64Array {
  return hostArrayFor(t.dtype === "float64" ? "float64" : "float32", t.numel) as Float32Array | Float64Array;
}

export function normal_(t: Tensor, mean = 0, std = 1, gen: TorchGenerator = defaultGenerator): Tensor {
  const h = floatHost(t);
  gen.fillNormal(h, mean, std);
  assignHost(t, h);
  return t;
}

export function uniform_(t: Tensor, a = 0, b = 1, gen: TorchGenerator = defaultGenerator): Tensor {
  const h = floatHost(t);
  gen.fillUniform(h, a, b);
  assignHost(t, h);
  return t;
}

export function constant_(t: Tensor, v: number): Tensor {
  assignHost(t, new Float64Array(t.numel).fill(v));
  return t;
}

export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);
