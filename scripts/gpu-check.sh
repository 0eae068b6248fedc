#!/bin/bash
# Every GPU check in one command that exits non-zero when any of them fails (issue #22):
#   build        the CUDA addon (nvcc)
#   conformance  every op against the CPU reference
#   smallsmem    the attention cases again as a 99 KB-per-block GPU (4 warps at head dim 128) and with 4 warps everywhere
#   golden       the PyTorch goldens in bf16: outputs ≤ 2e-2, each parameter's gradient ≤ 3e-2 on its own,
#                and a self-test per case (one gradient corrupted by ±20% must be reported, alone)
#   train        tiny preset bf16-GPU vs f32-CPU loss curves within 1% (recorded 0.11%); base loss falling
#   sanitize     compute-sanitizer memcheck and racecheck exit codes (0 errors, 0 hazards)
#   compare      optimised vs generic kernels: last 20 of 200 losses within 1e-3 relative L2
#   auto         pretrain with device_train_microbatch_size=auto picks a microbatch that fits and trains 3 steps
#   nccl         a one-process NcclCommunicator on real device memory
#   ddp          with ≥ 2 GPUs and the results bundle carried: 1 vs 2 GPUs, loss gap within 1% mean / 5% any step
#
#   --broken     instead: the addon built with -DMB_DELIBERATE_BUG (native/rows.cu: the MLM decoder bias's gradient
#                20% high, no other parameter touched) must FAIL the golden stage naming that parameter; exits 0
#                when it does, 1 when the check misses it (the proof that a single wrong gradient is caught)
#
# Here, once per commit:      bash scripts/device.sh pack
# On the GPU machine (device tool, carrying .device and .device-build):
#   source .device/boot.sh && bash scripts/gpu-check.sh
# Output: $OUT/gpu-check.log (everything) and the stages' own files (conformance.txt, build.log, sanitizer logs, …).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-/tmp/mosaicbert-out}
mkdir -p "$OUT"
export OUT
if [ "${1:-}" = "--broken" ]; then
  broken=/tmp/mb-broken
  rm -rf "$broken" && mkdir -p "$broken" && cp -r packages/kernels-cuda/native "$broken/"
  bash "$broken/native/build.sh" -DMB_DELIBERATE_BUG > "$OUT/build-broken.log" 2>&1 || { tail -20 "$OUT/build-broken.log"; echo "gpu-check --broken: the broken build did not build"; exit 1; }
  MOSAICBERT_CUDA_ADDON=$broken/build/mosaicbert_cuda.node bash scripts/device.sh golden > "$OUT/golden-broken.log" 2>&1
  rc=$?
  cat "$OUT/golden-broken.log"
  # Caught: the stage failed, every failing gradient is the decoder bias (MosaicBERT cls.predictions.decoder.bias,
  # BERT cls.predictions.bias), at least one was reported, and no case failed for another reason (an exception).
  fails=$(grep -E "^  FAIL gradient " "$OUT/golden-broken.log")
  if [ "$rc" -ne 0 ] && [ -n "$fails" ] && ! grep -vqE "FAIL gradient cls\.predictions\.(decoder\.)?bias:" <<<"$fails" \
    && ! grep -qE "^golden FAIL [^ ]+: " "$OUT/golden-broken.log"; then
    echo "=== gpu-check --broken: the deliberately broken build FAILS the golden stage, naming the decoder bias (as it must)"
    exit 0
  fi
  echo "=== gpu-check --broken: the deliberately broken build was NOT caught (golden exit $rc)"
  exit 1
fi
stages=(build conformance smallsmem golden train sanitize compare auto nccl)
ngpu=$(nvidia-smi -L 2>/dev/null | wc -l)
if [ "$ngpu" -ge 2 ] && [ -d .results-build ] && [ -d .results-data ]; then stages+=(ddp); fi
# Stage names as arguments run those alone (a lease's 10-minute calls split the ~15 minutes in two; on a warm
# machine the addon built by the first call is kept for the second).
if [ $# -gt 0 ]; then stages=("$@"); fi
failed=()
for s in "${stages[@]}"; do
  t0=$(date +%s)
  if ! bash scripts/device.sh "$s" 2>&1 | tee -a "$OUT/gpu-check.log"; then failed+=("$s"); fi
  echo "=== stage $s: $(( $(date +%s) - t0 )) s" | tee -a "$OUT/gpu-check.log"
  # Nothing else can run without the addon.
  if [ "$s" = build ] && [ ${#failed[@]} -gt 0 ]; then break; fi
done
[ "$ngpu" -ge 2 ] || echo "ddp: skipped (this machine has $ngpu GPU)" | tee -a "$OUT/gpu-check.log"
# The commit the bundles were packed at (sources.sum proves these sources match it); git there may not know it.
commit=$(cat .device-build/commit 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo '?')
echo "=== gpu-check at $commit (${stages[*]}): ${#failed[@]} failed stage(s)${failed[*]:+: ${failed[*]}}" | tee -a "$OUT/gpu-check.log"
[ ${#failed[@]} -eq 0 ]
