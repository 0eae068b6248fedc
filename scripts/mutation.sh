#!/usr/bin/env bash
# Mutation testing of the modules listed in stryker.config.mjs (not part of CI: ~20 min on 2 cores with --concurrency 1).
# The JSON report lands in reports/mutation/mutation.json. Extra arguments go to Stryker
# (e.g. `pnpm test:mutation --mutate packages/glue/src/metrics.ts --concurrency 1`).
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests find the shared data at ../shared relative to the checkout; Stryker's sandboxes live one
# folder further down (.stryker-tmp/sandbox-*), so give them the same neighbour.
mkdir -p .stryker-tmp
ln -sfn "$(cd .. && pwd)/shared" .stryker-tmp/shared
exec node node_modules/@stryker-mutator/core/bin/stryker.js run "$@"
