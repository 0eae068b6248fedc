#!/bin/bash
# The quality anchor's setting (../shared/bench/README.md, "Time to quality") with `mosaicbert pretrain`, on the
# GPU machine: the anchor corpus as full 128-token rows ([CLS] 126 pieces [SEP], the last 2048 held out),
# batch 256, 2000 steps, lr 5e-4, betas 0.9/0.98, eps 1e-6, warmup 6%, linear decay to 0.02·lr, clipping 1.0,
# bf16, 30% masking in training and a fixed 15% mask on the held-out rows, evaluated every 500 steps.
# (mosaic-bert-base's recipe already holds the optimizer, schedule and masking; only batch, duration,
# clipping and the evaluation cadence are set here.)
#
# Here, once: the corpus and the bundle (docs/results-howto.md, step 1):
#   CORPORA_DIR=corpora bash ../shared/corpora/extract.sh
#   bash ../shared/corpora/make-anchor-corpus.sh corpora > corpora/anchor-corpus.txt
#   bash scripts/results/prepare.sh            # .results-build/ (the CLI) and .results-data/ (the corpus, xz)
# On the GPU machine (carry .device .results-build .results-data; ≈ 5 minutes):
#   source .device/boot.sh && bash scripts/results/anchor.sh
# Then here: copy $OUT/anchor/metrics.jsonl to docs/results/anchor-setting/metrics.jsonl.
#
# Environment: ANCHOR_STEPS [2000], ANCHOR_EVAL_EVERY [500], ANCHOR_SET [""] (extra key=value words),
# ANCHOR_BENCH [1]: also `mosaicbert bench` (the peers' 256 × 128 batch) before the run, same build.
# ANCHOR_DEVICE [cuda]: `cpu` dry-runs the pipeline here, without the addon (with ANCHOR_SET shrinking the model
# and batch, ANCHOR_STEPS=2 ANCHOR_EVAL_EVERY=1 ANCHOR_BENCH=0: see docs/results-howto.md).
set -uo pipefail
T0=$(date +%s)
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
OUT=${OUT:-/tmp/anchor-out}
WORK=${ANCHOR_WORK:-runs/anchor}
DATA=${RESULTS_DATA:-.results-data}
STEPS=${ANCHOR_STEPS:-2000}
EVAL_EVERY=${ANCHOR_EVAL_EVERY:-500}
DEVICE=${ANCHOR_DEVICE:-cuda}
bash "$root/scripts/results/unbundle.sh" || { echo "cannot unpack .results-build (run scripts/results/bundle.sh here and carry it)" >&2; exit 2; }
CLI=(node "$root/.results-build/dist/mosaicbert.mjs")
export MOSAICBERT_CUDA_ADDON=$root/packages/kernels-cuda/build/mosaicbert_cuda.node
mkdir -p "$OUT/anchor" "$WORK"
log() { echo "[$(date +%T) +$(( $(date +%s) - T0 ))s] $*"; }
[ -d .results-build/dist ] || { echo "anchor: .results-build/ is missing: run scripts/results/prepare.sh (or bundle.sh) here and carry it" >&2; exit 2; }
[ -s "$DATA/train.txt.xz" ] || { echo "anchor: $DATA/train.txt.xz is missing: run scripts/results/prepare.sh here and carry $DATA" >&2; exit 2; }

# The addon for this GPU and the MDS dataset, in parallel (each ~30-60 s on a fresh machine).
if [ "$DEVICE" = cuda ] && [ ! -f "$MOSAICBERT_CUDA_ADDON" ]; then
  (bash packages/kernels-cuda/native/build.sh > "$OUT/anchor/build.log" 2>&1 || { echo "anchor: addon build failed" >&2; tail -30 "$OUT/anchor/build.log"; exit 1; }) &
  build_pid=$!
fi
if [ ! -f "$WORK/data/train/index.json" ]; then
  rm -rf "$WORK/data"
  bash scripts/results/corpus-to-mds.sh "$DATA" "$WORK/data" || exit 1
fi
log "MDS dataset ready"
if [ -n "${build_pid:-}" ]; then wait "$build_pid" || exit 1; fi
log "addon ready"

if [ "${ANCHOR_BENCH:-1}" = 1 ]; then
  "${CLI[@]}" bench --preset mosaic-bert-base --device "$DEVICE" --profile --json "$OUT/anchor/bench-128.json" 2>&1 | tail -40
fi

set_words=()
for kv in ${ANCHOR_SET:-}; do set_words+=(--set "$kv"); done
rm -rf "$WORK/run"
cmd=("${CLI[@]}" pretrain --config mosaic-bert-base --data "$WORK/data" --device "$DEVICE" --max-duration "${STEPS}ba"
  --save-folder "$WORK/run"
  --set global_train_batch_size=256 --set device_train_microbatch_size=256
  --set algorithms.gradient_clipping.clipping_type=norm --set algorithms.gradient_clipping.clipping_threshold=1.0
  --set "eval_interval=${EVAL_EVERY}ba" --set eval_subset_num_batches=-1 --set global_eval_batch_size=256
  --set save_interval=1000000ba --set save_num_checkpoints_to_keep=1
  --set progress_bar=false --set console_log_interval=100ba --set callbacks.speed_monitor.window_size=100
  "${set_words[@]}")
echo "${cmd[*]}" > "$OUT/anchor/command.txt"
log "pretraining: ${cmd[*]}"
"${cmd[@]}" 2>&1 | tee "$OUT/anchor/run.log" | grep -E "eval|step (1|5|10|15|20)00[^0-9]|profile|slowest GEMM|error|Error" | head -60
rc=${PIPESTATUS[0]}
log "pretrain exit $rc"
cp "$WORK/run/metrics.jsonl" "$OUT/anchor/metrics.jsonl" 2>/dev/null
cp "$DATA/corpus.json" "$OUT/anchor/corpus.json" 2>/dev/null
# The figures the issue asks for: accuracy at each evaluation, and the training time of the last step.
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const train = rows.filter((r) => r.type === "train"), ev = rows.filter((r) => r.type === "eval");
  for (const e of ev) console.log(`eval step ${e.step}: mlm_accuracy ${e.mlm_accuracy.toFixed(4)} (time ${e.time.toFixed(1)} s)`);
  const last = train[train.length - 1];
  // time counts from the start of training and includes the evaluations in between; the sum of the step
  // wall times (step_ms: from asking for the batch to the metrics line) excludes them.
  const steps = train.reduce((s, r) => s + (r.step_ms ?? 0), 0) / 1000;
  if (last) console.log(`last train row: step ${last.step}, time ${last.time.toFixed(1)} s (evaluations included), ${steps.toFixed(1)} s of training steps alone, ${Math.round(last.tokens_per_sec)} tokens/s`);
' "$OUT/anchor/metrics.jsonl" || true
exit "$rc"
