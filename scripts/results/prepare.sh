#!/bin/bash
# Everything the GPU machine needs for the results runs, built here (nothing of it is committed):
#   .results-build/   the bundled CLI (scripts/results/bundle.sh), ~2 MB
#   .results-data/    train.txt.xz, val.txt.xz   the pretraining corpus as documents of 126 word pieces, xz -9
#                     corpus.json               counts (documents, word pieces, held-out split)
#                     glue.tar.xz               the six GLUE tasks' train/dev files from ../shared/data/glue
# The plain text goes to corpora/results-text/ (git-ignored, not carried).
#
#   usage: bash scripts/results/prepare.sh                      the anchor corpus (corpora/anchor-corpus.txt)
#          RESULTS_DATA=.results-toy RESULTS_SLICE_BYTES=2000000 RESULTS_VAL_DOCS=64 bash scripts/results/prepare.sh
# The corpus must exist first (≈ 1 minute, ≈ 120 MB downloaded):
#   CORPORA_DIR=corpora bash ../shared/corpora/extract.sh
#   bash ../shared/corpora/make-anchor-corpus.sh corpora > corpora/anchor-corpus.txt
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
data=${RESULTS_DATA:-.results-data}
corpus=${RESULTS_CORPUS:-corpora/anchor-corpus.txt}
slice=${RESULTS_SLICE_BYTES:-}
val=${RESULTS_VAL_DOCS:-2048}
glue=${RESULTS_GLUE_SRC:-../shared/data/glue}
text=corpora/results-text/$(basename "$data")

if [ ! -s "$corpus" ]; then
  echo "prepare: $corpus is missing; build it with:" >&2
  echo "  CORPORA_DIR=corpora bash ../shared/corpora/extract.sh && bash ../shared/corpora/make-anchor-corpus.sh corpora > corpora/anchor-corpus.txt" >&2
  exit 1
fi
grep -qx "/$data/" .git/info/exclude 2>/dev/null || echo "/$data/" >> .git/info/exclude
bash scripts/results/bundle.sh
mkdir -p "$data" "$text"

# 1. Documents of 126 word pieces, the last $val held out (streams; ~20 s for the 128 MB corpus).
node .results-build/dist/prepare-corpus.mjs --input "$corpus" --out "$text" --val-chunks "$val" ${slice:+--max-bytes "$slice"}
node -e '
  const fs = require("fs"), s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  s.source_md5 = process.argv[2]; s.source_path = process.argv[3]; s.slice_bytes = process.argv[4] ? Number(process.argv[4]) : null;
  fs.writeFileSync(process.argv[5], JSON.stringify(s, null, 2) + "\n");
' "$text/corpus.json" "$(md5sum < "$corpus" | cut -d" " -f1)" "$corpus" "$slice" "$data/corpus.json"

# 2. Compressed for the carry (xz -9: ~27 MB for the full corpus; ~5 min on 2 busy cores, once).
# Skipped when the text is unchanged (its md5 is kept beside the .xz).
for s in train val; do
  sum=$(md5sum < "$text/$s.txt" | cut -d" " -f1)
  if [ ! -s "$data/$s.txt.xz" ] || [ "$(cat "$data/$s.txt.md5" 2>/dev/null)" != "$sum" ]; then
    xz -9 -T0 -c "$text/$s.txt" > "$data/$s.txt.xz.tmp" && mv "$data/$s.txt.xz.tmp" "$data/$s.txt.xz"
    echo "$sum" > "$data/$s.txt.md5"
  fi
done

# 3. GLUE: the six tasks with complete dev sets (QNLI's train file here is partial; the report says so).
tmp=$(mktemp -d)
for t in CoLA SST-2 MRPC STS-B QNLI RTE; do
  mkdir -p "$tmp/glue/$t"
  for f in train.tsv train.partial.tsv dev.tsv; do [ -f "$glue/$t/$f" ] && cp "$glue/$t/$f" "$tmp/glue/$t/"; done
done
tar -C "$tmp" -cJf "$data/glue.tar.xz" glue
rm -rf "$tmp"

du -sh .results-build "$data" .device 2>/dev/null
du -cb .results-build "$data" .device 2>/dev/null | tail -1 | awk '{ printf "carry total: %.1f MiB (limit 64 MiB)\n", $1 / 1048576 }'
