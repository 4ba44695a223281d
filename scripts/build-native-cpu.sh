#!/usr/bin/env bash
# Builds the CPU backend's native kernels: backends/cpu/native (a std-only Rust cdylib, Node-API by
# hand) -> backends/cpu/native/xt_cpu.node, which backends/cpu/native.ts loads (and which
# `bun build --compile` embeds). Offline: the crate has no dependencies. Idempotent (cargo only
# rebuilds what changed). Without cargo it says so and exits 0 unless --strict: xt then runs on
# the pure-TypeScript kernels.
#
# Usage: scripts/build-native-cpu.sh [--strict]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/backends/cpu/native"
STRICT=0
for arg in "$@"; do
  case "$arg" in
    --strict) STRICT=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "build-native-cpu: unknown option $arg" >&2; exit 2 ;;
  esac
done

if ! command -v cargo >/dev/null 2>&1; then
  echo "build-native-cpu: cargo (Rust) was not found on PATH: xt will use the pure-TypeScript CPU kernels" >&2
  [ "$STRICT" = 1 ] && exit 1
  exit 0
fi

start=$SECONDS
(cd "$DIR" && cargo build --release --offline --quiet)
# Copy then rename, so a process that has the old addon mapped keeps a valid file.
cp "$DIR/target/release/libxt_cpu.so" "$DIR/xt_cpu.node.tmp"
mv -f "$DIR/xt_cpu.node.tmp" "$DIR/xt_cpu.node"
echo "build-native-cpu: built backends/cpu/native/xt_cpu.node ($(du -h "$DIR/xt_cpu.node" | cut -f1)) in $((SECONDS - start)) s"
