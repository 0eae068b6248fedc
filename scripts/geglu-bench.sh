#!/bin/bash
# The GeGLU kernels alone on the GPU machine (packages/kernels-cuda/bench/geglu_bench.cu): forward and backward
# at one MosaicBERT-base layer's full-row shape (32768 × 2·3072 bf16), dropout 0.1 and 0, for each layout
# (MOSAICBERT_GEGLU_ROWS=k; 0 = the flat layout, 4 = the default), and the same kernels with the dropout mask test they had before
# (random.cuh: two hash rounds and a float compare, instead of one round and the integer drop_threshold), built
# from a copy with those lines put back.
# Prints one JSON line per (build, layout, p); the last line names the fastest layout at p = 0.1:
#   best: MOSAICBERT_GEGLU_ROWS=k
#   usage: [GEGLU_KS="0 1 4 16"] [GEGLU_BEFORE=0 (skip the before build)] bash scripts/geglu-bench.sh [rows] [inter]   (needs nvcc and a GPU; GEGLU_KS: the
#   layouts to time, k = MOSAICBERT_GEGLU_ROWS=k)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-32768}
inter=${2:-3072}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
NVCC=${NVCC:-nvcc}
# Before: random.cuh's drop_factor/drop_apply with `mb_uniform(key, counter) >= p` (an int-to-float conversion and
# a multiply per element) instead of the integer threshold, over two hash rounds instead of one.
mkdir -p "$tmp/before/native" "$tmp/before/bench"
cp "$root"/packages/kernels-cuda/native/*.cu* "$root"/packages/kernels-cuda/native/*.h "$tmp/before/native/"
cp "$root/packages/kernels-cuda/bench/geglu_bench.cu" "$tmp/before/bench/"
sed -i -e 's/mb_bits24(key, counter) >= drop_threshold(p)/mb_uniform(key, counter) >= p/' \
  -e 's/return mb_mix32(counter ^ key) >> 8;/return mb_mix32(mb_mix32(counter ^ key) + key) >> 8;/' "$tmp/before/native/random.cuh"
grep -q 'mb_uniform(key, counter) >= p ? inv' "$tmp/before/native/random.cuh" && grep -q 'mb_mix32(mb_mix32(counter' "$tmp/before/native/random.cuh" || { echo "geglu-bench: could not restore the float test in the copy" >&2; exit 1; }
"$NVCC" -O3 -std=c++17 -arch=native -o "$tmp/now" "$root/packages/kernels-cuda/bench/geglu_bench.cu"
builds="now"
if [ "${GEGLU_BEFORE:-1}" = 1 ]; then
  "$NVCC" -O3 -std=c++17 -arch=native -o "$tmp/before/run" "$tmp/before/bench/geglu_bench.cu"
  builds="now before"
fi
best="" bestMs=""
for build in $builds; do
  bin=$tmp/now
  [ $build = before ] && bin=$tmp/before/run
  for k in ${GEGLU_KS:-0 1 2 4 8 16 32}; do
    [ $build = before ] && [ $k -gt 1 ] && continue   # before: the flat layout and the 2D one it had (k = 1)
    line=$(env -u MOSAICBERT_GEGLU_2D MOSAICBERT_GEGLU_ROWS=$k "$bin" "$rows" "$inter" 50)
    echo "$line" | sed "s/^{/{\"build\":\"$build\",/"
    if [ $build = now ]; then
      ms=$(echo "$line" | head -1 | node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(j.fwd_ms + j.bwd_ms)')
      if [ -z "$bestMs" ] || node -e "process.exit($ms < $bestMs ? 0 : 1)"; then best=$k; bestMs=$ms; fi
    fi
  done
done
echo "best: MOSAICBERT_GEGLU_ROWS=$best ($bestMs ms forward + backward)"
