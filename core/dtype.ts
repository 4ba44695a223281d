/** Element types xt tensors can hold. float32 is the default; float64 exists for gradient checks. */
export type DType = "float32" | "float64" | "int32" | "bool";

/** The host array type that carries each dtype (bool is stored as one byte per element). */
export type HostArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export function hostArrayFor(dtype: DType, size: number): HostArray {
  switch (dtype) {
    case "float32": return new Float32Array(size);
    case "float64": return new Float64Array(size);
    case "int32": return new Int32Array(size);
    case "bool": return new Uint8Array(size);
  }
}

export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** PyTorch-style type promotion for binary ops (bool < int32 < float32 < float64). */
export function promote(a: DType, b: DType): DType {
  const rank: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };
  return rank[a] >= rank[b] ? a : b;
}
