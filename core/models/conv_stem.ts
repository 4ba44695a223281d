/**
 * The convolutional stem of the hybrid ViT (`train vit --conv-stem`): two conv3×3 (padding 1)–ReLU
 * layers, C → S → S channels at the image's own size, before the patch embedding. The patches
 * then cut S-channel feature maps instead of raw pixels: the token count is unchanged, each token
 * sees a 2-pixel margin beyond its patch, and local structure (edges, strokes) is computed by
 * weights shared across the image, the locality prior a plain ViT must learn from data.
 */
import { Conv2d } from "../nn/conv2d.ts";
import { Module } from "../nn/module.ts";
import { relu } from "../ops/elementwise.ts";
import type { Tensor } from "../tensor.ts";

export class ConvStem extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;

  constructor(readonly inChannels: number, readonly channels: number) {
    super();
    this.conv1 = this.child("conv1", new Conv2d(inChannels, channels, 3, 1, 1));
    this.conv2 = this.child("conv2", new Conv2d(channels, channels, 3, 1, 1));
  }

  forward(x: Tensor): Tensor {
    return relu(this.conv2.forward(relu(this.conv1.forward(x))));
  }
}
