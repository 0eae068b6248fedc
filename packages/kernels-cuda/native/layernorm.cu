// Row-wise LayerNorm (optionally on x + residual, the post-LN block's add fused in, and then optionally
// on dropout(x) + residual: the block's dropout too) and its backward (which can also write dx through
// that dropout's mask: the gradient of the dropped x). One warp per row; statistics in fp32 (two-pass
// variance, biased, as torch). The mask is `dropout`'s: element e = row·H + col, kept iff
// mb_uniform(key, off + e) >= p; the dropped x and the masked dx are rounded as `dropout` stores them.
#include "common.cuh"
#include "random.cuh"
#include <algorithm>
static cudaStream_t S() { return (cudaStream_t)mb_stream(); }
// The block's dropout as kernel arguments (p = 0: none).
struct Drop {
  float p, inv;
  uint32_t key, off;
};
bool k_layernorm_fast(int dty, void* y, int dtx, const void* x, int dtr, const void* res, void* sum, int dtw, const void* w,
                      int dtb, const void* b, float* mean, float* rstd, int64_t N, int64_t H, float eps, Drop d);
bool k_layernorm_bwd_fast(int dtdx, void* dx, int dtdy, const void* dy, int dtx, const void* x, int dtw, const void* w,
                          const float* mean, const float* rstd, float* dw, float* db, int64_t N, int64_t H, void* dxd, Drop d);

__global__ void ln_fwd_k(int dty, void* y, int dtx, const void* x, int dtr, const void* res, void* sum, int dtw, const void* w,
                         int dtb, const void* b, float* mean, float* rstd, int64_t N, int64_t H, float eps, Drop d) {
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
      float xv = ldf(dtx, x, base + c);
      if (d.p > 0.0f) xv = rndf(dtx, drop_apply(xv, d.p, d.inv, d.key, d.off + (uint32_t)(base + c)));
      stf(dtx, sum, base + c, xv + ldf(dtr, res, base + c));
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
                 int dtb, const void* b, float* mean, float* rstd, int64_t N, int64_t H, float eps, float p, uint32_t key, uint32_t off) {
  if (N == 0) return;
  const Drop d{res ? p : 0.0f, p > 0.0f ? 1.0f / (1.0f - p) : 1.0f, key, off};
  if (k_layernorm_fast(dty, y, dtx, x, dtr, res, sum, dtw, w, dtb, b, mean, rstd, N, H, eps, d)) return;
  ln_fwd_k<<<grid_for(N * 32, 256, 1LL << 30), 256, 0, S()>>>(dty, y, dtx, x, dtr, res, sum, dtw, w, dtb, b, mean, rstd, N, H, eps, d);
  CKL();
}

__global__ void ln_bwd_dx_k(int dtdx, void* dx, int dtdy, const void* dy, int dtx, const void* x, int dtw, const void* w,
                            const float* mean, const float* rstd, int64_t N, int64_t H, void* dxd, Drop d) {
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
    const float o = rs * (g - a - xh * bsum);
    stf(dtdx, dx, base + c, o);
    if (dxd) stf(dtdx, dxd, base + c, drop_apply(rndf(dtdx, o), d.p, d.inv, d.key, d.off + (uint32_t)(base + c)));
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
                     const float* mean, const float* rstd, float* dw, float* db, int64_t N, int64_t H, void* dxd, float p, uint32_t key,
                     uint32_t off) {
  if (N == 0 || H == 0) return;
  const Drop d{p, 1.0f / (1.0f - p), key, off};
  if (k_layernorm_bwd_fast(dtdx, dx, dtdy, dy, dtx, x, dtw, w, mean, rstd, dw, db, N, H, dxd, d)) return;
  ln_bwd_dx_k<<<grid_for(N * 32, 256, 1LL << 30), 256, 0, S()>>>(dtdx, dx, dtdy, dy, dtx, x, dtw, w, mean, rstd, N, H, dxd, d);
  CKL();
  int64_t colBlocks = (H + 31) / 32;
  int64_t slabs = (528 + colBlocks - 1) / colBlocks;
  if (slabs > (N + 31) / 32) slabs = (N + 31) / 32;
  if (slabs < 1) slabs = 1;
  int64_t rpb = (N + slabs - 1) / slabs;
  ln_bwd_dw_k<<<dim3((unsigned)colBlocks, (unsigned)slabs), dim3(32, 8), 0, S()>>>(dw, db, dtdy, dy, dtx, x, mean, rstd, N, H, rpb);
  CKL();
}

// ------------------------------------------------------------------------------------------------
// bf16 fast path for H = 256·V (BERT-base 768, large 1024): a warp per row, the row held in
// registers as V 16-byte vectors per lane (the weights in shared memory or registers, see each kernel).

typedef __nv_bfloat16 bf16;

// 8 floats from shared memory at p (16-byte aligned).
__device__ __forceinline__ void ld8s(const float* p, float* o) {
  const float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
  o[0] = a.x; o[1] = a.y; o[2] = a.z; o[3] = a.w; o[4] = b.x; o[5] = b.y; o[6] = b.z; o[7] = b.w;
}

// Chunk i of dx from its 8 floats o, and with dxd the stored (rounded) dx through the forward's dropout mask.
__device__ __forceinline__ void ln_store_dx(uint4* dx, uint4* dxd, int64_t i, float* o, const Drop& d) {
  const uint4 packed = pack8(o);
  dx[i] = packed;
  if (dxd) {
    const uint32_t c0 = d.off + (uint32_t)(i * 8);
    unpack8(packed, o);
#pragma unroll
    for (int k = 0; k < 8; k++) o[k] = drop_apply(o[k], d.p, d.inv, d.key, c0 + k);
    dxd[i] = pack8(o);
  }
}


// SW (the default; MOSAICBERT_LN_SMEM_W=0 turns it off): the weight and bias read from shared memory where they are
// used instead of held in 2·V·8 registers per lane (97 registers a thread at V = 3 leave room for 2 blocks of 8 warps
// per SM; 48 with SW, 5 blocks). The same float math (the compiler may contract it differently: the bench's loss
// after 30 steps 8.9935 against 8.9934). H100, 2026-12-05, MosaicBERT-base full rows: LayerNorm 5.37 →
// 4.88 ms a step, 588.7 k → 594.2 k tokens/s.
template <int V, bool SW = false>
__global__ void __launch_bounds__(256) ln_fwd_bf16(uint4* y, const uint4* x, const uint4* res, uint4* sum, int dtw, const void* w, int dtb,
                                                   const void* b, float* mean, float* rstd, int64_t N, float eps, Drop d) {
  constexpr int H = V * 256;
  const int lane = threadIdx.x & 31;
  const int64_t gw = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5, nw = ((int64_t)gridDim.x * blockDim.x) >> 5;
  __shared__ __align__(16) float sw[SW ? H : 1], sb[SW ? H : 1];
  float wv[SW ? 1 : V * 8], bv[SW ? 1 : V * 8];
  if constexpr (SW) {
    for (int i = threadIdx.x; i < H; i += blockDim.x) {
      sw[i] = ldf(dtw, w, i);
      sb[i] = b ? ldf(dtb, b, i) : 0.0f;
    }
    __syncthreads();
  } else {
#pragma unroll
    for (int v = 0; v < V; v++)
#pragma unroll
      for (int k = 0; k < 8; k++) {
        int c = (v * 32 + lane) * 8 + k;
        wv[v * 8 + k] = ldf(dtw, w, c);
        bv[v * 8 + k] = b ? ldf(dtb, b, c) : 0.0f;
      }
  }
  for (int64_t row = gw; row < N; row += nw) {
    float xv[V * 8];
    const int64_t base = row * (H / 8);
#pragma unroll
    for (int v = 0; v < V; v++) {
      uint4 u = x[base + v * 32 + lane];
      unpack8(u, xv + v * 8);
      if (res) {
        if (d.p > 0.0f) {
          // Element (base + v·32 + lane)·8 + k of x: dropped, rounded to bf16 as `dropout` stores it.
          const uint32_t c0 = d.off + (uint32_t)((base + v * 32 + lane) * 8);
#pragma unroll
          for (int k = 0; k < 8; k++) xv[v * 8 + k] = __bfloat162float(__float2bfloat16_rn(drop_apply(xv[v * 8 + k], d.p, d.inv, d.key, c0 + k)));
        }
        float r[8];
        unpack8(res[base + v * 32 + lane], r);
#pragma unroll
        for (int k = 0; k < 8; k++) r[k] += xv[v * 8 + k];
        uint4 s = pack8(r);
        sum[base + v * 32 + lane] = s;
        unpack8(s, xv + v * 8);  // normalise the rounded sum, as stored
      }
    }
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < V * 8; i++) s += xv[i];
    const float mu = warp_sum(s) * (1.0f / H);
    float q = 0.0f;
#pragma unroll
    for (int i = 0; i < V * 8; i++) { float d = xv[i] - mu; q += d * d; }
    const float rs = rsqrtf(warp_sum(q) * (1.0f / H) + eps);
#pragma unroll
    for (int v = 0; v < V; v++) {
      float o[8];
      if constexpr (SW) {
        const float4* w4 = reinterpret_cast<const float4*>(sw + (v * 32 + lane) * 8);
        const float4* b4 = reinterpret_cast<const float4*>(sb + (v * 32 + lane) * 8);
        const float4 w0 = w4[0], w1 = w4[1], b0 = b4[0], b1 = b4[1];
        const float ww[8] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w}, bb[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
        for (int k = 0; k < 8; k++) o[k] = (xv[v * 8 + k] - mu) * rs * ww[k] + bb[k];
      } else {
#pragma unroll
        for (int k = 0; k < 8; k++) o[k] = (xv[v * 8 + k] - mu) * rs * wv[v * 8 + k] + bv[v * 8 + k];
      }
      y[base + v * 32 + lane] = pack8(o);
    }
    if (lane == 0) { mean[row] = mu; rstd[row] = rs; }
  }
}

// dx (one warp per row, the row packed in registers, the weights too), for MOSAICBERT_LN_FUSED_BWD=0; dweight/dbias
// then come from ln_dw_bf16_v8 (a second pass over dy and x).
template <int V>
__global__ void __launch_bounds__(256) ln_bwd_bf16(uint4* dx, const uint4* dy, const uint4* x, int dtw, const void* w, const float* mean,
                                                   const float* rstd, int64_t N, uint4* dxd, Drop d) {
  constexpr int H = V * 256;
  __shared__ float sw[H];
  for (int i = threadIdx.x; i < H; i += blockDim.x) sw[i] = ldf(dtw, w, i);
  __syncthreads();
  const int lane = threadIdx.x & 31;
  const int64_t gw = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5, nw = ((int64_t)gridDim.x * blockDim.x) >> 5;
  float wv[V * 8];
#pragma unroll
  for (int v = 0; v < V; v++)
#pragma unroll
    for (int k = 0; k < 8; k++) wv[v * 8 + k] = sw[(v * 32 + lane) * 8 + k];
  for (int64_t row = gw; row < N; row += nw) {
    const int64_t base = row * (H / 8);
    const float mu = mean[row], rs = rstd[row];
    uint4 ud[V], ux[V];
#pragma unroll
    for (int v = 0; v < V; v++) { ud[v] = dy[base + v * 32 + lane]; ux[v] = x[base + v * 32 + lane]; }
    float a = 0.0f, bsum = 0.0f;
#pragma unroll
    for (int v = 0; v < V; v++) {
      float dd[8], xx[8];
      unpack8(ud[v], dd);
      unpack8(ux[v], xx);
#pragma unroll
      for (int k = 0; k < 8; k++) {
        const float xh = (xx[k] - mu) * rs, g = dd[k] * wv[v * 8 + k];
        a += g; bsum += g * xh;
      }
    }
    a = warp_sum(a) * (1.0f / H); bsum = warp_sum(bsum) * (1.0f / H);
#pragma unroll
    for (int v = 0; v < V; v++) {
      float dd[8], xx[8], o[8];
      unpack8(ud[v], dd);
      unpack8(ux[v], xx);
#pragma unroll
      for (int k = 0; k < 8; k++) o[k] = rs * (dd[k] * wv[v * 8 + k] - a - (xx[k] - mu) * rs * bsum);
      ln_store_dx(dx, dxd, base + v * 32 + lane, o, d);
    }
  }
}

// dx and dweight/dbias in one pass over dy and x (the default; MOSAICBERT_LN_FUSED_BWD=0 goes back to ln_bwd_bf16
// then ln_dw_bf16_v8, which reads dy and x a second time). H100, 2026-12-06, the peers' 256 × 128 batch: LayerNorm
// backward 2.92 → 1.43 ms a step (with the embedding kernels, 711 k → 733 k tokens/s). The weights are read from
// shared memory where they are used; each warp adds its rows' dy·x̂ and dy to its own sums in shared memory (laid
// out [k][v·32 + lane], so a warp's adds hit 32 banks and no lane shares an address: plain loads and stores), then
// the block adds its warps' sums to the float32 gradients once. Blocks of LN_FUSED_WARPS warps (their sums take
// 2·H·4 bytes each: 24 KB a block at H = 768) over a persistent grid of at most 4 blocks a SM (16 warps, as the
// two-pass dx kernel's two blocks of 8): every block adds 2·H sums to the gradients at its end, 16 bytes at a time
// where the GPU has vector atomics and vec says they are aligned.
constexpr int LN_FUSED_WARPS = 4;
template <int V>
__global__ void __launch_bounds__(LN_FUSED_WARPS * 32) ln_bwd_fused(uint4* dx, const uint4* dy, const uint4* x, int dtw, const void* w,
                                                                          const float* mean, const float* rstd, int64_t N, uint4* dxd, Drop d,
                                                                          float* dw, float* db, bool vec) {
  constexpr int H = V * 256;
  __shared__ __align__(16) float sw[H];
  __shared__ float acc[LN_FUSED_WARPS * 2 * H];  // warp w: dweight sums at [w·2H, w·2H + H), dbias after
  for (int i = threadIdx.x; i < H; i += blockDim.x) sw[i] = ldf(dtw, w, i);
  for (int i = threadIdx.x; i < LN_FUSED_WARPS * 2 * H; i += blockDim.x) acc[i] = 0.0f;
  __syncthreads();
  const int lane = threadIdx.x & 31;
  const int64_t gw = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5, nw = ((int64_t)gridDim.x * blockDim.x) >> 5;
  float* aw = acc + (threadIdx.x >> 5) * 2 * H + lane;  // this lane's sums: aw[(k·V + v)·32], H further for dbias
  for (int64_t row = gw; row < N; row += nw) {
    const int64_t base = row * (H / 8);
    const float mu = mean[row], rs = rstd[row];
    uint4 ud[V], ux[V];
#pragma unroll
    for (int v = 0; v < V; v++) { ud[v] = dy[base + v * 32 + lane]; ux[v] = x[base + v * 32 + lane]; }
    float a = 0.0f, bsum = 0.0f;
#pragma unroll
    for (int v = 0; v < V; v++) {
      float dd[8], xx[8], ww[8];
      unpack8(ud[v], dd);
      unpack8(ux[v], xx);
      ld8s(sw + (v * 32 + lane) * 8, ww);
#pragma unroll
      for (int k = 0; k < 8; k++) {
        const float xh = (xx[k] - mu) * rs, g = dd[k] * ww[k];
        a += g; bsum += g * xh;
        aw[(k * V + v) * 32] += dd[k] * xh;
        aw[H + (k * V + v) * 32] += dd[k];
      }
    }
    a = warp_sum(a) * (1.0f / H); bsum = warp_sum(bsum) * (1.0f / H);
#pragma unroll
    for (int v = 0; v < V; v++) {
      float dd[8], xx[8], ww[8], o[8];
      unpack8(ud[v], dd);
      unpack8(ux[v], xx);
      ld8s(sw + (v * 32 + lane) * 8, ww);
#pragma unroll
      for (int k = 0; k < 8; k++) o[k] = rs * (dd[k] * ww[k] - a - (xx[k] - mu) * rs * bsum);
      ln_store_dx(dx, dxd, base + v * 32 + lane, o, d);
    }
  }
  __syncthreads();
  // Columns c..c+3 (c = (v·32 + l)·8 + k, k a multiple of 4) are at (k·V + v)·32 + l + j·V·32 of each warp's sums.
  for (int c = threadIdx.x * 4; c < H; c += blockDim.x * 4) {
    const int v = c >> 8, l = (c >> 3) & 31, k = c & 7, at = (k * V + v) * 32 + l;
    float tw[4] = {0, 0, 0, 0}, tb[4] = {0, 0, 0, 0};
#pragma unroll
    for (int w = 0; w < LN_FUSED_WARPS; w++)
#pragma unroll
      for (int j = 0; j < 4; j++) { tw[j] += acc[w * 2 * H + at + j * V * 32]; tb[j] += acc[w * 2 * H + H + at + j * V * 32]; }
    if (vec) {
      atomic_add4(dw + c, tw[0], tw[1], tw[2], tw[3]);
      atomic_add4(db + c, tb[0], tb[1], tb[2], tb[3]);
    } else {
#pragma unroll
      for (int j = 0; j < 4; j++) { atomicAdd(dw + c + j, tw[j]); atomicAdd(db + c + j, tb[j]); }
    }
  }
}

// dweight += Σ dy·x̂, dbias += Σ dy over rows, 8 adjacent columns a thread with 16-byte loads.
__global__ void ln_dw_bf16_v8(float* dw, float* db, const uint4* dy, const uint4* x, const float* mean, const float* rstd, int64_t N,
                              int64_t H8, int64_t rowsPerBlock) {
  __shared__ float pw[8][32][9], pb[8][32][9];
  const int64_t c8 = blockIdx.x * 32 + threadIdx.x;
  const int64_t r0 = blockIdx.y * rowsPerBlock, r1 = min(N, r0 + rowsPerBlock);
  float sw[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  // Two rows' loads (dy and x of each) in flight at a time.
  auto row = [&](uint4 ud, uint4 ux, int64_t r) {
    float d[8], xx[8];
    unpack8(ud, d);
    unpack8(ux, xx);
    const float mu = mean[r], rs = rstd[r];
#pragma unroll
    for (int k = 0; k < 8; k++) { sw[k] += d[k] * (xx[k] - mu) * rs; sb[k] += d[k]; }
  };
  if (c8 < H8) {
    int64_t r = r0 + threadIdx.y;
    for (; r + 8 < r1; r += 16) {
      const uint4 d0 = dy[r * H8 + c8], x0 = x[r * H8 + c8], d1 = dy[(r + 8) * H8 + c8], x1 = x[(r + 8) * H8 + c8];
      row(d0, x0, r);
      row(d1, x1, r + 8);
    }
    if (r < r1) row(dy[r * H8 + c8], x[r * H8 + c8], r);
  }
#pragma unroll
  for (int k = 0; k < 8; k++) { pw[threadIdx.y][threadIdx.x][k] = sw[k]; pb[threadIdx.y][threadIdx.x][k] = sb[k]; }
  __syncthreads();
  if (threadIdx.y == 0 && c8 < H8) {
#pragma unroll
    for (int k = 0; k < 8; k++) {
      float tw = 0.0f, tb = 0.0f;
      for (int y = 0; y < 8; y++) { tw += pw[y][threadIdx.x][k]; tb += pb[y][threadIdx.x][k]; }
      atomicAdd(dw + c8 * 8 + k, tw); atomicAdd(db + c8 * 8 + k, tb);
    }
  }
}

static bool ln_fused_bwd() {
  static const bool on = mb_env_not_off("MOSAICBERT_LN_FUSED_BWD");
  return on;
}
// The fused backward over a persistent grid: the blocks resident at once (the occupancy calculator's answer, asked
// once per row width, at most 4 a SM), each walking rows a warp at a time.
template <int V>
static void ln_bwd_fused_launch(uint4* dx, const uint4* dy, const uint4* x, int dtw, const void* w, const float* mean, const float* rstd,
                                int64_t N, uint4* dxd, Drop d, float* dw, float* db) {
  static const int per = [] {
    int n = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, ln_bwd_fused<V>, LN_FUSED_WARPS * 32, 0) != cudaSuccess) { cudaGetLastError(); n = 1; }
    return std::max(1, std::min(4, n));
  }();
  const unsigned blocks = (unsigned)std::min<int64_t>((N + LN_FUSED_WARPS - 1) / LN_FUSED_WARPS, mb_sm_count() * per);
  ln_bwd_fused<V><<<blocks, LN_FUSED_WARPS * 32, 0, S()>>>(dx, dy, x, dtw, w, mean, rstd, N, dxd, d, dw, db, aligned16(dw) && aligned16(db));
}

static bool ln_smem_w() {
  static const bool on = mb_env_not_off("MOSAICBERT_LN_SMEM_W");
  return on;
}

bool k_layernorm_fast(int dty, void* y, int dtx, const void* x, int dtr, const void* res, void* sum, int dtw, const void* w,
                      int dtb, const void* b, float* mean, float* rstd, int64_t N, int64_t H, float eps, Drop d) {
  if (mb_generic_forced() || dty != DT_BF16 || dtx != DT_BF16 || (res && dtr != DT_BF16) || H % 256 != 0 || H > 1024 || N == 0) return false;
  if (!aligned16(y) || !aligned16(x) || (res && (!aligned16(res) || !aligned16(sum)))) return false;
  const unsigned blocks = (unsigned)std::min<int64_t>((N + 7) / 8, mb_sm_count() * 8);
#define LNF(V) (ln_smem_w() ? ln_fwd_bf16<V, true> : ln_fwd_bf16<V, false>)<<<blocks, 256, 0, S()>>>((uint4*)y, (const uint4*)x, (const uint4*)res, (uint4*)sum, dtw, w, dtb, b, mean, rstd, N, eps, d)
  switch (H / 256) { case 1: LNF(1); break; case 2: LNF(2); break; case 3: LNF(3); break; default: LNF(4); }
#undef LNF
  CKL();
  return true;
}

bool k_layernorm_bwd_fast(int dtdx, void* dx, int dtdy, const void* dy, int dtx, const void* x, int dtw, const void* w,
                          const float* mean, const float* rstd, float* dw, float* db, int64_t N, int64_t H, void* dxd, Drop d) {
  if (mb_generic_forced() || dtdx != DT_BF16 || dtdy != DT_BF16 || dtx != DT_BF16 || H % 256 != 0 || H > 1024 || N == 0) return false;
  if (!aligned16(dx) || !aligned16(dy) || !aligned16(x) || (dxd && !aligned16(dxd))) return false;
  if (ln_fused_bwd()) {
    // H / 256 = V in 1 … 4 (H a positive multiple of 256 up to 1024: checked above and by k_layernorm_bwd).
    static void (*const launch[])(uint4*, const uint4*, const uint4*, int, const void*, const float*, const float*, int64_t, uint4*, Drop, float*,
                                  float*) = {ln_bwd_fused_launch<1>, ln_bwd_fused_launch<2>, ln_bwd_fused_launch<3>, ln_bwd_fused_launch<4>};
    launch[H / 256 - 1]((uint4*)dx, (const uint4*)dy, (const uint4*)x, dtw, w, mean, rstd, N, (uint4*)dxd, d, dw, db);
    CKL();
    return true;
  }
  const unsigned blocks = (unsigned)std::min<int64_t>((N + 7) / 8, mb_sm_count() * 8);
#define LNB(V) ln_bwd_bf16<V><<<blocks, 256, 0, S()>>>((uint4*)dx, (const uint4*)dy, (const uint4*)x, dtw, w, mean, rstd, N, (uint4*)dxd, d)
  switch (H / 256) { case 1: LNB(1); break; case 2: LNB(2); break; case 3: LNB(3); break; default: LNB(4); }
#undef LNB
  CKL();
  const int64_t H8 = H / 8, colBlocks = (H8 + 31) / 32;
  int64_t slabs = (528 + colBlocks - 1) / colBlocks;
  if (slabs > (N + 63) / 64) slabs = (N + 63) / 64;
  if (slabs < 1) slabs = 1;
  const int64_t rpb = (N + slabs - 1) / slabs;
  ln_dw_bf16_v8<<<dim3((unsigned)colBlocks, (unsigned)slabs), dim3(32, 8), 0, S()>>>(dw, db, (const uint4*)dy, (const uint4*)x, mean, rstd, N, H8, rpb);
  CKL();
  return true;
}
