/**
 * The CPU backend's kernel-provider table.
 *
 * Every kernel has providers in order of preference: the platform BLAS for matmul/linear
 * (blas_kernels.ts, when it is used), native, then TypeScript. Each provider checks per call whether it
 * takes the arguments (dtype, strides, rank, size); the first that does runs. The TypeScript
 * provider, last, takes every call: for the required kernels it is the TypeScript kernel, for the
 * optional fused ones (linear, layerNorm, crossEntropy) it returns null so that core composes the
 * op, and for bernoulli it returns null so that core/random draws the mask in TypeScript.
 *
 * Which providers are in the table is chosen once per process, when the CPU backend first runs a
 * kernel (or describeCpuKernels() is called), from XT_KERNELS:
 *   unset, auto  native when the library loads, else TypeScript (one line on stderr says so);
 *                the platform BLAS ahead of them for matmul/linear where AUTO_BLAS says so
 *   ts           TypeScript only; neither the native library nor a BLAS is even loaded
 *                (XT_NATIVE=0 says the same)
 *   native       the native library must load (a clear error if it does not), and no BLAS;
 *                calls it does not take (float64, int32 and bool data, views of more than 8
 *                dims) run on TypeScript
 *   blas         a BLAS must load (XT_BLAS picks which, see blas.ts) and takes the matmul/linear
 *                calls it can; the rest as auto
 * Any other value is an error. XT_BLAS=none keeps the BLAS out of auto; XT_BLAS=<library> puts
 * that one ahead of native in auto too (and is an error when it cannot be loaded). Tests switch with withKernels(mode, fn), which puts the table back
 * afterwards even when fn throws.
 */
import type { Backend } from "../../core/backend.ts";
import type { BulkFills } from "../../core/random/index.ts";
import { XtError } from "../../core/errors.ts";
import { IN_COMPILED_BINARY } from "../native_platform.ts";
import { blasChoiceFromEnv, loadBlas, type BlasLoad } from "./blas.ts";
import { BLAS_MIN_WORK, blasProviders } from "./blas_kernels.ts";
import { loadNative, type NativeLoad } from "./native.ts";
import { nativeProviders } from "./native_kernels.ts";
import { TS_PROVIDERS } from "./ts_kernels.ts";

/** Draws a dropout/Bernoulli mask from an MT19937 key (see core/random's BulkBernoulli). */
export type BernoulliKernel = (key: Uint32Array, pos: number, p: number, on: number, out: Float32Array) => number | null;

/**
 * Every kernel of core/backend.ts (the optional ones too) except the memory transfers, and the
 * host-side random draws core/random takes from the CPU library (dropout masks, uniform_, normal_).
 */
export type CpuKernels = { [K in Exclude<keyof Backend, "name" | "fromHost" | "toHost" | "full">]-?: NonNullable<Backend[K]> } & {
  bernoulli: BernoulliKernel;
  uniformFill: BulkFills["uniform"];
  normalFill: BulkFills["normal"];
};
export type KernelName = keyof CpuKernels;

type Fn = (...args: any[]) => any;

export type ProviderName = "blas" | "native" | "typescript";

/** One way to run a kernel. */
export interface Provider<F extends Fn> {
  readonly name: ProviderName;
  /** Whether this provider takes these arguments; absent: it takes every call. */
  readonly eligible?: (...args: Parameters<F>) => boolean;
  readonly run: F;
}

/** Providers of one source (a library), by kernel; a source need not cover every kernel. */
export type ProviderSet = { readonly [K in KernelName]?: Provider<CpuKernels[K]> };

export type KernelGroup =
  | "memory" | "elementwise" | "reductions" | "matmul/linear" | "softmax/cross-entropy" | "layer norm"
  | "attention" | "indexing" | "2-D windows" | "adam" | "random draws";

/** The kernels of each group, in the order `xt info` lists the groups. */
export const KERNEL_GROUPS: Readonly<Record<KernelGroup, readonly KernelName[]>> = {
  memory: ["contiguous", "copyInto"],
  elementwise: ["unary", "binary", "where"],
  reductions: ["reduce"],
  "matmul/linear": ["matmul", "linear"],
  "softmax/cross-entropy": ["softmax", "softmaxBackward", "crossEntropy", "crossEntropyBackward"],
  "layer norm": ["layerNorm", "layerNormBackward"],
  attention: ["attention", "attentionBackward"],
  indexing: ["gatherRows", "scatterAddRows"],
  "2-D windows": ["im2row", "row2im", "maxPool2d", "maxPool2dBackward"],
  adam: ["adamStepInPlace"],
  "random draws": ["bernoulli", "uniformFill", "normalFill"],
};

export type KernelMode = "auto" | "ts" | "native" | "blas";

/**
 * Whether auto puts a BLAS found on the machine ahead of the native kernels (without native it
 * always does: any BLAS beats the TypeScript gemm). Measured in bench/compare.ts's matmul row
 * and the ViT step (see docs/architecture.md).
 */
export const AUTO_BLAS_WITH_NATIVE = false;

/** The chosen providers: the kernels to call, and what the choice was and why. */
interface Table {
  readonly mode: KernelMode;
  /** Where the mode came from ("XT_KERNELS=ts", "XT_NATIVE=0", "withKernels(ts)", "default"). */
  readonly source: string;
  readonly native: NativeLoad | null;
  /** The BLAS, or why none is used (null: not looked for). */
  readonly blas: BlasLoad | null;
  readonly chains: Readonly<Record<KernelName, readonly ProviderName[]>>;
  readonly kernels: CpuKernels;
}

let table: Table | null = null;

/** The kernels to call, choosing the providers on first use. */
export function cpuKernels(): CpuKernels {
  return (table ??= chooseFromEnv()).kernels;
}

/** The mode XT_KERNELS (or the older XT_NATIVE=0) asks for; an unknown value is an XtError. */
export function kernelModeFromEnv(env: Record<string, string | undefined> = process.env): { mode: KernelMode; source: string } {
  const raw = env.XT_KERNELS?.trim().toLowerCase();
  if (raw === undefined || raw === "" || raw === "auto") {
    const off = env.XT_NATIVE?.trim().toLowerCase();
    if (off === "0" || off === "false" || off === "off") return { mode: "ts", source: `XT_NATIVE=${env.XT_NATIVE}` };
    return { mode: "auto", source: raw === "auto" ? "XT_KERNELS=auto" : "default" };
  }
  if (raw === "ts" || raw === "typescript") return { mode: "ts", source: `XT_KERNELS=${env.XT_KERNELS}` };
  if (raw === "native") return { mode: "native", source: `XT_KERNELS=${env.XT_KERNELS}` };
  if (raw === "blas") return { mode: "blas", source: `XT_KERNELS=${env.XT_KERNELS}` };
  throw new XtError(`XT_KERNELS=${env.XT_KERNELS}: expected ts, native or blas (or auto, the default: native when the library is built)`, 2);
}

function chooseFromEnv(): Table {
  const { mode, source } = kernelModeFromEnv();
  const t = chooseProviders(mode, source);
  // A compiled binary without a library for its platform runs the TypeScript kernels by design (xt info says so).
  const byDesign = t.native?.addon === null && !t.native.built && IN_COMPILED_BINARY;
  if (t.native && t.native.addon === null && mode === "auto" && process.env.NODE_ENV !== "test" && !byDesign) {
    process.stderr.write(`xt: native CPU kernels unavailable (${t.native.error}); using the TypeScript kernels (slower)\n`);
  }
  return t;
}

/**
 * The table for `mode` (`load`, `loadBlasLib`: how to load the native library and the BLAS; tests
 * pass missing ones).
 */
export function chooseProviders(mode: KernelMode, source: string, load: () => NativeLoad = loadNative, loadBlasLib: () => BlasLoad = loadBlas): Table {
  const native = mode === "ts" ? null : load();
  if (mode === "native" && native?.addon === null) {
    throw new XtError(
      `${source}, but the native CPU kernels could not be loaded (${native.error}); ` +
        "build them with `npm run build:native-cpu` (needs cargo), or unset XT_KERNELS",
    );
  }
  const blas = mode === "ts" || mode === "native" ? null : loadBlasLib();
  if (blas && blas.blas === null && (mode === "blas" || blas.requested)) {
    throw new XtError(`${mode === "blas" ? source : "XT_BLAS"}: no BLAS could be used (${blas.error}); install one (libdnnl2, libopenblas0) or unset ${mode === "blas" ? "XT_KERNELS" : "XT_BLAS"}`);
  }
  const useBlas = blas?.blas && (mode === "blas" || blasRequested() || !native?.addon || AUTO_BLAS_WITH_NATIVE);
  const sets: ProviderSet[] = [];
  if (useBlas) sets.push(blasProviders(blas.blas!));
  if (native?.addon) sets.push(nativeProviders(native.addon));
  sets.push(TS_PROVIDERS);
  const chains = {} as Record<KernelName, ProviderName[]>;
  const kernels = {} as Record<KernelName, Fn>;
  for (const name of Object.values(KERNEL_GROUPS).flat()) {
    const providers = sets.map((s) => s[name] as Provider<Fn> | undefined).filter((p): p is Provider<Fn> => p !== undefined);
    chains[name] = providers.map((p) => p.name);
    kernels[name] = compose(providers);
  }
  return { mode, source, native, blas, chains, kernels: kernels as unknown as CpuKernels };
}

/** Whether XT_BLAS names a library (not auto or none). */
const blasRequested = (): boolean => !["auto", "none"].includes(blasChoiceFromEnv());

/** One function that tries each provider in turn; the last one must take every call. */
function compose(providers: readonly Provider<Fn>[]): Fn {
  const last = providers[providers.length - 1];
  if (!last || last.eligible) throw new Error("cpu kernels: every kernel needs a provider that takes every call");
  let f = last.run;
  for (let i = providers.length - 2; i >= 0; i--) {
    const { eligible, run } = providers[i]!;
    const next = f;
    f = eligible ? (...a) => (eligible(...a) ? run(...a) : next(...a)) : run;
  }
  return f;
}

/**
 * Runs fn with the providers XT_KERNELS=`mode` would choose, then puts the previous table back
 * (after the promise settles when fn is async), so that a test cannot leave another on the wrong path.
 */
export function withKernels<T>(mode: KernelMode, fn: () => T): T {
  const saved = table;
  table = chooseProviders(mode, `withKernels(${mode})`);
  let settlesLater = false;
  try {
    const r = fn();
    if (r instanceof Promise) {
      settlesLater = true;
      return r.finally(() => {
        table = saved;
      }) as T;
    }
    return r;
  } finally {
    if (!settlesLater) table = saved;
  }
}

/** Dropout/Bernoulli masks through the table (core/random's BulkBernoulli hook; null: draw in TypeScript). */
export const bernoulliMt: BernoulliKernel = (key, pos, p, on, out) => cpuKernels().bernoulli(key, pos, p, on, out);

/** uniform_ and normal_ through the table (core/random's BulkFills hook; null: draw in TypeScript). */
export const fillsMt: BulkFills = {
  uniform: (key, pos, from, range, mode, out) => cpuKernels().uniformFill(key, pos, from, range, mode, out),
  normal: (key, pos, mean, std, out) => cpuKernels().normalFill(key, pos, mean, std, out),
};

// ---- what is in use, for `xt info` and the benchmarks ----

export interface KernelGroupInfo {
  group: KernelGroup;
  /** The provider the group's kernels try first. */
  provider: ProviderName;
  /** Every provider in the group's chains, in order of preference. */
  providers: ProviderName[];
  /** The first provider as `xt info` names it: "native avx512", "TypeScript". */
  label: string;
  /** What it takes and what else runs, or why the TypeScript kernels run. */
  detail: string;
}

export interface CpuKernelsInfo {
  mode: KernelMode;
  source: string;
  native:
    | { loaded: true; isa: string; threads: number }
    | { loaded: false; reason: string };
  /** The platform BLAS: loaded (and whether the table uses it), or why not. */
  blas:
    | { loaded: true; used: boolean; name: string; path: string; entry: string; threads: number | null; threadNote: string }
    | { loaded: false; reason: string };
  groups: KernelGroupInfo[];
}

/** Which provider each kernel group uses and why (chooses the providers if nothing has yet). */
export function describeCpuKernels(): CpuKernelsInfo {
  const t = (table ??= chooseFromEnv());
  const addon = t.native?.addon ?? null;
  const nativeInfo: CpuKernelsInfo["native"] = addon
    ? { loaded: true, isa: addon.isa, threads: addon.threads }
    : { loaded: false, reason: whyNoNative(t) };
  const lib = t.blas?.blas ?? null;
  const blasUsed = Object.values(t.chains).some((c) => c.includes("blas"));
  const blasInfo: CpuKernelsInfo["blas"] = lib
    ? { loaded: true, used: blasUsed, name: lib.name, path: lib.path, entry: lib.entry, threads: lib.threads, threadNote: lib.threadNote }
    : { loaded: false, reason: t.blas?.error ?? `not used with ${t.source}` };
  const nativeDetail = (group: KernelGroup): string =>
    group === "random draws"
      ? "dropout masks, uniform_ and normal_, bit-identical to core/random's"
      : `${addon!.threads} thread${addon!.threads === 1 ? "" : "s"}; float32 (other dtypes: TypeScript)`;
  const groups = (Object.entries(KERNEL_GROUPS) as [KernelGroup, readonly KernelName[]][]).map(([group, names]) => {
    const providers = [...new Set(names.flatMap((n) => t.chains[n]))];
    const provider = providers[0]!;
    if (provider === "blas") {
      const rest = providers[1] === "native" ? `native ${addon!.isa}` : "TypeScript";
      return {
        group, provider, providers, label: `blas ${lib!.name}`,
        detail: `${lib!.entry}, ${lib!.threadNote}; float32 products of ≥ ${BLAS_MIN_WORK} multiply-adds, the rest ${rest}`,
      };
    }
    return provider === "native"
      ? { group, provider, providers, label: `native ${addon!.isa}`, detail: nativeDetail(group) }
      : { group, provider, providers, label: "TypeScript", detail: whyNoNative(t) };
  });
  return { mode: t.mode, source: t.source, native: nativeInfo, blas: blasInfo, groups };
}

function whyNoNative(t: Table): string {
  if (t.mode === "ts") return `forced by ${t.source}`;
  const n = t.native;
  if (!n || n.addon) return "native library loaded";
  if (n.built) return `native library failed to load: ${n.error}`;
  return IN_COMPILED_BINARY ? n.error : "native library not built: run `npm run build:native-cpu` (needs cargo)";
}

/** One line for benchmark and device headers: "native avx512, 2 threads" or "TypeScript kernels, why". */
export function cpuKernelsSummary(): string {
  const info = describeCpuKernels();
  const blas = info.blas.loaded && info.blas.used ? `; matmul: ${info.blas.name}` : "";
  return (info.native.loaded
    ? `native ${info.native.isa}, ${info.native.threads} threads`
    : `TypeScript kernels, ${info.native.reason}`) + blas;
}
