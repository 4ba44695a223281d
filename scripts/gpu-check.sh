#!/usr/bin/env bash
# GPU verification for a machine with an NVIDIA GPU (no network needed), in under 10 minutes on one H100.
#
#   scripts/gpu-check.sh                on the GPU machine. In order, each step with a time limit:
#                                       the CUDA probe; the kernel parity tests; the model parity test
#                                       (ViT and captioning transformer: forward, loss, backward, Adam
#                                       against the CPU backend; every op fixture against PyTorch and
#                                       the CPU; the notebook checks on CUDA);
#                                       `xt check all --device cuda`; a short `xt train vit --device cuda`
#                                       (Fashion-MNIST, 1 epoch, 2048 images); kernel timings; and the two
#                                       training workloads in xt CUDA beside PyTorch CUDA eager on the
#                                       same GPU (when python3 has torch with CUDA; skipped otherwise),
#                                       with xt/PyTorch speed ratios. Prints PASS/FAIL/INFO lines and a
#                                       summary; exits non-zero if no GPU is usable or any check fails.
#   scripts/gpu-check.sh --pack         on a development machine, before sending the tree to a GPU
#                                       machine: builds the addon, compiles xt (`bun build --compile`,
#                                       the shipped binary, which also serves as Bun via BUN_BE_BUN=1 on
#                                       a machine without Bun) and packs it, compressed, with a
#                                       2048/1000-image Fashion-MNIST subset into backends/cuda/.gpu-carry/
#                                       (git-ignored). Carry the two paths it prints.
#   scripts/gpu-check.sh --self-test    here, without a GPU: everything above against the CPU emulator
#                                       of the driver (backends/cuda/emu/build/libcuda_emu.so) with tiny
#                                       sizes. Nothing runs on a GPU; timings mean nothing.
#   --packed                            (with the GPU run or --self-test) use the packed xt for the CLI and as
#                                       Bun even when a Bun is installed, as on a GPU machine without one.
#
# Device tool, within 10 minutes: run `scripts/gpu-check.sh --pack` here, then
#   run(carry=["backends/cuda/xt_cuda.linux-x64-gnu.node", "backends/cuda/.gpu-carry"],
#       command="bash scripts/gpu-check.sh", timeout_s=600)
#
# What the GPU machine needs: an NVIDIA driver (libcuda.so.1, CUDA 13.0+ for the sm_80/sm_90 cubins
# built here by nvcc 13), and Bun (on PATH / in node_modules with the project's packages) or the
# packed xt; cargo, nvcc and node_modules (@napi-rs/cli) are used if there (to rebuild the addon), else the carried
# backends/cuda/xt_cuda.linux-x64-gnu.node. The whole run keeps to XT_GPU_CHECK_BUDGET seconds (default 560).
# The log is also written to $OUT/gpu-check.log when $OUT is set.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARRY_DIR="backends/cuda/.gpu-carry"
EMU_LIB="backends/cuda/emu/build/libcuda_emu.so"

MODE=gpu
PACKED=0
for arg in "$@"; do
  case "$arg" in
    --pack) MODE=pack ;;
    --self-test) MODE=self ;;
    --packed) PACKED=1 ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
# The older way to ask for a self-test.
[ "$MODE" = gpu ] && [ -n "${XT_GPU_CHECK_SELFTEST_DRIVER:-}" ] && MODE=self

local_bun() {
  if [ -x node_modules/.bin/bun ]; then readlink -f node_modules/.bin/bun; else command -v bun || true; fi
}

# ================================ --pack ================================
if [ "$MODE" = pack ]; then
  set -e
  bash scripts/build-native.sh --no-emu
  bun_bin="$(local_bun)"
  [ -n "$bun_bin" ] && [ -x "$bun_bin" ] || { echo "gpu-check --pack: no bun here to compile xt with" >&2; exit 1; }
  mkdir -p "$CARRY_DIR"
  rm -f "$CARRY_DIR/bun.gz" # the older layout carried a bare Bun; the compiled xt replaces it
  echo "gpu-check --pack: compiling xt (bun build --compile, with the addon embedded)"
  "$bun_bin" build --compile --minify cli/main.ts --outfile "$CARRY_DIR/xt.new" >/dev/null
  # (bun build --compile is not byte-for-byte reproducible, so this always recompresses.)
  rm -f "$CARRY_DIR/xt.xz" "$CARRY_DIR/xt.gz" "$CARRY_DIR/xt.sha256"
  if command -v xz >/dev/null 2>&1; then
    echo "gpu-check --pack: compressing xt ($(du -h "$CARRY_DIR/xt.new" | cut -f1)) with xz (a minute or two)"
    xz -T0 -6 -c "$CARRY_DIR/xt.new" >"$CARRY_DIR/xt.xz.tmp" && mv -f "$CARRY_DIR/xt.xz.tmp" "$CARRY_DIR/xt.xz"
  else
    echo "gpu-check --pack: compressing xt ($(du -h "$CARRY_DIR/xt.new" | cut -f1)) with gzip"
    gzip -6 -c "$CARRY_DIR/xt.new" >"$CARRY_DIR/xt.gz.tmp" && mv -f "$CARRY_DIR/xt.gz.tmp" "$CARRY_DIR/xt.gz"
  fi
  rm -f "$CARRY_DIR/xt.new"
  # A Fashion-MNIST subset (the first 2048 training and 1000 test images) for `train vit` there.
  fm_src=""
  for d in "${XT_DATA_DIR:-/nonexistent}/fashion-mnist" /usr/share/datasets/fashion-mnist; do
    [ -f "$d/train-images-idx3-ubyte.gz" ] && [ -f "$d/t10k-labels-idx1-ubyte.gz" ] && { fm_src="$d"; break; }
  done
  if [ -n "$fm_src" ] && command -v python3 >/dev/null 2>&1; then
    mkdir -p "$CARRY_DIR/fashion-mnist"
    python3 - "$fm_src" "$CARRY_DIR/fashion-mnist" <<'PY'
import gzip, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
for split, n in (("train", 2048), ("t10k", 1000)):
    for kind, item in (("images-idx3", 28 * 28), ("labels-idx1", 1)):
        name = "%s-%s-ubyte.gz" % (split, kind)
        with gzip.open(os.path.join(src, name), "rb") as f:
            magic = f.read(4)
            dims = struct.unpack(">%dI" % magic[3], f.read(4 * magic[3]))
            body = f.read(n * item)
        with gzip.open(os.path.join(dst, name), "wb") as f:
            f.write(magic + struct.pack(">%dI" % len(dims), n, *dims[1:]) + body)
PY
    echo "gpu-check --pack: Fashion-MNIST subset from $fm_src -> $CARRY_DIR/fashion-mnist"
  else
    echo "gpu-check --pack: no Fashion-MNIST here (/usr/share/datasets/fashion-mnist or \$XT_DATA_DIR/fashion-mnist): the GPU run will use the embedded images (overfit vit)"
  fi
  carry_bytes="$(du -cb backends/cuda/xt_cuda.linux-x64-gnu.node "$CARRY_DIR" | tail -1 | cut -f1)"
  tree_bytes="$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)"
  echo "gpu-check --pack: carried $((carry_bytes / 1048576)) MiB + working tree $((tree_bytes / 1048576)) MiB (the device tool takes 64 MiB in all)"
  [ $((carry_bytes + tree_bytes)) -lt $((64 * 1048576)) ] || echo "gpu-check --pack: WARNING: over 64 MiB" >&2
  echo "gpu-check --pack: ready. Carry: [\"backends/cuda/xt_cuda.linux-x64-gnu.node\", \"$CARRY_DIR\"]; command: bash scripts/gpu-check.sh"
  exit 0
fi

# ============================ the checks ============================
TMP="$(mktemp -d /tmp/xt-gpu-check.XXXXXX)"
LOG="$TMP/gpu-check.log"
declare -a SUMMARY=()
FAILED=0
pass() { SUMMARY+=("PASS  $*"); echo "PASS  $*" >>"$LOG"; }
info() { SUMMARY+=("INFO  $*"); echo "INFO  $*" >>"$LOG"; }
warn() { SUMMARY+=("WARN  $*"); echo "WARN  $*" >>"$LOG"; }
fail() { SUMMARY+=("FAIL  $*"); echo "FAIL  $*" >>"$LOG"; FAILED=1; }
say() { echo "== gpu-check: $*" | tee -a "$LOG"; }
finish() {
  {
    echo
    echo "==================== gpu-check summary ===================="
    for line in "${SUMMARY[@]}"; do echo "$line"; done
    echo "total $((SECONDS - START)) s"
    if [ "$MODE" = self ]; then
      if [ "$FAILED" = 0 ]; then echo "RESULT: SELF-TEST PASSED (CPU emulator of the driver, not a GPU)"; else echo "RESULT: SELF-TEST FAILED"; fi
    elif [ "$FAILED" = 0 ]; then echo "RESULT: ALL GPU CHECKS PASSED"; else echo "RESULT: GPU CHECK FAILED"; fi
  } | tee -a "$LOG"
  if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
    cp "$LOG" "$OUT/gpu-check.log"
    for f in torch.json xt-compare.json; do [ -s "$TMP/$f" ] && cp "$TMP/$f" "$OUT/$f"; done
  fi
  exit "$FAILED"
}

START=$SECONDS
if [ "$MODE" = self ]; then BUDGET="${XT_GPU_CHECK_BUDGET:-1500}"; else BUDGET="${XT_GPU_CHECK_BUDGET:-560}"; fi
# Seconds for a step: at most `want`, and no more than what is left of the budget (minus a reserve
# for the summary). 0 when the budget is spent.
limit() {
  local want=$1 left=$((BUDGET - (SECONDS - START) - 10))
  [ "$left" -lt "$want" ] && want=$left
  [ "$want" -lt 1 ] && want=0
  echo "$want"
}
# run_step LABEL SECONDS CMD...: runs CMD with a time limit, its output to the terminal, the log and
# $TMP/step.log; sets STEP_RC (124: timed out, 125: no time was left).
run_step() {
  local label=$1 secs
  secs="$(limit "$2")"
  shift 2
  if [ "$secs" = 0 ]; then
    STEP_RC=125
    : >"$TMP/step.log"
    return
  fi
  say "$label (limit ${secs} s)"
  local t0=$SECONDS
  timeout --kill-after=10 "$secs" "$@" 2>&1 | tee -a "$LOG" >"$TMP/step.log"
  STEP_RC=${PIPESTATUS[0]}
  STEP_S=$((SECONDS - t0))
  cat "$TMP/step.log"
}
why() { # why STEP_RC: a few words for a failed step
  case "$1" in
    124|137) echo "timed out" ;;
    125) echo "not run: the time budget (${BUDGET} s) was spent" ;;
    *) echo "exit $1" ;;
  esac
}

# Never test against the emulator on a GPU machine, only in the self-test.
unset XT_CUDA_DRIVER XT_CUDA_EMU_MEM_LIMIT
QUICK=0
if [ "$MODE" = self ]; then
  QUICK=1
  drv="${XT_GPU_CHECK_SELFTEST_DRIVER:-$EMU_LIB}"
  if [ ! -f "$drv" ]; then
    echo "== gpu-check: building the emulator for the self-test" | tee -a "$LOG"
    bash scripts/build-native.sh >>"$LOG" 2>&1 || true
  fi
  [ -f "$drv" ] || { fail "self-test: no emulator at $drv (scripts/build-native.sh builds it; it needs g++)"; finish; }
  export XT_CUDA_DRIVER="$(readlink -f "$drv")"
  info "SELF-TEST with XT_CUDA_DRIVER=$XT_CUDA_DRIVER: nothing below ran on a GPU, and tiny sizes are used"
  say "SELF-TEST on $XT_CUDA_DRIVER, not a GPU"
fi

# ---- the GPU, as the system sees it ----
if command -v nvidia-smi >/dev/null 2>&1; then
  if nvidia-smi -L >>"$LOG" 2>&1; then
    info "nvidia-smi: $(nvidia-smi -L | head -1); driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
  else
    fail "nvidia-smi found no GPU (see the log)"
  fi
else
  info "nvidia-smi not found (the CUDA probe below decides)"
fi

# ---- Bun and the xt CLI ----
XT_PACKED=""
unpack_xt() { # -> $XT_PACKED, the packed compiled xt, unpacked into $TMP
  [ -n "$XT_PACKED" ] && return 0
  local out="$TMP/xt"
  if [ -f "$CARRY_DIR/xt.xz" ]; then
    xz -dc "$CARRY_DIR/xt.xz" >"$out" 2>>"$LOG" ||
      python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$CARRY_DIR/xt.xz" "$out" 2>>"$LOG" ||
      return 1
  elif [ -f "$CARRY_DIR/xt.gz" ]; then
    gzip -dc "$CARRY_DIR/xt.gz" >"$out" 2>>"$LOG" ||
      python3 -c 'import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$CARRY_DIR/xt.gz" "$out" 2>>"$LOG" ||
      return 1
  else
    return 1
  fi
  chmod +x "$out"
  "$out" --version >/dev/null 2>&1 || return 1
  XT_PACKED="$out"
}

BUN="${BUN:-}"
[ -z "$BUN" ] && [ "$PACKED" = 0 ] && BUN="$(local_bun)"
if [ -z "$BUN" ] && unpack_xt; then
  # The compiled xt is a whole Bun: with BUN_BE_BUN=1 it runs `bun test`, scripts, and so on.
  printf '#!/bin/sh\nBUN_BE_BUN=1 exec "%s" "$@"\n' "$XT_PACKED" >"$TMP/bun"
  chmod +x "$TMP/bun"
  BUN="$TMP/bun"
fi
if [ -z "$BUN" ] || ! "$BUN" --version >/dev/null 2>&1; then
  fail "no working Bun (install it, set BUN=, or run scripts/gpu-check.sh --pack on a dev machine and carry $CARRY_DIR)"
  finish
fi
if [ "$PACKED" = 0 ] && [ -d node_modules/commander ]; then
  XT=("$BUN" cli/main.ts)
  info "bun $("$BUN" --version); xt CLI: bun cli/main.ts"
elif unpack_xt; then
  XT=("$XT_PACKED")
  info "bun $("$BUN" --version); xt CLI: the packed compiled xt ($CARRY_DIR)"
else
  fail "no xt CLI: no node_modules here and no packed xt in $CARRY_DIR (run scripts/gpu-check.sh --pack on a dev machine)"
  finish
fi

# ---- the addon ----
if [ "$MODE" != self ] && [ -x node_modules/.bin/napi ] && command -v cargo >/dev/null 2>&1 && { command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; }; then
  say "building the CUDA addon"
  if bash scripts/build-native.sh --no-emu 2>&1 | tee -a "$LOG"; then pass "built backends/cuda/xt_cuda.linux-x64-gnu.node here"
  else fail "scripts/build-native.sh failed"; finish; fi
  [ "${XT[0]}" = "$XT_PACKED" ] && info "the packed xt embeds the addon built by --pack, not this one"
elif [ -f backends/cuda/xt_cuda.linux-x64-gnu.node ]; then
  info "using backends/cuda/xt_cuda.linux-x64-gnu.node as carried/built ($( [ "$MODE" = self ] && echo "self-test" || echo "cargo, nvcc or @napi-rs/cli missing here"))"
else
  fail "no backends/cuda/xt_cuda.linux-x64-gnu.node and no cargo+nvcc to build it (run scripts/gpu-check.sh --pack and carry it)"
  finish
fi
if command -v cuobjdump >/dev/null 2>&1; then
  for f in backends/cuda/target/*/release/build/xt-cuda-*/out/*.fatbin; do
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

# ---- bun test files on the device ----
# test_file LABEL FILE MIN_PASS SECONDS: PASS when bun test exits 0 with >= MIN_PASS passes, no
# failures and no skips (a skip would mean the device was not used).
test_file() {
  local label=$1 file=$2 min=$3
  run_step "$label ($file)" "$4" "$BUN" test --timeout 300000 "$file"
  local log="$TMP/step.log" passed failed skipped
  passed="$(grep -Eo '^ *[0-9]+ pass' "$log" | grep -Eo '[0-9]+' | tail -1)"
  failed="$(grep -Eo '^ *[0-9]+ fail' "$log" | grep -Eo '[0-9]+' | tail -1)"
  skipped="$(grep -Eo '^ *[0-9]+ skip' "$log" | grep -Eo '[0-9]+' | tail -1)"
  if [ "$STEP_RC" -eq 0 ] && [ "${failed:-0}" = 0 ] && [ "${skipped:-0}" = 0 ] && [ "${passed:-0}" -ge "$min" ]; then
    pass "$label: ${passed} tests passed on the device (${STEP_S} s)"
  else
    fail "$label: $(why "$STEP_RC"), ${passed:-0} passed, ${failed:-?} failed, ${skipped:-0} skipped ($file)"
  fi
}

test_file "kernel parity" backends/cuda/cuda_parity.test.ts 16 120
test_file "model parity (ViT + captioning train steps and every op vs the CPU, notebook checks)" backends/cuda/model_parity.test.ts 5 240
while IFS= read -r line; do info "  ${line#\[model parity\] }"; done < <(grep '^\[model parity\]' "$TMP/step.log")

# ---- the CLI on the device ----
run_step "xt check all --device cuda" 120 "${XT[@]}" check all --device cuda
if [ "$STEP_RC" -eq 0 ] && grep -q '7/7 checks pass' "$TMP/step.log"; then
  pass "xt check all --device cuda: $(grep -Eo '[0-9]+/[0-9]+ outputs pass, 7/7 checks pass' "$TMP/step.log" | head -1) (${STEP_S} s)"
else
  fail "xt check all --device cuda: $(why "$STEP_RC"); $(grep -Eo '[0-9]+/[0-9]+ checks pass' "$TMP/step.log" | head -1)"
fi

mkdir -p "$TMP/run"
train=(train vit --device cuda --plain --epochs 1 --save "$TMP/run/vit.safetensors")
if [ "$QUICK" = 1 ]; then
  train+=(--max-train 64 --max-test 32 --batch-size 16 --embed-dim 16 --layers 1 --heads 2 --ffn-dim 32 --patch-size 7)
else
  train+=(--max-train 2048 --max-test 1000)
fi
fm_system=0
for d in "${XT_DATA_DIR:-/nonexistent}/fashion-mnist" "${XT_DATA_DIR:-/nonexistent}" data/fashion-mnist /usr/share/datasets/fashion-mnist; do
  [ -f "$d/train-images-idx3-ubyte.gz" ] || [ -f "$d/train-images-idx3-ubyte" ] && { fm_system=1; break; }
done
if [ "$fm_system" = 1 ] && ! { [ "$PACKED" = 1 ] && [ -d "$CARRY_DIR/fashion-mnist" ]; }; then
  run_step "xt train vit --device cuda (Fashion-MNIST)" 240 "${XT[@]}" "${train[@]}" --dataset fashion-mnist
  what="fashion-mnist"
elif [ -d "$CARRY_DIR/fashion-mnist" ]; then
  run_step "xt train vit --device cuda (the packed Fashion-MNIST subset)" 240 "${XT[@]}" "${train[@]}" --dataset fashion-mnist --data-dir "$CARRY_DIR/fashion-mnist"
  what="fashion-mnist subset"
else
  steps=100; [ "$QUICK" = 1 ] && steps=3
  train=(overfit vit --device cuda --plain --steps "$steps")
  [ "$QUICK" = 1 ] && train+=(--embed-dim 16 --layers 1 --heads 2 --ffn-dim 32 --patch-size 7)
  run_step "xt overfit vit --device cuda (no Fashion-MNIST here: the embedded 64 images)" 240 "${XT[@]}" "${train[@]}"
  what="embedded 64 images"
fi
if [ "$STEP_RC" -eq 0 ] && grep -q ' on cuda' "$TMP/step.log"; then
  pass "xt ${train[0]} vit --device cuda ($what): $(grep -E '^(Accuracy on test set|Time per epoch|done)' "$TMP/step.log" | sed 's/  checkpoint .*//; s/  */ /g' | tr '\n' ';' | sed 's/;$//; s/;/; /g') (${STEP_S} s)"
else
  fail "xt ${train[0]} vit --device cuda ($what): $(why "$STEP_RC")$(grep -q ' on cuda' "$TMP/step.log" || echo ", did not report running on cuda")"
fi

# ---- timings (information only) ----
bench_args=(); [ "$QUICK" = 1 ] && bench_args=(--quick)
run_step "kernel timings" 120 "$BUN" backends/cuda/gpu_bench.ts "${bench_args[@]}"
if [ "$STEP_RC" -eq 0 ]; then
  while IFS= read -r line; do info "$line"; done <"$TMP/step.log"
else
  fail "backends/cuda/gpu_bench.ts: $(why "$STEP_RC")"
fi

# ---- beside PyTorch CUDA eager on the same GPU ----
PY="${PYTHON:-python3}"
torch_args=(); [ "$QUICK" = 1 ] && torch_args=(--steps 1 --warmup 0 --batch 2 --iterations 1)
have_torch=0
if command -v "$PY" >/dev/null 2>&1; then
  run_step "PyTorch CUDA eager: bench/gpu_compare.py" 180 "$PY" bench/gpu_compare.py "${torch_args[@]}"
  grep '^{' "$TMP/step.log" >"$TMP/torch.json"
  if grep -q '"skipped"' "$TMP/torch.json"; then
    info "PyTorch CUDA comparison skipped: $(sed -n 's/.*"skipped": *"\(.*\)".*/\1/p' "$TMP/torch.json" | head -1)"
  elif [ "$STEP_RC" -ne 0 ] || ! grep -q '"workload"' "$TMP/torch.json"; then
    warn "bench/gpu_compare.py (PyTorch) failed: $(why "$STEP_RC"); no ratios (see the log)"
  else
    have_torch=1
    while IFS= read -r line; do info "torch: $line"; done <"$TMP/torch.json"
  fi
else
  info "PyTorch CUDA comparison skipped: no $PY here"
fi
compare_args=(); [ "$QUICK" = 1 ] && compare_args=(--quick)
[ "$have_torch" = 1 ] && compare_args+=(--torch-json "$TMP/torch.json")
run_step "xt CUDA: bench/gpu_compare.ts" 240 "$BUN" bench/gpu_compare.ts "${compare_args[@]}"
grep '^{' "$TMP/step.log" >"$TMP/xt-compare.json"
if [ "$STEP_RC" -eq 0 ] && [ "$(grep -c '"workload"' "$TMP/xt-compare.json")" = 2 ]; then
  pass "bench/gpu_compare.ts: both training workloads ran on CUDA (${STEP_S} s)"
  while IFS= read -r line; do info "xt: $line"; done <"$TMP/xt-compare.json"
  while IFS= read -r line; do info "$line"; done < <(grep '^RATIO' "$TMP/step.log")
else
  fail "bench/gpu_compare.ts: $(why "$STEP_RC")"
fi

finish
