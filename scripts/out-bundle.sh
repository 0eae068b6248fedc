#!/bin/bash
# Packs everything a GPU call left under $OUT into one file, $OUT/out-LABEL.tgz: the device tool brings back
# at most 8 files, no more than 2 folders down, while one call's stages write dozens (logs, JSON, sanitizer
# reports). End each device command with it:  …; bash scripts/out-bundle.sh LABEL
set -uo pipefail
OUT=${OUT:?OUT is not set}
label=${1:-run}
tmp=$(mktemp -d)
if tar -C "$OUT" -czf "$tmp/out-$label.tgz" . ; then
  find "$OUT" -mindepth 1 -delete
  mv "$tmp/out-$label.tgz" "$OUT/"
  echo "out-bundle: $(du -h "$OUT/out-$label.tgz" | cut -f1) in $OUT/out-$label.tgz"
else
  echo "out-bundle: tar failed; $OUT left as it was" >&2
  exit 1
fi
