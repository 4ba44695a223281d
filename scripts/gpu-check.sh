#!/usr/bin/env bash
# GPU verification for a machine with an NVIDIA GPU (no network needed).
#
#   scripts/gpu-check.sh          on the GPU machine: builds what it can, checks that CUDA is usable,
#                                 runs the CUDA parity tests on the device, prints timings and a
#                                 summary. Exits non-zero, loudly, if no GPU is usable or a check fails.
#   scripts/gpu-check.sh --pack   on a development machine, before sending the tree to a GPU machine
#                                 that has no Bun or Rust: builds the addon here and puts a
#                                 compressed Bun in backends/cuda/.gpu-carry/ (git-ignored). Carry
#                                 both paths it prints (the device tool's `carry`).
#
# What the GPU machine needs: an NVIDIA driver (libcuda.so.1, CUDA 13.0+ for the sm_80/sm_90
# cubins built here by nvcc 13), and either Bun on PATH / in node_modules or the packed Bun; cargo
# and nvcc are used if present (to rebuild the addon), else the carried backends/cuda/xt_cuda.node.
# The log is also written to $OUT/gpu-check.log when $OUT is set.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARRY_DIR="backends/cuda/.gpu-carry"

if [ "${1:-}" = "--pack" ]; then
  set -e
  bash scripts/build-native.sh --no-emu
  bun_bin="$(readlink -f node_modules/.bin/bun 2>/dev/null || command -v bun)"
  [ -x "$bun_bin" ] || { echo "gpu-check --pack: no bun to pack" >&2; exit 1; }
  mkdir -p "$CARRY_DIR"
  if [ ! -f "$CARRY_DIR/bun.gz" ] || [ "$bun_bin" -nt "$CARRY_DIR/bun.gz" ]; then
    echo "gpu-check --pack: compressing $bun_bin (gzip, about 50 MB)"
    gzip -6 -c "$bun_bin" >"$CARRY_DIR/bun.gz.tmp" && mv -f "$CARRY_DIR/bun.gz.tmp" "$CARRY_DIR/bun.gz"
  fi
  echo "gpu-check --pack: ready. Carry: [\"backends/cuda/xt_cuda.node\", \"$CARRY_DIR\"]; command: bash scripts/gpu-check.sh"
  exit 0
fi

LOG="$(mktemp /tmp/xt-gpu-check.XXXXXX.log)"
declare -a SUMMARY=()
FAILED=0
pass() { SUMMARY+=("PASS  $*"); }
info() { SUMMARY+=("INFO  $*"); }
fail() { SUMMARY+=("FAIL  $*"); FAILED=1; }
say() { echo "== gpu-check: $*" | tee -a "$LOG"; }
finish() {
  {
    echo
    echo "==================== gpu-check summary ===================="
    for line in "${SUMMARY[@]}"; do echo "$line"; done
    if [ "$FAILED" = 0 ]; then echo "RESULT: ALL GPU CHECKS PASSED"; else echo "RESULT: GPU CHECK FAILED"; fi
  } | tee -a "$LOG"
  [ -n "${OUT:-}" ] && [ -d "$OUT" ] && cp "$LOG" "$OUT/gpu-check.log"
  exit "$FAILED"
}

# Never test against the emulator here, except when trying this script itself out without a GPU:
# XT_GPU_CHECK_SELFTEST_DRIVER=backends/cuda/emu/build/libcuda_emu.so scripts/gpu-check.sh
unset XT_CUDA_DRIVER XT_CUDA_EMU_MEM_LIMIT
BENCH_ARGS=()
if [ -n "${XT_GPU_CHECK_SELFTEST_DRIVER:-}" ]; then
  export XT_CUDA_DRIVER="$(readlink -f "$XT_GPU_CHECK_SELFTEST_DRIVER")"
  BENCH_ARGS=(--quick)
  info "SELF-TEST with XT_CUDA_DRIVER=$XT_CUDA_DRIVER: nothing below ran on a GPU"
  echo "== gpu-check: SELF-TEST on $XT_CUDA_DRIVER, not a GPU" | tee -a "$LOG"
fi

# ---- the GPU, as the system sees it ----
if command -v nvidia-smi >/dev/null 2>&1; then
  if nvidia-smi -L >>"$LOG" 2>&1; then
    info "nvidia-smi: $(nvidia-smi -L | head -1); driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
  else
    fail "nvidia-smi found no GPU (see $LOG)"
  fi
else
  info "nvidia-smi not found (the CUDA probe below decides)"
fi

# ---- Bun ----
BUN="${BUN:-}"
[ -z "$BUN" ] && [ -x node_modules/.bin/bun ] && BUN="$ROOT/node_modules/.bin/bun"
[ -z "$BUN" ] && BUN="$(command -v bun || true)"
if [ -z "$BUN" ] && [ -f "$CARRY_DIR/bun.gz" ]; then
  mkdir -p /tmp/xt-bun
  if gzip -dc "$CARRY_DIR/bun.gz" >/tmp/xt-bun/bun 2>>"$LOG" ||
    python3 -c 'import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
      "$CARRY_DIR/bun.gz" /tmp/xt-bun/bun 2>>"$LOG"; then
    chmod +x /tmp/xt-bun/bun
    BUN=/tmp/xt-bun/bun
  fi
fi
if [ -z "$BUN" ] || ! "$BUN" --version >/dev/null 2>&1; then
  fail "no working Bun (install it, set BUN=, or run scripts/gpu-check.sh --pack on a dev machine and carry $CARRY_DIR)"
  finish
fi
info "bun $("$BUN" --version)"

# ---- the addon ----
if command -v cargo >/dev/null 2>&1 && { command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; }; then
  say "building the CUDA addon"
  if bash scripts/build-native.sh --no-emu 2>&1 | tee -a "$LOG"; then pass "built backends/cuda/xt_cuda.node here"
  else fail "scripts/build-native.sh failed"; finish; fi
elif [ -f backends/cuda/xt_cuda.node ]; then
  info "cargo or nvcc missing here: using the carried backends/cuda/xt_cuda.node"
else
  fail "no backends/cuda/xt_cuda.node and no cargo+nvcc to build it (run scripts/gpu-check.sh --pack and carry it)"
  finish
fi
if command -v cuobjdump >/dev/null 2>&1; then
  for f in backends/cuda/target/release/build/xt-cuda-*/out/*.fatbin; do
    [ -f "$f" ] && info "$(basename "$f"): $(cuobjdump --list-elf "$f" 2>/dev/null | grep -o 'sm_[0-9]*' | sort -u | tr '\n' ' ')"
  done
fi

# ---- CUDA usable? ----
say "probing CUDA"
probe="$("$BUN" -e 'import { probeCuda } from "./backends/cuda/index.ts"; const p = probeCuda(); console.log(JSON.stringify(p)); process.exit(p.ok ? 0 : 1);' 2>&1)"
probe_rc=$?
echo "$probe" >>"$LOG"
if [ $probe_rc -ne 0 ]; then
  echo "!!!!!!!!!! NO USABLE GPU: $probe" | tee -a "$LOG"
  fail "CUDA is not usable: $probe"
  finish
fi
pass "CUDA probe: $probe"

# ---- parity tests on the device ----
say "CUDA parity tests"
"$BUN" test backends/cuda/cuda_parity.test.ts 2>&1 | tee -a "$LOG" >/tmp/xt-gpu-parity.log
rc=${PIPESTATUS[0]}
cat /tmp/xt-gpu-parity.log
passed="$(grep -Eo '^ *[0-9]+ pass' /tmp/xt-gpu-parity.log | grep -Eo '[0-9]+' | tail -1)"
failed="$(grep -Eo '^ *[0-9]+ fail' /tmp/xt-gpu-parity.log | grep -Eo '[0-9]+' | tail -1)"
skipped="$(grep -Eo '^ *[0-9]+ skip' /tmp/xt-gpu-parity.log | grep -Eo '[0-9]+' | tail -1)"
if [ $rc -eq 0 ] && [ "${failed:-0}" = 0 ] && [ "${skipped:-0}" = 0 ] && [ "${passed:-0}" -gt 0 ]; then
  pass "CUDA parity: ${passed} tests passed on the device"
else
  fail "CUDA parity: rc=$rc, ${passed:-0} passed, ${failed:-?} failed, ${skipped:-0} skipped"
fi

# ---- timings (information only) ----
say "timings"
if timeout 300 "$BUN" backends/cuda/gpu_bench.ts "${BENCH_ARGS[@]}" 2>&1 | tee -a "$LOG" >/tmp/xt-gpu-bench.log; then
  while IFS= read -r line; do info "$line"; done </tmp/xt-gpu-bench.log
else
  cat /tmp/xt-gpu-bench.log
  fail "backends/cuda/gpu_bench.ts failed"
fi

# The lead adds model-level checks here.

finish
