#!/usr/bin/env bash
# Builds xt's native pieces:
#   1. the CUDA kernels, backends/cuda/kernels/*.cu -> fatbins (nvcc; sm_80 + sm_90 cubins and
#      compute_90 PTX), run from backends/cuda/build.rs;
#   2. the CUDA addon, a std-only Rust cdylib embedding those fatbins, built by @napi-rs/cli
#      (`napi build --platform`) -> backends/cuda/xt_cuda.<platform>.node (linux-x64-gnu here);
#   3. unless --no-emu, the CPU emulator of the CUDA driver used by the tests on machines without
#      a GPU (g++) -> backends/cuda/emu/build/libcuda_emu.so.
# Idempotent: cargo rebuilds only what changed, and so does step 3. Needs nvcc, cargo and
# node_modules (npm install: @napi-rs/cli); the build is offline: the Rust code has no dependencies
# outside the repository.
#
# Usage: scripts/build-native.sh [--no-emu]      (NVCC=/path/to/nvcc to pick a compiler)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CUDA_DIR="$ROOT/backends/cuda"
EMU=1
for arg in "$@"; do
  case "$arg" in
    --no-emu) EMU=0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build-native: unknown option $arg" >&2; exit 2 ;;
  esac
done

die() { echo "build-native: error: $*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 ||
  die "cargo (Rust) was not found on PATH. Install Rust (e.g. the distribution's cargo package or rustup)."
if [ -z "${NVCC:-}" ]; then
  NVCC="$(command -v nvcc || true)"
  [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
fi
[ -n "${NVCC:-}" ] && [ -x "$NVCC" ] ||
  die "nvcc (the CUDA compiler) was not found. Install the CUDA toolkit, put nvcc on PATH or set NVCC=/path/to/nvcc."
export NVCC
NAPI="$ROOT/node_modules/.bin/napi"
[ -x "$NAPI" ] || die "@napi-rs/cli is not installed (run npm install first)."

start=$SECONDS
echo "build-native: CUDA kernels ($("$NVCC" --version | sed -n 's/.*release \([0-9.]*\).*/nvcc \1/p')) and addon (cargo)"
# @napi-rs/cli runs cargo and names the file for the platform (backends/cuda/package.json's `napi`
# config); it copies to a temporary file and renames, so a process that has the old addon mapped
# keeps a valid file. Its warning that it skips type definitions (no napi crate) goes to the log.
mkdir -p "$CUDA_DIR/target"
log="$CUDA_DIR/target/napi-build.log"
if ! (cd "$CUDA_DIR" && CARGO_NET_OFFLINE=true "$NAPI" build --platform --release --no-js) >"$log" 2>&1; then
  cat "$log" >&2
  die "napi build failed (log above, also in $log)"
fi
addon="$(ls -t "$CUDA_DIR"/xt_cuda.*.node | head -1)"
echo "build-native: built backends/cuda/$(basename "$addon") ($(du -h "$addon" | cut -f1))"

if [ "$EMU" = 1 ]; then
  if ! command -v g++ >/dev/null 2>&1; then
    echo "build-native: g++ not found: skipping the CUDA driver emulator (only the tests use it)"
  else
    out="$CUDA_DIR/emu/build/libcuda_emu.so"
    mkdir -p "$CUDA_DIR/emu/build"
    if [ ! -f "$out" ] || [ -n "$(find "$CUDA_DIR/emu" "$CUDA_DIR/kernels" -maxdepth 1 -type f -newer "$out" | head -1)" ]; then
      # -O0: fibers switch inside functions that keep block-shared data in statics (see cuda_emu.h).
      g++ -std=c++20 -O0 -fPIC -shared -Wall -Wno-unused-function -o "$out.tmp" "$CUDA_DIR/emu/libcuda_emu.cpp"
      mv -f "$out.tmp" "$out"
    fi
    echo "build-native: built backends/cuda/emu/build/libcuda_emu.so (tests only)"
  fi
fi

if command -v cuobjdump >/dev/null 2>&1; then
  for f in "$CUDA_DIR"/target/*/release/build/xt-cuda-*/out/*.fatbin; do  # napi builds with --target <host triple>
    [ -f "$f" ] && echo "build-native: $(basename "$f"): $(cuobjdump --list-elf "$f" 2>/dev/null | grep -o 'sm_[0-9]*' | sort -u | tr '\n' ' ')"
  done
fi
echo "build-native: done in $((SECONDS - start)) s"
