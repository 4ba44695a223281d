/**
 * nn.Conv2d(in, out, kernel_size, stride=1, padding=0, {bias}), initialised like PyTorch's
 * reset_parameters: kaiming_uniform_(weight, a=√5) then the bias from U(±1/√fan_in), with
 * fan_in = in·kh·kw, both drawn from the global generator in that order.
 */
import { XtError } from "../errors.ts";
import { zeros } from "../ops/creation.ts";
import { conv2d } from "../ops/conv.ts";
import { pair, type Size2 } from "../ops/window2d.ts";
import { kaimingUniformBound, linearBiasBound } from "../random/init_bounds.ts";
import type { Tensor } from "../tensor.ts";
import { uniform_ } from "./init.ts";
import { Module } from "./module.ts";

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    stride: Size2 = 1,
    padding: Size2 = 0,
    options: { bias?: boolean } = {},
  ) {
    super();
    for (const [name, v] of [["in_channels", inChannels], ["out_channels", outChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new XtError(`Conv2d: ${name} must be a positive whole number, got ${v}`);
    }
    this.kernelSize = pair("Conv2d", "kernel_size", kernelSize, 1);
    this.stride = pair("Conv2d", "stride", stride, 1);
    this.padding = pair("Conv2d", "padding", padding, 0);
    const [kh, kw] = this.kernelSize;
    this.weight = this.param("weight", zeros([outChannels, inChannels, kh, kw]));
    this.bias = options.bias ?? true ? this.param("bias", zeros([outChannels])) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    const fanIn = this.inChannels * this.kernelSize[0] * this.kernelSize[1];
    const wb = kaimingUniformBound(fanIn);
    uniform_(this.weight, -wb, wb);
    if (this.bias) {
      const bb = linearBiasBound(fanIn);
      uniform_(this.bias, -bb, bb);
    }
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.stride, this.padding);
  }
}
