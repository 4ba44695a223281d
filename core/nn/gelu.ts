/** nn.GELU (exact erf form). */
import { gelu } from "../ops/elementwise.ts";
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";

export class GELU extends Module {
  forward(x: Tensor): Tensor {
    return gelu(x);
  }
}
