/** The pure-TypeScript CPU backend: host typed arrays as storage, kernels in this folder. */
import type { AdamParams, Backend, BinaryOp, ReduceOp, Storage, UnaryOp, View } from "../../core/backend.ts";
import type { DType, HostArray } from "../../core/dtype.ts";
import { hostArrayFor } from "../../core/dtype.ts";
import { adamStepInPlace } from "./adam.ts";
import * as E from "./elementwise.ts";
import { gatherRows, scatterAddRows } from "./gather.ts";
import { batchedGemm } from "./matmul.ts";
import { reduce } from "./reduce.ts";
import { softmax, softmaxBackward } from "./softmax.ts";
import { CpuStorage, dataOf } from "./storage.ts";

export class CpuBackend implements Backend {
  readonly name = "cpu";

  fromHost(data: ArrayLike<number>, dtype: DType): Storage {
    const arr = hostArrayFor(dtype, data.length);
    if (dtype === "bool") for (let i = 0; i < data.length; i++) arr[i] = data[i] ? 1 : 0;
    else arr.set(data as ArrayLike<number>);
    return new CpuStorage(dtype, arr);
  }
  toHost(s: Storage): HostArray {
    return dataOf(s).slice();
  }
  full(size: number, value: number, dtype: DType): Storage {
    const s = CpuStorage.alloc(dtype, size);
    if (value !== 0) s.data.fill(dtype === "bool" ? (value ? 1 : 0) : value);
    return s;
  }
  contiguous(v: View, dtype?: DType): Storage {
    return E.contiguous(v, dtype);
  }
  copyInto(dst: View, src: View): void {
    E.copyInto(dst, src);
  }
  unary(op: UnaryOp, x: View): Storage {
    return E.unary(op, x);
  }
  binary(op: BinaryOp, a: View, b: View, outDtype: DType): Storage {
    return E.binary(op, a, b, outDtype);
  }
  where(cond: View, a: View, b: View, outDtype: DType): Storage {
    return E.where(cond, a, b, outDtype);
  }
  reduce(op: ReduceOp, x: View, inner: number): Storage {
    return reduce(op, x, inner);
  }
  matmul(a: View, b: View): Storage {
    const [B, M, K] = a.shape as [number, number, number];
    const N = b.shape[2]!;
    const dtype = a.storage.dtype;
    const out = CpuStorage.alloc(dtype, B * M * N);
    const ad = dataOf(a.storage) as Float32Array | Float64Array;
    const bd = dataOf(b.storage) as Float32Array | Float64Array;
    const [as0, as1, as2] = a.strides as [number, number, number];
    const [bs0, bs1, bs2] = b.strides as [number, number, number];
    batchedGemm(B, M, N, K, ad, a.offset, as0, as1, as2, bd, b.offset, bs0, bs1, bs2, out.data as Float32Array | Float64Array, 0);
    return out;
  }
  softmax(x: View, log: boolean): Storage {
    return softmax(x, log);
  }
  softmaxBackward(y: View, gy: View, log: boolean): Storage {
    return softmaxBackward(y, gy, log);
  }
  gatherRows(x: View, index: View): Storage {
    return gatherRows(x, index);
  }
  scatterAddRows(src: View, index: View, rows: number): Storage {
    return scatterAddRows(src, index, rows);
  }
  adamStepInPlace(param: Storage, grad: View, m: Storage, v: Storage, p: AdamParams): void {
    adamStepInPlace(param, grad, m, v, p);
  }
}
