#!/bin/bash
# Builds the CUDA addon: packages/kernels-cuda/build/mosaicbert_cuda.node (sm_90a machine code plus
# compute_90 PTX for other/later GPUs). Needs nvcc, cuBLASLt and NCCL (headers and libraries) and
# Node's C headers (NODE_INCLUDE_DIR, default /usr/include/node).
#   usage: bash packages/kernels-cuda/native/build.sh [extra nvcc flags...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../build"
mkdir -p "$out/obj"
NODE_INCLUDE_DIR=${NODE_INCLUDE_DIR:-/usr/include/node}
NVCC=${NVCC:-nvcc}
ARCH=${MB_CUDA_ARCH:-"-gencode=arch=compute_90a,code=sm_90a -gencode=arch=compute_90,code=compute_90"}
FLAGS="-O3 -std=c++17 -Xcompiler -fPIC -Xcompiler -fvisibility=hidden -lineinfo $ARCH -I$NODE_INCLUDE_DIR ${NCCL_INCLUDE_DIR:+-I$NCCL_INCLUDE_DIR} $*"
pids=()
for src in "$here"/*.cu "$here"/*.cc; do
  obj="$out/obj/$(basename "$src").o"
  $NVCC $FLAGS -c "$src" -o "$obj" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
$NVCC -shared $ARCH -o "$out/mosaicbert_cuda.node" "$out"/obj/*.o -lcublasLt -lnccl -lcudart ${NCCL_LIB_DIR:+-L$NCCL_LIB_DIR}
echo "built $out/mosaicbert_cuda.node"
