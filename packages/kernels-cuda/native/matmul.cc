// Dense products through cuBLASLt: D = alpha·op(A)·op(B) (+ bias per column) (+ D when accumulating),
// row-major operands mapped onto cuBLASLt's column-major view (Dᵀ = op(B)ᵀ·op(A)ᵀ).
// Each distinct shape/dtype/alignment gets a plan (descriptors + algorithm) made once. The algorithm
// is chosen once per size class (each dimension rounded up to one of 8 steps per power of two): the
// heuristic's candidates are timed on a scratch output and the fastest is kept for the class. Real
// batches change the token count (unpadded rows, masked rows) nearly every step, and timing every
// new exact shape cost ≈ 50 ms of syncs per step; a new shape of a known class only checks that the
// class's algorithm supports it (host-side) and uses it.
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>
#include "kernels.h"

static cublasLtHandle_t g_lt = nullptr;
static void* g_ws = nullptr;
static const size_t WS_BYTES = 64u << 20;

static void ckb(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    char buf[256];
    snprintf(buf, sizeof buf, "cuBLASLt %s failed with status %d", what, (int)s);
    mb_throw(buf);
  }
}
static void ckc(cudaError_t e, const char* what) { if (e != cudaSuccess) mb_throw_cuda((int)e, what); }

static cudaDataType_t cuda_type(int dt) {
  switch (dt) {
    case DT_F32: return CUDA_R_32F;
    case DT_BF16: return CUDA_R_16BF;
    case DT_F16: return CUDA_R_16F;
    default: mb_throw("matmul: operands must be f32, bf16 or f16");
  }
}
static int esize(int dt) { return dt == DT_F32 ? 4 : 2; }

static int align_of(const void* p) {
  uintptr_t a = (uintptr_t)p;
  int al = 256;
  while (al > 1 && (a % al) != 0) al >>= 1;
  return al;
}

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool epilogueBias = false;
};

using Key = std::tuple<int64_t, int64_t, int64_t, int, int, int, int, int, int, int, int, int, int, int>;
static std::map<Key, Plan> g_plans;
// The algorithm chosen for a size class (a Key whose M, N, K are classes, see size_class).
static std::map<Key, cublasLtMatmulAlgo_t> g_class_algo;

static int64_t size_class(int64_t n) {
  if (n <= 64) return n;
  int lg = 63 - __builtin_clzll((unsigned long long)n);
  int64_t step = (int64_t)1 << (lg - 3);
  return (n + step - 1) / step * step;
}

void mb_gemm_init() {
  if (g_lt) return;
  ckb(cublasLtCreate(&g_lt), "create");
  ckc(cudaMalloc(&g_ws, WS_BYTES), "cudaMalloc(cuBLASLt workspace)");
}
int mb_cublaslt_version() { return (int)cublasLtGetVersion(); }

static bool make_plan(const GemmArgs& g, bool withBias, int alA, int alB, int alD, const Key& cls, Plan& p) {
  const cudaDataType_t ta = cuda_type(g.dtA), tb = cuda_type(g.dtB), td = cuda_type(g.dtOut);
  ckb(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "descCreate");
  // Lt's "A" is our B and Lt's "B" is our A (see the header comment).
  cublasOperation_t opA = g.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t opB = g.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  ckb(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opA, sizeof opA), "set transA");
  ckb(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opB, sizeof opB), "set transB");
  if (withBias) {
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    ckb(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi), "set epilogue");
    cudaDataType_t bt = cuda_type(g.dtBias);
    ckb(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt), "set bias type");
  }
  if (g.transB) ckb(cublasLtMatrixLayoutCreate(&p.la, tb, g.K, g.N, g.K), "layout A");
  else ckb(cublasLtMatrixLayoutCreate(&p.la, tb, g.N, g.K, g.N), "layout A");
  if (g.transA) ckb(cublasLtMatrixLayoutCreate(&p.lb, ta, g.M, g.K, g.M), "layout B");
  else ckb(cublasLtMatrixLayoutCreate(&p.lb, ta, g.K, g.M, g.K), "layout B");
  ckb(cublasLtMatrixLayoutCreate(&p.lc, td, g.N, g.M, g.N), "layout D");

  auto known = g_class_algo.find(cls);
  if (known != g_class_algo.end()) {
    cublasLtMatmulHeuristicResult_t check{};
    if (cublasLtMatmulAlgoCheck(g_lt, p.desc, p.la, p.lb, p.lc, p.lc, &known->second, &check) == CUBLAS_STATUS_SUCCESS &&
        check.workspaceSize <= WS_BYTES) {
      p.algo = known->second;
      p.epilogueBias = withBias;
      return true;
    }
  }
  cublasLtMatmulPreference_t pref;
  ckb(cublasLtMatmulPreferenceCreate(&pref), "prefCreate");
  size_t ws = WS_BYTES;
  ckb(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws), "pref ws");
  uint32_t a1 = (uint32_t)alB, a2 = (uint32_t)alA, a3 = (uint32_t)alD;
  ckb(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &a1, sizeof a1), "pref alA");
  ckb(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &a2, sizeof a2), "pref alB");
  ckb(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &a3, sizeof a3), "pref alC");
  ckb(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &a3, sizeof a3), "pref alD");
  cublasLtMatmulHeuristicResult_t res[8];
  int n = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(g_lt, p.desc, p.la, p.lb, p.lc, p.lc, pref, 8, res, &n);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || n == 0) {
    cublasLtMatmulDescDestroy(p.desc); cublasLtMatrixLayoutDestroy(p.la); cublasLtMatrixLayoutDestroy(p.lb); cublasLtMatrixLayoutDestroy(p.lc);
    return false;
  }
  p.algo = res[0].algo;
  p.epilogueBias = withBias;
  const char* tune = getenv("MOSAICBERT_GEMM_TUNE");
  if (n > 1 && !(tune && strcmp(tune, "0") == 0) && g.M * g.N >= (1 << 16)) {
    // Time each candidate on a scratch output (so accumulating products are not disturbed).
    cudaStream_t s = (cudaStream_t)mb_stream();
    void* scratch = nullptr;
    ckc(cudaMalloc(&scratch, (size_t)g.M * g.N * esize(g.dtOut) + 256), "cudaMalloc(gemm tuning)");
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0); cudaEventCreate(&e1);
    float alpha = 1.0f, beta = 0.0f, best = 1e30f;
    if (withBias) {
      const void* bp = g.bias;
      cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp);
    }
    for (int i = 0; i < n; i++) {
      float ms = 0.0f;
      bool ok = true;
      for (int rep = 0; rep < 4 && ok; rep++) {
        if (rep == 1) cudaEventRecord(e0, s);
        ok = cublasLtMatmul(g_lt, p.desc, &alpha, g.B, p.la, g.A, p.lb, &beta, scratch, p.lc, scratch, p.lc, &res[i].algo, g_ws, WS_BYTES, s) == CUBLAS_STATUS_SUCCESS;
      }
      if (!ok) continue;
      cudaEventRecord(e1, s);
      cudaEventSynchronize(e1);
      cudaEventElapsedTime(&ms, e0, e1);
      if (ms < best) { best = ms; p.algo = res[i].algo; }
    }
    cudaGetLastError();
    cudaEventDestroy(e0); cudaEventDestroy(e1);
    ckc(cudaStreamSynchronize(s), "gemm tuning");
    cudaFree(scratch);
  }
  g_class_algo[cls] = p.algo;
  return true;
}

void mb_gemm(const GemmArgs& g) {
  mb_gemm_init();
  if (g.M == 0 || g.N == 0) return;
  cudaStream_t s = (cudaStream_t)mb_stream();
  if (g.K == 0) {
    // Empty inner dimension: the product is zero.
    if (!g.accumulate) k_fill(g.dtOut, g.D, g.M * g.N, 0.0);
    if (g.bias) k_bias_act(g.dtOut, g.D, g.dtOut, g.D, g.dtBias, g.bias, g.M, g.N, 0, 0, nullptr, 0);
    return;
  }
  const int alA = align_of(g.A), alB = align_of(g.B), alD = align_of(g.D);
  const bool wantBias = g.bias != nullptr;
  Key key{g.M, g.N, g.K, g.transA, g.transB, g.dtA, g.dtB, g.dtOut, wantBias ? g.dtBias : -1, alA, alB, alD,
          wantBias && (align_of(g.bias) >= 16) ? 1 : 0, 0};
  auto it = g_plans.find(key);
  if (it == g_plans.end()) {
    Plan p;
    bool ok = false;
    const int biasEpi = wantBias && (align_of(g.bias) >= 16) ? 1 : 0;
    Key cls{size_class(g.M), size_class(g.N), size_class(g.K), g.transA, g.transB, g.dtA, g.dtB, g.dtOut, wantBias ? g.dtBias : -1, alA, alB, alD, biasEpi, 1};
    Key clsPlain = cls;
    std::get<12>(clsPlain) = 0;
    if (biasEpi) ok = make_plan(g, true, alA, alB, alD, cls, p);
    if (!ok) ok = make_plan(g, false, alA, alB, alD, clsPlain, p);
    if (!ok) mb_throw("matmul: cuBLASLt found no algorithm for this shape/dtype combination");
    it = g_plans.emplace(key, p).first;
  }
  Plan& p = it->second;
  if (p.epilogueBias) {
    const void* bp = g.bias;
    ckb(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp), "set bias");
  }
  float alpha = g.alpha, beta = g.accumulate ? 1.0f : 0.0f;
  ckb(cublasLtMatmul(g_lt, p.desc, &alpha, g.B, p.la, g.A, p.lb, &beta, g.D, p.lc, g.D, p.lc, &p.algo, g_ws, WS_BYTES, s), "matmul");
  if (wantBias && !p.epilogueBias) k_bias_act(g.dtOut, g.D, g.dtOut, g.D, g.dtBias, g.bias, g.M, g.N, 0, 0, nullptr, 0);
}
