// Variable-length (unpadded) attention with bidirectional ALiBi, key masks and optional dropout.
//
// Two implementations of one function:
// - fast (bf16, head dim 32/64/128, sequences up to 128, no dropout): one CTA per (head, sequence)
//   holds the whole sequence's Q, K, V in shared memory and runs the two products on the tensor
//   cores (WMMA, bf16 in, fp32 accumulate). The S×S scores live only in shared memory.
// - generic (any float dtype and length, dropout): one warp per (query row, head), online softmax
//   in fp32, keys streamed from global memory; the backward accumulates dK/dV with fp32 atomics.
// Both save lse = log Σ exp(score) per (row, head), +∞ for a row with no valid key (out = 0), and the
// backward recomputes P = exp(score − lse), as the CPU reference does.
#include "common.cuh"
#include "random.cuh"
#include <mma.h>
#include <cstdlib>
using namespace nvcuda;

static cudaStream_t S() { return (cudaStream_t)mb_stream(); }

__device__ __forceinline__ int find_seq(const int32_t* cu, int B, int t) {
  int lo = 0, hi = B - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) >> 1;
    if (cu[mid] <= t) lo = mid; else hi = mid - 1;
  }
  return lo;
}
__device__ __forceinline__ bool key_ok(const AttnArgs& a, int j) {
  if (!a.keyMask) return true;
  return a.dtMask == DT_I32 ? static_cast<const int32_t*>(a.keyMask)[j] != 0 : static_cast<const uint8_t*>(a.keyMask)[j] != 0;
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

// Dropout on probability (query row t, head h, key j of its sequence): the CPU reference's counter
// offset + (t·numHeads + h)·maxSeqlen + j (mod 2^32).
__device__ __forceinline__ bool drop_keep(const AttnArgs& a, int t, int h, int j) {
  uint32_t ctr = a.dropOffset + ((uint32_t)t * (uint32_t)a.nh + (uint32_t)h) * (uint32_t)a.maxSeqlen + (uint32_t)j;
  return mb_uniform(a.dropKey, ctr) >= a.dropP;
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
    if (a.dropP > 0.0f) {
      uint32_t ctr = a.dropOffset + ((uint32_t)t * (uint32_t)a.nh + (uint32_t)h) * (uint32_t)a.maxSeqlen + (uint32_t)(j - ks);
      pd = mb_uniform(a.dropKey, ctr) >= a.dropP ? p * inv : 0.0f;
    }
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
      if (a.dropP > 0.0f) {
        uint32_t ctr = a.dropOffset + ((uint32_t)t * (uint32_t)a.nh + (uint32_t)h) * (uint32_t)a.maxSeqlen + (uint32_t)(j - ks);
        mf = mb_uniform(a.dropKey, ctr) >= a.dropP ? inv : 0.0f;
      }
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

// ------------------------------------------------------------------------------------------------
// fast path (bf16, tensor cores)

typedef __nv_bfloat16 bf16;
constexpr int NW = 8;  // warps per CTA

template <int DH, int SM> struct Lay {
  static constexpr int LDQ = DH + 8, LDS = SM + 4, LDP = SM + 8;
  static constexpr int QB = 64;  // query rows per forward CTA
  static constexpr size_t fwd = (QB + 2 * SM) * LDQ * 2 + QB * LDS * 4 + NW * 256 * 4 + SM * 8;
  static constexpr int KB = 64;  // keys per backward CTA
  static constexpr size_t bwd = (2 * SM + 2 * KB) * LDQ * 2 + 2 * SM * (KB + 8) * 2 + NW * 512 * 4 + SM * 12 + KB * 4;
};

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  const unsigned sa = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(sa), "l"(gmem));
}
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::); }

// Rows [r0, r0 + n) of one head's slice (columns col…col+DH) of a [T, ld] bf16 matrix into smem rows
// [0, np) with asynchronous 16-byte copies (all in flight at once); zeros for rows past n.
template <int DH>
__device__ __forceinline__ void load_rows(bf16* dst, int ldd, const bf16* src, int64_t ld, int64_t row0, int col, int n, int np) {
  constexpr int CH = DH / 8;
  for (int i = threadIdx.x; i < np * CH; i += blockDim.x) {
    const int r = i / CH, c = (i % CH) * 8;
    if (r < n) cp_async16(dst + r * ldd + c, src + (row0 + r) * ld + col + c);
    else *reinterpret_cast<uint4*>(dst + r * ldd + c) = make_uint4(0, 0, 0, 0);
  }
}

// Writes a 16x16 fp32 tile from a warp's scratch to rows (< L) of a bf16 [T, ld] matrix, times mul.
__device__ __forceinline__ void store_tile(const float* sc, bf16* dst, int64_t ld, int64_t row0, int r0, int col, int L, float mul) {
  const int lane = threadIdx.x & 31;
  const int r = lane >> 1, c = (lane & 1) * 8;
  if (r0 + r >= L) return;
  __align__(16) bf16 v[8];
#pragma unroll
  for (int k = 0; k < 8; k++) v[k] = __float2bfloat16_rn(sc[r * 16 + c + k] * mul);
  *reinterpret_cast<uint4*>(dst + (row0 + r0 + r) * ld + col + c) = *reinterpret_cast<uint4*>(v);
}

// Forward CTA: QB query rows [z·QB, z·QB + QB) of one (head, sequence) against all its keys.
template <int DH, int SM>
__global__ void __launch_bounds__(NW * 32, 2) attn_fwd_fast(AttnArgs a) {
  using LY = Lay<DH, SM>;
  constexpr int QB = LY::QB;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Qs = reinterpret_cast<bf16*>(smem);
  bf16* Ks = Qs + QB * LY::LDQ;
  bf16* Vs = Ks + SM * LY::LDQ;
  float* Sf = reinterpret_cast<float*>(Vs + SM * LY::LDQ);
  bf16* Pb = reinterpret_cast<bf16*>(Sf);  // P overwrites S row by row (each row read fully first)
  constexpr int LDP = 2 * LY::LDS;
  float* scr = reinterpret_cast<float*>(Sf + QB * LY::LDS);
  int* pos = reinterpret_cast<int*>(scr + NW * 256);
  int* valid = pos + SM;

  const int h = blockIdx.x, b = blockIdx.y, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int ks = a.cu[b], L = a.cu[b + 1] - ks;
  const int q0 = blockIdx.z * QB;
  if (L <= q0) return;
  if (L > SM) { if (threadIdx.x == 0 && blockIdx.z == 0) report(a.flag, ERR_ATTN_SEQLEN); return; }
  const int Lp = (L + 15) & ~15, nk = Lp / 16;
  const int nq = min(QB, L - q0), nqp = (nq + 15) & ~15, nqt = nqp / 16;
  const int H = a.nh * DH;
  const bf16* qkv = static_cast<const bf16*>(a.qkv);
  load_rows<DH>(Qs, LY::LDQ, qkv, 3 * H, ks + q0, h * DH, nq, nqp);
  load_rows<DH>(Ks, LY::LDQ, qkv, 3 * H, ks, H + h * DH, L, Lp);
  load_rows<DH>(Vs, LY::LDQ, qkv, 3 * H, ks, 2 * H + h * DH, L, Lp);
  for (int r = threadIdx.x; r < Lp; r += blockDim.x) {
    pos[r] = r < L ? (a.positions ? a.positions[ks + r] : r) : 0;
    valid[r] = r < L && key_ok(a, ks + r);
  }
  cp_async_wait_all();
  __syncthreads();

  for (int tile = warp; tile < nqt * nk; tile += NW) {
    const int i0 = (tile / nk) * 16, j0 = (tile % nk) * 16;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
#pragma unroll
    for (int kk = 0; kk < DH; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fb;
      wmma::load_matrix_sync(fa, Qs + i0 * LY::LDQ + kk, LY::LDQ);
      wmma::load_matrix_sync(fb, Ks + j0 * LY::LDQ + kk, LY::LDQ);
      wmma::mma_sync(acc, fa, fb, acc);
    }
    wmma::store_matrix_sync(Sf + i0 * LY::LDS + j0, acc, LY::LDS, wmma::mem_row_major);
  }
  __syncthreads();

  const float slope = a.slopes ? a.slopes[h] : 0.0f;
  for (int r = warp; r < nqp; r += NW) {
    const int qr = q0 + r;  // row inside the sequence
    float sv[SM / 32];
    float mx = -INFINITY;
#pragma unroll
    for (int k = 0; k < SM / 32; k++) {
      const int c = lane + 32 * k;
      float v = -INFINITY;
      if (c < Lp && qr < L && valid[c]) v = Sf[r * LY::LDS + c] * a.scale - slope * fabsf((float)(pos[qr] - pos[c]));
      sv[k] = v;
      mx = fmaxf(mx, v);
    }
    mx = warp_max(mx);
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < SM / 32; k++) { sv[k] = mx == -INFINITY ? 0.0f : __expf(sv[k] - mx); sum += sv[k]; }
    sum = warp_sum(sum);
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    __syncwarp();
#pragma unroll
    for (int k = 0; k < SM / 32; k++) {
      const int c = lane + 32 * k;
      if (c >= Lp) continue;
      float pv = sv[k] * inv;
      if (a.dropP > 0.0f && qr < L && c < L) pv = drop_keep(a, ks + qr, h, c) ? pv * a.dropInv : 0.0f;
      Pb[r * LDP + c] = __float2bfloat16_rn(pv);
    }
    if (lane == 0 && qr < L) a.lse[(int64_t)(ks + qr) * a.nh + h] = sum > 0.0f ? mx + logf(sum) : INFINITY;
  }
  __syncthreads();

  float* sc = scr + warp * 256;
  bf16* out = static_cast<bf16*>(a.out);
  for (int tile = warp; tile < nqt * (DH / 16); tile += NW) {
    const int i0 = (tile / (DH / 16)) * 16, d0 = (tile % (DH / 16)) * 16;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    for (int kk = 0; kk < Lp; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
      wmma::load_matrix_sync(fa, Pb + i0 * LDP + kk, LDP);
      wmma::load_matrix_sync(fb, Vs + kk * LY::LDQ + d0, LY::LDQ);
      wmma::mma_sync(acc, fa, fb, acc);
    }
    wmma::store_matrix_sync(sc, acc, 16, wmma::mem_row_major);
    __syncwarp();
    store_tile(sc, out, H, ks + q0, i0, h * DH + d0, nq, 1.0f);
    __syncwarp();
  }
}

// Backward CTA: KB keys [z·KB, z·KB + KB) of one (head, sequence) against all its queries. dK and dV
// of those keys are complete here; dQ gets this CTA's share through float atomics into `dq`
// (zeroed before, converted into dqkv after), so two CTAs can split a long sequence.
template <int DH, int SM>
__global__ void __launch_bounds__(NW * 32, 2) attn_bwd_fast(AttnArgs a, const bf16* dout, bf16* dqkv, float* dq) {
  using LY = Lay<DH, SM>;
  constexpr int KB = LY::KB, LDK = KB + 8;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Qs = reinterpret_cast<bf16*>(smem);
  bf16* dOs = Qs + SM * LY::LDQ;
  bf16* Ks = dOs + SM * LY::LDQ;
  bf16* Vs = Ks + KB * LY::LDQ;
  bf16* Pb = Vs + KB * LY::LDQ;
  bf16* dSb = Pb + SM * LDK;
  float* scr = reinterpret_cast<float*>(dSb + SM * LDK);
  int* pos = reinterpret_cast<int*>(scr + NW * 512);
  int* valid = pos + SM;
  float* Dr = reinterpret_cast<float*>(valid + KB);
  float* lr = Dr + SM;

  const int h = blockIdx.x, b = blockIdx.y, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int ks = a.cu[b], L = a.cu[b + 1] - ks;
  const int j0 = blockIdx.z * KB;
  if (L <= j0) return;
  if (L > SM) { if (threadIdx.x == 0 && blockIdx.z == 0) report(a.flag, ERR_ATTN_SEQLEN); return; }
  const int Lp = (L + 15) & ~15, nt = Lp / 16;
  const int nk = min(KB, L - j0), nkp = (nk + 15) & ~15, nkt = nkp / 16;
  const int H = a.nh * DH;
  const bf16* qkv = static_cast<const bf16*>(a.qkv);
  const bf16* o = static_cast<const bf16*>(a.out);
  load_rows<DH>(Qs, LY::LDQ, qkv, 3 * H, ks, h * DH, L, Lp);
  load_rows<DH>(dOs, LY::LDQ, dout, H, ks, h * DH, L, Lp);
  load_rows<DH>(Ks, LY::LDQ, qkv, 3 * H, ks + j0, H + h * DH, nk, nkp);
  load_rows<DH>(Vs, LY::LDQ, qkv, 3 * H, ks + j0, 2 * H + h * DH, nk, nkp);
  for (int r = threadIdx.x; r < Lp; r += blockDim.x) {
    pos[r] = r < L ? (a.positions ? a.positions[ks + r] : r) : 0;
    lr[r] = r < L ? a.lse[(int64_t)(ks + r) * a.nh + h] : INFINITY;
  }
  for (int c = threadIdx.x; c < nkp; c += blockDim.x) valid[c] = c < nk && key_ok(a, ks + j0 + c);
  // D = rowsum(dout ∘ out): DH/8 lanes per row, one 16-byte vector of each per lane.
  {
    constexpr int LPR = DH / 8, RPW = 32 / LPR;
    const int sub = lane / LPR, part = lane % LPR;
    for (int r0 = warp * RPW; r0 < Lp; r0 += NW * RPW) {
      const int r = r0 + sub;
      float d = 0.0f;
      if (r < L) {
        const int64_t off = (int64_t)(ks + r) * H + h * DH + part * 8;
        uint4 ua = *reinterpret_cast<const uint4*>(dout + off), ub = *reinterpret_cast<const uint4*>(o + off);
        const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&ua);
        const __nv_bfloat162* y2 = reinterpret_cast<const __nv_bfloat162*>(&ub);
#pragma unroll
        for (int k = 0; k < 4; k++) { float2 p = __bfloat1622float2(x2[k]), q = __bfloat1622float2(y2[k]); d += p.x * q.x + p.y * q.y; }
      }
#pragma unroll
      for (int o2 = LPR / 2; o2 > 0; o2 >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o2);
      if (part == 0 && r < Lp) Dr[r] = d;
    }
  }
  cp_async_wait_all();
  __syncthreads();

  const float slope = a.slopes ? a.slopes[h] : 0.0f;
  float* sc = scr + warp * 512;
  for (int tile = warp; tile < nt * nkt; tile += NW) {
    const int i0 = (tile / nkt) * 16, c0 = (tile % nkt) * 16;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> accS, accP;
    wmma::fill_fragment(accS, 0.0f);
    wmma::fill_fragment(accP, 0.0f);
#pragma unroll
    for (int kk = 0; kk < DH; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fb;
      wmma::load_matrix_sync(fa, Qs + i0 * LY::LDQ + kk, LY::LDQ);
      wmma::load_matrix_sync(fb, Ks + c0 * LY::LDQ + kk, LY::LDQ);
      wmma::mma_sync(accS, fa, fb, accS);
      wmma::load_matrix_sync(fa, dOs + i0 * LY::LDQ + kk, LY::LDQ);
      wmma::load_matrix_sync(fb, Vs + c0 * LY::LDQ + kk, LY::LDQ);
      wmma::mma_sync(accP, fa, fb, accP);
    }
    wmma::store_matrix_sync(sc, accS, 16, wmma::mem_row_major);
    wmma::store_matrix_sync(sc + 256, accP, 16, wmma::mem_row_major);
    __syncwarp();
#pragma unroll
    for (int u = 0; u < 8; u++) {
      const int e = lane * 8 + u, r = i0 + (e >> 4), c = c0 + (e & 15), j = j0 + c;
      float p = 0.0f, mf = 1.0f;
      if (r < L && valid[c] && lr[r] != INFINITY) {
        p = __expf(sc[e] * a.scale - slope * fabsf((float)(pos[r] - pos[j])) - lr[r]);
        if (a.dropP > 0.0f) mf = drop_keep(a, ks + r, h, j) ? a.dropInv : 0.0f;
      }
      Pb[r * LDK + c] = __float2bfloat16_rn(p * mf);
      dSb[r * LDK + c] = __float2bfloat16_rn(p * (mf * sc[256 + e] - Dr[r]));
    }
    __syncwarp();
  }
  __syncthreads();

  // dV = P̃ᵀ·dO and dK = scale·dSᵀ·Q for this CTA's keys; dQ += scale·dS·K for every query.
  const int perKV = nkt * (DH / 16), perQ = nt * (DH / 16);
  for (int tile = warp; tile < 2 * perKV + perQ; tile += NW) {
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
    if (tile < 2 * perKV) {
      const int which = tile / perKV, rem = tile % perKV;
      const int c0 = (rem / (DH / 16)) * 16, d0 = (rem % (DH / 16)) * 16;
      const bf16* A = which == 0 ? Pb : dSb;
      const bf16* Bm = which == 0 ? dOs : Qs;
      for (int kk = 0; kk < Lp; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::col_major> fa;
        wmma::load_matrix_sync(fa, A + kk * LDK + c0, LDK);
        wmma::load_matrix_sync(fb, Bm + kk * LY::LDQ + d0, LY::LDQ);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(sc, acc, 16, wmma::mem_row_major);
      __syncwarp();
      store_tile(sc, dqkv, 3 * H, ks + j0, c0, (which == 0 ? 2 * H : H) + h * DH + d0, nk, which == 0 ? 1.0f : a.scale);
      __syncwarp();
    } else {
      const int rem = tile - 2 * perKV;
      const int r0 = (rem / (DH / 16)) * 16, d0 = (rem % (DH / 16)) * 16;
      for (int kk = 0; kk < nkp; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
        wmma::load_matrix_sync(fa, dSb + r0 * LDK + kk, LDK);
        wmma::load_matrix_sync(fb, Ks + kk * LY::LDQ + d0, LY::LDQ);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(sc, acc, 16, wmma::mem_row_major);
      __syncwarp();
      const int r = lane >> 1, c = (lane & 1) * 8;
      if (r0 + r < L) {
        float* dst = dq + (int64_t)(ks + r0 + r) * H + h * DH + d0 + c;
        const float* v = sc + r * 16 + c;
        const float m = a.scale;
        // Two 16-byte vector reductions (sm_90) instead of eight scalar atomics.
        asm volatile("red.relaxed.gpu.global.add.v4.f32 [%0], {%1, %2, %3, %4};" ::"l"(dst), "f"(v[0] * m), "f"(v[1] * m), "f"(v[2] * m), "f"(v[3] * m) : "memory");
        asm volatile("red.relaxed.gpu.global.add.v4.f32 [%0], {%1, %2, %3, %4};" ::"l"(dst + 4), "f"(v[4] * m), "f"(v[5] * m), "f"(v[6] * m), "f"(v[7] * m) : "memory");
      }
      __syncwarp();
    }
  }
}

// dqkv[:, 0:H] = dq (float → bf16), 8 elements a thread.
__global__ void dq_finish_k(bf16* dqkv, const float* dq, int64_t T, int64_t H) {
  const int64_t n8 = T * H / 8;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n8; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t t = (i * 8) / H, c = (i * 8) % H;
    const float4 a = *reinterpret_cast<const float4*>(dq + i * 8), b = *reinterpret_cast<const float4*>(dq + i * 8 + 4);
    __align__(16) bf16 v[8] = {__float2bfloat16_rn(a.x), __float2bfloat16_rn(a.y), __float2bfloat16_rn(a.z), __float2bfloat16_rn(a.w),
                               __float2bfloat16_rn(b.x), __float2bfloat16_rn(b.y), __float2bfloat16_rn(b.z), __float2bfloat16_rn(b.w)};
    *reinterpret_cast<uint4*>(dqkv + t * 3 * H + c) = *reinterpret_cast<uint4*>(v);
  }
}

// ------------------------------------------------------------------------------------------------
// dispatch

static bool fast_ok(const AttnArgs& a, bool bwd) {
  // MOSAICBERT_CUDA_GENERIC=1 forces the generic kernels (the reference path of the speed checks).
  const char* g = getenv("MOSAICBERT_CUDA_GENERIC");
  if (g && g[0] == '1') return false;
  if (a.dt != DT_BF16 || a.maxSeqlen > 128) return false;
  if (bwd && (a.dtO != DT_BF16 || a.dtDo != DT_BF16)) return false;
  if (a.dh != 32 && a.dh != 64 && a.dh != 128) return false;
  return ((uintptr_t)a.qkv & 15) == 0 && ((uintptr_t)a.out & 15) == 0;
}

template <int DH, int SM> static void launch_fwd(const AttnArgs& a) {
  static bool init = false;
  if (!init) { CK(cudaFuncSetAttribute(attn_fwd_fast<DH, SM>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)Lay<DH, SM>::fwd)); init = true; }
  attn_fwd_fast<DH, SM><<<dim3(a.nh, a.B, SM / Lay<DH, SM>::QB), NW * 32, Lay<DH, SM>::fwd, S()>>>(a);
  CKL();
}
template <int DH, int SM> static void launch_bwd(const AttnArgs& a, const void* dout, void* dqkv, float* dq) {
  static bool init = false;
  if (!init) { CK(cudaFuncSetAttribute(attn_bwd_fast<DH, SM>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)Lay<DH, SM>::bwd)); init = true; }
  const int64_t H = (int64_t)a.nh * DH;
  CK(cudaMemsetAsync(dq, 0, a.T * H * sizeof(float), S()));
  attn_bwd_fast<DH, SM><<<dim3(a.nh, a.B, SM / Lay<DH, SM>::KB), NW * 32, Lay<DH, SM>::bwd, S()>>>(a, (const bf16*)dout, (bf16*)dqkv, dq);
  CKL();
  dq_finish_k<<<grid_for(a.T * H / 8, 256), 256, 0, S()>>>((bf16*)dqkv, dq, a.T, H);
  CKL();
}

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
  if (fast_ok(a, false)) {
    const bool small = a.maxSeqlen <= 64;
    switch (a.dh) {
      case 32: small ? launch_fwd<32, 64>(a) : launch_fwd<32, 128>(a); return;
      case 64: small ? launch_fwd<64, 64>(a) : launch_fwd<64, 128>(a); return;
      default: small ? launch_fwd<128, 64>(a) : launch_fwd<128, 128>(a); return;
    }
  }
  if (a.dh > 128) mb_throw("head dim > 128 is not supported on CUDA");
  const int64_t warps = (int64_t)a.T * a.nh;
  attn_fwd_generic<<<grid_for(warps * 32, 128, 1LL << 30), 128, 0, S()>>>(a);
  CKL();
}

// Float scratch the backward needs: dQ accumulators [T, H] on the fast path, dK/dV [T, 2H] otherwise.
int64_t k_attention_bwd_scratch_floats(const AttnArgs& a, const void* dout) {
  const bool fast = fast_ok(a, true) && ((uintptr_t)dout & 15) == 0;
  return (fast ? 1LL : 2LL) * a.T * a.nh * a.dh;
}

void k_attention_bwd(const AttnArgs& a0, const void* dout, void* dqkv, float* scratch) {
  AttnArgs a = a0;
  a.dropInv = a.dropP > 0.0f ? 1.0f / (1.0f - a.dropP) : 1.0f;
  a.flag = mb_error_flag();
  check_cu(a);
  if (a.T == 0 || a.B == 0) return;
  if (!scratch) mb_throw("internal: attention backward needs its scratch buffer");
  if (fast_ok(a, true) && ((uintptr_t)dout & 15) == 0 && ((uintptr_t)dqkv & 15) == 0) {
    const bool small = a.maxSeqlen <= 64;
    switch (a.dh) {
      case 32: small ? launch_bwd<32, 64>(a, dout, dqkv, scratch) : launch_bwd<32, 128>(a, dout, dqkv, scratch); return;
      case 64: small ? launch_bwd<64, 64>(a, dout, dqkv, scratch) : launch_bwd<64, 128>(a, dout, dqkv, scratch); return;
      default: small ? launch_bwd<128, 64>(a, dout, dqkv, scratch) : launch_bwd<128, 128>(a, dout, dqkv, scratch); return;
    }
  }
  if (a.dh > 128) mb_throw("head dim > 128 is not supported on CUDA");
  const int64_t H = (int64_t)a.nh * a.dh;
  CK(cudaMemsetAsync(scratch, 0, 2 * a.T * H * sizeof(float), S()));
  const int64_t warps = (int64_t)a.T * a.nh;
  attn_bwd_generic<<<grid_for(warps * 32, 128, 1LL << 30), 128, 0, S()>>>(a, dout, dqkv, scratch);
  CKL();
  attn_bwd_finish<<<grid_for(a.T * H, 256), 256, 0, S()>>>(a.dtDo, dqkv, scratch, a.T, H);
  CKL();
}
