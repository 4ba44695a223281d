/**
 * The native library of the CPU backend: backends/cpu/native/xt_cpu.<platform>.node (a std-only
 * Rust Node-API addon built by `napi build --platform`, scripts/build-native-cpu.sh), loaded by a
 * literal require path per platform (native_file.ts) so that `bun build --compile` embeds it, and
 * the parameter block its functions take.
 *
 * Importing this module loads nothing: `loadNative()` loads the addon on first call (the kernel
 * table in kernels.ts calls it when the CPU backend first runs a kernel, unless XT_KERNELS=ts).
 *
 * The addon works in place on CpuStorage's typed arrays. Every call passes one Float64Array of
 * parameters (`meta`: shapes, strides, offsets, op codes) followed by the typed arrays; the native
 * providers (native_kernels.ts) write `meta` and make the call.
 *
 * The addon's own switches: XT_THREADS=n and XT_SPIN_US=n (its thread pool; default all cores,
 * spin 50 µs), XT_ADAPTIVE=0 (keep using the workers even when they are often descheduled),
 * XT_ISA=avx2|scalar (cap the instruction set; tests).
 */
import type { View } from "../../core/backend.ts";
import { requireCpuLibrary } from "./native_file.ts";

type Kernel = (meta: Float64Array, ...arrays: ArrayBufferView[]) => number | undefined;

/** The addon's exports (see native/src/lib.rs for each function's meta layout). */
export interface NativeAddon {
  readonly isa: string;
  readonly threads: number;
  readonly version: number;
  matmul: Kernel;
  linear: Kernel;
  bernoulli_mt: Kernel;
  noop: Kernel;
  unary: Kernel;
  binary: Kernel;
  where_: Kernel;
  copy: Kernel;
  reduce_: Kernel;
  softmax_: Kernel;
  softmax_backward: Kernel;
  cross_entropy: Kernel;
  cross_entropy_backward: Kernel;
  layer_norm: Kernel;
  layer_norm_backward: Kernel;
  gather_rows: Kernel;
  scatter_add_rows: Kernel;
  im2row: Kernel;
  row2im: Kernel;
  max_pool2d: Kernel;
  max_pool2d_backward: Kernel;
  adam_: Kernel;
  math_check: Kernel;
  attention_: Kernel;
  random_fill: Kernel;
  attention_backward: Kernel;
}

/** The addon, or why it could not be loaded (`built`: whether the .node file exists at all). */
export type NativeLoad = { addon: NativeAddon; error: null } | { addon: null; error: string; built: boolean };

let loaded: NativeLoad | null = null;

/** Loads the addon on the first call (never at import) and remembers the outcome. */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  // Literal per-platform paths (native_file.ts): `bun build --compile` embeds this platform's library.
  const r = requireCpuLibrary();
  if (!r.ok) loaded = { addon: null, error: r.error, built: !r.missing };
  else if (typeof (r.module as NativeAddon).matmul !== "function") loaded = { addon: null, error: "not the xt_cpu addon", built: true };
  else loaded = { addon: r.module as NativeAddon, error: null };
  return loaded;
}

/** The shared parameter block (grown on demand). */
export let meta = new Float64Array(256);

export function ensureMeta(n: number): Float64Array {
  if (meta.length < n) meta = new Float64Array(Math.max(n, meta.length * 2));
  return meta;
}

/**
 * Writes a view as [nd, shape…, strides…, offset] at meta[p]; returns the next free position.
 * Callers must have ensured room (2 + 2·nd).
 */
export function putView(m: Float64Array, p: number, v: View): number {
  const shape = v.shape;
  const strides = v.strides;
  const nd = shape.length;
  m[p] = nd;
  for (let d = 0; d < nd; d++) {
    m[p + 1 + d] = shape[d]!;
    m[p + 1 + nd + d] = strides[d]!;
  }
  m[p + 1 + 2 * nd] = v.offset;
  return p + 2 + 2 * nd;
}

/** Op codes shared with native/src/ew.rs and reduce.rs. */
export const UNARY_CODE: Readonly<Record<string, number>> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, tanh: 5, erf: 6, relu: 7, gelu: 8, abs: 9, sign: 10, square: 11,
};
export const BINARY_CODE: Readonly<Record<string, number>> = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, lt: 6, le: 7, gt: 8, ge: 9, eq: 10, ne: 11,
  gelu_grad: 12, relu_grad: 13, erf_grad: 14,
};
/** The binary ops whose output is bool (native: a uint8 output array). */
export const COMPARISONS: ReadonlySet<string> = new Set(["lt", "le", "gt", "ge", "eq", "ne"]);
export const REDUCE_CODE: Readonly<Record<string, number>> = { sum: 0, max: 1, argmax: 2 };
/** Views with more dims than this stay on the TS kernels. */
export const MAX_DIMS = 8;
