#!/bin/bash
# The results runs of issue #10 on the GPU machine: MosaicBERT-base vs BERT-base pretrained on the same
# corpus for the same wall-clock budget, then fine-tuned on six GLUE tasks. Self-contained per call: a
# fresh machine builds the CUDA addon and the MDS dataset; a warm one (same call inputs) reuses them.
#
#   bash scripts/results/device-run.sh PHASE [MODEL...]
#     PHASE   pretrain | glue | all (pretrain, then glue on the final checkpoint)
#     MODEL   mosaic-bert-base, bert-base (default: both, in that order)
# Carried from the dev machine (see docs/results-howto.md): .device (node, boot.sh), .results-build (the
# bundled CLI, scripts/results/bundle.sh), .results-data (corpus + GLUE, scripts/results/prepare.sh).
#
# Environment (defaults in brackets):
#   RESULTS_MINUTES [4]          training wall clock per model (time-boxed schedule: warmup 6%, linear decay)
#   RESULTS_BATCH [256]          global batch; RESULTS_MICROBATCH [256]; RESULTS_EVAL_EVERY [200] steps
#   RESULTS_EVAL_BATCH [256]     eval batch (the whole held-out split is evaluated, 15% masking)
#   RESULTS_CLIP [1.0]           gradient clipping norm as in the quality anchor ("" = the recipes' none)
#   RESULTS_SET ["" ]            extra `--set key=value` words for pretrain (the CPU toy sets the tiny model)
#   GLUE_MINUTES [2.5]           fine-tuning budget per model, shared by the tasks (steps capped to fit)
#   GLUE_TASKS [rte mrpc stsb cola qnli sst2], GLUE_SEEDS [1], GLUE_PRECISION [bf16 on cuda]
#   GLUE_MAX_STEPS []            a fixed step cap per task instead of the time-based one
#   GLUE_ARGS [""]               extra `mosaicbert glue` options (e.g. --max-train-examples 64)
#   GLUE_STEPS_PER_SEC [20]       first guess of the fine-tuning speed (measured after the first task)
#   RESULTS_PARALLEL [auto]      1: models run at the same time, one GPU each (needs ≥ 2 GPUs)
#   RESULTS_DEADLINE_S [570]     seconds after start by which everything must be packed ($OUT comes back);
#                                set it to the run tool's limit_s − 30 when less device time is left. The
#                                tarball is re-packed after pretraining and after every GLUE task, so a call
#                                killed at its limit still returns what was done.
#   RESULTS_DEVICE [cuda]        cpu: the CPU toy run (no boot.sh, no addon)
#   RESULTS_DATA [.results-data], RESULTS_WORK [runs/results]
# Output: $OUT/results-<model>.tar.gz (metrics.jsonl, trainer state, GLUE reports, logs, the exact
# commands) — turn them into docs/results.md with scripts/results/make-report.mjs.
set -uo pipefail
T0=$(date +%s)
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
phase=${1:-}
shift || true
case "$phase" in pretrain|glue|all) ;; *) echo "usage: device-run.sh pretrain|glue|all [mosaic-bert-base] [bert-base]" >&2; exit 2 ;; esac
models=${*:-mosaic-bert-base bert-base}
for m in $models; do
  case "$m" in mosaic-bert-base|bert-base) ;; *) echo "device-run: unknown model '$m' (expected mosaic-bert-base or bert-base)" >&2; exit 2 ;; esac
done

DEVICE=${RESULTS_DEVICE:-cuda}
if [ "$DEVICE" = cuda ]; then
  source .device/boot.sh
  export MOSAICBERT_CUDA_ADDON=$root/packages/kernels-cuda/build/mosaicbert_cuda.node
fi
OUT=${OUT:-/tmp/results-out}
DATA=${RESULTS_DATA:-.results-data}
WORK=${RESULTS_WORK:-runs/results}
bash "$root/scripts/results/unbundle.sh" || { echo "cannot unpack .results-build (run scripts/results/bundle.sh here and carry it)" >&2; exit 2; }
CLI=(node "$root/.results-build/dist/mosaicbert.mjs")
MINUTES=${RESULTS_MINUTES:-4}
BATCH=${RESULTS_BATCH:-256}
MICRO=${RESULTS_MICROBATCH:-256}
EVAL_EVERY=${RESULTS_EVAL_EVERY:-200}
EVAL_BATCH=${RESULTS_EVAL_BATCH:-256}
CLIP=${RESULTS_CLIP-1.0}
GLUE_MINUTES=${GLUE_MINUTES:-2.5}
GLUE_SECONDS=$(awk -v m="$GLUE_MINUTES" 'BEGIN { print int(m * 60) }')
GLUE_TASKS=${GLUE_TASKS:-rte mrpc stsb cola qnli sst2}
GLUE_SEEDS=${GLUE_SEEDS:-1}
if [ "$DEVICE" = cuda ]; then GLUE_PRECISION=${GLUE_PRECISION:-bf16}; else GLUE_PRECISION=${GLUE_PRECISION:-f32}; fi
DEADLINE=$(( T0 + ${RESULTS_DEADLINE_S:-570} ))
mkdir -p "$OUT" "$WORK"
now() { date +%s; }
log() { echo "[$(date +%T) +$(( $(now) - T0 ))s] $*"; }
[ -d .results-build/dist ] || { echo "device-run: .results-build/ is missing: run scripts/results/bundle.sh here and carry it" >&2; exit 2; }
[ -s "$DATA/train.txt.xz" ] || { echo "device-run: $DATA/train.txt.xz is missing: run scripts/results/prepare.sh and carry $DATA" >&2; exit 2; }

# ---- setup: the CUDA addon and the MDS dataset, each rebuilt only when its inputs changed ------------
setup() {
  if [ "$DEVICE" = cuda ]; then
    local addon=$MOSAICBERT_CUDA_ADDON sum
    sum=$(cat packages/kernels-cuda/native/* | md5sum | cut -d" " -f1)
    if [ ! -f "$addon" ] || [ "$(cat "$addon.src-md5" 2>/dev/null)" != "$sum" ]; then
      log "building the CUDA addon"
      local t=$(now)
      bash packages/kernels-cuda/native/build.sh > "$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; return 1; }
      echo "$sum" > "$addon.src-md5"
      log "addon built in $(( $(now) - t )) s"
    else log "addon up to date"; fi
  fi
  local sum
  sum=$(cat "$DATA/train.txt.xz" "$DATA/val.txt.xz" | md5sum | cut -d" " -f1)
  if [ ! -f "$WORK/data/train/index.json" ] || [ "$(cat "$WORK/data/.src-md5" 2>/dev/null)" != "$sum" ]; then
    local t=$(now)
    rm -rf "$WORK/data" "$WORK/text"
    bash scripts/results/corpus-to-mds.sh "$DATA" "$WORK/data" || return 1
    echo "$sum" > "$WORK/data/.src-md5"
    log "corpus decompressed and converted to MDS in $(( $(now) - t )) s"
  else log "MDS dataset up to date"; fi
  if [ ! -d "$WORK/glue-data/glue" ]; then
    mkdir -p "$WORK/glue-data" && tar -C "$WORK/glue-data" -xJf "$DATA/glue.tar.xz" || return 1
  fi
}

# Runs and records one command (commands.txt is what docs/results.md quotes).
run_logged() {
  local dir=$1
  shift
  echo "$*" >> "$dir/commands.txt"
  "$@"
}

# ---- pretraining: one time-boxed run, resumable (SIGTERM near the deadline writes a checkpoint) ------
pretrain_model() {
  local m=$1 dir=$WORK/$1 left clip=()
  mkdir -p "$dir"
  [ -n "$CLIP" ] && clip=(--set algorithms.gradient_clipping.clipping_type=norm --set "algorithms.gradient_clipping.clipping_threshold=$CLIP")
  local set=()
  for kv in ${RESULTS_SET:-}; do set+=(--set "$kv"); done
  # Leave time for the final eval, the checkpoint and (with glue) the fine-tuning.
  local reserve=30
  [ "$phase" = all ] && reserve=$(( reserve + GLUE_SECONDS + 30 ))
  left=$(( DEADLINE - $(now) - reserve ))
  if [ "$left" -lt 30 ]; then log "$m: no time left to pretrain"; return 1; fi
  log "$m: pretraining for ${MINUTES} min of wall clock (hard stop in ${left} s)"
  run_logged "$dir" timeout --preserve-status -s TERM -k 120 "$left" "${CLI[@]}" pretrain --config "$m" --data "$WORK/data" --device "$DEVICE" \
    --max-duration "${MINUTES}min" --save-folder "$dir" --resume auto \
    --set "global_train_batch_size=$BATCH" --set "device_train_microbatch_size=$MICRO" \
    --set "eval_interval=${EVAL_EVERY}ba" --set eval_subset_num_batches=-1 --set "global_eval_batch_size=$EVAL_BATCH" \
    --set save_interval=1000000ba --set save_num_checkpoints_to_keep=1 \
    --set progress_bar=false --set console_log_interval=50ba --set callbacks.speed_monitor.window_size=50 \
    "${clip[@]}" "${set[@]}"
  local rc=$?
  log "$m: pretrain exit $rc"
  # 143: stopped by the deadline after writing a checkpoint; the next call continues it (--resume auto).
  [ "$rc" = 0 ] || [ "$rc" = 143 ]
}

# ---- GLUE: one `mosaicbert glue` per task, steps capped so that all tasks fit GLUE_MINUTES --------------
full_steps() { # the recipe's steps for one seed with the data here (rows / batch, last batch kept, × epochs)
  case $1 in cola) echo 2680 ;; sst2) echo 12630 ;; mrpc) echo 1150 ;; stsb) echo 1800 ;; qnli) echo 200 ;; rte) echo 468 ;; *) echo 1000000 ;; esac
}
glue_model() {
  local m=$1 dir=$WORK/$1 ck
  if [ ! -s "$dir/latest" ]; then log "$m: no checkpoint in $dir (pretrain first, in this call or while the machine is warm)"; return 1; fi
  ck=$dir/$(cat "$dir/latest")
  local end=$(( $(now) + GLUE_SECONDS ))
  [ "$end" -gt $(( DEADLINE - 15 )) ] && end=$(( DEADLINE - 15 ))
  local rate=${GLUE_STEPS_PER_SEC:-20} overhead=15 n=0 status=0 t
  local tasks=($GLUE_TASKS)
  for t in "${tasks[@]}"; do
    local left=$(( end - $(now) )) remaining=$(( ${#tasks[@]} - n ))
    n=$(( n + 1 ))
    if [ "$left" -lt $(( overhead + 5 )) ]; then log "$m glue $t: skipped, no time left"; status=1; continue; fi
    local steps cap=()
    if [ -n "${GLUE_MAX_STEPS:-}" ]; then steps=$GLUE_MAX_STEPS
    else steps=$(awk -v l="$left" -v r="$remaining" -v o="$overhead" -v k="$rate" -v s="$GLUE_SEEDS" 'BEGIN { x = int((l / r - o) * k / s); print (x < 10 ? 10 : x) }'); fi
    [ "$steps" -lt "$(full_steps "$t")" ] && cap=(--max-steps "$steps")
    log "$m glue $t: ${cap[*]:-full recipe} (${left} s left for ${remaining} task(s))"
    local t0=$(now)
    rm -rf "$dir/glue/$t"
    run_logged "$dir" timeout -s TERM -k 10 "$left" "${CLI[@]}" glue --model "$ck" --data "$WORK/glue-data/glue" --tasks "$t" --seeds "$GLUE_SEEDS" \
      --device "$DEVICE" --precision "$GLUE_PRECISION" --out "$dir/glue/$t" "${cap[@]}" ${GLUE_ARGS:-} > "$dir/glue-$t.md" 2> "$dir/glue-$t.log"
    local rc=$? wall=$(( $(now) - t0 ))
    [ "$rc" = 0 ] || { status=1; log "$m glue $t: exit $rc"; tail -3 "$dir/glue-$t.log"; }
    pack "$m" > /dev/null # so that a call killed later still returns this task
    # Measured speed and fixed cost of this task steer the next one's cap.
    if [ -s "$dir/glue/$t/glue-report.json" ]; then
      read -r rate overhead < <(node -e '
        const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        let st = 0, s = 0; for (const t of r.tasks) for (const x of t.seeds) { st += x.steps; s += x.seconds; }
        const wall = Number(process.argv[2]);
        console.log(s > 0 ? (st / s).toFixed(2) : process.argv[3], Math.max(5, Math.round(wall - s)));
      ' "$dir/glue/$t/glue-report.json" "$wall" "$rate")
      log "$m glue $t: done in ${wall} s: $(grep -m1 -E '^\| [A-Za-z0-9-]+ \| [0-9-]' "$dir/glue-$t.md" | cut -d'|' -f2,3) — ${rate} steps/s, ${overhead} s fixed cost"
    fi
  done
  return $status
}

# ---- pack what comes back ----------------------------------------------------------------------------
pack() {
  local m=$1 dir=$WORK/$1
  [ -d "$dir" ] || return 0
  {
    echo "{"
    echo "  \"model\": \"$m\", \"phase\": \"$phase\", \"device\": \"$DEVICE\","
    echo "  \"gpu\": \"$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)\","
    echo "  \"node\": \"$(node --version)\", \"date\": \"$(date -u +%FT%TZ)\","
    echo "  \"bundle\": $(cat .results-build/build.json 2>/dev/null || echo null),"
    echo "  \"env\": { \"RESULTS_MINUTES\": \"$MINUTES\", \"RESULTS_BATCH\": \"$BATCH\", \"RESULTS_MICROBATCH\": \"$MICRO\", \"RESULTS_EVAL_EVERY\": \"$EVAL_EVERY\", \"RESULTS_CLIP\": \"$CLIP\", \"RESULTS_SET\": \"${RESULTS_SET:-}\", \"GLUE_MINUTES\": \"$GLUE_MINUTES\", \"GLUE_SEEDS\": \"$GLUE_SEEDS\", \"GLUE_PRECISION\": \"$GLUE_PRECISION\", \"GLUE_MAX_STEPS\": \"${GLUE_MAX_STEPS:-}\", \"GLUE_ARGS\": \"${GLUE_ARGS:-}\" }"
    echo "}"
  } > "$dir/device.json"
  cp "$DATA/corpus.json" "$dir/corpus.json" 2>/dev/null
  [ -f "$WORK/build.log" ] && cp "$WORK/build.log" "$dir/build.log"
  local files=(device.json corpus.json)
  for f in metrics.jsonl latest commands.txt run.log build.log glue-*.md glue-*.log glue/*/glue-report.json glue/*/glue-report.md; do
    for g in "$dir"/$f; do [ -e "$g" ] && files+=("${g#$dir/}"); done
  done
  if [ -s "$dir/latest" ]; then
    local ck; ck=$(cat "$dir/latest")
    for f in trainer_state.json config.json; do [ -f "$dir/$ck/$f" ] && files+=("$ck/$f"); done
  fi
  # Written aside, then moved: a call killed while packing still returns the previous whole tarball.
  tar -C "$dir" -czf "$WORK/.pack-$m.tar.gz" "${files[@]}" && mv -f "$WORK/.pack-$m.tar.gz" "$OUT/results-$m.tar.gz" \
    && log "packed $OUT/results-$m.tar.gz ($(du -h "$OUT/results-$m.tar.gz" | cut -f1))"
}

pipeline() {
  local m=$1 rc=0
  case $phase in
    pretrain) pretrain_model "$m" || rc=1 ;;
    glue) glue_model "$m" || rc=1 ;;
    all) pretrain_model "$m" || rc=1; pack "$m" > /dev/null; glue_model "$m" || rc=1 ;;
  esac
  pack "$m"
  return $rc
}

log "device-run $phase: $models on $DEVICE; ${MINUTES} min pretraining, ${GLUE_MINUTES} min GLUE per model; deadline +$(( DEADLINE - T0 )) s"
setup || { log "setup failed"; exit 1; }
ngpu=$( [ "$DEVICE" = cuda ] && nvidia-smi -L 2>/dev/null | wc -l || echo 0)
par=${RESULTS_PARALLEL:-auto}
[ "$par" = auto ] && { [ "$ngpu" -ge 2 ] && [ "$(echo $models | wc -w)" -ge 2 ] && par=1 || par=0; }
status=0
if [ "$par" = 1 ]; then
  # One GPU per model, at the same time: each run has the machine's GPU to itself, as in the sequential case.
  i=0; pids=()
  for m in $models; do
    mkdir -p "$WORK/$m"
    ( export CUDA_VISIBLE_DEVICES=$i; pipeline "$m" ) > >(tee -a "$WORK/$m/run.log" | sed -u "s/^/[$m] /") 2>&1 &
    pids+=($!); i=$(( i + 1 ))
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
else
  for m in $models; do
    mkdir -p "$WORK/$m"
    pipeline "$m" > >(tee -a "$WORK/$m/run.log") 2>&1 || status=1
  done
fi
sleep 1
# run.log is complete now; pack again so it is in the tarball whole.
for m in $models; do pack "$m" > /dev/null; done
log "device-run $phase done (status $status) in $(( $(now) - T0 )) s; outputs: $(ls "$OUT" | tr '\n' ' ')"
exit $status
