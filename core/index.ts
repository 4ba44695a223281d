/** xt's public API, spelled like PyTorch so parity is easy to read. */
export { Tensor } from "./tensor.ts";
export type { DType } from "./dtype.ts";
export { noGrad, isGradEnabled } from "./autograd.ts";
export { XtError, DataError } from "./errors.ts";
export { currentBackend, setBackend } from "./device.ts";
export {
  tensor, fromArray, zeros, ones, full, arange, tril, randn, rand, randint, randperm,
} from "./ops/creation.ts";
export { add, sub, mul, div, pow, neg, exp, log, sqrt, tanh, erf, relu, gelu, where, maskedFill } from "./ops/elementwise.ts";
export { sum, mean, variance as var_, maxAll, maxDim, argmax } from "./ops/reduce.ts";
export { reshape, permute, transpose, unsqueeze, squeeze, expand, narrow, contiguous, clone, flatten } from "./ops/views.ts";
export { matmul } from "./ops/matmul.ts";
export { softmax, logSoftmax } from "./ops/softmax.ts";
export { cat, stack, indexSelect, embedding } from "./ops/indexing.ts";
export { crossEntropy } from "./ops/loss.ts";
export { conv2d, unfold, im2row } from "./ops/conv.ts";
export { linear } from "./ops/linear.ts";
export { maxPool2d } from "./ops/pool.ts";
export { manualSeed, defaultGenerator } from "./random/index.ts";
export { Module, Linear, Embedding, LayerNorm, Dropout, GELU, ReLU, Conv2d, MaxPool2d, init } from "./nn/index.ts";
export {
  PositionalEncoding, MultiHeadAttention, FeedForwardNetwork, TransformerDecoderLayer, TransformerEncoderLayer,
  PatchEmbedding, TransformerDecoder, TransformerEncoder, CaptioningTransformer, VisionTransformer, ConvStem, SmallCNN,
} from "./models/index.ts";
