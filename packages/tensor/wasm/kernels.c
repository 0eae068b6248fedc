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

static void pack_any(const void* src, int half, int rs, int ks, int rows, int kc, int P, f32* dst) {
  if (!half && rs == 1) pack_rows_contig((const f32*)src, ks, rows, kc, P, dst);
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

static void kernel(int kc, const f32* a, const f32* b, f32* c, int ldc, int mr, int nr, int first, int last,
                   const Epilogue* ep, const f32* bias, const f32* old, f32* tile) {
  FOR_ROWS(ROW)
#pragma clang loop unroll_count(UNROLL)
  for (int k = 0; k < kc; k++) {
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
// and op(B)[k, j] = B[k·bks + j·bcs] (f32, or bf16 when a_half / b_half). Scratch: work must hold
// MC·KC + KC·(N rounded up to NR) + MR·NR floats. Threads each call gemm on their own slice of C.
__attribute__((export_name("gemm")))
void gemm(const void* A, int a_half, int ars, int aks, const void* B, int b_half, int bks, int bcs, f32* C, int ldc,
          int M, int N, int K, f32 alpha, const f32* bias, const f32* old, f32* work) {
  Epilogue ep = {alpha, bias, old};
  int Np = (N + NR - 1) / NR * NR;
  f32* pa = work;
  f32* pb = work + MC * KC;
  f32* tile = pb + (long)KC * Np;
  int esa = a_half ? 2 : 4, esb = b_half ? 2 : 4;
  if (K == 0) {
    // Empty sum: C = bias + old (alpha·0).
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) C[(long)i * ldc + j] = (bias ? bias[j] : 0.0f) + (old ? old[(long)i * ldc + j] : 0.0f);
    return;
  }
  for (int p0 = 0; p0 < K; p0 += KC) {
    int kc = K - p0 < KC ? K - p0 : KC;
    int first = p0 == 0, last = p0 + kc >= K;
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
