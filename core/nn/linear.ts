/** nn.Linear: y = x·Wᵀ + b, initialised like PyTorch (kaiming-uniform weight, then bias). */
import { zeros } from "../ops/creation.ts";
import { linear } from "../ops/linear.ts";
import { kaimingUniformBound } from "../random/init_bounds.ts";
import type { Tensor } from "../tensor.ts";
import { uniform_ } from "./init.ts";
import { Module } from "./module.ts";

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    this.weight = this.param("weight", zeros([outFeatures, inFeatures]));
    this.bias = bias ? this.param("bias", zeros([outFeatures])) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    const wb = kaimingUniformBound(this.inFeatures);
    uniform_(this.weight, -wb, wb);
    if (this.bias) {
      const bb = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      uniform_(this.bias, -bb, bb);
    }
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
