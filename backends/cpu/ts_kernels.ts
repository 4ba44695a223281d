/**
 * The TypeScript provider of every CPU kernel: the last in each chain of the kernel table
 * (kernels.ts), taking every call. It runs every dtype and view. The fused kernels have no
 * TypeScript version: forward they decline (null, so core composes the op from the kernels
 * above), and their backwards exist only for a native forward's saved state.
 */
import type { View } from "../../core/backend.ts";
import { adamStepInPlace } from "./adam.ts";
import * as E from "./elementwise.ts";
import { gatherRows, scatterAddRows } from "./gather.ts";
import type { CpuKernels, KernelName, Provider } from "./kernels.ts";
import { batchedGemm, type FloatArray } from "./matmul.ts";
import { reduce } from "./reduce.ts";
import { softmax, softmaxBackward } from "./softmax.ts";
import { CpuStorage, dataOf } from "./storage.ts";
import { im2row, maxPool2d, maxPool2dBackward, row2im } from "./window2d.ts";

function ts<K extends keyof CpuKernels>(run: CpuKernels[K]): Provider<CpuKernels[K]> {
  return { name: "typescript", run };
}

function matmul(a: View, b: View): CpuStorage {
  const [B, M, K] = a.shape as [number, number, number];
  const N = b.shape[2]!;
  const out = CpuStorage.alloc(a.storage.dtype, B * M * N);
  const [as0, as1, as2] = a.strides as [number, number, number];
  const [bs0, bs1, bs2] = b.strides as [number, number, number];
  batchedGemm(B, M, N, K, dataOf(a.storage) as FloatArray, a.offset, as0, as1, as2, dataOf(b.storage) as FloatArray, b.offset, bs0, bs1, bs2, out.data as FloatArray, 0);
  return out;
}

function needsNativeForward(kernel: string): never {
  throw new Error(`cpu backend: ${kernel} takes the saved state of the native forward, and the native kernels are not in use`);
}

/** Every kernel has one (the type says so): it is the last resort of every chain. */
export const TS_PROVIDERS: { readonly [K in KernelName]: Provider<CpuKernels[K]> } = {
  contiguous: ts<"contiguous">(E.contiguous),
  copyInto: ts<"copyInto">(E.copyInto),
  unary: ts<"unary">(E.unary),
  binary: ts<"binary">(E.binary),
  where: ts<"where">(E.where),
  reduce: ts<"reduce">(reduce),
  matmul: ts<"matmul">(matmul),
  linear: ts<"linear">(() => null),
  softmax: ts<"softmax">(softmax),
  softmaxBackward: ts<"softmaxBackward">(softmaxBackward),
  crossEntropy: ts<"crossEntropy">(() => null),
  crossEntropyBackward: ts<"crossEntropyBackward">(() => needsNativeForward("crossEntropyBackward")),
  layerNorm: ts<"layerNorm">(() => null),
  layerNormBackward: ts<"layerNormBackward">(() => needsNativeForward("layerNormBackward")),
  gatherRows: ts<"gatherRows">(gatherRows),
  scatterAddRows: ts<"scatterAddRows">(scatterAddRows),
  im2row: ts<"im2row">(im2row),
  row2im: ts<"row2im">(row2im),
  maxPool2d: ts<"maxPool2d">(maxPool2d),
  maxPool2dBackward: ts<"maxPool2dBackward">((gy, indices, _w, height, width) => maxPool2dBackward(gy, indices, height, width)),
  adamStepInPlace: ts<"adamStepInPlace">(adamStepInPlace),
  attention: ts<"attention">(() => null),
  attentionBackward: ts<"attentionBackward">(() => needsNativeForward("attentionBackward")),
  // core/random draws in TypeScript.
  bernoulli: ts<"bernoulli">(() => null),
  uniformFill: ts<"uniformFill">(() => null),
  normalFill: ts<"normalFill">(() => null),
};
