/**
 * Requires the CPU backend's native library for this platform, `native/xt_cpu.<platform>.node`
 * (built by `napi build --platform`, see scripts/build-native-cpu.sh). One literal path per
 * target: `bun build --compile --target=bun-<platform>` fixes process.platform and process.arch,
 * drops the other branches and embeds only that platform's file, so a binary never carries, or
 * tries to load, a library built for another platform. The requires sit inside `try`: there Bun
 * accepts a file that is not built (the require then fails at run time, as from source).
 * Keep the names in step with backends/native_platform.ts and package.json's `napi.targets`.
 */
import { requireFailed, type NativeRequire } from "../native_platform.ts";

export function requireCpuLibrary(): NativeRequire {
  try {
    if (process.platform === "linux" && process.arch === "x64") return { ok: true, module: require("./native/xt_cpu.linux-x64-gnu.node") };
    if (process.platform === "linux" && process.arch === "arm64") return { ok: true, module: require("./native/xt_cpu.linux-arm64-gnu.node") };
    if (process.platform === "darwin" && process.arch === "arm64") return { ok: true, module: require("./native/xt_cpu.darwin-arm64.node") };
    if (process.platform === "darwin" && process.arch === "x64") return { ok: true, module: require("./native/xt_cpu.darwin-x64.node") };
    if (process.platform === "win32" && process.arch === "x64") return { ok: true, module: require("./native/xt_cpu.win32-x64-msvc.node") };
    return { ok: false, missing: true, error: `xt has no native CPU library for ${process.platform}-${process.arch}` };
  } catch (e) {
    return requireFailed(e, "native CPU library");
  }
}
