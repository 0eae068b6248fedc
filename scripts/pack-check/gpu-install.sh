#!/bin/bash
# On a GPU machine: the @mosaicbert/kernels-cuda tarball installed into an empty project builds the addon for the
# local GPU at install and passes the conformance suite, run from the installed package against the CPU reference.
#   locally (pnpm):      bash scripts/pack-check/gpu-install.sh pack   → .device-build/tarballs/ (tensor, kernels-cuda)
#   on the GPU machine:  source .device/boot.sh && bash scripts/pack-check/gpu-install.sh [case-name filter]
# Neither package has third-party dependencies, so no network is needed. With npm on PATH it runs `npm install`
# (--offline); without npm it does what npm does for these two packages: unpack them, run the install script.
# SHARDS (default 12) conformance processes run in parallel. Exits non-zero when the build or a case fails.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tarballs=$repo/.device-build/tarballs
if [ "${1:-}" = pack ]; then
  rm -rf "$tarballs" && mkdir -p "$tarballs"
  # pack takes dist/ as it is: build it from the sources first (a stale dist/ would pair the old JavaScript with
  # the new native sources, and the addon would then read arguments the old backend never passes).
  (cd "$repo" && pnpm --filter @mosaicbert/tensor --filter @mosaicbert/kernels-cuda build) || { echo "gpu-install: build failed" >&2; exit 1; }
  (cd "$repo" && pnpm --filter @mosaicbert/tensor --filter @mosaicbert/kernels-cuda pack --pack-destination "$tarballs")
  bash "$repo/scripts/sources-sum.sh" write "$tarballs"
  exclude=$(cd "$repo" && git rev-parse --path-format=absolute --git-path info/exclude)
  grep -qx '/.device-build/' "$exclude" 2>/dev/null || echo '/.device-build/' >> "$exclude"
  exit 0
fi
filter=${1:-}
ls "$tarballs"/*.tgz >/dev/null 2>&1 || { echo "gpu-install: no tarballs in $tarballs: run \`bash scripts/pack-check/gpu-install.sh pack\` locally first" >&2; exit 2; }
if ! bash "$repo/scripts/sources-sum.sh" check "$tarballs" && [ "${MB_ALLOW_STALE:-}" != 1 ]; then
  echo "gpu-install: the tarballs were packed from other sources than this tree: run \`bash scripts/pack-check/gpu-install.sh pack\` again" >&2
  exit 2
fi
app=$(mktemp -d)/app
mkdir -p "$app" && cd "$app"
echo '{ "name": "gpu-install-check", "version": "1.0.0", "private": true, "type": "module" }' > package.json
export MOSAICBERT_CUDA_BUILD_STRICT=1
t0=$(date +%s)
if command -v npm >/dev/null 2>&1; then
  npm install --offline --foreground-scripts --no-audit --no-fund "$tarballs"/*.tgz
else
  for t in "$tarballs"/*.tgz; do
    name=$(tar -xzOf "$t" package/package.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).name))')
    mkdir -p "node_modules/$name" && tar -xzf "$t" -C "node_modules/$name" --strip-components=1
  done
  (cd node_modules/@mosaicbert/kernels-cuda && node scripts/install.mjs)
fi
addon=node_modules/@mosaicbert/kernels-cuda/build/mosaicbert_cuda.node
[ -f "$addon" ] || { echo "gpu-install: the install built no addon ($app/$addon)" >&2; exit 1; }
echo "gpu-install: installed and built in $(( $(date +%s) - t0 )) s: $app/$addon"
cat > conformance.mjs <<'JS'
import { cpu } from "@mosaicbert/tensor";
import { conformanceCases, runCase } from "@mosaicbert/tensor/testing";
import { addonPath, loadCudaBackend } from "@mosaicbert/kernels-cuda";
const [shard, shards] = (process.env.SHARD ?? "0/1").split("/").map(Number);
const filter = process.argv[2] ?? "";
const cuda = loadCudaBackend();
cuda.poison = true;
let n = 0, fail = 0, seen = 0;
for (const c of conformanceCases) {
  if (filter && !c.name.includes(filter)) continue;
  if (seen++ % shards !== shard) continue;
  n++;
  let r;
  try { r = runCase(c, cuda, cpu, 7); } catch (e) { r = { name: c.name, ok: false, detail: e.message }; }
  if (!r.ok) { fail++; console.log(`FAIL ${r.name}: ${r.detail ?? r.error}`); }
}
console.log(`shard ${shard}/${shards} (${cuda.info?.device ?? "cuda"}, ${addonPath()}): ${n - fail}/${n} pass`);
process.exit(fail ? 1 : 0);
JS
shards=${SHARDS:-12}
pids=()
for ((i = 0; i < shards; i++)); do SHARD="$i/$shards" node conformance.mjs "$filter" > "shard-$i.log" 2>&1 & pids+=($!); done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
cat shard-*.log
pass=$(cat shard-*.log | grep -o '[0-9]*/[0-9]* pass' | awk -F'[/ ]' '{p+=$1; n+=$2} END {print p "/" n}')
echo "gpu-install: conformance from the installed package: $pass cases pass"
exit $status
