#!/usr/bin/env bash
# Builds the CPU backend's native kernels with @napi-rs/cli: backends/cpu/native (a std-only Rust
# cdylib, Node-API by hand) -> backends/cpu/native/xt_cpu.<platform>.node (`napi build --platform`:
# xt_cpu.linux-x64-gnu.node here), which backends/cpu/native_file.ts loads and `bun build --compile`
# embeds. package.json's `napi` config names the binary and the targets. Offline: the crate has no
# dependencies. Idempotent (cargo only rebuilds what changed); napi copies the library to a temporary
# file and renames it over the old one, so a process that has the old library mapped keeps a valid file.
# Without cargo (or without @napi-rs/cli, a devDependency) it says so in one line and exits 0 unless
# --strict: xt then runs on the pure-TypeScript kernels.
#
# Usage: scripts/build-native-cpu.sh [--strict]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/backends/cpu/native"
STRICT=0
for arg in "$@"; do
  case "$arg" in
    --strict) STRICT=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "build-native-cpu: unknown option $arg" >&2; exit 2 ;;
  esac
done

skip() {
  echo "build-native-cpu: $1: xt will use the pure-TypeScript CPU kernels" >&2
  [ "$STRICT" = 1 ] && exit 1
  exit 0
}
command -v cargo >/dev/null 2>&1 || skip "cargo (Rust) was not found on PATH"
NAPI="$ROOT/node_modules/.bin/napi"
[ -x "$NAPI" ] || skip "@napi-rs/cli is not installed (npm install)"

start=$SECONDS
mkdir -p "$DIR/target"
log="$DIR/target/napi-build.log"
# napi warns that it skips the type definitions (the crate declares Node-API by hand, without the
# napi crate): that and cargo's progress go to the log, shown only on failure.
if ! (cd "$ROOT" && CARGO_NET_OFFLINE=true "$NAPI" build --platform --release --no-js \
      --manifest-path backends/cpu/native/Cargo.toml --output-dir backends/cpu/native) >"$log" 2>&1; then
  cat "$log" >&2
  echo "build-native-cpu: napi build failed (log above, also in $log)" >&2
  exit 1
fi
out="$(ls -t "$DIR"/xt_cpu.*.node | head -1)"
echo "build-native-cpu: built backends/cpu/native/$(basename "$out") ($(du -h "$out" | cut -f1)) in $((SECONDS - start)) s"
