/** Split images into P×P patches (each flattened in (C, P, P) order) and project them. */
import { Linear } from "../nn/linear.ts";
import { Module } from "../nn/module.ts";
import { XtError } from "../errors.ts";
import { permute, reshape } from "../ops/views.ts";
import { shapeStr } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

export class PatchEmbedding extends Module {
  readonly numPatches: number;
  readonly patchDim: number;
  readonly proj: Linear;

  constructor(readonly imgSize: number, readonly patchSize: number, readonly inChannels = 3, readonly embedDim = 128) {
    super();
    if (imgSize % patchSize !== 0) {
      throw new XtError(`PatchEmbedding: image size ${imgSize} is not divisible by patch size ${patchSize}`);
    }
    this.numPatches = (imgSize / patchSize) ** 2;
    this.patchDim = patchSize * patchSize * inChannels;
    this.proj = this.child("proj", new Linear(this.patchDim, embedDim));
  }

  forward(x: Tensor): Tensor {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    if (x.ndim !== 4 || C !== this.inChannels || H !== this.imgSize || W !== this.imgSize) {
      throw new XtError(
        `PatchEmbedding: expected images (N, ${this.inChannels}, ${this.imgSize}, ${this.imgSize}), got ${shapeStr(x.shape)}`,
      );
    }
    const P = this.patchSize;
    const patches = permute(reshape(x, [N, C, H / P, P, W / P, P]), [0, 2, 4, 1, 3, 5]);
    return this.proj.forward(reshape(patches, [N, this.numPatches, this.patchDim]));
  }
}
