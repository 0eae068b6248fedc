#!/bin/bash
# Compile check of the CUDA addon on a machine with nvcc but no GPU, cuBLAS or NCCL (the development machine):
# every native/*.cu and *.cc compiled as build.sh compiles them (one architecture, sm_80 by default), against
# stub cuBLASLt/NCCL headers (stubs/: the declarations the addon uses); then the objects are linked into one
# shared object and every symbol left undefined must come from cuBLASLt, NCCL, the CUDA runtime, Node-API or
# the C/C++ runtime: a kernel declared in kernels.h and called by addon.cc but defined nowhere (a rename
# half done) fails here. Catches what does not compile or link; says nothing about what runs — that is
# scripts/device.sh on the GPU machine.
#   usage: bash scripts/cuda-check/check.sh [nvcc arch flags, default -arch=sm_80]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
native=$(cd "${NATIVE_DIR:-$here/../../packages/kernels-cuda/native}" && pwd)
NVCC=${NVCC:-nvcc}
command -v "$NVCC" > /dev/null || { echo "cuda-check: $NVCC not found" >&2; exit 2; }
node_inc=${NODE_INCLUDE_DIR:-$(cd "$(dirname "$(readlink -f "$(command -v node)")")/.." && pwd)/include/node}
[ -f "$node_inc/node_api.h" ] || { echo "cuda-check: no node_api.h in $node_inc (set NODE_INCLUDE_DIR)" >&2; exit 2; }
arch=${*:--arch=sm_80}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pids=()
for src in "$native"/*.cu "$native"/*.cc; do
  $NVCC -O1 -std=c++17 -Xcompiler -fPIC -Xcompiler -fvisibility=hidden $arch -I"$node_inc" -I"$here/stubs" \
    -c "$src" -o "$tmp/$(basename "$src").o" 2> "$tmp/$(basename "$src").log" &
  pids+=("$!:$(basename "$src")")
done
status=0
for p in "${pids[@]}"; do
  if ! wait "${p%%:*}"; then status=1; echo "cuda-check: ${p#*:} does not compile:" >&2; head -30 "$tmp/${p#*:}.log" >&2; fi
done
[ "$status" = 0 ] || exit 1
$NVCC -shared $arch -o "$tmp/addon.so" "$tmp"/*.o
undefined=$(nm -u --demangle "$tmp/addon.so" | awk '{ $1 = ""; print substr($0, 2) }' \
  | grep -Ev '^(cublasLt|nccl|cuda|__cuda|napi_|node_api_|__cxa|__gxx|__gmon|_ITM|__stack_chk|__dso_handle|_Unwind|std::|operator (new|delete)|vtable for __cxxabiv1|typeinfo for |__libc|__errno|_GLOBAL_OFFSET)' \
  | grep -Ev '@GLIBC|@CXXABI|@GCC|@GLIBCXX|^(abort|calloc|free|malloc|realloc|memcpy|memmove|memset|memcmp|strlen|strcmp|strncmp|strchr|strstr|strtod|strtol|strtoll|strtoul|snprintf|sprintf|printf|fprintf|fputs|fwrite|puts|getenv|atoi|atoll|exit|dlopen|dlsym|dlerror|pthread_[a-z_]*|sqrt|sqrtf|exp|expf|log|logf|pow|powf|fabs|fabsf|floor|ceil)$' || true)
if [ -n "$undefined" ]; then
  echo "cuda-check: symbols used but defined nowhere in the addon (nor in cuBLASLt/NCCL/CUDA/Node-API):" >&2
  echo "$undefined" | sed 's/^/  /' >&2
  exit 1
fi
echo "cuda-check: $(ls "$native"/*.cu "$native"/*.cc | wc -l) files compile ($arch) and link with only external symbols left undefined"
