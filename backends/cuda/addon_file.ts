/**
 * Requires the CUDA addon for this platform, `xt_cuda.<platform>.node` (built by
 * `napi build --platform`, see scripts/build-native.sh). A literal path per target, so that
 * `bun build --compile --target=bun-<platform>` (which fixes process.platform and process.arch)
 * embeds it only in the binary for the platform it was built for; inside `try`, where Bun accepts a
 * file that is not built. Only linux-x64 builds it today (backends/cuda/package.json's
 * `napi.targets`); linux-arm64 (Grace Hopper) would slot in here.
 */
import { requireFailed, type NativeRequire } from "../native_platform.ts";

export function requireCudaAddon(): NativeRequire {
  try {
    if (process.platform === "linux" && process.arch === "x64") return { ok: true, module: require("./xt_cuda.linux-x64-gnu.node") };
    if (process.platform === "linux" && process.arch === "arm64") return { ok: true, module: require("./xt_cuda.linux-arm64-gnu.node") };
    return { ok: false, missing: true, error: `xt has no CUDA addon for ${process.platform}-${process.arch}` };
  } catch (e) {
    return requireFailed(e, "CUDA addon");
  }
}
