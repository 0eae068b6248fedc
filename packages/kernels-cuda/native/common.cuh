// Shared helpers for the CUDA kernels: dtype codes (same order as the TypeScript side), float
// loads/stores that convert on the fly, the one stream every launch goes to, and error checks.
#pragma once
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>
#include "kernels.h"

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) mb_throw_cuda(e_, #x); } while (0)
// Every launch is followed by this: a bad configuration surfaces as an exception naming the op.
#define CKL() CK(cudaGetLastError())

// A device address the 16-byte (uint4 / float4) paths may use.
inline bool aligned16(const void* p) { return ((uintptr_t)p & 15) == 0; }

__device__ __forceinline__ float ldf(int dt, const void* p, int64_t i) {
  switch (dt) {
    case DT_BF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case DT_F16: return __half2float(static_cast<const __half*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

__device__ __forceinline__ void stf(int dt, void* p, int64_t i, float v) {
  switch (dt) {
    case DT_BF16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v); break;
    case DT_F16: static_cast<__half*>(p)[i] = __float2half_rn(v); break;
    default: static_cast<float*>(p)[i] = v;
  }
}

// v rounded to what a store of dtype dt keeps (the value a later load would see).
__device__ __forceinline__ float rndf(int dt, float v) {
  switch (dt) {
    case DT_BF16: return __bfloat162float(__float2bfloat16_rn(v));
    case DT_F16: return __half2float(__float2half_rn(v));
    default: return v;
  }
}

// 8 bf16 values in one 16-byte vector ↔ 8 floats (the vectorised kernels' loads and stores).
__device__ __forceinline__ void unpack8(const uint4& u, float* f) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&u);
#pragma unroll
  for (int k = 0; k < 4; k++) { float2 t = __bfloat1622float2(h[k]); f[2 * k] = t.x; f[2 * k + 1] = t.y; }
}
__device__ __forceinline__ uint4 pack8(const float* f) {
  uint4 u;
  __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&u);
#pragma unroll
  for (int k = 0; k < 4; k++) h[k] = __floats2bfloat162_rn(f[2 * k], f[2 * k + 1]);
  return u;
}

// Any dtype, through double: used by copy/cast/fill, where generality matters more than speed.
__device__ __forceinline__ double ldany(int dt, const void* p, int64_t i) {
  switch (dt) {
    case DT_F32: return static_cast<const float*>(p)[i];
    case DT_BF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case DT_F16: return __half2float(static_cast<const __half*>(p)[i]);
    case DT_I32: return static_cast<const int32_t*>(p)[i];
    case DT_I64: return (double)static_cast<const long long*>(p)[i];
    default: return static_cast<const uint8_t*>(p)[i];
  }
}

__device__ __forceinline__ void stany(int dt, void* p, int64_t i, double v) {
  switch (dt) {
    case DT_F32: static_cast<float*>(p)[i] = (float)v; break;
    case DT_BF16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn((float)v); break;
    case DT_F16: static_cast<__half*>(p)[i] = __float2half_rn((float)v); break;
    // Integers: truncate toward zero, then wrap like a JavaScript typed-array store.
    case DT_I32: static_cast<int32_t*>(p)[i] = (int32_t)(uint32_t)(long long)v; break;
    case DT_I64: static_cast<long long*>(p)[i] = (long long)v; break;
    case DT_BOOL: static_cast<uint8_t*>(p)[i] = v != 0.0 ? 1 : 0; break;
    default: static_cast<uint8_t*>(p)[i] = (uint8_t)(long long)v; break;
  }
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// p[0..3] += a, b, c, d (p 16-byte aligned): one 16-byte atomic where the GPU has them (sm_90), four elsewhere.
__device__ __forceinline__ void atomic_add4(float* p, float a, float b, float c, float d) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float4*>(p), make_float4(a, b, c, d));
#else
  atomicAdd(p, a); atomicAdd(p + 1, b); atomicAdd(p + 2, c); atomicAdd(p + 3, d);
#endif
}

// Reports bad indices found inside kernels (checked at the next synchronize): first code wins.
__device__ __forceinline__ void report(int* flag, int code) {
  if (flag) atomicCAS(flag, 0, code);
}

inline unsigned grid_for(int64_t n, int threads, int64_t cap = 65536LL * 16) {
  int64_t g = (n + threads - 1) / threads;
  if (g < 1) g = 1;
  if (g > cap) g = cap;
  return (unsigned)g;
}
