/**
 * The CPU backend's native fast path: backends/cpu/native/xt_cpu.node (a std-only Rust Node-API
 * addon built by scripts/build-native-cpu.sh), loaded by a literal require path so that
 * `bun build --compile` embeds it.
 *
 * The addon works in place on CpuStorage's typed arrays. Every call passes one Float64Array of
 * parameters (`meta`: shapes, strides, offsets, op codes) followed by the typed arrays; this module
 * writes `meta` and makes the call. Only float32 work goes native; everything else (float64 for
 * the gradient checks, int32, bool) stays on the TypeScript kernels.
 *
 * Switches:
 *   XT_NATIVE=0                 never load the addon (pure TypeScript kernels)
 *   XT_THREADS=n, XT_SPIN_US=n  the addon's thread pool (default: all cores; spin 50 µs)
 *   XT_ADAPTIVE=0               keep using the workers even when they are often descheduled
 *   XT_ISA=avx2|scalar          cap the instruction set (tests)
 *
 * When the addon cannot be loaded, the TS kernels take over and ONE line says so on stderr, the
 * first time a kernel runs (never at import, never under `bun test`).
 */
import type { View } from "../../core/backend.ts";

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
  adam_: Kernel;
  math_check: Kernel;
}

let addon: NativeAddon | null = null;
let loadError: string | null = null;
let enabled = false;
let warned = false;

function envDisabled(): boolean {
  const v = typeof process !== "undefined" ? process.env.XT_NATIVE : undefined;
  return v === "0" || v === "false" || v === "off";
}

if (envDisabled()) {
  loadError = "disabled by XT_NATIVE=0";
} else {
  try {
    // A literal path: `bun build --compile` embeds the addon and extracts it at run time.
    addon = require("./native/xt_cpu.node") as NativeAddon;
    if (typeof addon.matmul !== "function") throw new Error("not the xt_cpu addon");
    enabled = true;
  } catch (e) {
    addon = null;
    loadError = e instanceof Error ? e.message.split("\n")[0]! : String(e);
  }
}

/** The addon when it is loaded and enabled, else null (and a one-time notice on stderr). */
export function native(): NativeAddon | null {
  if (enabled) return addon;
  if (!warned) {
    warned = true;
    const quiet = envDisabled() || process.env.NODE_ENV === "test" || loadError === null;
    if (!quiet) {
      process.stderr.write(`xt: native CPU kernels unavailable (${loadError}); using the TypeScript kernels (slower)\n`);
    }
  }
  return null;
}

/** Whether the addon loaded (regardless of setNativeEnabled). */
export function nativeAvailable(): boolean {
  return addon !== null;
}

/** Turn the fast path off/on at run time (tests run each kernel both ways). Returns the old state. */
export function setNativeEnabled(on: boolean): boolean {
  const old = enabled;
  enabled = on && addon !== null;
  return old;
}

export function nativeInfo(): { loaded: boolean; enabled: boolean; isa?: string; threads?: number; error?: string } {
  return addon
    ? { loaded: true, enabled, isa: addon.isa, threads: addon.threads }
    : { loaded: false, enabled: false, error: loadError ?? undefined };
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
  neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, tanh: 5, erf: 6, relu: 7, gelu: 8, abs: 9, sign: 10,
  sigmoid: 11, reciprocal: 12, square: 13,
};
export const BINARY_CODE: Readonly<Record<string, number>> = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, lt: 7, le: 8, gt: 9, ge: 10,
  eq: 11, ne: 12, gelu_grad: 13, relu_grad: 14, erf_grad: 15,
};
export const REDUCE_CODE: Readonly<Record<string, number>> = { sum: 0, max: 1, min: 2, argmax: 3, argmin: 4 };
/** Views with more dims than this stay on the TS kernels. */
export const MAX_DIMS = 8;

/**
 * Bernoulli / dropout masks on the native kernels, bit-identical to core/random's TorchGenerator
 * default bernoulli_ kernel (one uniform double from two MT19937 words per element, kept iff
 * u < p): draws out.length elements from the stream whose 624-word key is `state` (advanced in
 * place) at position `pos` (624 = twist first), writing `on` where kept and 0 elsewhere.
 * Returns the new position, or null when the addon is not available (draw in TypeScript then).
 * ~1.7 ns per element here against ~19 ns for the TypeScript loop.
 */
export function bernoulliMt(state: Uint32Array, pos: number, p: number, on: number, out: Float32Array): number | null {
  const nat = native();
  if (!nat || state.length !== 624 || out.length === 0) return null;
  const m = ensureMeta(3);
  m[0] = pos; m[1] = p; m[2] = on;
  return nat.bernoulli_mt(m, state, out) as number;
}
