/** F.linear(x, weight, bias): y = x·Wᵀ + b, in one kernel where the backend has it (fused.ts), else a matmul and an add. */
import type { Tensor } from "../tensor.ts";
import { add } from "./elementwise.ts";
import { fusedLinear } from "./fused.ts";
import { matmul } from "./matmul.ts";
import { transpose } from "./views.ts";

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const fused = fusedLinear(x, weight, bias);
  if (fused) return fused;
  const y = matmul(x, transpose(weight, 0, 1));
  return bias ? add(y, bias) : y;
}
