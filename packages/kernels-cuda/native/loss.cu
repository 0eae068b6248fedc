// Softmax cross-entropy (one block per row, gradient written in place over the logits when asked),
// mean squared error and argmax.
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
  float m = -INFINITY;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) m = fmaxf(m, ldf(dtl, logits, base + c));
  m = block_reduce(m, true, sh);
  float s = 0.0f;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += __expf(ldf(dtl, logits, base + c) - m);
  s = block_reduce(s, false, sh);
  float lse = m + logf(s);
  float denom = mean ? fmaxf(scratch[0], 1.0f) : 1.0f;
  if (threadIdx.x == 0 && !ignored && !bad) atomicAdd(loss, (lse - ldf(dtl, logits, base + t)) / denom);
  if (grad) {
    float k = (ignored || bad) ? 0.0f : gradScale / denom;
    // Each element is read before it is overwritten by the same thread, so in place is safe.
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      float p = __expf(ldf(dtl, logits, base + c) - lse);
      stf(dtg, grad, base + c, k * (p - (c == t ? 1.0f : 0.0f)));
    }
  }
}

void k_cross_entropy(float* loss, int dtl, const void* logits, const int32_t* targets, int64_t N, int64_t C, int ignore,
                     int mean, int dtg, void* grad, float gradScale, float* scratch) {
  ce_count_k<<<1, 1024, 0, S()>>>(scratch, loss, targets, N, ignore);
  CKL();
  if (N == 0) return;
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

__global__ void argmax_k(int32_t* out, int dt, const void* x, int64_t C) {
  __shared__ float sv[32];
  __shared__ int si[32];
  int64_t base = blockIdx.x * C;
  float best = -INFINITY; int bi = 0x7fffffff;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float v = ldf(dt, x, base + c);
    if (v > best || (v == best && c < bi) || (bi == 0x7fffffff && v != v)) { best = v; bi = (int)c; }
  }
  for (int o = 16; o > 0; o >>= 1) {
    float v = __shfl_xor_sync(0xffffffffu, best, o); int i = __shfl_xor_sync(0xffffffffu, bi, o);
    if (v > best || (v == best && i < bi)) { best = v; bi = i; }
  }
  int w = threadIdx.x >> 5, l = threadIdx.x & 31;
  if (l == 0) { sv[w] = best; si[w] = bi; }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < (int)(blockDim.x >> 5); k++)
      if (sv[k] > best || (sv[k] == best && si[k] < bi)) { best = sv[k]; bi = si[k]; }
    out[blockIdx.x] = bi == 0x7fffffff ? 0 : bi;
  }
}
void k_argmax(int32_t* out, int dt, const void* x, int64_t N, int64_t C) {
  if (N == 0) return;
  argmax_k<<<(unsigned)N, 256, 0, S()>>>(out, dt, x, C);
  CKL();
}
