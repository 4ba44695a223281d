export { Module } from "./module.ts";
export { Linear } from "./linear.ts";
export { Embedding } from "./embedding.ts";
export { LayerNorm } from "./layer_norm.ts";
export { Dropout, dropout } from "./dropout.ts";
export { GELU } from "./gelu.ts";
export * as init from "./init.ts";
