#!/bin/bash
# Decompresses the bundled CLI that scripts/results/bundle.sh leaves as .results-build/dist/*.xz (idempotent),
# after checking that it was bundled from this tree's sources (scripts/sources-sum.sh; MB_ALLOW_STALE=1 skips it):
# a stale bundle would run old code.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -f "$root/.results-build/sources.sum" ] && ! bash "$root/scripts/sources-sum.sh" check "$root/.results-build" && [ "${MB_ALLOW_STALE:-}" != 1 ]; then
  echo "unbundle: .results-build was bundled from other sources than this tree: run \`bash scripts/results/bundle.sh\` where it was made, then carry it again" >&2
  exit 1
fi
for f in "$root"/.results-build/dist/*.xz; do
  [ -e "$f" ] || continue
  [ -s "${f%.xz}" ] && [ "${f%.xz}" -nt "$f" ] && continue
  xz -dc "$f" > "${f%.xz}.tmp" && mv "${f%.xz}.tmp" "${f%.xz}"
done
