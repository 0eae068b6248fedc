#!/bin/bash
# Decompresses the bundled CLI that scripts/results/bundle.sh leaves as .results-build/dist/*.xz (idempotent).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
for f in "$root"/.results-build/dist/*.xz; do
  [ -e "$f" ] || continue
  [ -s "${f%.xz}" ] && [ "${f%.xz}" -nt "$f" ] && continue
  xz -dc "$f" > "${f%.xz}.tmp" && mv "${f%.xz}.tmp" "${f%.xz}"
done
