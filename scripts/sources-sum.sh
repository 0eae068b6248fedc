#!/bin/bash
# One checksum of the sources the GPU-machine bundles are made from (packages/*/src and packages/*/native: names
# and contents). `device.sh pack`, `gpu-install.sh pack` and `results/bundle.sh` write it beside what they build,
# with the list of files it covers — the files git would copy to the GPU machine (tracked, or untracked and not
# ignored), so an ignored .DS_Store here changes nothing. The GPU-machine runs sum exactly the listed files of the
# tree they run in and refuse bundles made from other sources (a stale bundle would test old code). No git and
# no sha1sum needed there: node hashes.
#   bash scripts/sources-sum.sh write DIR    here: DIR/sources.list, DIR/sources.sum and DIR/commit (HEAD when packed,
#                                            "+dirty" when the listed sources differ from it: what GPU logs cite)
#   bash scripts/sources-sum.sh check DIR    there: exit 0 when this tree's listed files give DIR/sources.sum
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
dir=${2:-}
[ -n "$dir" ] && { [ "$mode" = write ] || [ "$mode" = check ]; } || { echo "usage: sources-sum.sh write|check DIR" >&2; exit 2; }
hash_list() {
  node -e '
    const fs = require("fs"), crypto = require("crypto");
    const h = crypto.createHash("sha1");
    for (const f of fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)) {
      h.update(f + "\n");
      h.update(fs.existsSync(f) ? fs.readFileSync(f) : Buffer.from("\0missing\0"));
    }
    console.log(h.digest("hex").slice(0, 16));
  ' "$1"
}
if [ "$mode" = write ]; then
  mkdir -p "$dir"
  git ls-files -co --exclude-standard -- 'packages/*/src/*' 'packages/*/native/*' | grep -Ev '(^|/)__pycache__/|\.pyc$' | LC_ALL=C sort > "$dir/sources.list"
  hash_list "$dir/sources.list" > "$dir/sources.sum"
  c=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  [ -z "$(git status --porcelain -- 'packages/*/src/*' 'packages/*/native/*' 2>/dev/null)" ] || c="$c+dirty"
  echo "$c" > "$dir/commit"
  exit 0
fi
[ -f "$dir/sources.sum" ] && [ -f "$dir/sources.list" ] || exit 1
[ "$(hash_list "$dir/sources.list")" = "$(cat "$dir/sources.sum")" ]
