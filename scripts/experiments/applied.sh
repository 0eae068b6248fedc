#!/bin/bash
# The experiments of this folder applied to the tree, one "VARIABLE:conformance filter" line each (the variable
# that turns the experiment on, the conformance cases it changes). Used by scripts/device.sh's conformance stage and
# part D of scripts/gpu-session.sh.
cd "$(dirname "$0")/../.."
for x in "MOSAICBERT_GEMM_SPLITK:matmul" "MOSAICBERT_OPTIM_V4:adamw" "MOSAICBERT_BGRAD_SIDE:matmul"; do
  grep -rq "${x%%:*}" packages/kernels-cuda/native && echo "$x"
done
exit 0
