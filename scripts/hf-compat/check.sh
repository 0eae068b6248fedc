#!/bin/bash
# GPU-machine check (runs on its CPU; needs node on PATH, python3 with torch, transformers and safetensors; no
# network): MosaicBERT and BERT folders written by `mosaicbert pretrain` load through transformers' Auto classes
# (MosaicBERT only with trust_remote_code) and give `mosaicbert infer`'s logits within 1e-4. See check.py.
#   here (pnpm):         bash scripts/hf-compat/check.sh pack      → .results-build/ (the self-contained CLI bundle of
#                        scripts/results/bundle.sh, plus the sample corpus the default recipe trains on)
#   on the GPU machine:  source .device/boot.sh && bash scripts/hf-compat/check.sh [--work DIR] [--mosaic DIR] [--bert DIR]
# Without .results-build it uses packages/trainer/dist/cli.js (a machine with `pnpm install`).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = pack ]; then
  bash scripts/results/bundle.sh
  rm -rf .results-build/assets/sample-corpus && cp -r packages/trainer/assets/sample-corpus .results-build/assets/
  echo "hf-compat: .results-build/ ready (carry it to the GPU machine)"
  exit 0
fi
[ -d .results-build/dist ] && bash scripts/results/unbundle.sh
cli=.results-build/dist/mosaicbert.mjs
[ -f "$cli" ] || cli=packages/trainer/dist/cli.js
[ -f "$cli" ] || { echo "hf-compat: no CLI: run \`bash scripts/hf-compat/check.sh pack\` (or \`pnpm build\`) first" >&2; exit 2; }
exec python3 scripts/hf-compat/check.py --cli "$cli" "$@"
