#!/bin/bash
# Builds the CUDA addon: packages/kernels-cuda/build/mosaicbert_cuda.node. Needs nvcc, cuBLASLt and NCCL
# (headers and libraries) and Node's C headers (NODE_INCLUDE_DIR; default: the include/node folder of the
# `node` on PATH, else /usr/include/node). Run at install by scripts/install.mjs (`npm rebuild
# @mosaicbert/kernels-cuda`), or by hand.
#   usage: bash packages/kernels-cuda/native/build.sh [extra nvcc flags...]
# Architectures (the kernels need sm_80 or newer):
#   MB_CUDA_ARCH set     those nvcc -gencode flags, verbatim
#   a GPU is visible     machine code for each local GPU's compute capability (nvidia-smi compute_cap;
#                        Hopper gets sm_90a), if this nvcc knows it
#   otherwise            sm_80, sm_86, sm_89, sm_90a machine code plus compute_80 PTX (later GPUs JIT it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../build"
mkdir -p "$out/obj"
NVCC=${NVCC:-nvcc}
if [ -z "${NODE_INCLUDE_DIR:-}" ]; then
  NODE_INCLUDE_DIR=/usr/include/node
  node_bin=$(command -v node || true)
  if [ -n "$node_bin" ]; then
    node_inc="$(cd "$(dirname "$(readlink -f "$node_bin")")/.." && pwd)/include/node"
    [ -f "$node_inc/node_api.h" ] && NODE_INCLUDE_DIR=$node_inc
  fi
fi
if [ ! -f "$NODE_INCLUDE_DIR/node_api.h" ]; then
  echo "build.sh: $NODE_INCLUDE_DIR/node_api.h not found; set NODE_INCLUDE_DIR to the folder of Node's C headers" >&2
  exit 1
fi

gencode() { # compute capability "9.0" -> nvcc flags, or nothing when below 8.0 or unknown to this nvcc
  local cc=${1/./}
  [ "$cc" -ge 80 ] 2>/dev/null || return 0
  local sfx=""
  [ "$cc" = 90 ] && sfx=a
  grep -qx "sm_$cc" <<<"$known" || return 0
  echo "-gencode=arch=compute_$cc$sfx,code=sm_$cc$sfx"
}
DEFAULT_ARCH="-gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_86,code=sm_86 -gencode=arch=compute_89,code=sm_89 -gencode=arch=compute_90a,code=sm_90a -gencode=arch=compute_80,code=compute_80"
if [ -n "${MB_CUDA_ARCH:-}" ]; then
  ARCH=$MB_CUDA_ARCH
  why="MB_CUDA_ARCH"
else
  ARCH=""
  known=$($NVCC --list-gpu-code 2>/dev/null || true)
  caps=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | tr -d ' ' | sort -u || true)
  for cc in $caps; do
    g=$(gencode "$cc")
    if [ -z "$g" ]; then echo "build.sh: local GPU compute capability $cc is below 8.0 or unknown to $NVCC; using the default list" >&2; ARCH=""; break; fi
    ARCH="$ARCH $g"
  done
  if [ -n "$ARCH" ]; then why="local GPU (compute capability $(echo $caps | tr '\n' ' '))"; else ARCH=$DEFAULT_ARCH; why="default list (no GPU visible)"; fi
fi
echo "build.sh: architectures from the $why: $(echo $ARCH)"
FLAGS="-O3 -std=c++17 -Xcompiler -fPIC -Xcompiler -fvisibility=hidden -lineinfo $ARCH -I$NODE_INCLUDE_DIR ${NCCL_INCLUDE_DIR:+-I$NCCL_INCLUDE_DIR} $*"
rm -f "$out"/obj/*.o   # objects of files since renamed or removed would otherwise be linked in too
# The libraries' headers first (a preprocessor run, well under a second each): a machine without cuBLAS or NCCL
# development files fails here, naming what is missing, instead of after minutes of compiling everything else.
for h in "cublasLt.h:cuBLAS (cuBLASLt) development headers (libcublas-dev or the CUDA toolkit's cuda-libraries-dev; or set NVCC to a toolkit that has them)" \
         "nccl.h:NCCL development headers (libnccl-dev; or set NCCL_INCLUDE_DIR)"; do
  header=${h%%:*}
  printf '#include <%s>\n' "$header" > "$out/obj/has-header.cu"
  if ! $NVCC -E -std=c++17 ${NCCL_INCLUDE_DIR:+-I$NCCL_INCLUDE_DIR} "$@" "$out/obj/has-header.cu" -o /dev/null 2> "$out/obj/has-header.log"; then
    cat "$out/obj/has-header.log" >&2
    echo "build.sh: $header not found by $NVCC: install the ${h#*:}; nothing was compiled" >&2
    rm -rf "$out/obj"
    exit 1
  fi
done
rm -f "$out/obj/has-header.cu" "$out/obj/has-header.log"
pids=()
for src in "$here"/*.cu "$here"/*.cc; do
  obj="$out/obj/$(basename "$src").o"
  $NVCC $FLAGS -c "$src" -o "$obj" &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ "$status" = 0 ] || { rm -rf "$out/obj"; echo "build.sh: compilation failed" >&2; exit 1; }
$NVCC -shared $ARCH -o "$out/mosaicbert_cuda.node.tmp" "$out"/obj/*.o -lcublasLt -lnccl -lcudart ${NCCL_LIB_DIR:+-L$NCCL_LIB_DIR}
mv "$out/mosaicbert_cuda.node.tmp" "$out/mosaicbert_cuda.node"
echo "built $out/mosaicbert_cuda.node"
