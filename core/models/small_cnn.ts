/**
 * SmallCNN: the convolutional baseline of `xt train cnn` (docs/cnn.md), two conv–ReLU–pool
 * blocks and a linear head:
 *
 *   conv1 = Conv2d(C, c1, 3, padding=1) → ReLU → MaxPool2d(2)        (H → ⌊H/2⌋)
 *   conv2 = Conv2d(c1, c2, 3, padding=1) → ReLU → MaxPool2d(2)       (→ ⌊⌊H/2⌋/2⌋ = S)
 *   head  = Linear(c2·S·S, classes) on the flattened features
 *
 * PyTorch's default initialisation throughout (kaiming-uniform weights, uniform biases), drawn in
 * construction order conv1, conv2, head. With c1 = 32, c2 = 64: 50,186 parameters on 28×28×1
 * images, 60,362 on 32×32×3 (fixtures/gen/reference.py has the same class for the parity tests).
 */
import { Conv2d } from "../nn/conv2d.ts";
import { Linear } from "../nn/linear.ts";
import { MaxPool2d } from "../nn/max_pool2d.ts";
import { Module } from "../nn/module.ts";
import { XtError } from "../errors.ts";
import { relu } from "../ops/elementwise.ts";
import { flatten } from "../ops/views.ts";
import { shapeStr } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

export class SmallCNN extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly pool: MaxPool2d;
  readonly head: Linear;
  /** The side of the feature map the head reads. */
  readonly featureSide: number;

  constructor(
    readonly imgSize = 32,
    readonly inChannels = 3,
    readonly channels1 = 32,
    readonly channels2 = 64,
    readonly numClasses = 10,
  ) {
    super();
    this.featureSide = Math.floor(Math.floor(imgSize / 2) / 2);
    if (this.featureSide < 1) throw new XtError(`SmallCNN: images of ${imgSize}×${imgSize} are too small for two 2×2 poolings (at least 4×4)`);
    this.conv1 = this.child("conv1", new Conv2d(inChannels, channels1, 3, 1, 1));
    this.conv2 = this.child("conv2", new Conv2d(channels1, channels2, 3, 1, 1));
    this.pool = this.child("pool", new MaxPool2d(2));
    this.head = this.child("head", new Linear(channels2 * this.featureSide * this.featureSide, numClasses));
  }

  /** images (N, C, H, W) → class scores (N, classes). */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels || x.shape[2] !== this.imgSize || x.shape[3] !== this.imgSize) {
      throw new XtError(`SmallCNN: expected images (N, ${this.inChannels}, ${this.imgSize}, ${this.imgSize}), got ${shapeStr(x.shape)}`);
    }
    const h1 = this.pool.forward(relu(this.conv1.forward(x)));
    const h2 = this.pool.forward(relu(this.conv2.forward(h1)));
    return this.head.forward(flatten(h2, 1));
  }
}
