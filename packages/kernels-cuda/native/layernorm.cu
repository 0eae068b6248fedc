// Row-wise LayerNorm (optionally on x + residual, the post-LN block's add fused in) and its backward.
// One warp per row; statistics in fp32 (two-pass variance, biased, as torch).
#include "common.cuh"
static cudaStream_t S() { return (cudaStream_t)mb_stream(); }

__global__ void ln_fwd_k(int dty, void* y, int dtx, const void* x, int dtr, const void* res, void* sum, int dtw, const void* w,
                         int dtb, const void* b, float* mean, float* rstd, int64_t N, int64_t H, float eps) {
  int lane = threadIdx.x & 31;
  int64_t row = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  if (row >= N) return;
  const int64_t base = row * H;
  // With a residual the LayerNorm input is the stored (rounded) sum, so backward sees the same values.
  const void* src = res ? sum : x;
  float s = 0.0f;
  for (int64_t c = lane; c < H; c += 32) {
    float v;
    if (res) {
      stf(dtx, sum, base + c, ldf(dtx, x, base + c) + ldf(dtr, res, base + c));
      v = ldf(dtx, sum, base + c);
    } else {
      v = ldf(dtx, x, base + c);
    }
    s += v;
  }
  float mu = warp_sum(s) / (float)H;
  float q = 0.0f;
  for (int64_t c = lane; c < H; c += 32) { float d = ldf(dtx, src, base + c) - mu; q += d * d; }
  float rs = rsqrtf(warp_sum(q) / (float)H + eps);
  for (int64_t c = lane; c < H; c += 32) {
    float v = (ldf(dtx, src, base + c) - mu) * rs;
    stf(dty, y, base + c, v * ldf(dtw, w, c) + (b ? ldf(dtb, b, c) : 0.0f));
  }
  if (lane == 0) { mean[row] = mu; rstd[row] = rs; }
}

void k_layernorm(int dty, void* y, int dtx, const void* x, int dtr, const void* res, void* sum, int dtw, const void* w,
                 int dtb, const void* b, float* mean, float* rstd, int64_t N, int64_t H, float eps) {
  if (N == 0) return;
  ln_fwd_k<<<grid_for(N * 32, 256, 1LL << 30), 256, 0, S()>>>(dty, y, dtx, x, dtr, res, sum, dtw, w, dtb, b, mean, rstd, N, H, eps);
  CKL();
}

__global__ void ln_bwd_dx_k(int dtdx, void* dx, int dtdy, const void* dy, int dtx, const void* x, int dtw, const void* w,
                            const float* mean, const float* rstd, int64_t N, int64_t H) {
  int lane = threadIdx.x & 31;
  int64_t row = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
  if (row >= N) return;
  const int64_t base = row * H;
  float mu = mean[row], rs = rstd[row];
  float a = 0.0f, bsum = 0.0f;
  for (int64_t c = lane; c < H; c += 32) {
    float g = ldf(dtdy, dy, base + c) * ldf(dtw, w, c);
    float xh = (ldf(dtx, x, base + c) - mu) * rs;
    a += g; bsum += g * xh;
  }
  a = warp_sum(a) / (float)H; bsum = warp_sum(bsum) / (float)H;
  for (int64_t c = lane; c < H; c += 32) {
    float g = ldf(dtdy, dy, base + c) * ldf(dtw, w, c);
    float xh = (ldf(dtx, x, base + c) - mu) * rs;
    stf(dtdx, dx, base + c, rs * (g - a - xh * bsum));
  }
}

__global__ void ln_bwd_dw_k(float* dw, float* db, int dtdy, const void* dy, int dtx, const void* x, const float* mean,
                            const float* rstd, int64_t N, int64_t H, int64_t rowsPerBlock) {
  __shared__ float pw[8][33], pb[8][33];
  int64_t col = blockIdx.x * 32 + threadIdx.x;
  int64_t r0 = blockIdx.y * rowsPerBlock, r1 = min(N, r0 + rowsPerBlock);
  float sw = 0.0f, sb = 0.0f;
  if (col < H)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) {
      float g = ldf(dtdy, dy, r * H + col);
      sw += g * (ldf(dtx, x, r * H + col) - mean[r]) * rstd[r];
      sb += g;
    }
  pw[threadIdx.y][threadIdx.x] = sw; pb[threadIdx.y][threadIdx.x] = sb;
  __syncthreads();
  if (threadIdx.y == 0 && col < H) {
    float tw = 0.0f, tb = 0.0f;
    for (int k = 0; k < 8; k++) { tw += pw[k][threadIdx.x]; tb += pb[k][threadIdx.x]; }
    atomicAdd(dw + col, tw); atomicAdd(db + col, tb);
  }
}

void k_layernorm_bwd(int dtdx, void* dx, int dtdy, const void* dy, int dtx, const void* x, int dtw, const void* w,
                     const float* mean, const float* rstd, float* dw, float* db, int64_t N, int64_t H) {
  if (N == 0 || H == 0) return;
  ln_bwd_dx_k<<<grid_for(N * 32, 256, 1LL << 30), 256, 0, S()>>>(dtdx, dx, dtdy, dy, dtx, x, dtw, w, mean, rstd, N, H);
  CKL();
  int64_t colBlocks = (H + 31) / 32;
  int64_t slabs = (528 + colBlocks - 1) / colBlocks;
  if (slabs > (N + 31) / 32) slabs = (N + 31) / 32;
  if (slabs < 1) slabs = 1;
  int64_t rpb = (N + slabs - 1) / slabs;
  ln_bwd_dw_k<<<dim3((unsigned)colBlocks, (unsigned)slabs), dim3(32, 8), 0, S()>>>(dw, db, dtdy, dy, dtx, x, mean, rstd, N, H, rpb);
  CKL();
}
