#!/bin/bash
# One checksum of the sources the GPU-machine bundles are made from (packages/*/src and packages/*/native,
# names and contents), the same on any machine without git: `device.sh pack` and `gpu-install.sh pack` write
# it beside what they build, and the GPU-machine runs refuse bundles made from other sources than the tree
# they run in (a stale bundle would test old code and waste the session).
#   usage: bash scripts/sources-sum.sh          (prints 16 hex digits)
set -euo pipefail
cd "$(dirname "$0")/.."
find packages/*/src packages/*/native -type f ! -name '*.pyc' ! -path '*/__pycache__/*' 2>/dev/null | LC_ALL=C sort | while IFS= read -r f; do
  printf '%s\n' "$f"
  cat "$f"
done | sha1sum | cut -c1-16
