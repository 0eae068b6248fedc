// Optional native f32 GEMM for the fast CPU backend (src/fast/native.ts): C = alpha·op(A)·op(B) (+ C), row-major,
// with AVX-512 (or AVX2 + FMA) micro-kernels chosen at run time, B packed in panels per k block, A in row panels,
// the columns of C split over threads (pthreads). WebAssembly SIMD is 128 bits wide; this path exists because
// the CPUs it runs on have 256- or 512-bit FMAs. Built by scripts/build-native.mjs when a C compiler is present;
// every result is checked against the reference backend (fast/native.test.ts, the fast conformance suite).
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

#define KC 256
#define MAX_THREADS 64

typedef struct {
  const float* a; const float* b; float* c; const float* bias;
  int64_t M, N, K; int transA, transB; float alpha; int accumulate;
  int64_t n0, n1;  // this thread's columns of C
  int isa;         // 2: AVX-512, 1: AVX2 + FMA
} Job;

static inline float at_a(const Job* j, int64_t m, int64_t k) { return j->transA ? j->a[k * j->M + m] : j->a[m * j->K + k]; }
static inline float at_b(const Job* j, int64_t k, int64_t n) { return j->transB ? j->b[n * j->K + k] : j->b[k * j->N + n]; }

// Packs B[k0:k0+kc, n0:n0+nr] as kc rows of NR floats (zero-padded past the last column).
static void pack_b(const Job* j, float* bp, int64_t k0, int64_t kc, int64_t n0, int64_t nr, int NR) {
  for (int64_t k = 0; k < kc; k++) {
    float* row = bp + k * NR;
    if (!j->transB && nr == NR) memcpy(row, j->b + (k0 + k) * j->N + n0, sizeof(float) * NR);
    else {
      for (int64_t n = 0; n < nr; n++) row[n] = at_b(j, k0 + k, n0 + n);
      for (int64_t n = nr; n < NR; n++) row[n] = 0.0f;
    }
  }
}
// Packs A[m0:m0+mr, k0:k0+kc] as kc columns of MR floats (zero-padded past the last row).
// alpha is applied here, so C can hold partial sums between k blocks.
static void pack_a(const Job* j, float* ap, int64_t m0, int64_t mr, int64_t k0, int64_t kc, int MR) {
  for (int64_t k = 0; k < kc; k++) {
    float* col = ap + k * MR;
    for (int64_t m = 0; m < mr; m++) col[m] = j->alpha * at_a(j, m0 + m, k0 + k);
    for (int64_t m = mr; m < MR; m++) col[m] = 0.0f;
  }
}

// AVX-512: an 8 × 32 tile of C in 16 registers.
__attribute__((target("avx512f"))) static void kernel512(const float* ap, const float* bp, int64_t kc, float* acc) {
  __m512 c[8][2];
  for (int r = 0; r < 8; r++) { c[r][0] = _mm512_setzero_ps(); c[r][1] = _mm512_setzero_ps(); }
  for (int64_t k = 0; k < kc; k++) {
    __m512 b0 = _mm512_loadu_ps(bp + k * 32), b1 = _mm512_loadu_ps(bp + k * 32 + 16);
    const float* a = ap + k * 8;
    for (int r = 0; r < 8; r++) {
      __m512 av = _mm512_set1_ps(a[r]);
      c[r][0] = _mm512_fmadd_ps(av, b0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(av, b1, c[r][1]);
    }
  }
  for (int r = 0; r < 8; r++) { _mm512_storeu_ps(acc + r * 32, c[r][0]); _mm512_storeu_ps(acc + r * 32 + 16, c[r][1]); }
}
// AVX2 + FMA: a 6 × 16 tile of C in 12 registers.
__attribute__((target("avx2,fma"))) static void kernel256(const float* ap, const float* bp, int64_t kc, float* acc) {
  __m256 c[6][2];
  for (int r = 0; r < 6; r++) { c[r][0] = _mm256_setzero_ps(); c[r][1] = _mm256_setzero_ps(); }
  for (int64_t k = 0; k < kc; k++) {
    __m256 b0 = _mm256_loadu_ps(bp + k * 16), b1 = _mm256_loadu_ps(bp + k * 16 + 8);
    const float* a = ap + k * 6;
    for (int r = 0; r < 6; r++) {
      __m256 av = _mm256_broadcast_ss(a + r);
      c[r][0] = _mm256_fmadd_ps(av, b0, c[r][0]);
      c[r][1] = _mm256_fmadd_ps(av, b1, c[r][1]);
    }
  }
  for (int r = 0; r < 6; r++) { _mm256_storeu_ps(acc + r * 16, c[r][0]); _mm256_storeu_ps(acc + r * 16 + 8, c[r][1]); }
}

static void* run_job(void* arg) {
  const Job* j = (const Job*)arg;
  const int MR = j->isa == 2 ? 8 : 6, NR = j->isa == 2 ? 32 : 16;
  const int64_t M = j->M, K = j->K, N = j->N;
  const int64_t mPanels = (M + MR - 1) / MR;
  float* bp = (float*)aligned_alloc(64, sizeof(float) * KC * NR);
  float* ap = (float*)aligned_alloc(64, sizeof(float) * KC * MR * mPanels);
  float acc[8 * 32];
  if (!bp || !ap) { free(bp); free(ap); return (void*)1; }
  // One pass even when K = 0 (C = bias, or C unchanged when accumulating).
  int64_t k0 = 0;
  do {
    const int64_t kc = K - k0 < KC ? K - k0 : KC;
    const int first = k0 == 0;
    for (int64_t p = 0; p < mPanels; p++) {
      const int64_t m0 = p * MR, mr = M - m0 < MR ? M - m0 : MR;
      pack_a(j, ap + p * KC * MR, m0, mr, k0, kc, MR);
    }
    for (int64_t n0 = j->n0; n0 < j->n1; n0 += NR) {
      const int64_t nr = j->n1 - n0 < NR ? j->n1 - n0 : NR;
      pack_b(j, bp, k0, kc, n0, nr, NR);
      for (int64_t p = 0; p < mPanels; p++) {
        const int64_t m0 = p * MR, mr = M - m0 < MR ? M - m0 : MR;
        if (j->isa == 2) kernel512(ap + p * KC * MR, bp, kc, acc); else kernel256(ap + p * KC * MR, bp, kc, acc);
        // C holds the partial sums between k blocks; the old C (accumulate) enters with the first.
        for (int64_t r = 0; r < mr; r++) {
          float* crow = j->c + (m0 + r) * N + n0;
          const float* arow = acc + r * NR;
          if (first) {
            const float* bias = j->bias ? j->bias + n0 : NULL;
            for (int64_t n = 0; n < nr; n++) crow[n] = (j->accumulate ? crow[n] : 0.0f) + (bias ? bias[n] : 0.0f) + arow[n];
          } else {
            for (int64_t n = 0; n < nr; n++) crow[n] += arow[n];
          }
        }
      }
    }
    k0 += KC;
  } while (k0 < K);
  free(bp); free(ap);
  return NULL;
}

static int g_isa = -1;
static int detect_isa(void) {
  if (g_isa >= 0) return g_isa;
  __builtin_cpu_init();
  // MOSAICBERT_CPU_NATIVE_ISA=avx2 runs the AVX2 kernel on an AVX-512 CPU (to test it there).
  const char* want = getenv("MOSAICBERT_CPU_NATIVE_ISA");
  const int forceAvx2 = want && strcmp(want, "avx2") == 0;
  if (!forceAvx2 && __builtin_cpu_supports("avx512f")) g_isa = 2;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) g_isa = 1;
  else g_isa = 0;
  return g_isa;
}

static napi_value throw_err(napi_env env, const char* msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int get_f32(napi_env env, napi_value v, float** data, size_t* len) {
  napi_typedarray_type type;
  void* d;
  napi_value buf;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, &d, &buf, &off) != napi_ok || type != napi_float32_array) return 0;
  *data = (float*)d;
  return 1;
}

// gemm(a, b, c, M, N, K, transA, transB, alpha, accumulate, threads, bias): a, b, c (and bias [N], or null)
// Float32Arrays; c = alpha·op(a)·op(b) + bias (+ c when accumulate).
static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 12) return throw_err(env, "cpu_gemm.gemm: expected 12 arguments");
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!get_f32(env, argv[0], &a, &la) || !get_f32(env, argv[1], &b, &lb) || !get_f32(env, argv[2], &c, &lc))
    return throw_err(env, "cpu_gemm.gemm: a, b and c must be Float32Arrays");
  int64_t M, N, K;
  int32_t tA, tB, accum, threads;
  double alpha;
  if (napi_get_value_int64(env, argv[3], &M) != napi_ok || napi_get_value_int64(env, argv[4], &N) != napi_ok ||
      napi_get_value_int64(env, argv[5], &K) != napi_ok || napi_get_value_int32(env, argv[6], &tA) != napi_ok ||
      napi_get_value_int32(env, argv[7], &tB) != napi_ok || napi_get_value_double(env, argv[8], &alpha) != napi_ok ||
      napi_get_value_int32(env, argv[9], &accum) != napi_ok || napi_get_value_int32(env, argv[10], &threads) != napi_ok)
    return throw_err(env, "cpu_gemm.gemm: M, N, K, transA, transB, alpha, accumulate and threads must be numbers");
  if (M < 0 || N < 0 || K < 0 || (uint64_t)la < (uint64_t)(M * K) || (uint64_t)lb < (uint64_t)(K * N) || (uint64_t)lc < (uint64_t)(M * N))
    return throw_err(env, "cpu_gemm.gemm: an array is shorter than its matrix");
  float* bias = NULL;
  size_t lbias = 0;
  napi_valuetype bt;
  napi_typeof(env, argv[11], &bt);
  if (bt != napi_null && bt != napi_undefined) {
    if (!get_f32(env, argv[11], &bias, &lbias) || (int64_t)lbias < N) return throw_err(env, "cpu_gemm.gemm: bias must be a Float32Array of N values or null");
  }
  const int isa = detect_isa();
  if (isa == 0) return throw_err(env, "cpu_gemm.gemm: this CPU has neither AVX-512 nor AVX2 with FMA");
  if (M == 0 || N == 0) return NULL;
  const int NR = isa == 2 ? 32 : 16;
  int64_t blocks = (N + NR - 1) / NR;
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (threads > blocks) threads = (int)blocks;
  Job jobs[MAX_THREADS];
  pthread_t tids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  int64_t per = (blocks + threads - 1) / threads;
  for (int t = 0; t < threads; t++) {
    Job j = {a, b, c, bias, M, N, K, tA, tB, (float)alpha, accum, 0, 0, isa};
    j.n0 = t * per * NR;
    j.n1 = (t + 1) * per * NR < N ? (t + 1) * per * NR : N;
    jobs[t] = j;
  }
  int failed = 0;
  for (int t = 1; t < threads; t++) {
    if (jobs[t].n0 >= jobs[t].n1) continue;
    started[t] = pthread_create(&tids[t], NULL, run_job, &jobs[t]) == 0;
    if (!started[t]) failed |= run_job(&jobs[t]) != NULL;
  }
  failed |= run_job(&jobs[0]) != NULL;
  for (int t = 1; t < threads; t++) {
    void* r = NULL;
    if (started[t]) { pthread_join(tids[t], &r); failed |= r != NULL; }
  }
  if (failed) return throw_err(env, "cpu_gemm.gemm: out of memory for the packed panels");
  return NULL;
}

static napi_value isa_name(napi_env env, napi_callback_info info) {
  (void)info;
  const int isa = detect_isa();
  napi_value s;
  napi_create_string_utf8(env, isa == 2 ? "avx512" : isa == 1 ? "avx2" : "none", NAPI_AUTO_LENGTH, &s);
  return s;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "gemm", NAPI_AUTO_LENGTH, gemm, NULL, &fn);
  napi_set_named_property(env, exports, "gemm", fn);
  napi_create_function(env, "isa", NAPI_AUTO_LENGTH, isa_name, NULL, &fn);
  napi_set_named_property(env, exports, "isa", fn);
  return exports;
}
