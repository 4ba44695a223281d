/** nn.MaxPool2d(kernel_size, stride=kernel_size): no parameters, no draws. */
import { maxPool2d } from "../ops/pool.ts";
import { pair, type Size2 } from "../ops/window2d.ts";
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";

export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];

  constructor(kernelSize: Size2, stride?: Size2) {
    super();
    this.kernelSize = pair("MaxPool2d", "kernel_size", kernelSize, 1);
    this.stride = pair("MaxPool2d", "stride", stride ?? kernelSize, 1);
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.stride);
  }
}
