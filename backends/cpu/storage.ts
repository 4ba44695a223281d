/** CPU storage: a host typed array. Only backends/cpu reads `data`. */
import type { Storage } from "../../core/backend.ts";
import type { DType, HostArray } from "../../core/dtype.ts";
import { hostArrayFor } from "../../core/dtype.ts";

export class CpuStorage implements Storage {
  constructor(readonly dtype: DType, readonly data: HostArray) {}
  get size(): number {
    return this.data.length;
  }
  static alloc(dtype: DType, size: number): CpuStorage {
    return new CpuStorage(dtype, hostArrayFor(dtype, size));
  }
}

export function dataOf(s: Storage): HostArray {
  if (!(s instanceof CpuStorage)) throw new Error("cpu backend: storage belongs to another device");
  return s.data;
}
