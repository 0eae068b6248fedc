// Tiled varlen attention with bidirectional ALiBi (FlashAttention-2 style) on the tensor cores of
// every GPU since Ampere: mma.sync m16n8k16 bf16 → fp32, ldmatrix, cp.async; nothing Hopper-only.
//
// Forward: one CTA of 4 warps per (sequence, 64-query tile, head); each warp owns 16 query rows,
// keeps its Q fragments, running max, running sum and output in registers and loops over 64-key
// tiles (double-buffered in shared memory). Scores are taken in the log2 domain (scale·log2 e),
// probabilities go from the score accumulators straight into the A operand of P·V and never touch
// memory. Saves lse = ln Σ exp(score) per (row, head), +∞ for a row with no valid key (out = 0).
//
// Backward: one CTA per (sequence, 64-key tile, head); each warp owns 16 keys and accumulates their
// dK and dV in registers over all query tiles. For each query tile it recomputes Sᵀ = K·Qᵀ and
// dPᵀ = V·dOᵀ, forms P = exp(S − lse) and dS = P ∘ (dP·mask − D) with D = rowsum(dO ∘ O) from a
// small pre-pass, adds P̃ᵀ·dO to dV and dSᵀ·Q to dK, and adds dS·K to an fp32 dQ through atomics
// (dS goes through shared memory once for that). A last pass converts dQ into the bf16 gradient.
//
// Memory is O(tokens × hidden) at every length: nothing of size length² is ever stored.
#include "attention.cuh"
#include "flash_tiles.h"
#include "mma.cuh"
#include <cstdlib>

typedef __nv_bfloat16 bf16;
static cudaStream_t S() { return (cudaStream_t)mb_stream(); }

constexpr float LOG2E = 1.4426950408889634f, LN2 = 0.6931471805599453f;

// 2^x on the special-function unit (flushes denormal results to 0; 2^−∞ = 0).
__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Where positions are the indices in the sequence: +1 when every column position of the tile
// [c0, c0 + nc) is ≥ every row position of [r0, r0 + nr), −1 when every one is ≤, else 0. Then
// |pr − pc| = side·(pc − pr) on the whole tile.
__device__ __forceinline__ int alibi_side(bool linpos, int c0, int nc, int r0, int nr) {
  if (!linpos) return 0;
  if (c0 >= r0 + nr - 1) return 1;
  if (c0 + nc - 1 <= r0) return -1;
  return 0;
}

// Rows [row0, row0 + n) of a head's DH columns (from `col`) of a bf16 matrix with row stride ld into
// ROWS shared rows of stride DH + 8 (16 bytes of padding: ldmatrix rows fall in distinct banks);
// rows past n are zero-filled so that nothing unwritten (or NaN) is multiplied.
template <int DH, int ROWS, int NT>
__device__ __forceinline__ void load_tile(bf16* dst, const bf16* src, int64_t ld, int64_t row0, int col, int n) {
  constexpr int CH = DH / 8, LD = DH + 8;
  for (int i = threadIdx.x; i < ROWS * CH; i += NT) {
    const int r = i / CH, c = (i % CH) * 8;
    const bool ok = r < n;
    cp_async16(dst + r * LD + c, ok ? src + (row0 + r) * ld + col + c : src, ok);
  }
}

template <int DH, int NW>
__global__ void __launch_bounds__(NW * 32) flash_fwd_k(AttnArgs a) {
  using TL = FwdTile<DH, NW>;
  constexpr int BM = TL::BM, BN = TL::BN, LD = TL::LD, NT = TL::NT;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Qs = reinterpret_cast<bf16*>(smem);
  bf16* Ks = Qs + BM * LD;        // [2 stages][BN][LD]
  bf16* Vs = Ks + 2 * BN * LD;    // [2 stages][BN][LD]
  int* kpos = reinterpret_cast<int*>(Vs + 2 * BN * LD);  // [2][BN] key positions
  float* kneg = reinterpret_cast<float*>(kpos + 2 * BN);  // [2][BN] 0, or −∞ for a key that does not count

  const int b = blockIdx.x, h = blockIdx.z;
  const int ks = a.cu[b], L = a.cu[b + 1] - ks, q0 = blockIdx.y * BM;
  if (q0 >= L) return;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c4 = lane & 3;
  const int H = a.nh * DH;
  const int64_t ld = 3LL * H;
  const bf16* qkv = static_cast<const bf16*>(a.qkv);

  auto load_kv = [&](int jt, int st) {
    const int j0 = jt * BN, nk = min(BN, L - j0);
    load_tile<DH, BN, NT>(Ks + st * BN * LD, qkv, ld, ks + j0, H + h * DH, nk);
    load_tile<DH, BN, NT>(Vs + st * BN * LD, qkv, ld, ks + j0, 2 * H + h * DH, nk);
    for (int r = threadIdx.x; r < BN; r += NT) {
      const int j = j0 + r;
      kpos[st * BN + r] = j < L ? attn_pos(a, ks + j, j) : 0;
      kneg[st * BN + r] = j < L && key_ok(a, ks + j) ? 0.0f : -INFINITY;
    }
  };
  load_tile<DH, BM, NT>(Qs, qkv, ld, ks + q0, h * DH, min(BM, L - q0));
  load_kv(0, 0);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();

  uint32_t qf[DH / 16][4];
#pragma unroll
  for (int kk = 0; kk < DH / 16; kk++)
    ldsm_x4(qf[kk], Qs + (warp * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + kk * 16 + (lane >> 4) * 8);

  const int qr0 = q0 + warp * 16 + g, qr1 = qr0 + 8;  // this thread's two query rows (in the sequence)
  const float pq0 = qr0 < L ? (float)attn_pos(a, ks + qr0, qr0) : 0.0f;
  const float pq1 = qr1 < L ? (float)attn_pos(a, ks + qr1, qr1) : 0.0f;
  const float sc2 = a.scale * LOG2E, sl2 = (a.slopes ? a.slopes[h] : 0.0f) * LOG2E;
  const bool linpos = a.positions == nullptr;
  float o[DH / 8][4];
#pragma unroll
  for (int i = 0; i < DH / 8; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

  const int nkt = (L + BN - 1) / BN;
  for (int jt = 0; jt < nkt; jt++) {
    const int st = jt & 1;
    if (jt + 1 < nkt) {
      load_kv(jt + 1, st ^ 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const bf16* Kt = Ks + st * BN * LD;
    const bf16* Vt = Vs + st * BN * LD;
    const int* kp = kpos + st * BN;
    const float* kn = kneg + st * BN;

    float s[BN / 8][4];
#pragma unroll
    for (int i = 0; i < BN / 8; i++) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
#pragma unroll
    for (int np = 0; np < BN / 16; np++) {
#pragma unroll
      for (int kk = 0; kk < DH / 16; kk++) {
        uint32_t kb[4];
        ldsm_x4(kb, Kt + (np * 16 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8);
        mma_bf16(s[2 * np], qf[kk], kb[0], kb[1]);
        mma_bf16(s[2 * np + 1], qf[kk], kb[2], kb[3]);
      }
    }

    // Score = t + rb: on a tile wholly on one side of the warp's rows (positions = indices), ALiBi's
    // −slope·|pq − pk| splits into a column term folded into t's FMA and a row term rb.
    float rb0 = 0.0f, rb1 = 0.0f;
    const int side = alibi_side(linpos, jt * BN, BN, q0 + warp * 16, 16);
    if (side != 0) {
      const float sg = (float)side * sl2;
      rb0 = sg * pq0;
      rb1 = sg * pq1;
#pragma unroll
      for (int nt = 0; nt < BN / 8; nt++) {
#pragma unroll
        for (int e = 0; e < 2; e++) {
          const int col = nt * 8 + 2 * c4 + e;
          const float cb = kn[col] - sg * (float)kp[col];
          s[nt][e] = fmaf(s[nt][e], sc2, cb);
          s[nt][2 + e] = fmaf(s[nt][2 + e], sc2, cb);
        }
      }
    } else {
#pragma unroll
      for (int nt = 0; nt < BN / 8; nt++) {
#pragma unroll
        for (int e = 0; e < 2; e++) {
          const int col = nt * 8 + 2 * c4 + e;
          const float pk = (float)kp[col], neg = kn[col];
          s[nt][e] = s[nt][e] * sc2 - sl2 * fabsf(pq0 - pk) + neg;
          s[nt][2 + e] = s[nt][2 + e] * sc2 - sl2 * fabsf(pq1 - pk) + neg;
        }
      }
    }
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < BN / 8; nt++) {
      mx0 = fmaxf(mx0, fmaxf(s[nt][0], s[nt][1]));
      mx1 = fmaxf(mx1, fmaxf(s[nt][2], s[nt][3]));
    }
#pragma unroll
    for (int off = 1; off < 4; off <<= 1) {
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, off));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, off));
    }
    const float mn0 = fmaxf(m0, mx0 + rb0), mn1 = fmaxf(m1, mx1 + rb1);
    // A row that has seen no valid key yet keeps max −∞; subtract 0 instead so exp2 gives 0, not NaN.
    const float mu0 = mn0 == -INFINITY ? 0.0f : mn0, mu1 = mn1 == -INFINITY ? 0.0f : mn1;
    const float corr0 = ex2(m0 - mu0), corr1 = ex2(m1 - mu1);
    m0 = mn0;
    m1 = mn1;
    l0 *= corr0;
    l1 *= corr1;
#pragma unroll
    for (int i = 0; i < DH / 8; i++) { o[i][0] *= corr0; o[i][1] *= corr0; o[i][2] *= corr1; o[i][3] *= corr1; }
    const float sub0 = mu0 - rb0, sub1 = mu1 - rb1;
#pragma unroll
    for (int nt = 0; nt < BN / 8; nt++) {
#pragma unroll
      for (int e = 0; e < 2; e++) {
        s[nt][e] = ex2(s[nt][e] - sub0);
        s[nt][2 + e] = ex2(s[nt][2 + e] - sub1);
        l0 += s[nt][e];
        l1 += s[nt][2 + e];
      }
    }
    if (a.dropP > 0.0f) {
#pragma unroll
      for (int nt = 0; nt < BN / 8; nt++) {
#pragma unroll
        for (int e = 0; e < 2; e++) {
          const int j = jt * BN + nt * 8 + 2 * c4 + e;
          s[nt][e] = drop_keep(a, ks + qr0, h, j) ? s[nt][e] * a.dropInv : 0.0f;
          s[nt][2 + e] = drop_keep(a, ks + qr1, h, j) ? s[nt][2 + e] * a.dropInv : 0.0f;
        }
      }
    }

#pragma unroll
    for (int kc = 0; kc < BN / 16; kc++) {
      const uint32_t pa[4] = {pack_bf16(s[2 * kc][0], s[2 * kc][1]), pack_bf16(s[2 * kc][2], s[2 * kc][3]),
                              pack_bf16(s[2 * kc + 1][0], s[2 * kc + 1][1]), pack_bf16(s[2 * kc + 1][2], s[2 * kc + 1][3])};
#pragma unroll
      for (int dp = 0; dp < DH / 16; dp++) {
        uint32_t vb[4];
        ldsm_x4_t(vb, Vt + (kc * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + dp * 16 + (lane >> 4) * 8);
        mma_bf16(o[2 * dp], pa, vb[0], vb[1]);
        mma_bf16(o[2 * dp + 1], pa, vb[2], vb[3]);
      }
    }
    __syncthreads();
  }

#pragma unroll
  for (int off = 1; off < 4; off <<= 1) {
    l0 += __shfl_xor_sync(0xffffffffu, l0, off);
    l1 += __shfl_xor_sync(0xffffffffu, l1, off);
  }
  const float inv0 = l0 > 0.0f ? 1.0f / l0 : 0.0f, inv1 = l1 > 0.0f ? 1.0f / l1 : 0.0f;
  bf16* out = static_cast<bf16*>(a.out);
#pragma unroll
  for (int dt = 0; dt < DH / 8; dt++) {
    const int col = h * DH + dt * 8 + 2 * c4;
    if (qr0 < L) *reinterpret_cast<uint32_t*>(out + (int64_t)(ks + qr0) * H + col) = pack_bf16(o[dt][0] * inv0, o[dt][1] * inv0);
    if (qr1 < L) *reinterpret_cast<uint32_t*>(out + (int64_t)(ks + qr1) * H + col) = pack_bf16(o[dt][2] * inv1, o[dt][3] * inv1);
  }
  if (c4 == 0) {
    if (qr0 < L) a.lse[(int64_t)(ks + qr0) * a.nh + h] = l0 > 0.0f ? (m0 + log2f(l0)) * LN2 : INFINITY;
    if (qr1 < L) a.lse[(int64_t)(ks + qr1) * a.nh + h] = l1 > 0.0f ? (m1 + log2f(l1)) * LN2 : INFINITY;
  }
}

// ------------------------------------------------------------------------------------------------
// backward

// D[t, h] = Σ_d dout[t, h, d] · out[t, h, d] (fp32), one thread per (token, head), 16-byte loads.
template <int DH>
__global__ void flash_bwd_dot_k(const bf16* dout, const bf16* out, float* D, int64_t T, int nh) {
  const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (i >= T * nh) return;
  const int64_t off = i * DH;  // [T, nh, DH] is [T, H]
  float d = 0.0f;
#pragma unroll
  for (int k = 0; k < DH / 8; k++) {
    const uint4 ua = *reinterpret_cast<const uint4*>(dout + off + k * 8), ub = *reinterpret_cast<const uint4*>(out + off + k * 8);
    const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&ua);
    const __nv_bfloat162* y2 = reinterpret_cast<const __nv_bfloat162*>(&ub);
#pragma unroll
    for (int u = 0; u < 4; u++) {
      const float2 p = __bfloat1622float2(x2[u]), q = __bfloat1622float2(y2[u]);
      d += p.x * q.x + p.y * q.y;
    }
  }
  D[i] = d;
}

// single: the CTA holds every key of every sequence (maxSeqlen ≤ BN), so each query's dQ is complete
// here and goes straight into dqkv as bf16 (no fp32 accumulator, no atomics, no finishing pass).
template <int DH, int NW, bool SINGLE, int BMQ = BwdTile<DH, NW>::BM, int MINB = 1>
__global__ void __launch_bounds__(NW * 32, MINB) flash_bwd_k(AttnArgs a, const bf16* dout, bf16* dqkv, float* dq, const float* Dg) {
  using TL = BwdTile<DH, NW, BMQ>;
  constexpr int BN = TL::BN, BM = TL::BM, LD = TL::LD, LDS = TL::LDS, NT = TL::NT;
  // dQ of a BM-query tile is split among the NW warps: RT row tiles of 16, DW columns each.
  constexpr int RT = BM / 16, DW = DH * RT / NW;
  static_assert(DW % 16 == 0, "dQ columns per warp: a multiple of 16");
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Ks = reinterpret_cast<bf16*>(smem);
  bf16* Vs = Ks + BN * LD;
  bf16* Qs = Vs + BN * LD;        // [2 stages][BM][LD]
  bf16* dOs = Qs + 2 * BM * LD;   // [2 stages][BM][LD]
  bf16* dSs = dOs + 2 * BM * LD;  // [BN][LDS]: dSᵀ of the current query tile
  float* qpos = reinterpret_cast<float*>(dSs + BN * LDS);  // [2][BM]
  float* qlse = qpos + 2 * BM;                             // [2][BM] lse·log2 e, +∞ for no row
  float* qD = qlse + 2 * BM;                               // [2][BM]

  const int b = blockIdx.x, h = blockIdx.z;
  const int ks = a.cu[b], L = a.cu[b + 1] - ks, j0 = blockIdx.y * BN;
  if (j0 >= L) return;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c4 = lane & 3;
  const int H = a.nh * DH;
  const int64_t ld = 3LL * H;
  const bf16* qkv = static_cast<const bf16*>(a.qkv);

  auto load_q = [&](int it, int st) {
    const int i0 = it * BM, nq = min(BM, L - i0);
    load_tile<DH, BM, NT>(Qs + st * BM * LD, qkv, ld, ks + i0, h * DH, nq);
    load_tile<DH, BM, NT>(dOs + st * BM * LD, dout, H, ks + i0, h * DH, nq);
    for (int r = threadIdx.x; r < BM; r += NT) {
      const int i = i0 + r;
      const bool ok = i < L;
      const float lse = ok ? a.lse[(int64_t)(ks + i) * a.nh + h] : INFINITY;
      qpos[st * BM + r] = ok ? (float)attn_pos(a, ks + i, i) : 0.0f;
      qlse[st * BM + r] = lse == INFINITY ? INFINITY : lse * LOG2E;
      qD[st * BM + r] = ok ? Dg[(int64_t)(ks + i) * a.nh + h] : 0.0f;
    }
  };
  load_tile<DH, BN, NT>(Ks, qkv, ld, ks + j0, H + h * DH, min(BN, L - j0));
  load_tile<DH, BN, NT>(Vs, qkv, ld, ks + j0, 2 * H + h * DH, min(BN, L - j0));
  load_q(0, 0);
  cp_async_commit();

  // This thread's two keys (rows g and g + 8 of the warp's 16).
  const int kr0 = j0 + warp * 16 + g, kr1 = kr0 + 8;
  const float pk0 = kr0 < L ? (float)attn_pos(a, ks + kr0, kr0) : 0.0f;
  const float pk1 = kr1 < L ? (float)attn_pos(a, ks + kr1, kr1) : 0.0f;
  const float kn0 = kr0 < L && key_ok(a, ks + kr0) ? 0.0f : -INFINITY;
  const float kn1 = kr1 < L && key_ok(a, ks + kr1) ? 0.0f : -INFINITY;
  const float sc2 = a.scale * LOG2E, sl2 = (a.slopes ? a.slopes[h] : 0.0f) * LOG2E;
  const bool drop = a.dropP > 0.0f, linpos = a.positions == nullptr;

  float dk[DH / 8][4], dv[DH / 8][4];
#pragma unroll
  for (int i = 0; i < DH / 8; i++)
#pragma unroll
    for (int e = 0; e < 4; e++) dk[i][e] = dv[i][e] = 0.0f;

  const int nqt = (L + BM - 1) / BM;
  for (int it = 0; it < nqt; it++) {
    const int st = it & 1;
    if (it + 1 < nqt) {
      load_q(it + 1, st ^ 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const bf16* Qt = Qs + st * BM * LD;
    const bf16* dOt = dOs + st * BM * LD;
    const float* qp = qpos + st * BM;
    const float* ql = qlse + st * BM;
    const float* qd = qD + st * BM;

    // Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ for this warp's 16 keys × BM queries.
    float s[BM / 8][4], dp[BM / 8][4];
#pragma unroll
    for (int i = 0; i < BM / 8; i++)
#pragma unroll
      for (int e = 0; e < 4; e++) s[i][e] = dp[i][e] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < DH / 16; kk++) {
      uint32_t ka[4], va[4];
      const int aoff = (warp * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + kk * 16 + (lane >> 4) * 8;
      ldsm_x4(ka, Ks + aoff);
      ldsm_x4(va, Vs + aoff);
#pragma unroll
      for (int np = 0; np < BM / 16; np++) {
        uint32_t qb[4], ob[4];
        const int boff = (np * 16 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8;
        ldsm_x4(qb, Qt + boff);
        ldsm_x4(ob, dOt + boff);
        mma_bf16(s[2 * np], ka, qb[0], qb[1]);
        mma_bf16(s[2 * np + 1], ka, qb[2], qb[3]);
        mma_bf16(dp[2 * np], va, ob[0], ob[1]);
        mma_bf16(dp[2 * np + 1], va, ob[2], ob[3]);
      }
    }

    // P (dropped out: P̃) into s, dS into dp (without the scale, applied once at the end). Off the
    // diagonal (positions = indices) the exponent is one FMA plus a key term and a query term.
    const int side = alibi_side(linpos, it * BM, BM, j0 + warp * 16, 16);
    const float sg = (float)side * sl2;
    const float kt0 = sg * pk0 + kn0, kt1 = sg * pk1 + kn1;
#pragma unroll
    for (int nt = 0; nt < BM / 8; nt++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int col = nt * 8 + 2 * c4 + (e & 1);
        const bool hi = e >= 2;
        const float x = side != 0 ? fmaf(s[nt][e], sc2, -sg * qp[col] - ql[col]) + (hi ? kt1 : kt0)
                                  : s[nt][e] * sc2 - sl2 * fabsf(qp[col] - (hi ? pk1 : pk0)) + (hi ? kn1 : kn0) - ql[col];
        const float p = ex2(x);
        float mf = 1.0f;
        if (drop) mf = drop_keep(a, ks + it * BM + col, h, hi ? kr1 : kr0) ? a.dropInv : 0.0f;
        s[nt][e] = p * mf;
        dp[nt][e] = p * (mf * dp[nt][e] - qd[col]);
      }
    }

    // dV += P̃ᵀ·dO and dK += dSᵀ·Q (the k dimension is the BM queries).
#pragma unroll
    for (int kc = 0; kc < BM / 16; kc++) {
      const uint32_t pa[4] = {pack_bf16(s[2 * kc][0], s[2 * kc][1]), pack_bf16(s[2 * kc][2], s[2 * kc][3]),
                              pack_bf16(s[2 * kc + 1][0], s[2 * kc + 1][1]), pack_bf16(s[2 * kc + 1][2], s[2 * kc + 1][3])};
      const uint32_t da[4] = {pack_bf16(dp[2 * kc][0], dp[2 * kc][1]), pack_bf16(dp[2 * kc][2], dp[2 * kc][3]),
                              pack_bf16(dp[2 * kc + 1][0], dp[2 * kc + 1][1]), pack_bf16(dp[2 * kc + 1][2], dp[2 * kc + 1][3])};
#pragma unroll
      for (int dd = 0; dd < DH / 16; dd++) {
        uint32_t ob[4], qb[4];
        const int toff = (kc * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + dd * 16 + (lane >> 4) * 8;
        ldsm_x4_t(ob, dOt + toff);
        ldsm_x4_t(qb, Qt + toff);
        mma_bf16(dv[2 * dd], pa, ob[0], ob[1]);
        mma_bf16(dv[2 * dd + 1], pa, ob[2], ob[3]);
        mma_bf16(dk[2 * dd], da, qb[0], qb[1]);
        mma_bf16(dk[2 * dd + 1], da, qb[2], qb[3]);
      }
    }

    // dSᵀ to shared memory, then dQ += dS·K for the tile's queries, added to the fp32 accumulator.
#pragma unroll
    for (int nt = 0; nt < BM / 8; nt++) {
      const int col = nt * 8 + 2 * c4;
      *reinterpret_cast<uint32_t*>(dSs + (warp * 16 + g) * LDS + col) = pack_bf16(dp[nt][0], dp[nt][1]);
      *reinterpret_cast<uint32_t*>(dSs + (warp * 16 + g + 8) * LDS + col) = pack_bf16(dp[nt][2], dp[nt][3]);
    }
    __syncthreads();
    {
      const int rt = warp % RT, d0 = (warp / RT) * DW;
      float acc[DW / 8][4];
#pragma unroll
      for (int i = 0; i < DW / 8; i++) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;
#pragma unroll
      for (int kc = 0; kc < BN / 16; kc++) {
        uint32_t sa[4];
        ldsm_x4_t(sa, dSs + (kc * 16 + (lane & 7) + (lane >> 4) * 8) * LDS + rt * 16 + ((lane >> 3) & 1) * 8);
#pragma unroll
        for (int dd = 0; dd < DW / 16; dd++) {
          uint32_t kb[4];
          ldsm_x4_t(kb, Ks + (kc * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + d0 + dd * 16 + (lane >> 4) * 8);
          mma_bf16(acc[2 * dd], sa, kb[0], kb[1]);
          mma_bf16(acc[2 * dd + 1], sa, kb[2], kb[3]);
        }
      }
      const int q0 = it * BM + rt * 16 + g, q1 = q0 + 8;
#pragma unroll
      for (int dt = 0; dt < DW / 8; dt++) {
        const int col = h * DH + d0 + dt * 8 + 2 * c4;
        if (SINGLE) {
          if (q0 < L) *reinterpret_cast<uint32_t*>(dqkv + (int64_t)(ks + q0) * ld + col) = pack_bf16(acc[dt][0] * a.scale, acc[dt][1] * a.scale);
          if (q1 < L) *reinterpret_cast<uint32_t*>(dqkv + (int64_t)(ks + q1) * ld + col) = pack_bf16(acc[dt][2] * a.scale, acc[dt][3] * a.scale);
        } else {
          if (q0 < L) red_add2(dq + (int64_t)(ks + q0) * H + col, acc[dt][0] * a.scale, acc[dt][1] * a.scale);
          if (q1 < L) red_add2(dq + (int64_t)(ks + q1) * H + col, acc[dt][2] * a.scale, acc[dt][3] * a.scale);
        }
      }
    }
    // The next iteration's first barrier orders these reads of dSs and of stage st before any rewrite.
  }

#pragma unroll
  for (int dt = 0; dt < DH / 8; dt++) {
    const int col = h * DH + dt * 8 + 2 * c4;
    if (kr0 < L) {
      bf16* row = dqkv + (int64_t)(ks + kr0) * ld;
      *reinterpret_cast<uint32_t*>(row + H + col) = pack_bf16(dk[dt][0] * a.scale, dk[dt][1] * a.scale);
      *reinterpret_cast<uint32_t*>(row + 2 * H + col) = pack_bf16(dv[dt][0], dv[dt][1]);
    }
    if (kr1 < L) {
      bf16* row = dqkv + (int64_t)(ks + kr1) * ld;
      *reinterpret_cast<uint32_t*>(row + H + col) = pack_bf16(dk[dt][2] * a.scale, dk[dt][3] * a.scale);
      *reinterpret_cast<uint32_t*>(row + 2 * H + col) = pack_bf16(dv[dt][2], dv[dt][3]);
    }
  }
}

// dqkv[:, 0:H] = dq (fp32 → bf16), 8 elements a thread.
__global__ void flash_dq_finish_k(bf16* dqkv, const float* dq, int64_t T, int64_t H) {
  const int64_t n8 = T * H / 8;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n8; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t t = (i * 8) / H, c = (i * 8) % H;
    const float4 x = *reinterpret_cast<const float4*>(dq + i * 8), y = *reinterpret_cast<const float4*>(dq + i * 8 + 4);
    const uint4 v = make_uint4(pack_bf16(x.x, x.y), pack_bf16(x.z, x.w), pack_bf16(y.x, y.y), pack_bf16(y.z, y.w));
    *reinterpret_cast<uint4*>(dqkv + t * 3 * H + c) = v;
  }
}

// ------------------------------------------------------------------------------------------------
// host side

// A shared-memory limit of this GPU, `attr` (one GPU per process: the addon selects device 0).
// MOSAICBERT_SMEM_PER_BLOCK lowers it, so that a large GPU can run the choices a smaller one makes
// (device.sh's ampere stage: the 99 KB of sm_86/89/120).
static size_t smem_limit(cudaDeviceAttr attr) {
  int dev = 0, x = 0;
  CK(cudaGetDevice(&dev));
  CK(cudaDeviceGetAttribute(&x, attr, dev));
  const char* e = getenv("MOSAICBERT_SMEM_PER_BLOCK");
  const long long cap = e ? atoll(e) : 0;
  return cap > 0 && cap < x ? (size_t)cap : (size_t)x;
}

// Shared memory a block may opt in to; and of one SM (the two-CTA backward tile needs room for two blocks).
static size_t smem_optin() {
  static const size_t v = smem_limit(cudaDevAttrMaxSharedMemoryPerBlockOptin);
  return v;
}
static size_t smem_per_sm() {
  static const size_t v = smem_limit(cudaDevAttrMaxSharedMemoryPerMultiprocessor);
  return v;
}

// Warps per CTA of the forward or backward at head dim dh on this GPU (0: the tiles do not fit).
static int warps(int dh, bool bwd) {
  int f, b;
  flash_warps_asked(getenv("MOSAICBERT_FA_WARPS"), f, b);
  return flash_warps(dh, bwd, smem_optin(), bwd ? b : f);
}

bool flash_ok(const AttnArgs& a, bool bwd, const void* dout, const void* dqkv) {
  if (a.dt != DT_BF16 || (a.dh != 32 && a.dh != 64 && a.dh != 128)) return false;
  if (!aligned16(a.qkv) || !aligned16(a.out)) return false;
  if (warps(a.dh, bwd) == 0) return false;
  if (!bwd) return true;
  return a.dtO == DT_BF16 && a.dtDo == DT_BF16 && aligned16(dout) && aligned16(dqkv);
}

// Query (forward) or key (backward) tiles per sequence: the grid's y extent.
static unsigned tiles(int maxSeqlen, int per) { return (unsigned)((maxSeqlen + per - 1) / per); }

template <int DH, int NW> static void fwd(const AttnArgs& a) {
  using TL = FwdTile<DH, NW>;
  static bool init = false;
  if (!init) { CK(cudaFuncSetAttribute(flash_fwd_k<DH, NW>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)TL::smem)); init = true; }
  flash_fwd_k<DH, NW><<<dim3(a.B, tiles(a.maxSeqlen, TL::BM), a.nh), TL::NT, TL::smem, S()>>>(a);
  CKL();
}

template <int NW> static void fwd_dh(const AttnArgs& a) {
  switch (a.dh) {
    case 32: fwd<32, NW>(a); return;
    case 64: fwd<64, NW>(a); return;
    default: fwd<128, NW>(a); return;
  }
}

void flash_fwd(const AttnArgs& a) {
  warps(a.dh, false) == 4 ? fwd_dh<4>(a) : fwd_dh<8>(a);
}

// dQ accumulators [T, H] then D [T, nh].
int64_t flash_bwd_scratch_floats(const AttnArgs& a) { return (int64_t)a.T * a.nh * a.dh + (int64_t)a.T * a.nh; }

template <int DH, int NW, bool SINGLE, int BMQ, int MINB>
static void bwd_launch(const AttnArgs& a, const bf16* dout, bf16* dqkv, float* dq, const float* D) {
  using TL = BwdTile<DH, NW, BMQ>;
  static bool init = false;
  auto k = flash_bwd_k<DH, NW, SINGLE, BMQ, MINB>;
  if (!init) { CK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)TL::smem)); init = true; }
  k<<<dim3(a.B, tiles(a.maxSeqlen, TL::BN), a.nh), TL::NT, TL::smem, S()>>>(a, dout, dqkv, dq, D);
  CKL();
}

template <int DH, int NW, int BMQ, int MINB> static void bwd_run(const AttnArgs& a, const bf16* dout, bf16* dqkv, float* dq, const float* D) {
  const int64_t H = (int64_t)a.nh * DH;
  if (a.maxSeqlen <= BwdTile<DH, NW>::BN) return bwd_launch<DH, NW, true, BMQ, MINB>(a, dout, dqkv, dq, D);
  CK(cudaMemsetAsync(dq, 0, a.T * H * sizeof(float), S()));
  bwd_launch<DH, NW, false, BMQ, MINB>(a, dout, dqkv, dq, D);
  flash_dq_finish_k<<<grid_for(a.T * H / 8, 256), 256, 0, S()>>>(dqkv, dq, a.T, H);
  CKL();
}

template <int DH, int NW> static void bwd(const AttnArgs& a, const bf16* dout, bf16* dqkv, float* scratch) {
  const int64_t H = (int64_t)a.nh * DH;
  float* dq = scratch;
  float* D = scratch + a.T * H;
  const int64_t rows = (int64_t)a.T * a.nh;
  flash_bwd_dot_k<DH><<<(unsigned)((rows + 255) / 256), 256, 0, S()>>>(dout, static_cast<const bf16*>(a.out), D, a.T, a.nh);
  CKL();
  if constexpr (DH == 64 && NW == 8) {
    static const bool two_ctas = flash_bwd_bm(getenv("MOSAICBERT_FA_BWD_BM"), smem_per_sm()) == 32;  // fixed per process
    if (two_ctas) return bwd_run<DH, NW, 32, 2>(a, dout, dqkv, dq, D);
  }
  bwd_run<DH, NW, BwdTile<DH, NW>::BM, 1>(a, dout, dqkv, dq, D);
}

template <int NW> static void bwd_dh(const AttnArgs& a, const bf16* d, bf16* g, float* scratch) {
  switch (a.dh) {
    case 32: bwd<32, NW>(a, d, g, scratch); return;
    case 64: bwd<64, NW>(a, d, g, scratch); return;
    default: bwd<128, NW>(a, d, g, scratch); return;
  }
}

void flash_bwd(const AttnArgs& a, const void* dout, void* dqkv, float* scratch) {
  const bf16* d = static_cast<const bf16*>(dout);
  bf16* g = static_cast<bf16*>(dqkv);
  warps(a.dh, true) == 4 ? bwd_dh<4>(a, d, g, scratch) : bwd_dh<8>(a, d, g, scratch);
}
