/**
 * The platform part of xt's native library file names, as `@napi-rs/cli` writes them
 * (`napi build --platform` → `xt_cpu.linux-x64-gnu.node`; the same names as the per-platform npm
 * packages under npm/). The loaders (backends/cpu/native_file.ts, backends/cuda/addon_file.ts)
 * spell each file as a literal path, so that `bun build --compile --target=…` — which fixes
 * process.platform and process.arch — embeds only the library built for the binary's platform;
 * this module names the same files for messages, `xt info` and tests.
 */

/** The targets of package.json's `napi` config, by `process.platform`-`process.arch`. */
const NAPI_PLATFORMS: Readonly<Record<string, string>> = {
  "linux-x64": "linux-x64-gnu",
  "linux-arm64": "linux-arm64-gnu",
  "darwin-arm64": "darwin-arm64",
  "darwin-x64": "darwin-x64",
  "win32-x64": "win32-x64-msvc",
};

/** napi's platform name for this process (`linux-x64-gnu`, `darwin-arm64`, …), or null for a platform xt has no target for. */
export function napiPlatform(platform: string = process.platform, arch: string = process.arch): string | null {
  return NAPI_PLATFORMS[`${platform}-${arch}`] ?? null;
}

/** The file a native library `binaryName` (xt_cpu, xt_cuda) has on this platform, e.g. `xt_cpu.linux-x64-gnu.node`. */
export function nativeFileName(binaryName: string, platform: string = process.platform, arch: string = process.arch): string | null {
  const p = napiPlatform(platform, arch);
  return p === null ? null : `${binaryName}.${p}.node`;
}

/** Whether this is a `bun build --compile` binary (its modules live under /$bunfs). */
export const IN_COMPILED_BINARY = /\$bunfs|~BUN/.test(import.meta.path);

/** A native library's require: the module, or why not (`missing`: the file is not there at all). */
export type NativeRequire = { ok: true; module: unknown } | { ok: false; missing: boolean; error: string };

/** The outcome of a require that threw: the first line of the message (the loader appends a stack). */
export function requireFailed(e: unknown, what: string): NativeRequire {
  const error = (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
  // From source: "Cannot find module"; in a compiled binary that does not embed it: "Cannot require module".
  const missing = /cannot (find|require) module|no such file/i.test(error);
  if (missing && IN_COMPILED_BINARY) {
    return { ok: false, missing, error: `this xt binary carries no ${what} for ${process.platform}-${process.arch}` };
  }
  return { ok: false, missing, error };
}

/** This platform's CPU library and CUDA addon files (under backends/cpu/native and backends/cuda). */
export const CPU_LIBRARY_FILE = nativeFileName("xt_cpu") ?? "xt_cpu.node";
export const CUDA_ADDON_FILE = nativeFileName("xt_cuda") ?? "xt_cuda.node";
