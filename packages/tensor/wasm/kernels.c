// WebAssembly SIMD (simd128) kernels of the fast CPU backend (src/fast/). Compiled by build.sh
// into src/fast/kernels.wasm.ts (committed); see wasm/README.md.
//
// Memory is owned by the caller (JS): every function takes pointers into the one shared linear
// memory and uses no globals and no stack (so threads may run on one memory), and scratch space is
// passed in. Float math is f32; bf16 operands are widened when packed.
#include <stdint.h>
#include <wasm_simd128.h>

#ifdef FMA
#define MADD(a, b, c) wasm_f32x4_relaxed_madd(a, b, c)
#else
#define MADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul(a, b), c)
#endif

#ifndef MR
#define MR 6
#endif
#define NR 8
#if MR == 4
#define FOR_ROWS(X) X(0) X(1) X(2) X(3)
#elif MR == 6
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#elif MR == 8
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#endif
#ifndef KC
#define KC 256
#endif
#ifndef UNROLL
#define UNROLL 1
#endif
#ifndef MC
#define MC 72
#endif

typedef float f32;
typedef uint16_t bf16;

static inline f32 bf16_to_f32(bf16 x) {
  union { uint32_t u; f32 f; } v;
  v.u = (uint32_t)x << 16;
  return v.f;
}

// ---- packing ---------------------------------------------------------------------------------
// X[r, k] = src[r·rs + k·ks] (f32 or bf16 when `half`), r < rows, k < kc, packed into panels of P
// rows interleaved along k: dst[(r/P)·P·kc + k·P + r%P], the last panel zero-padded.

static void pack(const void* src, int half, int rs, int ks, int rows, int kc, int P, f32* dst) {
  for (int r0 = 0; r0 < rows; r0 += P) {
    int n = rows - r0 < P ? rows - r0 : P;
    for (int k = 0; k < kc; k++) {
      f32* d = dst + k * P;
      for (int r = 0; r < n; r++) {
        long i = (long)(r0 + r) * rs + (long)k * ks;
        d[r] = half ? bf16_to_f32(((const bf16*)src)[i]) : ((const f32*)src)[i];
      }
      for (int r = n; r < P; r++) d[r] = 0.0f;
    }
    dst += P * kc;
  }
}

// Specialisation for unit k-stride... and for unit r-stride (rows contiguous: B not transposed,
// A transposed): copies P contiguous floats per k.
static void pack_rows_contig(const f32* src, int ks, int rows, int kc, int P, f32* dst) {
  for (int r0 = 0; r0 < rows; r0 += P) {
    int n = rows - r0 < P ? rows - r0 : P;
    if (n == P && P == 8) {
      for (int k = 0; k < kc; k++) {
        const f32* s = src + (long)k * ks + r0;
        wasm_v128_store(dst + k * 8, wasm_v128_load(s));
        wasm_v128_store(dst + k * 8 + 4, wasm_v128_load(s + 4));
      }
    } else {
      for (int k = 0; k < kc; k++) {
        const f32* s = src + (long)k * ks + r0;
        f32* d = dst + k * P;
        for (int r = 0; r < n; r++) d[r] = s[r];
        for (int r = n; r < P; r++) d[r] = 0.0f;
      }
    }
    dst += P * kc;
  }
}

// Rows contiguous along k (ks == 1: A not transposed, B transposed): 4×4 blocks transposed in
// registers, remaining rows and k scalar.
static void pack_k_contig(const f32* src, int rs, int rows, int kc, int P, f32* dst) {
  for (int r0 = 0; r0 < rows; r0 += P) {
    int n = rows - r0 < P ? rows - r0 : P;
    int r4 = n & ~3;
    int k4 = kc & ~3;
    for (int rg = 0; rg < r4; rg += 4) {
      const f32* s0 = src + (long)(r0 + rg) * rs;
      const f32* s1 = s0 + rs;
      const f32* s2 = s1 + rs;
      const f32* s3 = s2 + rs;
      for (int k = 0; k < k4; k += 4) {
        v128_t a = wasm_v128_load(s0 + k), b = wasm_v128_load(s1 + k);
        v128_t c = wasm_v128_load(s2 + k), d = wasm_v128_load(s3 + k);
        v128_t ab0 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), ab1 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
        v128_t cd0 = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), cd1 = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);
        f32* o = dst + k * P + rg;
        wasm_v128_store(o, wasm_i64x2_shuffle(ab0, cd0, 0, 2));
        wasm_v128_store(o + P, wasm_i64x2_shuffle(ab0, cd0, 1, 3));
        wasm_v128_store(o + 2 * P, wasm_i64x2_shuffle(ab1, cd1, 0, 2));
        wasm_v128_store(o + 3 * P, wasm_i64x2_shuffle(ab1, cd1, 1, 3));
      }
      for (int k = k4; k < kc; k++) {
        f32* o = dst + k * P + rg;
        o[0] = s0[k]; o[1] = s1[k]; o[2] = s2[k]; o[3] = s3[k];
      }
    }
    for (int r = r4; r < P; r++) {
      f32* o = dst + r;
      if (r < n) {
        const f32* sr = src + (long)(r0 + r) * rs;
        for (int k = 0; k < kc; k++) o[k * P] = sr[k];
      } else {
        for (int k = 0; k < kc; k++) o[k * P] = 0.0f;
      }
    }
    dst += P * kc;
  }
}

static void pack_any(const void* src, int half, int rs, int ks, int rows, int kc, int P, f32* dst) {
  if (!half && rs == 1) pack_rows_contig((const f32*)src, ks, rows, kc, P, dst);
  else if (!half && ks == 1) pack_k_contig((const f32*)src, rs, rows, kc, P, dst);
  else pack(src, half, rs, ks, rows, kc, P, dst);
}

// ---- micro-kernel ----------------------------------------------------------------------------
// acc[MR×NR] = Σ_k a[k·MR + i]·b[k·NR + j]; then C tile (ldc) ← (first ? 0 : C) + acc, and when
// `last`: C ← alpha·C + bias[j] + old[i, j] (bias / old may be 0). Partial tiles (mr < MR or
// nr < NR) go through `tile` (MR×NR scratch).

typedef struct {
  f32 alpha;
  const f32* bias;  // [N] or 0
  const f32* old;   // [M, ldc] or 0 (added after scaling: accumulate)
} Epilogue;

#define ROW(i)                                                        \
  v128_t c##i##0 = wasm_f32x4_splat(0.0f), c##i##1 = wasm_f32x4_splat(0.0f);

#define STEP(i)                                                       \
  {                                                                   \
    v128_t ai = wasm_v128_load32_splat(a + i);                        \
    c##i##0 = MADD(ai, b0, c##i##0);                                  \
    c##i##1 = MADD(ai, b1, c##i##1);                                  \
  }

static void merge_row(f32* crow, v128_t x0, v128_t x1, int first, int last, f32 alpha, const f32* bias, const f32* old) {
  if (!first) {
    x0 = wasm_f32x4_add(x0, wasm_v128_load(crow));
    x1 = wasm_f32x4_add(x1, wasm_v128_load(crow + 4));
  }
  if (last) {
    v128_t al = wasm_f32x4_splat(alpha);
    x0 = wasm_f32x4_mul(x0, al);
    x1 = wasm_f32x4_mul(x1, al);
    if (bias) {
      x0 = wasm_f32x4_add(x0, wasm_v128_load(bias));
      x1 = wasm_f32x4_add(x1, wasm_v128_load(bias + 4));
    }
    if (old) {
      x0 = wasm_f32x4_add(x0, wasm_v128_load(old));
      x1 = wasm_f32x4_add(x1, wasm_v128_load(old + 4));
    }
  }
  wasm_v128_store(crow, x0);
  wasm_v128_store(crow + 4, x1);
}

// V8 (Node 20) unrolls small innermost wasm loops, which hoists the micro-kernel's loads and spills
// its accumulators (~25% slower); --no-wasm-loop-unrolling cannot be set once the process runs.
// A call in the loop, behind a test that never passes (address 16 holds 0: the module keeps no data),
// makes V8 leave the loop as written, for one compare per k step.
__attribute__((noinline)) static void never_called(void) { *(volatile int*)32 = 1; }
#define NO_V8_UNROLL(k, guard) \
  if ((k) + 1 == (guard)) never_called();

static void kernel(int kc, const f32* a, const f32* b, f32* c, int ldc, int mr, int nr, int first, int last,
                   const Epilogue* ep, const f32* bias, const f32* old, f32* tile) {
  FOR_ROWS(ROW)
  int guard = *(volatile const int*)16;
#pragma clang loop unroll_count(UNROLL)
  for (int k = 0; k < kc; k++) {
    NO_V8_UNROLL(k, guard)
    v128_t b0 = wasm_v128_load(b);
    v128_t b1 = wasm_v128_load(b + 4);
    FOR_ROWS(STEP)
    a += MR;
    b += NR;
  }
  if (mr == MR && nr == NR) {
#define MERGE(i) merge_row(c + i * ldc, c##i##0, c##i##1, first, last, ep->alpha, bias, old ? old + i * ldc : 0);
    FOR_ROWS(MERGE)
    return;
  }
#define TILE(i) wasm_v128_store(tile + i * NR, c##i##0); wasm_v128_store(tile + i * NR + 4, c##i##1);
  FOR_ROWS(TILE)
  for (int i = 0; i < mr; i++) {
    for (int j = 0; j < nr; j++) {
      f32 x = tile[i * NR + j];
      if (!first) x += c[i * ldc + j];
      if (last) {
        x *= ep->alpha;
        if (bias) x += bias[j];
        if (old) x += old[i * ldc + j];
      }
      c[i * ldc + j] = x;
    }
  }
}

// ---- GEMM ------------------------------------------------------------------------------------
// C[M, N] (row stride ldc) = alpha·op(A)·op(B) + bias + old, with op(A)[i, k] = A[i·ars + k·aks]
// and op(B)[k, j] = B[k·bks + j·bcs] (f32, or bf16 when a_half / b_half); with `into`, C += op(A)·op(B)
// instead (alpha 1, no bias or old: C's own values are added from the first k block on). Scratch:
// work must hold MC·KC + KC·(N rounded up to NR) + MR·NR floats. Threads each call gemm on their own
// slice of C.
__attribute__((export_name("gemm")))
void gemm(const void* A, int a_half, int ars, int aks, const void* B, int b_half, int bks, int bcs, f32* C, int ldc,
          int M, int N, int K, f32 alpha, const f32* bias, const f32* old, f32* work, int into) {
  Epilogue ep = {alpha, bias, old};
  int Np = (N + NR - 1) / NR * NR;
  f32* pa = work;
  f32* pb = work + MC * KC;
  f32* tile = pb + (long)KC * Np;
  int esa = a_half ? 2 : 4, esb = b_half ? 2 : 4;
  if (K == 0) {
    if (into) return;
    // Empty sum: C = bias + old (alpha·0).
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) C[(long)i * ldc + j] = (bias ? bias[j] : 0.0f) + (old ? old[(long)i * ldc + j] : 0.0f);
    return;
  }
  for (int p0 = 0; p0 < K; p0 += KC) {
    int kc = K - p0 < KC ? K - p0 : KC;
    int first = p0 == 0 && !into, last = p0 + kc >= K;
    // B block [kc, N] → panels of NR columns (rows of the packed form are B's columns).
    pack_any((const char*)B + (long)p0 * bks * esb, b_half, bcs, bks, N, kc, NR, pb);
    for (int i0 = 0; i0 < M; i0 += MC) {
      int mc = M - i0 < MC ? M - i0 : MC;
      pack_any((const char*)A + ((long)i0 * ars + (long)p0 * aks) * esa, a_half, ars, aks, mc, kc, MR, pa);
      for (int j0 = 0; j0 < N; j0 += NR) {
        int nr = N - j0 < NR ? N - j0 : NR;
        const f32* bpan = pb + (long)j0 * kc;
        const f32* bj = bias ? bias + j0 : 0;
        for (int ii = 0; ii < mc; ii += MR) {
          int mr = mc - ii < MR ? mc - ii : MR;
          long crow = (long)(i0 + ii) * ldc + j0;
          kernel(kc, pa + (long)ii * kc, bpan, C + crow, ldc, mr, nr, first, last, &ep, bj, old ? old + crow : 0, tile);
        }
      }
    }
  }
}

/** Floats of scratch that gemm needs for an N-column slice. */
__attribute__((export_name("gemm_work_floats")))
int gemm_work_floats(int N) {
  return MC * KC + KC * ((N + NR - 1) / NR * NR) + MR * NR;
}

// ---- exp -------------------------------------------------------------------------------------
// exp(x) for 4 lanes (Cephes expf: range reduction by ln 2 in two parts, degree-6 polynomial;
// relative error ~1e-7); 0 below -87.3 (where float32 underflows), so exp(-inf) = 0.

static inline v128_t exp4(v128_t x) {
  const v128_t lo = wasm_f32x4_splat(-87.33f);
  v128_t under = wasm_f32x4_lt(x, lo);
  x = wasm_f32x4_max(wasm_f32x4_min(x, wasm_f32x4_splat(88.3f)), lo);
  v128_t n = wasm_f32x4_floor(wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), wasm_f32x4_splat(0.5f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t y = wasm_f32x4_splat(1.9875691500e-4f);
  y = wasm_f32x4_add(wasm_f32x4_mul(y, r), wasm_f32x4_splat(1.3981999507e-3f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, r), wasm_f32x4_splat(8.3334519073e-3f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, r), wasm_f32x4_splat(4.1665795894e-2f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, r), wasm_f32x4_splat(1.6666665459e-1f));
  y = wasm_f32x4_add(wasm_f32x4_mul(y, r), wasm_f32x4_splat(5.0000001201e-1f));
  y = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(y, r), r), r), wasm_f32x4_splat(1.0f));
  v128_t pow2 = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  y = wasm_f32x4_mul(y, pow2);
  return wasm_v128_andnot(y, under);
}

static inline f32 exp1(f32 x) { return wasm_f32x4_extract_lane(exp4(wasm_f32x4_splat(x)), 0); }

static inline f32 hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

static inline f32 hmax(v128_t v) {
  f32 a = wasm_f32x4_extract_lane(v, 0), b = wasm_f32x4_extract_lane(v, 1);
  f32 c = wasm_f32x4_extract_lane(v, 2), d = wasm_f32x4_extract_lane(v, 3);
  a = a > b ? a : b;
  c = c > d ? c : d;
  return a > c ? a : c;
}

static inline f32 dot(const f32* x, const f32* y, int n) {
  v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
  int d = 0;
  for (; d + 8 <= n; d += 8) {
    a0 = MADD(wasm_v128_load(x + d), wasm_v128_load(y + d), a0);
    a1 = MADD(wasm_v128_load(x + d + 4), wasm_v128_load(y + d + 4), a1);
  }
  f32 s = hsum(wasm_f32x4_add(a0, a1));
  for (; d < n; d++) s += x[d] * y[d];
  return s;
}

/** y[0..n) += a·x[0..n) */
static inline void axpy(f32* y, f32 a, const f32* x, int n) {
  v128_t av = wasm_f32x4_splat(a);
  int d = 0;
  for (; d + 4 <= n; d += 4) wasm_v128_store(y + d, MADD(av, wasm_v128_load(x + d), wasm_v128_load(y + d)));
  for (; d < n; d++) y[d] += a * x[d];
}

// ---- softmax cross-entropy -------------------------------------------------------------------
// Rows [r0, r1) of logits x [n, C]: stats[3·i] = row max, stats[3·i+1] = Σ exp(x − max),
// stats[3·i+2] = x[target] (the loss is max + log(sum) − x[target], finished by the caller).
// With grad (may equal x): grad row = softmax·gs, minus gs at the target; ignored rows are zeroed.
__attribute__((export_name("cross_entropy")))
void cross_entropy(const f32* x, const int* targets, int r0, int r1, int C, int ignore, f32 gs, f32* grad, f32* stats) {
  for (int i = r0; i < r1; i++) {
    const f32* row = x + (long)i * C;
    f32* g = grad ? grad + (long)i * C : 0;
    int t = targets[i];
    if (t == ignore) {
      if (g) for (int j = 0; j < C; j++) g[j] = 0.0f;
      stats[3 * i] = 0.0f; stats[3 * i + 1] = 1.0f; stats[3 * i + 2] = 0.0f;
      continue;
    }
    v128_t mv = wasm_f32x4_splat(-__builtin_inff());
    int j = 0;
    for (; j + 4 <= C; j += 4) mv = wasm_f32x4_max(mv, wasm_v128_load(row + j));
    f32 mx = hmax(mv);
    for (; j < C; j++) mx = row[j] > mx ? row[j] : mx;
    f32 target = row[t];
    v128_t m4 = wasm_f32x4_splat(mx), s0 = wasm_f32x4_splat(0.0f), s1 = s0;
    j = 0;
    if (g) {
      for (; j + 8 <= C; j += 8) {
        v128_t e0 = exp4(wasm_f32x4_sub(wasm_v128_load(row + j), m4));
        v128_t e1 = exp4(wasm_f32x4_sub(wasm_v128_load(row + j + 4), m4));
        wasm_v128_store(g + j, e0);
        wasm_v128_store(g + j + 4, e1);
        s0 = wasm_f32x4_add(s0, e0);
        s1 = wasm_f32x4_add(s1, e1);
      }
    } else {
      for (; j + 8 <= C; j += 8) {
        s0 = wasm_f32x4_add(s0, exp4(wasm_f32x4_sub(wasm_v128_load(row + j), m4)));
        s1 = wasm_f32x4_add(s1, exp4(wasm_f32x4_sub(wasm_v128_load(row + j + 4), m4)));
      }
    }
    f32 sum = hsum(wasm_f32x4_add(s0, s1));
    for (; j < C; j++) {
      f32 e = exp1(row[j] - mx);
      if (g) g[j] = e;
      sum += e;
    }
    stats[3 * i] = mx; stats[3 * i + 1] = sum; stats[3 * i + 2] = target;
    if (g) {
      f32 k = gs / sum;
      v128_t k4 = wasm_f32x4_splat(k);
      j = 0;
      for (; j + 4 <= C; j += 4) wasm_v128_store(g + j, wasm_f32x4_mul(wasm_v128_load(g + j), k4));
      for (; j < C; j++) g[j] *= k;
      g[t] -= gs;
    }
  }
}

// ---- column sums -----------------------------------------------------------------------------
// out[j] = Σ_r x[r, j] for columns [c0, c1) of x [n, m].
__attribute__((export_name("sum_rows")))
void sum_rows(const f32* x, int n, int m, int c0, int c1, f32* out) {
  int j = c0;
  for (; j + 4 <= c1; j += 4) {
    v128_t s = wasm_f32x4_splat(0.0f);
    for (int r = 0; r < n; r++) s = wasm_f32x4_add(s, wasm_v128_load(x + (long)r * m + j));
    wasm_v128_store(out + j, s);
  }
  for (; j < c1; j++) {
    f32 s = 0.0f;
    for (int r = 0; r < n; r++) s += x[(long)r * m + j];
    out[j] = s;
  }
}

// ---- attention -------------------------------------------------------------------------------
// Unpadded ALiBi attention over qkv [T, 3H] (see backend.ts AttentionArgs), no dropout. Work items
// are (sequence b, head h) pairs p = b·nh + h in [p0, p1). pos / kmask may be 0.

typedef struct {
  const f32* qkv;
  const int* cu;
  int nh, dh, H;
  const f32* slopes;
  const int* pos;
  const int* kmask;
  f32 scale;
} Attn;

/** Scores of query qi against keys ks..ks+len−1 into s; returns the max (−inf if none valid). */
static f32 attn_scores(const Attn* a, int qi, int ks, int len, int h, f32* s) {
  int C = 3 * a->H;
  const f32* q = a->qkv + (long)qi * C + h * a->dh;
  f32 slope = a->slopes[h];
  int pq = a->pos ? a->pos[qi] : qi - ks;
  f32 mx = -__builtin_inff();
  for (int j = 0; j < len; j++) {
    int kr = ks + j;
    if (a->kmask && a->kmask[kr] == 0) {
      s[j] = -__builtin_inff();
      continue;
    }
    int pk = a->pos ? a->pos[kr] : j;
    int dist = pq > pk ? pq - pk : pk - pq;
    f32 v = a->scale * dot(q, a->qkv + (long)kr * C + a->H + h * a->dh, a->dh) - slope * (f32)dist;
    s[j] = v;
    mx = v > mx ? v : mx;
  }
  return mx;
}

// stats[2·(qi·nh + h)] = row max, [+1] = Σ exp (lse = max + log(sum), finished by the caller;
// max = −inf for a query without a valid key). s: maxSeqlen floats of scratch.
__attribute__((export_name("attention_fwd")))
void attention_fwd(const f32* qkv, const int* cu, int nh, int dh, int H, const f32* slopes, const int* pos, const int* kmask,
                   f32 scale, int p0, int p1, f32* out, f32* stats, f32* s) {
  Attn a = {qkv, cu, nh, dh, H, slopes, pos, kmask, scale};
  int C = 3 * H;
  for (int p = p0; p < p1; p++) {
    int b = p / nh, h = p % nh;
    int ks = cu[b], len = cu[b + 1] - ks;
    for (int i = 0; i < len; i++) {
      int qi = ks + i;
      f32 mx = attn_scores(&a, qi, ks, len, h, s);
      f32* o = out + (long)qi * H + h * dh;
      for (int d = 0; d < dh; d++) o[d] = 0.0f;
      stats[2 * (qi * nh + h)] = mx;
      if (mx == -__builtin_inff()) {
        stats[2 * (qi * nh + h) + 1] = 0.0f;
        continue;
      }
      v128_t m4 = wasm_f32x4_splat(mx), s4 = wasm_f32x4_splat(0.0f);
      int j = 0;
      for (; j + 4 <= len; j += 4) {
        v128_t e = exp4(wasm_f32x4_sub(wasm_v128_load(s + j), m4));
        wasm_v128_store(s + j, e);
        s4 = wasm_f32x4_add(s4, e);
      }
      f32 sum = hsum(s4);
      for (; j < len; j++) {
        s[j] = exp1(s[j] - mx);
        sum += s[j];
      }
      f32 inv = 1.0f / sum;
      for (j = 0; j < len; j++) {
        f32 pj = s[j] * inv;
        if (pj != 0.0f) axpy(o, pj, qkv + (long)(ks + j) * C + 2 * H + h * dh, dh);
      }
      stats[2 * (qi * nh + h) + 1] = sum;
    }
  }
}

// dqkv [T, 3H] (only the rows/columns of the work items are written, zeroed first).
__attribute__((export_name("attention_bwd")))
void attention_bwd(const f32* qkv, const int* cu, int nh, int dh, int H, const f32* slopes, const int* pos, const int* kmask,
                   f32 scale, int p0, int p1, const f32* dout, const f32* out, const f32* lse, f32* dqkv, f32* s) {
  Attn a = {qkv, cu, nh, dh, H, slopes, pos, kmask, scale};
  int C = 3 * H;
  for (int p = p0; p < p1; p++) {
    int b = p / nh, h = p % nh;
    int ks = cu[b], len = cu[b + 1] - ks;
    int qo = h * dh, ko = H + h * dh, vo = 2 * H + h * dh;
    for (int r = ks; r < ks + len; r++) {
      f32* g = dqkv + (long)r * C;
      for (int d = 0; d < dh; d++) g[qo + d] = g[ko + d] = g[vo + d] = 0.0f;
    }
    for (int i = 0; i < len; i++) {
      int qi = ks + i;
      f32 l = lse[qi * nh + h];
      if (l == __builtin_inff()) continue;
      attn_scores(&a, qi, ks, len, h, s);
      const f32* go = dout + (long)qi * H + h * dh;
      f32 D = dot(go, out + (long)qi * H + h * dh, dh);
      const f32* q = qkv + (long)qi * C + qo;
      f32* dq = dqkv + (long)qi * C + qo;
      v128_t l4 = wasm_f32x4_splat(l);
      int j = 0;
      for (; j + 4 <= len; j += 4) wasm_v128_store(s + j, exp4(wasm_f32x4_sub(wasm_v128_load(s + j), l4)));
      for (; j < len; j++) s[j] = exp1(s[j] - l);
      for (j = 0; j < len; j++) {
        f32 pj = s[j];
        if (pj == 0.0f) continue;
        const f32* kr = qkv + (long)(ks + j) * C;
        f32 dpv = dot(go, kr + vo, dh);
        f32 dss = scale * pj * (dpv - D);
        f32* gk = dqkv + (long)(ks + j) * C;
        axpy(dq, dss, kr + ko, dh);
        axpy(gk + ko, dss, q, dh);
        axpy(gk + vo, pj, go, dh);
      }
    }
  }
}

// ---- optimizer -------------------------------------------------------------------------------
// A list of float32 tensors as a table of entries; a thread takes elements [e0, e1) of their
// concatenation. Arithmetic in doubles, operation for operation as the reference (cpu/optim.ts),
// so the results are the reference's bit for bit.

typedef struct {
  f32* p;        // param (or the tensor whose squares are summed)
  const f32* g;  // grad
  f32* m;
  f32* v;
  int n;
} OptEntry;

// Decoupled AdamW (see cpu/optim.ts): step_size = lr / (1 − β1^t), sqrt_bc2 = √(1 − β2^t),
// keep = 1 − decay, scale = the gradient multiplier.
__attribute__((export_name("adamw")))
void adamw(const OptEntry* t, int count, int e0, int e1, double scale, double b1, double b2, double step_size,
           double sqrt_bc2, double eps, double keep) {
  int base = 0;
  for (int k = 0; k < count && base < e1; k++) {
    int n = t[k].n;
    int j0 = e0 > base ? e0 - base : 0;
    int j1 = e1 - base < n ? e1 - base : n;
    f32* p = t[k].p;
    const f32* g = t[k].g;
    f32* m = t[k].m;
    f32* v = t[k].v;
    int j = j0;
    // Two elements at a time in f64x2: the same IEEE operations per lane as the scalar loop below.
    v128_t vs = wasm_f64x2_splat(scale), vb1 = wasm_f64x2_splat(b1), vb2 = wasm_f64x2_splat(b2);
    v128_t vc1 = wasm_f64x2_splat(1.0 - b1), vc2 = wasm_f64x2_splat(1.0 - b2), vss = wasm_f64x2_splat(step_size);
    v128_t vbc = wasm_f64x2_splat(sqrt_bc2), veps = wasm_f64x2_splat(eps), vkeep = wasm_f64x2_splat(keep);
    for (; j + 2 <= j1; j += 2) {
      v128_t gj = wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(g + j)), vs);
      v128_t mj = wasm_f64x2_add(wasm_f64x2_mul(vb1, wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(m + j))), wasm_f64x2_mul(vc1, gj));
      v128_t vj = wasm_f64x2_add(wasm_f64x2_mul(vb2, wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(v + j))), wasm_f64x2_mul(wasm_f64x2_mul(vc2, gj), gj));
      v128_t m32 = wasm_f32x4_demote_f64x2_zero(mj), v32 = wasm_f32x4_demote_f64x2_zero(vj);
      wasm_v128_store64_lane(m + j, m32, 0);
      wasm_v128_store64_lane(v + j, v32, 0);
      v128_t pj = wasm_f64x2_promote_low_f32x4(wasm_f32x4_demote_f64x2_zero(
          wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(p + j)), vkeep)));
      v128_t den = wasm_f64x2_add(wasm_f64x2_div(wasm_f64x2_sqrt(wasm_f64x2_promote_low_f32x4(v32)), vbc), veps);
      v128_t upd = wasm_f64x2_div(wasm_f64x2_mul(vss, wasm_f64x2_promote_low_f32x4(m32)), den);
      wasm_v128_store64_lane(p + j, wasm_f32x4_demote_f64x2_zero(wasm_f64x2_sub(pj, upd)), 0);
    }
    for (; j < j1; j++) {
      double gj = (double)g[j] * scale;
      double mj = b1 * (double)m[j] + (1.0 - b1) * gj;
      double vj = b2 * (double)v[j] + (1.0 - b2) * gj * gj;
      f32 m32 = (f32)mj, v32 = (f32)vj;
      m[j] = m32;
      v[j] = v32;
      double pj = (double)(f32)((double)p[j] * keep);
      p[j] = (f32)(pj - (step_size * (double)m32) / (__builtin_sqrt((double)v32) / sqrt_bc2 + eps));
    }
    base += n;
  }
}

// *out = Σ x² over elements [e0, e1) of the tensors' concatenation (in doubles).
__attribute__((export_name("sum_squares")))
void sum_squares(const OptEntry* t, int count, int e0, int e1, double* out) {
  int base = 0;
  double s0 = 0.0, s1 = 0.0;
  for (int k = 0; k < count && base < e1; k++) {
    int n = t[k].n;
    int j0 = e0 > base ? e0 - base : 0;
    int j1 = e1 - base < n ? e1 - base : n;
    const f32* x = t[k].p;
    int j = j0;
    for (; j + 2 <= j1; j += 2) {
      double a = x[j], b = x[j + 1];
      s0 += a * a;
      s1 += b * b;
    }
    for (; j < j1; j++) s0 += (double)x[j] * x[j];
    base += n;
  }
  *out = s0 + s1;
}

// ---- GeGLU -----------------------------------------------------------------------------------
// gelu(u) = u·Φ(u) = ½u(1 + erf(u/√2)), the exact (erf) GELU; erf by Abramowitz & Stegun 7.1.26
// (absolute error below 1.5e-7), whose e^(−x²) is also the e^(−u²/2) of the derivative
// gelu'(u) = Φ(u) + u·φ(u).

typedef struct {
  v128_t cdf;  // Φ(u)
  v128_t pdf;  // φ(u)
} Gauss;

static inline Gauss gauss4(v128_t u) {
  v128_t x = wasm_f32x4_mul(u, wasm_f32x4_splat(0.70710678118654752f));
  v128_t ax = wasm_f32x4_abs(x);
  v128_t t = wasm_f32x4_div(wasm_f32x4_splat(1.0f), wasm_f32x4_add(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(ax, wasm_f32x4_splat(0.3275911f))));
  v128_t p = wasm_f32x4_splat(1.061405429f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(-1.453152027f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(1.421413741f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(-0.284496736f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, t), wasm_f32x4_splat(0.254829592f));
  p = wasm_f32x4_mul(p, t);
  v128_t e = exp4(wasm_f32x4_neg(wasm_f32x4_mul(x, x)));
  v128_t erfa = wasm_f32x4_sub(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(p, e));  // erf(|x|)
  // erf(x) = sign(x)·erf(|x|): copy x's sign bit.
  v128_t sign = wasm_v128_and(x, wasm_i32x4_splat((int)0x80000000));
  v128_t erfx = wasm_v128_or(erfa, sign);
  Gauss g;
  g.cdf = wasm_f32x4_mul(wasm_f32x4_splat(0.5f), wasm_f32x4_add(wasm_f32x4_splat(1.0f), erfx));
  g.pdf = wasm_f32x4_mul(e, wasm_f32x4_splat(0.39894228040143268f));
  return g;
}

static inline f32 lane0(v128_t v) { return wasm_f32x4_extract_lane(v, 0); }

// Rows [r0, r1) of g [n, 2·inner] → h [n, inner]: h = gelu(g[:, :inner]) ⊙ g[:, inner:].
__attribute__((export_name("geglu_fwd")))
void geglu_fwd(const f32* g, int inner, int r0, int r1, f32* h) {
  for (int r = r0; r < r1; r++) {
    const f32* u = g + (long)r * 2 * inner;
    const f32* v = u + inner;
    f32* o = h + (long)r * inner;
    int j = 0;
    for (; j + 4 <= inner; j += 4) {
      v128_t uj = wasm_v128_load(u + j);
      Gauss q = gauss4(uj);
      wasm_v128_store(o + j, wasm_f32x4_mul(wasm_f32x4_mul(uj, q.cdf), wasm_v128_load(v + j)));
    }
    for (; j < inner; j++) {
      Gauss q = gauss4(wasm_f32x4_splat(u[j]));
      o[j] = u[j] * lane0(q.cdf) * v[j];
    }
  }
}

// Rows [r0, r1): dg[:, :inner] = dh ⊙ v ⊙ gelu'(u), dg[:, inner:] = dh ⊙ gelu(u).
__attribute__((export_name("geglu_bwd")))
void geglu_bwd(const f32* g, const f32* dh, int inner, int r0, int r1, f32* dg) {
  for (int r = r0; r < r1; r++) {
    const f32* u = g + (long)r * 2 * inner;
    const f32* v = u + inner;
    const f32* d = dh + (long)r * inner;
    f32* du = dg + (long)r * 2 * inner;
    f32* dv = du + inner;
    int j = 0;
    for (; j + 4 <= inner; j += 4) {
      v128_t uj = wasm_v128_load(u + j), dj = wasm_v128_load(d + j);
      Gauss q = gauss4(uj);
      v128_t grad = wasm_f32x4_add(q.cdf, wasm_f32x4_mul(uj, q.pdf));
      wasm_v128_store(du + j, wasm_f32x4_mul(wasm_f32x4_mul(dj, wasm_v128_load(v + j)), grad));
      wasm_v128_store(dv + j, wasm_f32x4_mul(dj, wasm_f32x4_mul(uj, q.cdf)));
    }
    for (; j < inner; j++) {
      Gauss q = gauss4(wasm_f32x4_splat(u[j]));
      f32 cdf = lane0(q.cdf), pdf = lane0(q.pdf);
      du[j] = d[j] * v[j] * (cdf + u[j] * pdf);
      dv[j] = d[j] * (u[j] * cdf);
    }
  }
}
