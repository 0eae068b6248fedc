#!/bin/bash
# GPU-machine check (runs on its CPU; needs node on PATH, python3 with torch, transformers and safetensors; no
# network): MosaicBERT and BERT folders written by `mosaicbert pretrain` load through transformers' Auto classes
# (MosaicBERT only with trust_remote_code) and give `mosaicbert infer`'s logits within 1e-4. See check.py.
#   source .device/boot.sh && bash scripts/hf-compat/check.sh [--work DIR] [--mosaic DIR] [--bert DIR]
# The CLI: packages/trainer/dist-device/cli.mjs (bundled by `bash scripts/device.sh pack`), else dist/cli.js.
set -euo pipefail
cd "$(dirname "$0")/../.."
cli=packages/trainer/dist-device/cli.mjs
[ -f "$cli" ] || cli=packages/trainer/dist/cli.js
[ -f "$cli" ] || { echo "hf-compat: no CLI: run \`bash scripts/device.sh pack\` (or \`pnpm build\`) first" >&2; exit 2; }
exec python3 scripts/hf-compat/check.py --cli "$cli" "$@"
