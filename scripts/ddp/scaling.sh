#!/bin/bash
# Data-parallel scaling and equivalence on one host with ≥ 2 GPUs (issue #7), through the bundled CLI:
#   the same global batch on 1 GPU (gradient accumulation) and on 2 GPUs (one process each, NCCL,
#   gradient buckets reduced while backward runs). Reports trainer tokens/s (the speed monitor's
#   window at the end of each run), the scaling, and the two loss curves side by side.
# Runs on the GPU machine after `source .device/boot.sh`, from the repo root, carrying .device,
# .results-build (scripts/results/bundle.sh) and .results-data (scripts/results/prepare.sh):
#   bash scripts/ddp/scaling.sh            (DDP_STEPS [300], DDP_BIG_STEPS [100])
# Output: $OUT/ddp-summary.txt and $OUT/ddp-runs.tar.gz (every run's metrics.jsonl and log).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
OUT=${OUT:-/tmp/ddp-out}
WORK=${DDP_WORK:-runs/ddp}
DATA=${RESULTS_DATA:-.results-data}
DEVICE=${DDP_DEVICE:-cuda}      # cpu: a smoke test of this script (with DDP_CONFIG=tiny-cpu and few steps)
CONFIG=${DDP_CONFIG:-mosaic-bert-base}
STEPS=${DDP_STEPS:-300}
BIG=${DDP_BIG_STEPS:-100}
export MOSAICBERT_CUDA_ADDON=${MOSAICBERT_CUDA_ADDON:-$root/packages/kernels-cuda/build/mosaicbert_cuda.node}
bash "$root/scripts/results/unbundle.sh" || { echo "cannot unpack .results-build (run scripts/results/bundle.sh here and carry it)" >&2; exit 2; }
CLI=(node "$root/.results-build/dist/mosaicbert.mjs")
mkdir -p "$OUT" "$WORK"
ngpu=$(nvidia-smi -L 2>/dev/null | wc -l)
if [ "$DEVICE" = cuda ] && [ "$ngpu" -lt 2 ]; then echo "ddp: needs ≥ 2 GPUs, this machine has $ngpu: skipped"; exit 0; fi
[ "$DEVICE" = cpu ] || [ -f "$MOSAICBERT_CUDA_ADDON" ] || { echo "ddp: no CUDA addon at $MOSAICBERT_CUDA_ADDON (run scripts/device.sh build first)" >&2; exit 1; }

if [ ! -f "$WORK/data/train/index.json" ]; then
  bash scripts/results/corpus-to-mds.sh "$DATA" "$WORK/data" > /dev/null || exit 1
fi

# A gentle schedule (lr 2e-4, 60 warm-up steps) so that 1 and 2 GPUs can be compared step by step
# without the early loss spike a 6% warm-up of a short run causes.
common=(pretrain --config "$CONFIG" --data "$WORK/data" --device "$DEVICE"
  --set optimizer.lr=2e-4 --set scheduler.t_warmup=60ba
  --set eval_interval=100000ba --set save_interval=1000000ba --set save_num_checkpoints_to_keep=1
  --set progress_bar=false --set console_log_interval=50ba --set callbacks.speed_monitor.window_size=50)
run() { # name gpus global micro steps [env...]
  local name=$1 g=$2 batch=$3 micro=$4 steps=$5 gpus=()
  shift 5
  [ "$g" -gt 1 ] && gpus=(--gpus "$g")
  rm -rf "$WORK/$name"
  echo "=== $name: $g GPU(s), global batch $batch, microbatch $micro, $steps steps $* ($(date +%T))"
  local t0=$(date +%s.%N)
  env "$@" "${CLI[@]}" "${common[@]}" --max-duration "${steps}ba" --save-folder "$WORK/$name" \
    --set "global_train_batch_size=$batch" --set "device_train_microbatch_size=$micro" "${gpus[@]}" > "$WORK/$name.log" 2>&1
  local rc=$?
  echo "$name: exit $rc in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  [ "$rc" = 0 ] || tail -20 "$WORK/$name.log"
}
B1=${DDP_BATCH:-256} M1=${DDP_MICRO:-128} B2=${DDP_BIG_BATCH:-1024} M2=${DDP_BIG_MICRO:-256}
run g1-b$B1 1 "$B1" "$M1" "$STEPS"
# NCCL_DEBUG=INFO: the log says which transport joins the GPUs (P2P/NVLink, SHM through host memory, …).
run g2-b$B1 2 "$B1" "$M1" "$STEPS" NCCL_DEBUG=INFO
# Controls (DDP_CONTROLS=0 skips them): the buckets reduced after backward instead of during it, and
# two independent 1-GPU runs at once, each with a rank's share of the work and no NCCL — what the
# host and the GPUs give two processes when nothing is exchanged.
[ "${DDP_CONTROLS:-1}" = 1 ] && run g2-b$B1-nooverlap 2 "$B1" "$M1" "$STEPS" MOSAICBERT_DDP_OVERLAP=0
if [ "$DEVICE" = cuda ] && [ "${DDP_CONTROLS:-1}" = 1 ]; then
  echo "=== control: 2 independent runs at once ($(date +%T))"
  ( export CUDA_VISIBLE_DEVICES=0; run solo0-b$(( B1 / 2 )) 1 $(( B1 / 2 )) "$M1" "$STEPS" ) &
  ( export CUDA_VISIBLE_DEVICES=1; run solo1-b$(( B1 / 2 )) 1 $(( B1 / 2 )) "$M1" "$STEPS" ) &
  wait
fi
run g1-b$B2 1 "$B2" "$M2" "$BIG"
run g2-b$B2 2 "$B2" "$M2" "$BIG"
grep -h -E "NCCL INFO (Channel|comm .* nRanks|Using network|.*via (P2P|SHM|NET))" "$WORK/g2-b$B1.log" 2>/dev/null | sort | uniq -c | sort -rn | head -12 > "$OUT/ddp-nccl.txt"

node scripts/ddp/summary.mjs "$WORK" "b$B1" "b$B2" > "$OUT/ddp-summary.txt"
summary_rc=$?
cat "$OUT/ddp-summary.txt" "$OUT/ddp-nccl.txt"
tar -C "$WORK" -czf "$OUT/ddp-runs.tar.gz" $(cd "$WORK" && ls -d *.log */metrics.jsonl 2>/dev/null)
exit $summary_rc
