/**
 * The CPU backend: host typed arrays as storage. Each kernel runs through the provider table of
 * kernels.ts: the native library (backends/cpu/native) for the calls it takes, the TypeScript
 * kernels in this folder for everything else (XT_KERNELS=ts|native forces the choice).
 */
import type { AdamParams, Backend, BinaryOp, LayerNormSaved, ReduceOp, Storage, UnaryOp, View, Window2d } from "../../core/backend.ts";
import type { DType, HostArray } from "../../core/dtype.ts";
import { cpuKernels } from "./kernels.ts";
import { CpuStorage, dataOf } from "./storage.ts";

export { bernoulliMt, fillsMt, cpuKernelsSummary, describeCpuKernels, withKernels } from "./kernels.ts";
export type { CpuKernelsInfo, KernelGroup, KernelGroupInfo, KernelMode } from "./kernels.ts";

export class CpuBackend implements Backend {
  readonly name = "cpu";

  fromHost(data: ArrayLike<number>, dtype: DType): Storage {
    const s = CpuStorage.allocUninit(dtype, data.length);
    const arr = s.data;
    if (dtype === "bool") for (let i = 0; i < data.length; i++) arr[i] = data[i] ? 1 : 0;
    else arr.set(data as ArrayLike<number>);
    return s;
  }
  toHost(s: Storage): HostArray {
    return dataOf(s).slice();
  }
  full(size: number, value: number, dtype: DType): Storage {
    if (value === 0) return CpuStorage.alloc(dtype, size);
    const s = CpuStorage.allocUninit(dtype, size);
    s.data.fill(dtype === "bool" ? (value ? 1 : 0) : value);
    return s;
  }
  contiguous(v: View, dtype?: DType): Storage {
    return cpuKernels().contiguous(v, dtype);
  }
  copyInto(dst: View, src: View): void {
    cpuKernels().copyInto(dst, src);
  }
  unary(op: UnaryOp, x: View): Storage {
    return cpuKernels().unary(op, x);
  }
  binary(op: BinaryOp, a: View, b: View, outDtype: DType): Storage {
    return cpuKernels().binary(op, a, b, outDtype);
  }
  where(cond: View, a: View, b: View, outDtype: DType): Storage {
    return cpuKernels().where(cond, a, b, outDtype);
  }
  reduce(op: ReduceOp, x: View, inner: number): Storage {
    return cpuKernels().reduce(op, x, inner);
  }
  matmul(a: View, b: View): Storage {
    return cpuKernels().matmul(a, b);
  }
  softmax(x: View, log: boolean): Storage {
    return cpuKernels().softmax(x, log);
  }
  softmaxBackward(y: View, gy: View, log: boolean): Storage {
    return cpuKernels().softmaxBackward(y, gy, log);
  }
  gatherRows(x: View, index: View): Storage {
    return cpuKernels().gatherRows(x, index);
  }
  scatterAddRows(src: View, index: View, rows: number): Storage {
    return cpuKernels().scatterAddRows(src, index, rows);
  }
  im2row(x: View, w: Window2d): Storage {
    return cpuKernels().im2row(x, w);
  }
  row2im(rows: View, w: Window2d, height: number, width: number): Storage {
    return cpuKernels().row2im(rows, w, height, width);
  }
  maxPool2d(x: View, w: Window2d): { y: Storage; indices: Storage } {
    return cpuKernels().maxPool2d(x, w);
  }
  maxPool2dBackward(gy: View, indices: View, w: Window2d, height: number, width: number): Storage {
    return cpuKernels().maxPool2dBackward(gy, indices, w, height, width);
  }
  adamStepInPlace(param: Storage, grad: View, m: Storage, v: Storage, p: AdamParams): void {
    cpuKernels().adamStepInPlace(param, grad, m, v, p);
  }

  // ---- optional fused kernels (null: no provider in use takes the call, core composes the op) ----

  linear(x: View, weight: View, bias: View | null): Storage | null {
    return cpuKernels().linear(x, weight, bias);
  }
  layerNorm(x: View, weight: View | null, bias: View | null, eps: number): { y: Storage; saved: LayerNormSaved } | null {
    return cpuKernels().layerNorm(x, weight, bias, eps);
  }
  layerNormBackward(gy: View, x: View, weight: View | null, saved: LayerNormSaved): { gx: Storage; gw: Storage; gb: Storage } {
    return cpuKernels().layerNormBackward(gy, x, weight, saved);
  }
  crossEntropy(logits: View, target: View): { loss: Storage; saved: Storage } | null {
    return cpuKernels().crossEntropy(logits, target);
  }
  crossEntropyBackward(logits: View, target: View, saved: Storage, gLoss: View): Storage {
    return cpuKernels().crossEntropyBackward(logits, target, saved, gLoss);
  }
  attention(q: View, k: View, v: View, blocked: View | null, drop: View | null, scale: number): { out: Storage; weights: Storage } | null {
    return cpuKernels().attention(q, k, v, blocked, drop, scale);
  }
  attentionBackward(
    gOut: View, q: View, k: View, v: View, blocked: View | null, drop: View | null, weights: Storage, scale: number,
  ): { gq: Storage; gk: Storage; gv: Storage } {
    return cpuKernels().attentionBackward(gOut, q, k, v, blocked, drop, weights, scale);
  }
}
