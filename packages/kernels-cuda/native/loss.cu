// Softmax cross-entropy (one block per row, gradient written in place over the logits when asked;
// bf16 rows held in registers), mean squared error and argmax.
#include "common.cuh"
static cudaStream_t S() { return (cudaStream_t)mb_stream(); }

__device__ float block_reduce(float v, bool isMax, float* sh) {
  v = isMax ? warp_max(v) : warp_sum(v);
  int w = threadIdx.x >> 5, l = threadIdx.x & 31, nw = blockDim.x >> 5;
  __syncthreads();
  if (l == 0) sh[w] = v;
  __syncthreads();
  float r = isMax ? -INFINITY : 0.0f;
  for (int k = 0; k < nw; k++) r = isMax ? fmaxf(r, sh[k]) : r + sh[k];
  return r;
}

// scratch[0] = number of rows whose target is not ignored (for the mean), computed first.
__global__ void ce_count_k(float* scratch, float* loss, const int32_t* t, int64_t N, int ignore) {
  __shared__ float sh[32];
  float c = 0.0f;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) c += t[i] != ignore ? 1.0f : 0.0f;
  c = block_reduce(c, false, sh);
  if (threadIdx.x == 0) { scratch[0] = c; loss[0] = 0.0f; }
}

__global__ void ce_row_k(float* loss, int dtl, const void* logits, const int32_t* tg, int64_t C, int ignore, int mean,
                         int dtg, void* grad, float gradScale, const float* scratch, int* flag) {
  __shared__ float sh[32];
  int64_t row = blockIdx.x;
  const int64_t base = row * C;
  int t = tg[row];
  bool ignored = t == ignore;
  bool bad = !ignored && (t < 0 || t >= C);
  if (bad && threadIdx.x == 0) report(flag, ERR_CE_TARGET);
  // The target logit is read before any thread can overwrite the row with its gradient.
  const float xt = (!ignored && !bad && threadIdx.x == 0) ? ldf(dtl, logits, base + t) : 0.0f;
  float m = -INFINITY;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) m = fmaxf(m, ldf(dtl, logits, base + c));
  m = block_reduce(m, true, sh);
  float s = 0.0f;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += __expf(ldf(dtl, logits, base + c) - m);
  s = block_reduce(s, false, sh);
  float lse = m + logf(s);
  float denom = mean ? fmaxf(scratch[0], 1.0f) : 1.0f;
  if (threadIdx.x == 0 && !ignored && !bad) atomicAdd(loss, (lse - xt) / denom);
  if (grad) {
    float k = (ignored || bad) ? 0.0f : gradScale / denom;
    // Each element is read before it is overwritten by the same thread, so in place is safe.
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      float p = __expf(ldf(dtl, logits, base + c) - lse);
      stf(dtg, grad, base + c, k * (p - (c == t ? 1.0f : 0.0f)));
    }
  }
}

// bf16 rows of C = 8·C8 logits (the MLM decoder's 30528): a row is read once, 16 bytes a load, into
// registers (IT vectors a thread), the max, the sum and the gradient all come from there, and the
// gradient is written once: one read and one write of the row instead of three reads and a write.
constexpr int CE_THREADS = 512;

// Calls f(c8, v) for each 16-byte vector of the row this thread holds (c8: its index in the row; v: its
// 8 values as floats, which f may change).
template <int IT, typename F>
__device__ __forceinline__ void each_vec(const uint4 (&u)[IT], int64_t C8, F&& f) {
#pragma unroll
  for (int i = 0; i < IT; i++) {
    const int64_t c8 = threadIdx.x + (int64_t)i * CE_THREADS;
    if (c8 < C8) {
      float v[8];
      unpack8(u[i], v);
      f(c8, v);
    }
  }
}

template <int IT>
__global__ void __launch_bounds__(CE_THREADS) ce_row_bf16(float* loss, const uint4* logits, const int32_t* tg, int64_t C8, int ignore, int mean,
                                                          uint4* grad, float gradScale, const float* scratch, int* flag) {
  __shared__ float sh[32];
  const int64_t row = blockIdx.x, C = C8 * 8;
  const int t = tg[row];
  const bool ignored = t == ignore;
  const bool bad = !ignored && (t < 0 || t >= C);
  if (bad && threadIdx.x == 0) report(flag, ERR_CE_TARGET);
  const uint4* x = logits + row * C8;
  uint4 u[IT];
#pragma unroll
  for (int i = 0; i < IT; i++) {
    const int64_t c8 = threadIdx.x + (int64_t)i * CE_THREADS;
    if (c8 < C8) u[i] = x[c8];
  }
  float m = -INFINITY;
  each_vec<IT>(u, C8, [&](int64_t, float* v) {
#pragma unroll
    for (int k = 0; k < 8; k++) m = fmaxf(m, v[k]);
  });
  m = block_reduce(m, true, sh);
  // The target logit comes from the registers of the thread that holds it (before anything is written).
  float s = 0.0f, xt = 0.0f;
  each_vec<IT>(u, C8, [&](int64_t c8, float* v) {
#pragma unroll
    for (int k = 0; k < 8; k++) {
      s += __expf(v[k] - m);
      if (c8 * 8 + k == t) xt = v[k];
    }
  });
  s = block_reduce(s, false, sh);
  xt = block_reduce(xt, false, sh);  // one thread holds it, the others add 0
  const float lse = m + logf(s);
  const float denom = mean ? fmaxf(scratch[0], 1.0f) : 1.0f;
  if (threadIdx.x == 0 && !ignored && !bad) atomicAdd(loss, (lse - xt) / denom);
  if (!grad) return;
  const float kk = (ignored || bad) ? 0.0f : gradScale / denom;
  each_vec<IT>(u, C8, [&](int64_t c8, float* v) {
#pragma unroll
    for (int k = 0; k < 8; k++) v[k] = kk * (__expf(v[k] - lse) - (c8 * 8 + k == t ? 1.0f : 0.0f));
    grad[row * C8 + c8] = pack8(v);
  });
}

// The register path when it applies: bf16 logits (and gradient), C a multiple of 8 up to 8·8·512, 16-byte aligned.
static bool ce_bf16(float* loss, int dtl, const void* logits, const int32_t* targets, int64_t N, int64_t C, int ignore, int mean,
                    int dtg, void* grad, float gradScale, const float* scratch) {
  const int64_t C8 = C / 8;
  if (mb_generic_forced() || dtl != DT_BF16 || (grad && dtg != DT_BF16) || C <= 0 || C % 8 != 0 || C8 > 8 * CE_THREADS) return false;
  if (!aligned16(logits) || !aligned16(grad)) return false;
  const int it = C8 <= CE_THREADS ? 1 : C8 <= 2 * CE_THREADS ? 2 : C8 <= 4 * CE_THREADS ? 4 : 8;
#define CEB(I) ce_row_bf16<I><<<(unsigned)N, CE_THREADS, 0, S()>>>(loss, (const uint4*)logits, targets, C8, ignore, mean, (uint4*)grad, gradScale, scratch, mb_error_flag())
  switch (it) { case 1: CEB(1); break; case 2: CEB(2); break; case 4: CEB(4); break; default: CEB(8); }
#undef CEB
  CKL();
  return true;
}

void k_cross_entropy(float* loss, int dtl, const void* logits, const int32_t* targets, int64_t N, int64_t C, int ignore,
                     int mean, int dtg, void* grad, float gradScale, float* scratch) {
  ce_count_k<<<1, 1024, 0, S()>>>(scratch, loss, targets, N, ignore);
  CKL();
  if (N == 0) return;
  if (ce_bf16(loss, dtl, logits, targets, N, C, ignore, mean, dtg, grad, gradScale, scratch)) return;
  ce_row_k<<<(unsigned)N, 512, 0, S()>>>(loss, dtl, logits, targets, C, ignore, mean, dtg, grad, gradScale, scratch, mb_error_flag());
  CKL();
}

__global__ void mse_k(float* loss, int dtp, const void* p, int dtt, const void* t, int64_t N, int dtg, void* g, float gs) {
  __shared__ float sh[32];
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
    float d = ldf(dtp, p, i) - ldf(dtt, t, i);
    s += d * d;
    if (g) stf(dtg, g, i, 2.0f * d * gs / (float)N);
  }
  s = block_reduce(s, false, sh);
  if (threadIdx.x == 0) loss[0] = N > 0 ? s / (float)N : 0.0f;
}
void k_mse(float* loss, int dtp, const void* p, int dtt, const void* t, int64_t N, int dtg, void* g, float gs) {
  mse_k<<<1, 1024, 0, S()>>>(loss, dtp, p, dtt, t, N, dtg, g, gs);
  CKL();
}

// First index of the largest value; NaN is never chosen over a number (all-NaN rows give 0), as the CPU reference.
__device__ __forceinline__ bool am_better(float v, int i, float bv, int bi) {
  if (bi < 0) return true;
  if (v != v) return bv != bv && i < bi;
  if (bv != bv) return true;
  return v > bv || (v == bv && i < bi);
}
__global__ void argmax_k(int32_t* out, int dt, const void* x, int64_t C) {
  __shared__ float sv[32];
  __shared__ int si[32];
  int64_t base = blockIdx.x * C;
  float best = 0.0f; int bi = -1;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float v = ldf(dt, x, base + c);
    if (am_better(v, (int)c, best, bi)) { best = v; bi = (int)c; }
  }
  for (int o = 16; o > 0; o >>= 1) {
    float v = __shfl_xor_sync(0xffffffffu, best, o); int i = __shfl_xor_sync(0xffffffffu, bi, o);
    if (i >= 0 && am_better(v, i, best, bi)) { best = v; bi = i; }
  }
  int w = threadIdx.x >> 5, l = threadIdx.x & 31;
  if (l == 0) { sv[w] = best; si[w] = bi; }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < (int)(blockDim.x >> 5); k++)
      if (si[k] >= 0 && am_better(sv[k], si[k], best, bi)) { best = sv[k]; bi = si[k]; }
    out[blockIdx.x] = bi < 0 ? 0 : bi;
  }
}
void k_argmax(int32_t* out, int dt, const void* x, int64_t N, int64_t C) {
  if (N == 0) return;
  argmax_k<<<(unsigned)N, 256, 0, S()>>>(out, dt, x, C);
  CKL();
}
