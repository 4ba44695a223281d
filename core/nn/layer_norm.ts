/** nn.LayerNorm over the last dim (biased variance, eps inside the square root). */
import { ones, zeros } from "../ops/creation.ts";
import { add, mul, rsqrt, sub } from "../ops/elementwise.ts";
import { fusedLayerNorm } from "../ops/fused.ts";
import { mean } from "../ops/reduce.ts";
import { variance } from "../ops/reduce.ts";
import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(readonly normalizedShape: number, readonly eps = 1e-5) {
    super();
    this.weight = this.param("weight", ones([normalizedShape]));
    this.bias = this.param("bias", zeros([normalizedShape]));
  }

  forward(x: Tensor): Tensor {
    // One kernel each way when the backend has it; the composed form below otherwise.
    const fused = fusedLayerNorm(x, this.weight, this.bias, this.eps);
    if (fused) return fused;
    const mu = mean(x, -1, true);
    const v = variance(x, -1, false, true);
    const xhat = mul(sub(x, mu), rsqrt(add(v, this.eps)));
    return add(mul(xhat, this.weight), this.bias);
  }
}
