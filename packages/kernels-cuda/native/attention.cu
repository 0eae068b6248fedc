// Variable-length (unpadded) attention with bidirectional ALiBi, key masks and optional dropout.
//
// Two implementations of one function:
// - flash (attention_flash.cu): bf16, head dim 32/64/128, any length — the tiled tensor-core path.
// - generic (here; any float dtype and head dim ≤ 128): one warp per (query row, head), online
//   softmax in fp32, keys streamed from global memory; the backward accumulates dK/dV with fp32
//   atomics. It is the path for f32 models and the reference of the speed checks.
// Both save lse = log Σ exp(score) per (row, head), +∞ for a row with no valid key (out = 0), and the
// backward recomputes P = exp(score − lse), as the CPU reference does.
#include "attention.cuh"
#include <cstdlib>

static cudaStream_t S() { return (cudaStream_t)mb_stream(); }

__device__ __forceinline__ int find_seq(const int32_t* cu, int B, int t) {
  int lo = 0, hi = B - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) >> 1;
    if (cu[mid] <= t) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// cuSeqlens must start at 0, end at T, never decrease, and no sequence may exceed maxSeqlen.
__global__ void check_cu_k(const int32_t* cu, int B, int T, int maxSeqlen, int* flag) {
  for (int b = threadIdx.x; b < B; b += blockDim.x) {
    int len = cu[b + 1] - cu[b];
    if (len < 0 || (b == 0 && cu[0] != 0) || (b == B - 1 && cu[B] != T)) report(flag, ERR_ATTN_CUSEQLENS);
    else if (len > maxSeqlen) report(flag, ERR_ATTN_SEQLEN);
  }
  if (B == 0 && threadIdx.x == 0 && (cu[0] != 0 || T != 0)) report(flag, ERR_ATTN_CUSEQLENS);
}

// ------------------------------------------------------------------------------------------------
// generic path

__global__ void attn_fwd_generic(AttnArgs a) {
  const int lane = threadIdx.x & 31;
  const int64_t w = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  if (w >= (int64_t)a.T * a.nh || a.B == 0) return;
  const int t = (int)(w / a.nh), h = (int)(w % a.nh);
  const int dh = a.dh, H = a.nh * dh;
  const int64_t C = 3LL * H;
  const int b = find_seq(a.cu, a.B, t), ks = a.cu[b], ke = a.cu[b + 1];
  const float slope = a.slopes ? a.slopes[h] : 0.0f;
  const int pq = a.positions ? a.positions[t] : t - ks;
  float q[4], acc[4] = {0, 0, 0, 0};
#pragma unroll
  for (int k = 0; k < 4; k++) { int d = lane + 32 * k; q[k] = d < dh ? ldf(a.dt, a.qkv, t * C + h * dh + d) : 0.0f; }
  float m = -INFINITY, l = 0.0f;
  const float inv = a.dropP > 0.0f ? 1.0f / (1.0f - a.dropP) : 1.0f;
  for (int j = ks; j < ke; j++) {
    if (!key_ok(a, j)) continue;
    float dot = 0.0f;
#pragma unroll
    for (int k = 0; k < 4; k++) { int d = lane + 32 * k; if (d < dh) dot += q[k] * ldf(a.dt, a.qkv, j * C + H + h * dh + d); }
    dot = warp_sum(dot);
    const int pk = a.positions ? a.positions[j] : j - ks;
    const float s = a.scale * dot - slope * fabsf((float)(pq - pk));
    const float mn = fmaxf(m, s);
    const float corr = m == -INFINITY ? 0.0f : expf(m - mn);
    const float p = expf(s - mn);
    l = l * corr + p;
    float pd = p;
    if (a.dropP > 0.0f) pd = drop_keep(a, t, h, j - ks) ? p * inv : 0.0f;
#pragma unroll
    for (int k = 0; k < 4; k++) { int d = lane + 32 * k; if (d < dh) acc[k] = acc[k] * corr + pd * ldf(a.dt, a.qkv, j * C + 2 * H + h * dh + d); }
    m = mn;
  }
#pragma unroll
  for (int k = 0; k < 4; k++) { int d = lane + 32 * k; if (d < dh) stf(a.dt, a.out, (int64_t)t * H + h * dh + d, l > 0.0f ? acc[k] / l : 0.0f); }
  if (lane == 0) a.lse[(int64_t)t * a.nh + h] = l > 0.0f ? m + logf(l) : INFINITY;
}

__global__ void attn_bwd_generic(AttnArgs a, const void* dout, void* dqkv, float* scratch) {
  const int lane = threadIdx.x & 31;
  const int64_t w = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  if (w >= (int64_t)a.T * a.nh || a.B == 0) return;
  const int t = (int)(w / a.nh), h = (int)(w % a.nh);
  const int dh = a.dh, H = a.nh * dh;
  const int64_t C = 3LL * H;
  const int b = find_seq(a.cu, a.B, t), ks = a.cu[b], ke = a.cu[b + 1];
  const float slope = a.slopes ? a.slopes[h] : 0.0f;
  const int pq = a.positions ? a.positions[t] : t - ks;
  const float lse = a.lse[(int64_t)t * a.nh + h];
  float q[4], go[4], dq[4] = {0, 0, 0, 0};
  float Dp = 0.0f;
#pragma unroll
  for (int k = 0; k < 4; k++) {
    int d = lane + 32 * k;
    q[k] = d < dh ? ldf(a.dt, a.qkv, t * C + h * dh + d) : 0.0f;
    go[k] = d < dh ? ldf(a.dtDo, dout, (int64_t)t * H + h * dh + d) : 0.0f;
    if (d < dh) Dp += go[k] * ldf(a.dtO, a.out, (int64_t)t * H + h * dh + d);
  }
  Dp = warp_sum(Dp);
  float* dK = scratch;                    // [T, H]
  float* dV = scratch + (int64_t)a.T * H; // [T, H]
  const float inv = a.dropP > 0.0f ? 1.0f / (1.0f - a.dropP) : 1.0f;
  if (lse != INFINITY) {
    for (int j = ks; j < ke; j++) {
      if (!key_ok(a, j)) continue;
      float dot = 0.0f, dpv = 0.0f;
#pragma unroll
      for (int k = 0; k < 4; k++) {
        int d = lane + 32 * k;
        if (d < dh) {
          dot += q[k] * ldf(a.dt, a.qkv, j * C + H + h * dh + d);
          dpv += go[k] * ldf(a.dt, a.qkv, j * C + 2 * H + h * dh + d);
        }
      }
      dot = warp_sum(dot); dpv = warp_sum(dpv);
      const int pk = a.positions ? a.positions[j] : j - ks;
      const float s = a.scale * dot - slope * fabsf((float)(pq - pk));
      const float p = expf(s - lse);
      float mf = 1.0f;
      if (a.dropP > 0.0f) mf = drop_keep(a, t, h, j - ks) ? inv : 0.0f;
      const float dss = a.scale * p * (mf * dpv - Dp), pm = p * mf;
#pragma unroll
      for (int k = 0; k < 4; k++) {
        int d = lane + 32 * k;
        if (d < dh) {
          dq[k] += dss * ldf(a.dt, a.qkv, j * C + H + h * dh + d);
          atomicAdd(dK + (int64_t)j * H + h * dh + d, dss * q[k]);
          atomicAdd(dV + (int64_t)j * H + h * dh + d, pm * go[k]);
        }
      }
    }
  }
#pragma unroll
  for (int k = 0; k < 4; k++) { int d = lane + 32 * k; if (d < dh) stf(a.dtDo, dqkv, t * C + h * dh + d, dq[k]); }
}

__global__ void attn_bwd_finish(int dt, void* dqkv, const float* scratch, int64_t T, int64_t H) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < T * H; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t t = i / H, c = i - t * H;
    stf(dt, dqkv, t * 3 * H + H + c, scratch[i]);
    stf(dt, dqkv, t * 3 * H + 2 * H + c, scratch[T * H + i]);
  }
}

static bool generic_forced() { return mb_generic_forced(); }

static void check_cu(const AttnArgs& a) {
  check_cu_k<<<1, 256, 0, S()>>>(a.cu, a.B, a.T, a.maxSeqlen, mb_error_flag());
  CKL();
}

void k_attention_fwd(const AttnArgs& a0) {
  AttnArgs a = a0;
  a.dropInv = a.dropP > 0.0f ? 1.0f / (1.0f - a.dropP) : 1.0f;
  a.flag = mb_error_flag();
  check_cu(a);
  if (a.T == 0 || a.B == 0) return;
  if (!generic_forced() && flash_ok(a, false, nullptr, nullptr)) return flash_fwd(a);
  if (a.dh > 128) mb_throw("head dim > 128 is not supported on CUDA");
  const int64_t warps = (int64_t)a.T * a.nh;
  attn_fwd_generic<<<grid_for(warps * 32, 128, 1LL << 30), 128, 0, S()>>>(a);
  CKL();
}

static bool flash_bwd_ok(const AttnArgs& a, const void* dout, const void* dqkv) {
  return !generic_forced() && flash_ok(a, true, dout, dqkv);
}

// Float scratch the backward needs: dQ accumulators and D on the flash path, dK/dV [T, 2H] otherwise.
// (dqkv's alignment is not known here; the flash path needs fewer floats than the generic one.)
int64_t k_attention_bwd_scratch_floats(const AttnArgs& a, const void* dout) {
  const int64_t generic = 2LL * a.T * a.nh * a.dh;
  if (!flash_bwd_ok(a, dout, nullptr)) return generic;
  const int64_t f = flash_bwd_scratch_floats(a);
  return f > generic ? f : generic;
}

void k_attention_bwd(const AttnArgs& a0, const void* dout, void* dqkv, float* scratch) {
  AttnArgs a = a0;
  a.dropInv = a.dropP > 0.0f ? 1.0f / (1.0f - a.dropP) : 1.0f;
  a.flag = mb_error_flag();
  check_cu(a);
  if (a.T == 0 || a.B == 0) return;
  if (!scratch) mb_throw("internal: attention backward needs its scratch buffer");
  if (flash_bwd_ok(a, dout, dqkv)) return flash_bwd(a, dout, dqkv, scratch);
  if (a.dh > 128) mb_throw("head dim > 128 is not supported on CUDA");
  const int64_t H = (int64_t)a.nh * a.dh;
  CK(cudaMemsetAsync(scratch, 0, 2 * a.T * H * sizeof(float), S()));
  const int64_t warps = (int64_t)a.T * a.nh;
  attn_bwd_generic<<<grid_for(warps * 32, 128, 1LL << 30), 128, 0, S()>>>(a, dout, dqkv, scratch);
  CKL();
  attn_bwd_finish<<<grid_for(a.T * H, 256), 256, 0, S()>>>(a.dtDo, dqkv, scratch, a.T, H);
  CKL();
}
