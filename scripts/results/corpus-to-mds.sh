#!/bin/bash
# The results corpus (train/val .txt.xz from scripts/results/prepare.sh) as MDS text datasets, with the
# bundled CLI (.results-build). Used on the GPU machine by device-run.sh and scripts/ddp/scaling.sh.
#   bash scripts/results/corpus-to-mds.sh DATA_DIR OUT_DIR   → OUT_DIR/train, OUT_DIR/val
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=$1 out=$2
tmp="$out.text"
bash "$root/scripts/results/unbundle.sh" || exit 1
mkdir -p "$tmp"
for s in train val; do
  xz -dc -T0 "$data/$s.txt.xz" > "$tmp/$s.txt" || { echo "corpus-to-mds: cannot decompress $data/$s.txt.xz" >&2; exit 1; }
  node "$root/.results-build/dist/mosaicbert.mjs" data convert --input "$tmp/$s.txt" --out "$out/$s" 2>&1 | tr '\r' '\n' | tail -1
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "corpus-to-mds: data convert of the $s split failed" >&2; exit 1; }
done
rm -rf "$tmp"
