#!/bin/bash
# GPU builds, tests and benchmarks in one call.
#
# Here (a machine with Node and the workspace installed), once per change:
#   bash scripts/device.sh pack          bundles the runners into .device-build/ (plus the golden cases)
# then on the GPU machine (the device tool; send .device and .device-build along):
#   source .device/boot.sh && bash scripts/device.sh [stages...]
# stages (default: build conformance golden train sanitize bench peers):
#   build        nvcc-builds packages/kernels-cuda/build/mosaicbert_cuda.node
#   conformance  every op against the CPU reference (fresh random inputs, poisoned outputs)
#   golden       the three PyTorch golden cases through @mosaicbert/layers in bf16: outputs ≤ 2e-2, every
#                parameter's gradient ≤ 3e-2 on its own, and a self-test (one corrupted gradient must fail)
#   train        tiny preset bf16-GPU vs f32-CPU loss curves; MosaicBERT-base loss going down over 50 steps
#   sanitize     compute-sanitizer memcheck + racecheck on the attention cases
#   bench        `mosaicbert bench` for mosaic-bert-base and bert-base (with the phase breakdown)
#   long         bench --seq-len 512/1024/2048 (LONG_LENGTHS) with the peers on the same batch at ≤ 512
#   memlinear    peak memory of 16 rows at 512…4096 tokens
#   pretrain-long  200 steps of mosaicbert pretrain --config mosaic-bert-base-1024 on .long-data (real text)
#   peers        the PyTorch peers (.device/bench/torch_peers.py) and our figures over theirs
#   embed        embedding tokens/s (mosaicbert embed's Embedder) for mosaic-bert-base and bert-base against HF
#                BertModel (bf16, SDPA, eager and torch.compile) on the same ids files: GLUE sentences at 128,
#                documents at 512 (written by pack into .device-extra/embed/: carry .device-extra)
#   hfcheck      `finetune` folders (BERT, MosaicBERT; made by pack in .device-extra/finetuned/; carry .device-extra) loaded in PyTorch:
#                transformers' probabilities (f32 CPU, bf16 GPU) against ours (packages/trainer/src/checks/finetuned_hf.py)
#   attention    the attention kernels alone at lengths 128…8192 (packages/kernels-cuda/bench/attention.bench.ts)
#   ampere       a compute_80-PTX-only build (the Ampere path, JIT-compiled) and the attention conformance on it,
#                also as a GPU with 99 KB / 48 KB of shared memory per block would run it (MOSAICBERT_SMEM_PER_BLOCK)
#   smallsmem    attention conformance as GPUs with 99 KB of shared memory per block run it, and with 4 warps per CTA
#   auto         pretrain with device_train_microbatch_size=auto (1536 × 128 per step, all but 24 GiB of the GPU held by another process): a smaller microbatch must be picked, and train
#   compare      loss after 200 steps: optimised vs generic kernels (last 20 losses within 1e-3)
#   nccl         a one-process NcclCommunicator on the GPU (f32/bf16, side stream, host tensors, broadcast)
#   memory       1000 timed steps, allocator memory sampled every 100
#   ddp          1 vs 2 GPUs, same global batch: scaling and loss curves (scripts/ddp/scaling.sh; ≥ 2 GPUs,
#                carries .results-build and .results-data too)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=.device-build
extra=.device-extra
cli=packages/trainer/dist-device/bin/cli.mjs

if [ "${1:-}" = "pack" ]; then
  set -e
  mkdir -p $build
  grep -qx '/.device-build/' .git/info/exclude 2>/dev/null || echo '/.device-build/' >> .git/info/exclude
  esb=$(ls -d node_modules/.pnpm/esbuild@*/node_modules/esbuild/bin/esbuild | head -1)
  # require() and __dirname for bundled CommonJS deps (@bokuweb/zstd-wasm reads zstd.wasm beside the bundle).
  banner='import { createRequire as __cr } from "node:module"; import { fileURLToPath as __fu } from "node:url"; import { dirname as __dn } from "node:path"; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);'
  $esb packages/trainer/src/checks/gpu-run.ts --bundle --platform=node --format=esm --target=node20 --conditions=source \
    --banner:js="$banner" --outfile=$build/run.mjs --log-level=warning
  $esb packages/kernels-cuda/bench/attention.bench.ts --bundle --platform=node --format=esm --target=node20 --conditions=source \
    --banner:js="$banner" --outfile=$build/attention.mjs --log-level=warning
  $esb packages/trainer/src/bench/embed-bench.ts --bundle --platform=node --format=esm --target=node20 --conditions=source \
    --banner:js="$banner" --outfile=$build/embed.mjs --log-level=warning
  # The embed and hfcheck stages' inputs go to .device-extra/ (~23 MB), carried only by calls that run them:
  # .device + .device-build (golden cases) + .device-extra together would pass the 64 MiB carry limit.
  grep -qx '/.device-extra/' .git/info/exclude 2>/dev/null || echo '/.device-extra/' >> .git/info/exclude
  [ -f $extra/embed/ids-512.json ] || node --import ./packages/trainer/src/from-source/register-ts.mjs packages/trainer/src/bench/embed-bench.ts \
    prepare ../shared/data $extra/embed
  [ -f $extra/finetuned/mosaic-bert.jsonl ] || node --import ./packages/trainer/src/from-source/register-ts.mjs \
    packages/trainer/src/checks/finetuned-fixture.ts ../shared/data $extra/finetuned
  # CoLA (train and dev, ~0.5 MB) for gpu-session C's finetuning timing with and without overlapped steps.
  mkdir -p $extra/glue/CoLA && cp ../shared/data/glue/CoLA/train.tsv ../shared/data/glue/CoLA/dev.tsv $extra/glue/CoLA/
  $esb packages/trainer/src/cli.ts --bundle --platform=node --format=esm --target=node20 --conditions=source \
    --banner:js="$banner" --outfile=packages/trainer/dist-device/bin/cli.mjs --log-level=warning || echo "warning: trainer CLI bundle failed; bench falls back to run.mjs"
  # The data workers' entry beside the CLI (else tokenizing runs on the training thread), and the
  # bert-base-uncased vocab where the bundled tokenizer looks for it (assets/ one folder above the bundle).
  $esb packages/trainer/src/train/batch-worker.ts --bundle --platform=node --format=esm --target=node20 --conditions=source \
    --banner:js="$banner" --outfile=packages/trainer/dist-device/bin/batch-worker.js --log-level=warning
  mkdir -p packages/trainer/dist-device/assets
  cp packages/data-streaming/assets/bert-base-uncased-vocab.txt packages/trainer/dist-device/assets/
  zstd_wasm=$(ls -d node_modules/.pnpm/@bokuweb+zstd-wasm@*/node_modules/@bokuweb/zstd-wasm/dist/common/zstd.wasm | head -1)
  cp "$zstd_wasm" packages/trainer/dist-device/bin/
  cp "$zstd_wasm" $build/
  grep -qx '/packages/trainer/dist-device/' .git/info/exclude || echo '/packages/trainer/dist-device/' >> .git/info/exclude
  for c in mosaic-tiny-mlm bert-tiny-mlm mosaic-tiny-cls3; do
    mkdir -p $build/golden/$c
    cp ../shared/data/golden/$c/{config.json,inputs.json,model.safetensors,outputs.safetensors} $build/golden/$c/
  done
  bash scripts/sources-sum.sh write $build
  du -sh $build $extra .device
  exit 0
fi

# The bundles in $build must come from the sources of this tree (MB_ALLOW_STALE=1 runs them anyway).
# (Checked once per invocation: the stages that run this script again for another stage inherit the answer.)
if [ -z "${MB_SOURCES_CHECKED:-}" ] && [ -f $build/sources.sum ] && ! bash scripts/sources-sum.sh check $build && [ "${MB_ALLOW_STALE:-}" != 1 ]; then
  echo "device.sh: $build was packed from other sources than this tree: run \`bash scripts/device.sh pack\` where it was made, then carry it again" >&2
  exit 1
fi
export MB_SOURCES_CHECKED=1

OUT=${OUT:-/tmp/mosaicbert-out}
mkdir -p "$OUT"
export MOSAICBERT_CUDA_ADDON=${MOSAICBERT_CUDA_ADDON:-$root/packages/kernels-cuda/build/mosaicbert_cuda.node}
stages=${*:-build conformance golden train sanitize bench peers}
# The other kernel paths, "VARIABLE=VALUE:conformance filter" each, run on their cases by the conformance stage (and
# the attention ones, whose filter names cases by their lengths, by the sanitize stage): the GEMM's BGRADB epilogue
# for bias gradients (opt-in), the 2D GeGLU kernels with one row a block and the flat layout (the default walks four
# rows), the two-pass LayerNorm backward (the default makes dx and dweight/dbias in one), the plain embedding
# kernels (the default copies 16 bytes a thread and sums small tables per block), the generic GELU linear epilogue (the default is the vectorised
# one), the LayerNorm forward with its weights in registers (the default reads them from shared memory), the bias
# gradient's column sums on the GEMM's stream (the default runs them on a second one), the attention backward's
# tile of 64 queries a step (the default takes 32 where two CTAs fit an SM);
# then the paths on trial (scripts/experiments/applied.sh: the patches of that folder applied to this tree, and the
# opt-in paths in packages/ still to be measured).
FA64="lens[1,17,64,128,5]|lens[20,20]|lens[9,70]|lens[300,7]"
alt_paths=("MOSAICBERT_GEMM_BGRAD=1:bias grad" "MOSAICBERT_GEGLU_2D=1:geglu" "MOSAICBERT_GEGLU_ROWS=0:geglu"
  "MOSAICBERT_LN_FUSED_BWD=0:ayerNorm" "MOSAICBERT_EMB_FAST=0:mbedding"
  "MOSAICBERT_BIAS_ACT_V8=0:gelu" "MOSAICBERT_LN_SMEM_W=0:ayerNorm" "MOSAICBERT_BGRAD_SIDE=0:matmul"
  "MOSAICBERT_FA_BWD_BM=64:$FA64")
for x in $(bash scripts/experiments/applied.sh); do alt_paths+=("$x"); done
status=0
step() { echo "=== $1 ($(date +%T))"; }
for s in $stages; do
  case $s in
    build)
      step build
      t0=$(date +%s)
      bash packages/kernels-cuda/native/build.sh > "$OUT/build.log" 2>&1 || { status=1; tail -40 "$OUT/build.log"; }
      echo "build: $(( $(date +%s) - t0 )) s"; grep -E "error|warning" "$OUT/build.log" | head -20 ;;
    conformance)
      # CONFORMANCE_FILTER narrows the cases; 12 processes share them (the CPU reference is the slow part).
      step conformance
      n=12; pids=()
      for i in $(seq 0 $((n - 1))); do
        CONFORMANCE_SHARD=$i/$n node $build/run.mjs conformance "${CONFORMANCE_FILTER:-}" > "$OUT/conformance-$i.log" 2>&1 &
        pids+=($!)
      done
      for p in "${pids[@]}"; do wait "$p" || status=1; done
      cat "$OUT"/conformance-*.txt > "$OUT/conformance.txt"; rm -f "$OUT"/conformance-*.txt
      grep -h FAIL "$OUT/conformance.txt"; cat "$OUT"/conformance-*.log | grep -v "^conformance:" | grep -v "^device:" | head -20
      echo "conformance: $(grep -c ^PASS "$OUT/conformance.txt")/$(grep -c . "$OUT/conformance.txt") cases pass"
      rm -f "$OUT"/conformance-*.log
      # The other kernel paths on their cases (alt_paths, above).
      if [ -z "${CONFORMANCE_FILTER:-}" ]; then
        mv "$OUT/conformance.txt" "$OUT/conformance.all"
        for opt in "${alt_paths[@]}"; do
          var=${opt%%:*}; filter=${opt#*:}
          env "$var" CONFORMANCE_SHARD=0/1 node $build/run.mjs conformance "$filter" | sed "s/^conformance:/conformance ($var):/"
          [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
          sed "s/\$/  [$var]/" "$OUT/conformance.txt" >> "$OUT/conformance.all" 2>/dev/null
          rm -f "$OUT/conformance.txt"  # a pass that dies before writing must not re-append the one before
        done
        # The cuBLASLt algorithm cache (native/gemm_cache.h) on the matmul cases: a fresh file (classes timed and
        # written), the same file read back (algorithms restored, none timed), and the file with each line's
        # algorithm moved to the next line's class (valid algorithms for other shapes: the check refuses or runs them).
        gc=$(mktemp -d)/gemm.txt
        for pass in write read shuffled; do
          if [ $pass = shuffled ]; then
            awk 'NR == 1 { print; next } { k[NR] = ""; for (i = 1; i <= 14; i++) k[NR] = k[NR] $i " "; w[NR] = $15; for (i = 16; i <= 22; i++) w[NR] = w[NR] " " $i; n = NR }
                 END { for (r = 2; r <= n; r++) print k[r] w[r == n ? 2 : r + 1] }' "$gc" > "$gc.new" && mv "$gc.new" "$gc"
          fi
          MOSAICBERT_GEMM_CACHE=$gc CONFORMANCE_SHARD=0/1 node $build/run.mjs conformance "matmul" | sed "s/^conformance:/conformance (gemm cache, $pass):/"
          [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
          sed "s/\$/  [gemm cache $pass]/" "$OUT/conformance.txt" >> "$OUT/conformance.all" 2>/dev/null
          rm -f "$OUT/conformance.txt"
          entries=$(($(wc -l < "$gc" 2>/dev/null || echo 1) - 1))
          echo "gemm cache after the $pass pass: $entries classes in $gc ($(head -1 "$gc" 2>/dev/null))"
          if [ $pass = write ] && [ "$entries" -lt 1 ]; then echo "FAIL gemm cache: nothing written" | tee -a "$OUT/conformance.all"; status=1; fi
        done
        mv "$OUT/conformance.all" "$OUT/conformance.txt"
      fi ;;
    golden) step golden; node $build/run.mjs golden $build/golden || status=1 ;;
    train) step train; node $build/run.mjs train || status=1 ;;
    sanitize)
      step sanitize
      # Short attention cases (several key/query tiles, masks, positions, dropout): the long mixes
      # would take the sanitizers many minutes.
      # sanitize_case TOOL FILTER [VAR=VALUE]: --error-exitcode makes any memcheck error or racecheck hazard exit non-zero.
      sanitize_case() {
        env ${3:-} compute-sanitizer --tool "$1" --error-exitcode 99 --print-limit 5 node $build/run.mjs conformance "$2" > "$OUT/sanitize-$1.log" 2>&1
        local rc=$? summary ok=PASS
        summary=$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|conformance:' "$OUT/sanitize-$1.log" | tr '\n' ' ')
        if [ $rc -ne 0 ] || ! echo "$summary" | grep -qE '(ERROR SUMMARY: 0 errors|RACECHECK SUMMARY: 0 hazards)'; then ok=FAIL; status=1; fi
        echo "sanitize $ok $1 $2${3:+ ($3)}: exit $rc — $summary"
      }
      for tool in memcheck racecheck; do
        for f in "lens[1,17,64,128,5]" "lens[129,1,64,300]" "lens[9,70] dropout"; do sanitize_case $tool "$f"; done
        # The other attention paths (alt_paths whose filter names attention cases by their lengths), on their cases.
        for x in "${alt_paths[@]}"; do [[ ${x#*:} == *lens\[* ]] && sanitize_case $tool "${x#*:}" "${x%%:*}"; done
        # The LayerNorm and embedding cases, by default and on their other paths (row-walking grids, shared sums).
        sanitize_case $tool "ayerNorm"; sanitize_case $tool "mbedding"
        for x in "${alt_paths[@]}"; do case ${x#*:} in ayerNorm | mbedding) sanitize_case $tool "${x#*:}" "${x%%:*}" ;; esac; done
      done ;;
    bench)
      step bench
      for p in mosaic-bert-base bert-base; do
        # The trainer CLI (bundled inside its package folder, which it locates at start), else the runner.
        if node $cli --help > /dev/null 2>&1; then node $cli bench --preset $p --device cuda --profile --json "$OUT/bench-$p.json" || status=1
        else node $build/run.mjs bench $p 15 --profile || status=1; fi
      done
      # The bias-gradient epilogue (MOSAICBERT_GEMM_BGRAD=1) against the column-sum kernel (the default; issue #17's A/B).
      if node $cli --help > /dev/null 2>&1; then
        MOSAICBERT_GEMM_BGRAD=1 node $cli bench --preset mosaic-bert-base --device cuda --json "$OUT/bench-mosaic-bert-base-bgrad-epilogue.json" || status=1
      fi ;;
    long)
      # Longer sequences (bench --seq-len; BERT only up to its 512 learned positions), and the PyTorch
      # peers on the very same batch at 512 and below.
      step long
      for L in ${LONG_LENGTHS:-512 1024 2048}; do
        for p in mosaic-bert-base bert-base; do
          if [ $p = bert-base ] && [ "$L" -gt 512 ]; then continue; fi
          node $cli bench --preset $p --device cuda --seq-len "$L" --lengths-out "$OUT/lengths-$L.json" --profile \
            --json "$OUT/bench-$p-$L.json" || status=1
        done
        if [ "$L" -le 512 ] && [ -z "${NO_PEERS:-}" ]; then
          LENGTHS="$OUT/lengths-$L.json" PYTHONUNBUFFERED=1 python3 .device/bench/torch_peers.py hf hfc > "$OUT/peers-$L.jsonl" 2>> "$OUT/peers.err" || status=1
          cat "$OUT/peers-$L.jsonl"
        fi
      done ;;
    memlinear)
      # Peak memory at a fixed 16 rows as the length grows: O(tokens × hidden), never O(length²).
      step memlinear
      for L in 512 1024 2048 4096; do
        node $cli bench --preset mosaic-bert-base --device cuda --seq-len "$L" --batch 16 --steps 3 --warmup 2 2>/dev/null | head -1
      done ;;
    auto)
      # device_train_microbatch_size: auto on the GPU: MosaicBERT-base at 128 tokens, 1536 rows per step (the sample
      # corpus holds 1592), while another process holds all but AUTO_LEAVE_GIB [24] GiB of the GPU (a shared GPU):
      # the whole batch (~57 GiB) cannot fit, so the run must measure, pick a smaller divisor and train 3 steps.
      step auto
      rm -rf /tmp/auto-run /tmp/auto-hold.ready
      PYTHONUNBUFFERED=1 python3 -c '
import os, time, torch
free, _ = torch.cuda.mem_get_info()
hold = max(0, free - int(float(os.environ.get("AUTO_LEAVE_GIB", "24")) * 2**30))
x = torch.empty(hold, dtype=torch.uint8, device="cuda")
open("/tmp/auto-hold.tmp", "w").write(str(hold))
os.replace("/tmp/auto-hold.tmp", "/tmp/auto-hold.ready")
time.sleep(900)' > "$OUT/auto-hold.log" 2>&1 &
      holder=$!
      for _ in $(seq 120); do [ -s /tmp/auto-hold.ready ] && break; kill -0 $holder 2>/dev/null || break; sleep 0.5; done
      held=$(cat /tmp/auto-hold.ready 2>/dev/null); held=${held:-0}
      echo "auto: another process holds $(( held >> 30 )) GiB of the GPU"
      [ "$held" -gt 0 ] || { echo "auto: the memory holder did not start:"; tail -5 "$OUT/auto-hold.log"; }
      node $cli pretrain --config mosaic-bert-base --set 'data_local=${sample_corpus}' --device cuda --max-duration 3ba \
        --set device_train_microbatch_size=auto --set global_train_batch_size=1536 --set eval_interval=1000ba --set save_interval=1000ba \
        --set progress_bar=false --save-folder /tmp/auto-run > "$OUT/auto.log" 2>&1 || { status=1; tail -20 "$OUT/auto.log"; }
      kill $holder 2>/dev/null; wait $holder 2>/dev/null
      grep -E "microbatch_size auto" "$OUT/auto.log" | head -3
      grep '"type":"train"' /tmp/auto-run/metrics.jsonl 2>/dev/null | tail -1 | grep -oE '"(step|reserved_gib|tokens_per_sec)":[0-9.e+]+' | tr '\n' ' '; echo
      grep -q '"step":3' /tmp/auto-run/metrics.jsonl 2>/dev/null || { status=1; echo "auto: the run did not reach step 3"; }
      grep -qE "microbatch_size auto: [0-9]+ of 1536" "$OUT/auto.log" && ! grep -q "auto: 1536 of 1536" "$OUT/auto.log" \
        || { status=1; echo "auto: no smaller microbatch than the whole batch was picked"; } ;;
    pretrain-long)
      # mosaicbert pretrain --config mosaic-bert-base-1024 on real text (.long-data: ~5,200-character
      # documents from shared/data/text, made by `data convert`), 200 steps of 16 × 1024, loss logged.
      step pretrain-long
      rm -rf /tmp/long-run
      node $cli pretrain --config mosaic-bert-base-1024 --data .long-data --device cuda --max-duration 200ba \
        --set global_train_batch_size=16 --set device_train_microbatch_size=16 --set eval_interval=100ba \
        --set eval_subset_num_batches=2 --save-folder /tmp/long-run > "$OUT/pretrain-long.log" 2>&1 || { status=1; tail -20 "$OUT/pretrain-long.log"; }
      cp /tmp/long-run/metrics.jsonl "$OUT/pretrain-1024-metrics.jsonl"
      node -e '
        const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
        const tr = rows.filter((r) => r.type === "train" && r.loss !== undefined), ev = rows.filter((r) => r.mlm_accuracy !== undefined);
        const avg = (a) => a.reduce((s, r) => s + r.loss, 0) / a.length;
        console.log(`pretrain-1024: ${tr.length} steps, loss ${avg(tr.slice(0, 10)).toFixed(3)} (first 10) -> ${avg(tr.slice(-10)).toFixed(3)} (last 10); eval acc ${ev.map((r) => r.mlm_accuracy.toFixed(3)).join(" ")}; peak ${Math.max(...tr.map((r) => r.reserved_gib ?? 0)).toFixed(2)} GiB reserved`);
      ' "$OUT/pretrain-1024-metrics.jsonl" || status=1 ;;
    peers)
      step peers
      PYTHONUNBUFFERED=1 python3 .device/bench/torch_peers.py > "$OUT/peers.jsonl" 2> "$OUT/peers.err" || status=1
      cat "$OUT/peers.jsonl"
      python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
peers = [json.loads(l) for l in open(f"{out}/peers.jsonl") if l.strip().startswith("{")]
for p in ["mosaic-bert-base", "bert-base"]:
    f = f"{out}/bench-{p}.json"
    if not os.path.exists(f): continue
    r = json.load(open(f))
    ratios = ", ".join(f"{q['peer']}: {r['tokensPerSec'] / q['tokens_per_s']:.2f}x" for q in peers if 'tokens_per_s' in q)
    print(f"ours {p}: {r['tokensPerSec']/1e3:.1f}k tok/s, MFU {100*r['mfu']:.1f}%, peak {r['peakMemGiB']:.2f} GiB | vs {ratios}")
PY
      ;;
    embed)
      step embed
      for L in 128 512; do
        f=$extra/embed/ids-$L.json
        for p in mosaic-bert-base bert-base; do
          node $build/embed.mjs run "$f" $p --device cuda --passes "${EMBED_PASSES:-5}" --json "$OUT/embed-$p-$L.json" || status=1
        done
        # The peer prints its JSON lines, then ours over each of its modes (OURS: our results files).
        OURS="$OUT/embed-mosaic-bert-base-$L.json $OUT/embed-bert-base-$L.json" PASSES=${EMBED_PASSES:-5} PYTHONUNBUFFERED=1 \
          python3 packages/trainer/src/bench/embed_peer.py "$f" eager compile > "$OUT/embed-peers-$L.jsonl" 2>> "$OUT/embed-peers.err" || status=1
        cat "$OUT/embed-peers-$L.jsonl"
      done ;;
    hfcheck)
      step hfcheck
      for a in bert mosaic-bert; do
        python3 packages/trainer/src/checks/finetuned_hf.py $extra/finetuned/$a $extra/finetuned/$a.jsonl 2>> "$OUT/hfcheck.err" || status=1
      done ;;
    attention) step attention; node $build/attention.mjs --json "$OUT/attention.json" || status=1 ;;
    ampere)
      # The portable path alone: compute_80 PTX only, JIT-compiled by the driver (no sm_90 machine code,
      # so nothing Hopper-only can run), then the attention conformance cases on it.
      step ampere
      rm -rf /tmp/mb-ptx80 && mkdir -p /tmp/mb-ptx80 && cp -r packages/kernels-cuda/native /tmp/mb-ptx80/
      MB_CUDA_ARCH="-gencode=arch=compute_80,code=compute_80" bash /tmp/mb-ptx80/native/build.sh > "$OUT/build-ptx80.log" 2>&1 \
        || { status=1; tail -20 "$OUT/build-ptx80.log"; }
      CONFORMANCE_FILTER=${AMPERE_FILTER:-attention} MOSAICBERT_CUDA_ADDON=/tmp/mb-ptx80/build/mosaicbert_cuda.node \
        bash "$0" conformance || status=1
      # The choices of GPUs with less shared memory per block, on the same build: 99 KB (sm_86, 89, 120:
      # 4 warps per CTA at head dim 128) and 48 KB (no flash backward at all: the generic path).
      for smem in 101376 49152; do
        echo "--- attention conformance with MOSAICBERT_SMEM_PER_BLOCK=$smem"
        MOSAICBERT_SMEM_PER_BLOCK=$smem CONFORMANCE_FILTER=${AMPERE_FILTER:-attention} \
          MOSAICBERT_CUDA_ADDON=/tmp/mb-ptx80/build/mosaicbert_cuda.node bash "$0" conformance || status=1
      done ;;
    wrongarch)
      # An addon built for another GPU only (sm_100): loading it must name this GPU, its compute
      # capability and the architectures built.
      step wrongarch
      rm -rf /tmp/mb-sm100 && mkdir -p /tmp/mb-sm100 && cp -r packages/kernels-cuda/native /tmp/mb-sm100/
      MB_CUDA_ARCH="-gencode=arch=compute_100,code=sm_100" bash /tmp/mb-sm100/native/build.sh > "$OUT/build-sm100.log" 2>&1 || tail -5 "$OUT/build-sm100.log"
      MOSAICBERT_CUDA_ADDON=/tmp/mb-sm100/build/mosaicbert_cuda.node node $build/run.mjs info 2>&1 | grep -E "cannot run|unavailable|Error" | head -3 ;;
    smallsmem)
      # The flash-attention choices of GPUs this machine is not: 4 warps per CTA at head dim 128 as on the
      # 99 KB sm_86/89/120 parts, then 4 warps everywhere (MOSAICBERT_FA_WARPS), against the CPU reference.
      step smallsmem
      MOSAICBERT_SMEM_PER_BLOCK=101376 CONFORMANCE_FILTER=dh128 bash "$0" conformance || status=1
      MOSAICBERT_FA_WARPS=4,4 CONFORMANCE_FILTER="attention bf16" bash "$0" conformance || status=1 ;;
    compare) step compare; node $build/run.mjs compare 200 || status=1 ;;
    nccl) step nccl; node $build/run.mjs nccl || status=1 ;;
    memory) step memory; node $build/run.mjs bench mosaic-bert-base 1000 || status=1 ;;
    ddp) step ddp; bash scripts/ddp/scaling.sh || status=1 ;;
    *) echo "unknown stage $s"; status=1 ;;
  esac
done
exit $status
