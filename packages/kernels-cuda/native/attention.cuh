// Shared by the attention kernels (attention.cu: dispatch and the generic path; attention_flash.cu:
// the tiled tensor-core path): key masks, ALiBi positions and the dropout counter of the CPU reference.
#pragma once
#include "common.cuh"
#include "random.cuh"

__device__ __forceinline__ bool key_ok(const AttnArgs& a, int j) {
  if (!a.keyMask) return true;
  return a.dtMask == DT_I32 ? static_cast<const int32_t*>(a.keyMask)[j] != 0 : static_cast<const uint8_t*>(a.keyMask)[j] != 0;
}

// ALiBi position of packed token t, the i-th of its sequence.
__device__ __forceinline__ int attn_pos(const AttnArgs& a, int t, int i) { return a.positions ? a.positions[t] : i; }

// Dropout on probability (query token t, head h, key j of its sequence): the CPU reference's counter
// offset + (t·numHeads + h)·maxSeqlen + j (mod 2^32).
__device__ __forceinline__ bool drop_keep(const AttnArgs& a, int t, int h, int j) {
  uint32_t ctr = a.dropOffset + ((uint32_t)t * (uint32_t)a.nh + (uint32_t)h) * (uint32_t)a.maxSeqlen + (uint32_t)j;
  return mb_uniform(a.dropKey, ctr) >= a.dropP;
}

// attention_flash.cu: bf16 qkv/out/dout, head dim 32, 64 or 128, any length. The backward needs
// flash_bwd_scratch_floats(a) floats of scratch.
bool flash_ok(const AttnArgs& a, bool bwd, const void* dout, const void* dqkv);
void flash_fwd(const AttnArgs& a);
int64_t flash_bwd_scratch_floats(const AttnArgs& a);
void flash_bwd(const AttnArgs& a, const void* dout, void* dqkv, float* scratch);
