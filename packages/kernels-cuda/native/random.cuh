// The counter-based generator of packages/tensor/src/random.ts, bit for bit: the value for
// element i depends only on (key, offset + i mod 2^32), so masks are regenerated, never stored.
#pragma once
#include <cstdint>
#include <cmath>

__host__ __device__ __forceinline__ uint32_t mb_mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// seedKey(seed) of random.ts (computed on the host once per call).
__host__ __device__ __forceinline__ uint32_t mb_seed_key(uint32_t seed) { return mb_mix32(seed ^ 0x9e3779b9u); }

// The 24 random bits behind mb_uniform: mb_uniform(key, c) == mb_bits24(key, c) · 2^-24 exactly. One lowbias32
// round of counter ^ key (the key is already a mixed seed): the dropout passes compute it for every element, so
// a second round cost ≈ 10 of the ≈ 60 instructions per element of GeGLU's forward.
__host__ __device__ __forceinline__ uint32_t mb_bits24(uint32_t key, uint32_t counter) { return mb_mix32(counter ^ key) >> 8; }

__host__ __device__ __forceinline__ float mb_uniform(uint32_t key, uint32_t counter) {
  return (float)mb_bits24(key, counter) * (1.0f / 16777216.0f);
}

// The integer form of the test mb_uniform(key, c) >= p: k · 2^-24 >= p ⇔ k >= ceil(p · 2^24) for the integer
// k = mb_bits24 (scaling by 2^24 is exact in float), so masks are bit for bit those of the float compare
// without its int-to-float conversion and multiply per element. p >= 1 or NaN: nothing kept; p <= 0: all kept.
__host__ __device__ __forceinline__ uint32_t drop_threshold(float p) {
  if (!(p < 1.0f)) return 0x1000000u;
  if (!(p > 0.0f)) return 0u;
  return (uint32_t)ceilf(p * 16777216.0f);
}

// Inverted dropout's factor for one element: 1/(1 − p) (inv) when kept, 0 when dropped — the mask of
// packages/tensor's `dropout` for the element whose counter is `counter` (offset + index).
__device__ __forceinline__ float drop_factor(float p, float inv, uint32_t key, uint32_t counter) {
  return mb_bits24(key, counter) >= drop_threshold(p) ? inv : 0.0f;
}
// v after inverted dropout: v·inv when kept, exactly 0 when dropped (also for an infinite or NaN v, as the
// CPU reference's select does; multiplying by drop_factor would give NaN there).
__device__ __forceinline__ float drop_apply(float v, float p, float inv, uint32_t key, uint32_t counter) {
  return mb_bits24(key, counter) >= drop_threshold(p) ? v * inv : 0.0f;
}
