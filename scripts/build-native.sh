#!/usr/bin/env bash
# Builds xt's native pieces:
#   1. the CUDA kernels, backends/cuda/kernels/*.cu -> fatbins (nvcc; sm_80 + sm_90 cubins and
#      compute_90 PTX), run from backends/cuda/build.rs;
#   2. the CUDA addon, a std-only Rust cdylib embedding those fatbins -> backends/cuda/xt_cuda.node;
#   3. unless --no-emu, the CPU emulator of the CUDA driver used by the tests on machines without
#      a GPU (g++) -> backends/cuda/emu/build/libcuda_emu.so.
# Idempotent: cargo rebuilds only what changed, and so does step 3. Needs nvcc and cargo (the
# build is offline: the Rust code has no dependencies outside the repository).
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

start=$SECONDS
echo "build-native: CUDA kernels ($("$NVCC" --version | sed -n 's/.*release \([0-9.]*\).*/nvcc \1/p')) and addon (cargo)"
(cd "$CUDA_DIR" && cargo build --release --offline --quiet)
# Copy then rename, so a process that has the old addon mapped keeps a valid file.
cp "$CUDA_DIR/target/release/libxt_cuda.so" "$CUDA_DIR/xt_cuda.node.tmp"
mv -f "$CUDA_DIR/xt_cuda.node.tmp" "$CUDA_DIR/xt_cuda.node"
echo "build-native: built backends/cuda/xt_cuda.node ($(du -h "$CUDA_DIR/xt_cuda.node" | cut -f1))"

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
  for f in "$CUDA_DIR"/target/release/build/xt-cuda-*/out/*.fatbin; do
    [ -f "$f" ] && echo "build-native: $(basename "$f"): $(cuobjdump --list-elf "$f" 2>/dev/null | grep -o 'sm_[0-9]*' | sort -u | tr '\n' ' ')"
  done
fi
echo "build-native: done in $((SECONDS - start)) s"
