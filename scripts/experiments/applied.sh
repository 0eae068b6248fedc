#!/bin/bash
# The kernel paths on trial in this tree, one "VARIABLE=VALUE:conformance filter" line each: the setting that takes
# the other path (=1 for an opt-in experiment, =0 for a default still on trial) and the conformance cases it changes.
# Listed when the native sources name the variable (a patch of this folder applied, or the path in packages/).
# A filter is a part of the cases' names or several joined by "|", without spaces (an attention path: the short
# head-dim-64 cases, device.sh's FA64; the long mixes take a minute of CPU reference each and are part A's).
# Used by scripts/device.sh's conformance stage and part D of scripts/gpu-session.sh.
cd "$(dirname "$0")/../.."
for x in "MOSAICBERT_GEMM_SPLITK=1:matmul" "MOSAICBERT_OPTIM_V4=1:adamw"; do
  grep -rq "${x%%=*}" packages/kernels-cuda/native && echo "$x"
done
exit 0
