#!/bin/bash
# Bundles the `mosaicbert` CLI into one self-contained folder for the GPU machine (node_modules are not
# carried there): .results-build/
#   package.json                           {"name": "@mosaicbert/trainer"}: the trainer finds recipes/ by walking up to it
#   recipes/*.yaml                         the trainer's recipes
#   assets/bert-base-uncased-vocab.txt     the tokenizer looks for assets/ one level above the bundle
#   dist/mosaicbert.mjs                    every dependency inlined (workspace packages from their TS sources)
#   dist/batch-worker.js                   the trainer's data worker thread (read, tokenize, mask ahead of the step)
#   dist/prepare-corpus.mjs                text → documents of 126 word pieces (scripts/results/prepare-corpus.ts)
#   dist/zstd.wasm                         @bokuweb/zstd-wasm's codec, which it reads from beside the bundle
# The CUDA addon is not bundled: device-run.sh builds it and points MOSAICBERT_CUDA_ADDON at it.
#   dist/*.xz: mosaicbert.mjs and batch-worker.js are left xz-compressed; `bash scripts/results/unbundle.sh`
#   restores them (device-run.sh, anchor.sh, corpus-to-mds.sh and ddp/scaling.sh call it first).
#   usage: bash scripts/results/bundle.sh        (from anywhere; ~2.3 MB of output)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=.results-build
exclude=$(git rev-parse --git-path info/exclude)   # .git is a file in a worktree
grep -qx '/.results-build/' "$exclude" 2>/dev/null || echo '/.results-build/' >> "$exclude"
grep -qx '/.results-data/' "$exclude" 2>/dev/null || echo '/.results-data/' >> "$exclude"
rm -rf "$out"
mkdir -p "$out/dist" "$out/recipes" "$out/assets"
esb=$(ls -d node_modules/.pnpm/esbuild@*/node_modules/esbuild/bin/esbuild | head -1)
# Bundled CommonJS dependencies call require() and use __dirname/__filename (@bokuweb/zstd-wasm reads
# zstd.wasm from __dirname, copied into dist/ below); give the ESM bundle those, from import.meta.url.
banner='import { createRequire as __cr } from "node:module"; import { fileURLToPath as __fu } from "node:url"; import { dirname as __dn } from "node:path"; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);'
"$esb" packages/trainer/src/cli.ts --bundle --platform=node --format=esm --target=node20 --conditions=source \
  --banner:js="$banner" --outfile="$out/dist/mosaicbert.mjs" --log-level=warning
# The trainer's data workers (worker_threads) load dist/batch-worker.js beside the bundle.
"$esb" packages/trainer/src/train/batch-worker.ts --bundle --platform=node --format=esm --target=node20 --conditions=source \
  --banner:js="$banner" --outfile="$out/dist/batch-worker.js" --log-level=warning
"$esb" scripts/results/prepare-corpus.ts --bundle --platform=node --format=esm --target=node20 --conditions=source \
  --banner:js="$banner" --outfile="$out/dist/prepare-corpus.mjs" --log-level=warning
echo '{ "name": "@mosaicbert/trainer", "private": true, "type": "module" }' > "$out/package.json"
cp packages/trainer/recipes/*.yaml "$out/recipes/"
zstd_wasm=$(ls -d node_modules/.pnpm/@bokuweb+zstd-wasm@*/node_modules/@bokuweb/zstd-wasm/dist/common/zstd.wasm | head -1)
cp "$zstd_wasm" "$out/dist/"
cp packages/data-streaming/assets/bert-base-uncased-vocab.txt "$out/assets/"
# What was bundled: the GPU machine gets no .git, so the page names the commit from here (and any
# uncommitted changes the bundle also holds).
node -e '
  const [commit, status] = process.argv.slice(1);
  const dirty = status.split("\n").filter((l) => /^.M|^M|^A|^\?\? packages\//.test(l)).map((l) => l.slice(3));
  console.log(JSON.stringify({ commit, uncommitted: dirty, bundled_at: new Date().toISOString() }, null, 2));
' "$(git rev-parse HEAD)" "$(git status --porcelain -- packages)" > "$out/build.json"
node "$out/dist/mosaicbert.mjs" --version > /dev/null
bash scripts/sources-sum.sh write "$out"
# The two large bundles travel compressed (9.4 MB → ~2 MB: the device carry is 64 MiB in all, and the
# anchor corpus alone takes 28 MB of it); scripts/results/unbundle.sh restores them on the GPU machine.
xz -9 -T0 -f "$out/dist/mosaicbert.mjs" "$out/dist/batch-worker.js"
du -sh "$out"
