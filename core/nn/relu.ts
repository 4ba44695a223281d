/** nn.ReLU. */
import { relu } from "../ops/elementwise.ts";
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}
