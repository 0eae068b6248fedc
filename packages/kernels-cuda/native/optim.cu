// Multi-tensor AdamW and gradient norm: up to MT tensors per launch, their pointers passed in the
// kernel's parameter block, each block finding its tensor from a prefix of block counts.
#include "common.cuh"
static cudaStream_t S() { return (cudaStream_t)mb_stream(); }

constexpr int MT = 32;
constexpr int PER_BLOCK = 256 * 8;  // elements per block: 256 threads x 8

struct AdamChunk {
  int count;
  int blockStart[MT + 1];
  int64_t n[MT];
  float* p[MT]; const float* g[MT]; float* m[MT]; float* v[MT]; void* lowp[MT]; int lowpDt[MT];
};

__device__ __forceinline__ int find_tensor(const int* start, int count) {
  int t = 0;
  while (t + 1 < count && (int)blockIdx.x >= start[t + 1]) t++;
  return t;
}

__global__ void __launch_bounds__(256) adamw_k(AdamChunk c, float lr, float b1, float b2, float eps, float keep, float bc1, float bc2,
                                               float gs, const float* gst) {
  int t = find_tensor(c.blockStart, c.count);
  int64_t n = c.n[t];
  int64_t i0 = (int64_t)(blockIdx.x - c.blockStart[t]) * PER_BLOCK;
  float scale = gs * (gst ? gst[0] : 1.0f);
  // A non-finite device-side multiplier skips the step: nothing is written (the contract's guard).
  if (gst && !isfinite(gst[0])) return;
  float* p = c.p[t]; const float* g = c.g[t]; float* m = c.m[t]; float* v = c.v[t]; void* lp = c.lowp[t];
  float stepSize = lr / bc1, rbc2 = rsqrtf(bc2);
  for (int64_t i = i0 + threadIdx.x; i < min(n, i0 + PER_BLOCK); i += 256) {
    float gr = g[i] * scale;
    float mi = b1 * m[i] + (1.0f - b1) * gr;
    float vi = b2 * v[i] + (1.0f - b2) * gr * gr;
    m[i] = mi; v[i] = vi;
    float pi = p[i] * keep;
    pi -= stepSize * mi / (sqrtf(vi) * rbc2 + eps);
    p[i] = pi;
    if (lp) stf(c.lowpDt[t], lp, i, pi);
  }
}

void k_adamw(const double* table, int count, float lr, float b1, float b2, float eps, float decay, float bc1, float bc2,
             float gs, const float* gst) {
  for (int s = 0; s < count; s += MT) {
    AdamChunk c{};
    c.count = 0;
    int blocks = 0;
    for (int k = s; k < count && c.count < MT; k++) {
      const double* e = table + 7 * k;
      int64_t n = (int64_t)e[5];
      if (n == 0) continue;
      int j = c.count++;
      c.p[j] = (float*)(uintptr_t)e[0]; c.g[j] = (const float*)(uintptr_t)e[1];
      c.m[j] = (float*)(uintptr_t)e[2]; c.v[j] = (float*)(uintptr_t)e[3];
      c.lowp[j] = (void*)(uintptr_t)e[4]; c.n[j] = n; c.lowpDt[j] = (int)e[6];
      c.blockStart[j] = blocks;
      blocks += (int)((n + PER_BLOCK - 1) / PER_BLOCK);
    }
    c.blockStart[c.count] = blocks;
    if (c.count == 0) continue;
    adamw_k<<<blocks, 256, 0, S()>>>(c, lr, b1, b2, eps, 1.0f - decay, bc1, bc2, gs, gst);
    CKL();
  }
}

struct NormChunk { int count; int blockStart[MT + 1]; int64_t n[MT]; const void* x[MT]; int dt[MT]; };

__global__ void __launch_bounds__(256) sumsq_k(NormChunk c, float* acc) {
  __shared__ float sh[8];
  int t = find_tensor(c.blockStart, c.count);
  int64_t n = c.n[t];
  int64_t i0 = (int64_t)(blockIdx.x - c.blockStart[t]) * PER_BLOCK;
  float s = 0.0f;
  for (int64_t i = i0 + threadIdx.x; i < min(n, i0 + PER_BLOCK); i += 256) { float v = ldf(c.dt[t], c.x[t], i); s += v * v; }
  s = warp_sum(s);
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = s;
  __syncthreads();
  if (threadIdx.x == 0) { float r = 0.0f; for (int k = 0; k < 8; k++) r += sh[k]; atomicAdd(acc, r); }
}
__global__ void sqrt_k(float* out, const float* acc) { out[0] = sqrtf(acc[0]); }

void k_global_norm(float* out, const double* table, int count, float* scratch) {
  CK(cudaMemsetAsync(scratch, 0, 4, S()));
  for (int s = 0; s < count; s += MT) {
    NormChunk c{};
    int blocks = 0;
    for (int k = s; k < count && c.count < MT; k++) {
      const double* e = table + 3 * k;
      int64_t n = (int64_t)e[1];
      if (n == 0) continue;
      int j = c.count++;
      c.x[j] = (const void*)(uintptr_t)e[0]; c.n[j] = n; c.dt[j] = (int)e[2];
      c.blockStart[j] = blocks;
      blocks += (int)((n + PER_BLOCK - 1) / PER_BLOCK);
    }
    c.blockStart[c.count] = blocks;
    if (c.count == 0) continue;
    sumsq_k<<<blocks, 256, 0, S()>>>(c, scratch);
    CKL();
  }
  sqrt_k<<<1, 1, 0, S()>>>(out, scratch);
  CKL();
}

__global__ void clip_k(float* out, const float* norm, float maxNorm) {
  float n = norm[0];
  // fminf would return 1 for a NaN quotient: a non-finite norm gives NaN, which the guarded adamw skips on.
  out[0] = isfinite(n) ? fminf(1.0f, maxNorm / (n + 1e-6f)) : nanf("");
}
void k_clip_coef(float* out, const float* norm, float maxNorm) {
  clip_k<<<1, 1, 0, S()>>>(out, norm, maxNorm);
  CKL();
}
