/** Helpers every op uses: wrap a kernel's output storage as a Tensor and attach its GradFn. */
import type { Storage } from "../backend.ts";
import { needsGrad } from "../autograd.ts";
import { Tensor } from "../tensor.ts";

export function wrap(like: Tensor, storage: Storage, shape: readonly number[]): Tensor {
  return new Tensor(like.backend, storage, [...shape]);
}

/**
 * Record `backward` on `out` when any input requires grad. The closure receives d(loss)/d(out)
 * and returns one gradient (or null) per input, each of the input's shape.
 */
export function record(
  out: Tensor,
  name: string,
  inputs: (Tensor | null)[],
  backward: (g: Tensor) => (Tensor | null)[],
): Tensor {
  if (!needsGrad(...inputs)) return out;
  out.requiresGrad = true;
  out.gradFn = { name, inputs, backward };
  return out;
}
