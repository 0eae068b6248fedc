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
// registers as V 16-byte vectors per lane; weights kept in registers across the rows a warp visits.
// The backward accumulates dweight/dbias per lane, reduces them in shared memory per block, and
// adds them to the float32 gradients once per block: one pass over dy and x.

typedef __nv_bfloat16 bf16;


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

// dx (one warp per row, the row packed in registers). Without DW, dweight/dbias come from ln_dw_bf16_v8 (a second
// pass over dy and x); with DW (MOSAICBERT_LN_FUSED_BWD=1) they are summed per lane over the rows a warp visits,
// then per block in shared memory, and added to the float32 gradients once per block.
template <int V, bool DW>
__global__ void __launch_bounds__(256) ln_bwd_bf16(uint4* dx, const uint4* dy, const uint4* x, int dtw, const void* w, const float* mean,
                                                   const float* rstd, int64_t N, uint4* dxd, Drop d, float* dw, float* db) {
  constexpr int H = V * 256;
  __shared__ float sw[H];
  __shared__ float sdw[DW ? H : 1], sdb[DW ? H : 1];
  for (int i = threadIdx.x; i < H; i += blockDim.x) {
    sw[i] = ldf(dtw, w, i);
    if constexpr (DW) { sdw[i] = 0.0f; sdb[i] = 0.0f; }
  }
  __syncthreads();
  const int lane = threadIdx.x & 31;
  const int64_t gw = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5, nw = ((int64_t)gridDim.x * blockDim.x) >> 5;
  float wv[V * 8], pw[DW ? V * 8 : 1], pb[DW ? V * 8 : 1];
#pragma unroll
  for (int v = 0; v < V; v++)
#pragma unroll
    for (int k = 0; k < 8; k++) {
      wv[v * 8 + k] = sw[(v * 32 + lane) * 8 + k];
      if constexpr (DW) { pw[v * 8 + k] = 0.0f; pb[v * 8 + k] = 0.0f; }
    }
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
        if constexpr (DW) { pw[v * 8 + k] += dd[k] * xh; pb[v * 8 + k] += dd[k]; }
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
      const uint4 packed = pack8(o);
      dx[base + v * 32 + lane] = packed;
      if (dxd) {
        // The stored (rounded) dx through the forward's mask.
        const uint32_t c0 = d.off + (uint32_t)((base + v * 32 + lane) * 8);
        unpack8(packed, o);
#pragma unroll
        for (int k = 0; k < 8; k++) o[k] = drop_apply(o[k], d.p, d.inv, d.key, c0 + k);
        dxd[base + v * 32 + lane] = pack8(o);
      }
    }
  }
  if constexpr (DW) {
#pragma unroll
    for (int v = 0; v < V; v++)
#pragma unroll
      for (int k = 0; k < 8; k++) {
        const int c = (v * 32 + lane) * 8 + k;
        atomicAdd(&sdw[c], pw[v * 8 + k]);
        atomicAdd(&sdb[c], pb[v * 8 + k]);
      }
    __syncthreads();
    for (int i = threadIdx.x; i < H; i += blockDim.x) { atomicAdd(dw + i, sdw[i]); atomicAdd(db + i, sdb[i]); }
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

// MOSAICBERT_LN_FUSED_BWD=1: dx and dweight/dbias in one pass over dy and x (ln_bwd_bf16<V, true>) instead of
// ln_bwd_bf16<V, false> then ln_dw_bf16_v8, which reads dy and x a second time. Opt-in until measured.
static bool ln_fused_bwd() {
  static const bool on = mb_env_on("MOSAICBERT_LN_FUSED_BWD");
  return on;
}

static bool ln_smem_w() {
  static const bool on = mb_env_not_off("MOSAICBERT_LN_SMEM_W");
  return on;
}

static bool a16(const void* p) { return ((uintptr_t)p & 15) == 0; }

bool k_layernorm_fast(int dty, void* y, int dtx, const void* x, int dtr, const void* res, void* sum, int dtw, const void* w,
                      int dtb, const void* b, float* mean, float* rstd, int64_t N, int64_t H, float eps, Drop d) {
  if (mb_generic_forced() || dty != DT_BF16 || dtx != DT_BF16 || (res && dtr != DT_BF16) || H % 256 != 0 || H > 1024 || N == 0) return false;
  if (!a16(y) || !a16(x) || (res && (!a16(res) || !a16(sum)))) return false;
  const unsigned blocks = (unsigned)std::min<int64_t>((N + 7) / 8, 132 * 8);
#define LNF(V) (ln_smem_w() ? ln_fwd_bf16<V, true> : ln_fwd_bf16<V, false>)<<<blocks, 256, 0, S()>>>((uint4*)y, (const uint4*)x, (const uint4*)res, (uint4*)sum, dtw, w, dtb, b, mean, rstd, N, eps, d)
  switch (H / 256) { case 1: LNF(1); break; case 2: LNF(2); break; case 3: LNF(3); break; default: LNF(4); }
#undef LNF
  CKL();
  return true;
}

bool k_layernorm_bwd_fast(int dtdx, void* dx, int dtdy, const void* dy, int dtx, const void* x, int dtw, const void* w,
                          const float* mean, const float* rstd, float* dw, float* db, int64_t N, int64_t H, void* dxd, Drop d) {
  if (mb_generic_forced() || dtdx != DT_BF16 || dtdy != DT_BF16 || dtx != DT_BF16 || H % 256 != 0 || H > 1024 || N == 0) return false;
  if (!a16(dx) || !a16(dy) || !a16(x) || (dxd && !a16(dxd))) return false;
  if (ln_fused_bwd()) {
    // Fewer blocks than the dx-only kernel: each adds its H weight and H bias sums to the gradients once.
    const unsigned fb = (unsigned)std::min<int64_t>((N + 7) / 8, 132 * 4);
#define LNBF(V) ln_bwd_bf16<V, true><<<fb, 256, 0, S()>>>((uint4*)dx, (const uint4*)dy, (const uint4*)x, dtw, w, mean, rstd, N, (uint4*)dxd, d, dw, db)
    switch (H / 256) { case 1: LNBF(1); break; case 2: LNBF(2); break; case 3: LNBF(3); break; default: LNBF(4); }
#undef LNBF
    CKL();
    return true;
  }
  const unsigned blocks = (unsigned)std::min<int64_t>((N + 7) / 8, 132 * 8);
#define LNB(V) ln_bwd_bf16<V, false><<<blocks, 256, 0, S()>>>((uint4*)dx, (const uint4*)dy, (const uint4*)x, dtw, w, mean, rstd, N, (uint4*)dxd, d, nullptr, nullptr)
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
