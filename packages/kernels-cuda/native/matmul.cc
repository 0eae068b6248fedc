// Dense products through cuBLASLt: D = alpha·op(A)·op(B) (+ bias per column) (+ D when accumulating),
// row-major operands mapped onto cuBLASLt's column-major view (Dᵀ = op(B)ᵀ·op(A)ᵀ).
// Each distinct shape/dtype/alignment gets a plan (descriptors + algorithm) made once. The algorithm
// is chosen once per size class (each dimension rounded up to one of 8 steps per power of two): the
// heuristic's candidates are timed on a scratch output and the fastest is kept for the class. Real
// batches change the token count (unpadded rows, masked rows) nearly every step, and timing every
// new exact shape cost ≈ 50 ms of syncs per step; a new shape of a known class only checks that the
// class's algorithm supports it (host-side) and uses it.
// A weight-gradient product can also return its bias gradient (Σ over K of A, transA): by default a
// column-sum kernel after the plain product; with MOSAICBERT_GEMM_BGRAD=1 cuBLASLt's BGRADB epilogue
// sums Lt's B (our A) while the GEMM reads it, into a scratch vector that one small kernel then adds
// (or copies) into the caller's float32 [M] (the column sums again where no algorithm offers it).
// The tuned algorithm of each class is also kept on disk for the next process on this GPU model
// (gemm_cache.h; MOSAICBERT_GEMM_CACHE=0 turns that off).
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>
#include "gemm_cache.h"
#include "kernels.h"

static cublasLtHandle_t g_lt = nullptr;
static void* g_ws = nullptr;
static const size_t WS_BYTES = 64u << 20;
// Algorithms the heuristic may propose per shape class, each timed: MOSAICBERT_GEMM_CANDIDATES (1…64, default 32;
// 8 before 2026-12-04), read once, so that a GPU session can compare counts without a rebuild.
static const int MAX_CANDIDATES = 64;
static int candidates() {
  static int n = 0;
  if (n == 0) {
    const char* e = getenv("MOSAICBERT_GEMM_CANDIDATES");
    int v = e ? atoi(e) : 32;
    n = v < 1 ? 32 : v > MAX_CANDIDATES ? MAX_CANDIDATES : v;
  }
  return n;
}

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

// The epilogue a plan was made with.
enum Epi { EPI_NONE = 0, EPI_BIAS = 1, EPI_BGRAD = 2 };

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulAlgo_t algo{};
  Epi epi = EPI_NONE;
  bool restored = false;  // algo came from the disk cache (tuned by an earlier process), not timed here
};

static void destroy_plan(Plan& p) {
  cublasLtMatmulDescDestroy(p.desc); cublasLtMatrixLayoutDestroy(p.la); cublasLtMatrixLayoutDestroy(p.lb); cublasLtMatrixLayoutDestroy(p.lc);
  p = Plan{};
}

using Key = std::tuple<int64_t, int64_t, int64_t, int, int, int, int, int, int, int, int, int, int, int>;
static std::map<Key, Plan> g_plans;
// The algorithm chosen for a size class (a Key whose M, N, K are classes, see size_class).
static std::map<Key, cublasLtMatmulAlgo_t> g_class_algo;
// Epilogue classes where the library offered no algorithm, or none that ran: later shapes of the class go
// straight to the plain product (else each new exact shape, every step with real batches, would pay a failed
// heuristic query or a failed timing round with its allocation and synchronisation).
static std::set<Key> g_class_refused;
// Classes whose algorithm in g_class_algo was restored from the disk cache rather than timed here.
static std::set<Key> g_class_restored;

// The disk cache (gemm_cache.h): its file ("" when off), first line and entries, loaded at init.
static std::string g_disk_path, g_disk_header;
static gemm_cache::Entries g_disk;
static_assert(sizeof(cublasLtMatmulAlgo_t) == sizeof(gemm_cache::Words), "cublasLtMatmulAlgo_t is 8 words");

static gemm_cache::Key disk_key(const Key& k) {
  gemm_cache::Key o{};
  int i = 0;
  std::apply([&](auto... v) { ((o[i++] = (int64_t)v), ...); }, k);
  return o;
}

static void disk_load() {
  int dev = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
    cudaGetLastError();
    return;
  }
  const int cc = prop.major * 10 + prop.minor;
  g_disk_path = gemm_cache::path_from_env(getenv("MOSAICBERT_GEMM_CACHE"), getenv("XDG_CACHE_HOME"), getenv("HOME"), prop.name, cc);
  if (g_disk_path.empty()) return;
  int rt = 0;
  cudaRuntimeGetVersion(&rt);
  g_disk_header = gemm_cache::header(prop.name, cc, (long)cublasLtGetVersion(), rt, candidates());
  std::string text;
  if (gemm_cache::read_file(g_disk_path, text)) g_disk = gemm_cache::parse(text, g_disk_header);
}

// A class just tuned: into the file, merged with what other processes wrote there meanwhile.
static void disk_save(const Key& cls, const cublasLtMatmulAlgo_t& algo) {
  if (g_disk_path.empty()) return;
  std::string text;
  gemm_cache::Entries merged;
  if (gemm_cache::read_file(g_disk_path, text)) merged = gemm_cache::parse(text, g_disk_header);
  for (const auto& [k, w] : g_disk) merged[k] = w;
  gemm_cache::Words w;
  memcpy(w.data(), &algo, sizeof algo);
  merged[disk_key(cls)] = w;
  if (merged.size() > gemm_cache::MAX_ENTRIES) return;  // a file that full would be ignored whole
  g_disk = merged;
  gemm_cache::write_file(g_disk_path, gemm_cache::format(g_disk_header, g_disk));
}

static int64_t size_class(int64_t n) {
  if (n <= 64) return n;
  int lg = 63 - __builtin_clzll((unsigned long long)n);
  int64_t step = (int64_t)1 << (lg - 3);
  return (n + step - 1) / step * step;
}

// Where the BGRADB epilogue writes (aligned, never the caller's possibly offset gradient view).
static float* g_bgrad = nullptr;
static int64_t g_bgrad_cap = 0;

static float* bgrad_scratch(int64_t m) {
  if (m > g_bgrad_cap) {
    // The new buffer first: if it cannot be had, the old one (and its size) stay as they were.
    const int64_t cap = m > 65536 ? m : 65536;
    float* fresh = nullptr;
    ckc(cudaMalloc(&fresh, (size_t)cap * 4), "cudaMalloc(gemm bias-gradient scratch)");
    if (g_bgrad) { ckc(cudaStreamSynchronize((cudaStream_t)mb_stream()), "gemm bias-gradient scratch"); cudaFree(g_bgrad); }
    g_bgrad = fresh;
    g_bgrad_cap = cap;
  }
  return g_bgrad;
}

// The bias gradient from the weight-gradient GEMM's BGRADB epilogue only when MOSAICBERT_GEMM_BGRAD=1: on the
// H200 (2026-12-05, MosaicBERT-base, 256 × 128) the epilogue made the GEMMs slower than the separate column-sum
// kernel saves (714.0 k tokens/s with it, 719.1 k with the column sums; GEMM phase 29.8 ms against 26.3 + 1.3).
static bool bgrad_epilogue_enabled() {
  return mb_env_on("MOSAICBERT_GEMM_BGRAD") && !mb_generic_forced();
}

// A weight-gradient product's bias gradient (the column sums of dy) runs on a second stream, launched after the GEMM
// and joined before anything after it, so that the sums use the SMs the GEMM leaves idle: its output is a few waves
// of tiles at most (2304 × 768 is 108 tiles of 128 × 128 for 132 SMs on an H100) however long K is. On by default
// (H100, the anchor's rows, 2026-12-06: 593.7 k → 599.0 k tokens/s, +0.9%); MOSAICBERT_BGRAD_SIDE=0 runs the sums
// after the GEMM on the one stream. The same sums either way (their atomics add in no fixed order in both).
static cudaStream_t g_side = nullptr;
static cudaEvent_t g_fork = nullptr, g_join = nullptr;
static bool bgrad_side() {
  static const bool on = mb_env_not_off("MOSAICBERT_BGRAD_SIDE") && !mb_generic_forced();
  if (on && !g_side) {
    ckc(cudaStreamCreateWithFlags(&g_side, cudaStreamNonBlocking), "bias-gradient stream");
    ckc(cudaEventCreateWithFlags(&g_fork, cudaEventDisableTiming), "bias-gradient event");
    ckc(cudaEventCreateWithFlags(&g_join, cudaEventDisableTiming), "bias-gradient event");
  }
  return on;
}

void mb_gemm_init() {
  if (g_lt) return;
  ckb(cublasLtCreate(&g_lt), "create");
  ckc(cudaMalloc(&g_ws, WS_BYTES), "cudaMalloc(cuBLASLt workspace)");
  bgrad_scratch(65536);
  disk_load();
}
int mb_cublaslt_version() { return (int)cublasLtGetVersion(); }

// Sets the epilogue attributes of a plan's descriptor (bias: type of g.bias; bias gradient: float32).
static void set_epilogue(const GemmArgs& g, Epi epi, Plan& p) {
  if (epi == EPI_NONE) return;
  cublasLtEpilogue_t e = epi == EPI_BIAS ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_BGRADB;
  ckb(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof e), "set epilogue");
  cudaDataType_t bt = epi == EPI_BIAS ? cuda_type(g.dtBias) : CUDA_R_32F;
  ckb(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt), "set bias type");
}

// The vector the epilogue reads (bias) or writes (bias gradient, into the scratch).
static const void* epilogue_pointer(const GemmArgs& g, Epi epi) {
  return epi == EPI_BIAS ? g.bias : epi == EPI_BGRAD ? (const void*)bgrad_scratch(g.M) : nullptr;
}

static bool make_plan(const GemmArgs& g, Epi epi, int alA, int alB, int alD, const Key& cls, Plan& p) {
  if (epi != EPI_NONE && g_class_refused.count(cls)) return false;  // p untouched: nothing to destroy
  const cudaDataType_t ta = cuda_type(g.dtA), tb = cuda_type(g.dtB), td = cuda_type(g.dtOut);
  ckb(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "descCreate");
  // Lt's "A" is our B and Lt's "B" is our A (see the header comment).
  cublasOperation_t opA = g.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t opB = g.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  ckb(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opA, sizeof opA), "set transA");
  ckb(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opB, sizeof opB), "set transB");
  set_epilogue(g, epi, p);
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
      p.epi = epi;
      p.restored = g_class_restored.count(cls) > 0;
      return true;
    }
  }
  // Tuned for this class by an earlier process on this GPU model: used when cuBLASLt accepts it here.
  auto disk = g_disk.find(disk_key(cls));
  if (disk != g_disk.end()) {
    cublasLtMatmulAlgo_t algo;
    memcpy(&algo, disk->second.data(), sizeof algo);
    cublasLtMatmulHeuristicResult_t check{};
    if (cublasLtMatmulAlgoCheck(g_lt, p.desc, p.la, p.lb, p.lc, p.lc, &algo, &check) == CUBLAS_STATUS_SUCCESS &&
        check.workspaceSize <= WS_BYTES) {
      p.algo = algo;
      p.epi = epi;
      p.restored = true;
      g_class_algo[cls] = algo;
      g_class_restored.insert(cls);
      return true;
    }
    g_disk.erase(disk);
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
  // Up to candidates() (32) of them: beyond the heuristic's first few are the split-K and other tile shapes that can
  // win on the weight-gradient products (small M·N, K = every token) and the MLM decoder's wide N.
  cublasLtMatmulHeuristicResult_t res[MAX_CANDIDATES];
  int n = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(g_lt, p.desc, p.la, p.lb, p.lc, p.lc, pref, candidates(), res, &n);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || n == 0) {
    destroy_plan(p);
    if (epi != EPI_NONE) g_class_refused.insert(cls);
    return false;
  }
  p.algo = res[0].algo;
  p.epi = epi;
  const char* tune = getenv("MOSAICBERT_GEMM_TUNE");
  const bool timed = n > 1 && !(tune && strcmp(tune, "0") == 0) && g.M * g.N >= (1 << 16);
  if (timed) {
    // Time each candidate on a scratch output (so accumulating products are not disturbed).
    cudaStream_t s = (cudaStream_t)mb_stream();
    void* scratch = nullptr;
    ckc(cudaMalloc(&scratch, (size_t)g.M * g.N * esize(g.dtOut) + 256), "cudaMalloc(gemm tuning)");
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0); cudaEventCreate(&e1);
    float alpha = 1.0f, beta = 0.0f, best = 1e30f;
    bool ran = false;
    if (epi != EPI_NONE) {
      const void* bp = epilogue_pointer(g, epi);
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
      ran = true;
      cudaEventRecord(e1, s);
      cudaEventSynchronize(e1);
      cudaEventElapsedTime(&ms, e0, e1);
      if (ms < best) { best = ms; p.algo = res[i].algo; }
    }
    cudaGetLastError();
    cudaEventDestroy(e0); cudaEventDestroy(e1);
    ckc(cudaStreamSynchronize(s), "gemm tuning");
    cudaFree(scratch);
    // Offered but refused by every run (an epilogue the library cannot do here): no plan of this kind.
    if (!ran) {
      destroy_plan(p);
      if (epi != EPI_NONE) g_class_refused.insert(cls);
      return false;
    }
  }
  g_class_algo[cls] = p.algo;
  g_class_restored.erase(cls);
  if (timed) disk_save(cls, p.algo);
  return true;
}

// The key of this exact shape's plan (classed: of its size class's algorithm), for the epilogue wanted.
static Key plan_key(const GemmArgs& g, Epi want, bool classed) {
  const int dtEpi = want == EPI_BIAS ? g.dtBias : want == EPI_BGRAD ? DT_F32 : -1;
  auto d = [&](int64_t n) { return classed ? size_class(n) : n; };
  return Key{d(g.M), d(g.N), d(g.K), g.transA, g.transB, g.dtA, g.dtB, g.dtOut, dtEpi, align_of(g.A), align_of(g.B), align_of(g.D), (int)want, classed ? 1 : 0};
}

// The plan of this exact shape (made on first use: the epilogue wanted, else the plain product).
static Plan& plan_for(const GemmArgs& g, Epi want) {
  const Key key = plan_key(g, want, false);
  auto it = g_plans.find(key);
  if (it != g_plans.end()) return it->second;
  const int alA = align_of(g.A), alB = align_of(g.B), alD = align_of(g.D);
  Plan p;
  bool ok = false;
  if (want != EPI_NONE) ok = make_plan(g, want, alA, alB, alD, plan_key(g, want, true), p);
  if (!ok) ok = make_plan(g, EPI_NONE, alA, alB, alD, plan_key(g, EPI_NONE, true), p);
  if (!ok) mb_throw("matmul: cuBLASLt found no algorithm for this shape/dtype combination");
  return g_plans.emplace(key, p).first->second;
}

// p's algorithm came from the disk cache and this shape cannot run it after all: the class is tuned
// afresh here (its disk entry replaced), with the epilogue asked for, else the plain product.
static Plan& tune_instead(const GemmArgs& g, Plan& p) {
  const Epi epi = p.epi;
  const Key cls = plan_key(g, epi, true);
  g_class_algo.erase(cls);
  g_class_restored.erase(cls);
  g_disk.erase(disk_key(cls));
  destroy_plan(p);
  const int alA = align_of(g.A), alB = align_of(g.B), alD = align_of(g.D);
  bool ok = make_plan(g, epi, alA, alB, alD, cls, p);
  if (!ok && epi != EPI_NONE) ok = make_plan(g, EPI_NONE, alA, alB, alD, plan_key(g, EPI_NONE, true), p);
  if (!ok) mb_throw("matmul: cuBLASLt found no algorithm for this shape/dtype combination");
  return p;
}

// p's epilogue was refused at run time: p becomes this shape's plain product (the bias or the bias
// gradient then come from their own kernels), and the class forgets the refused algorithm.
static Plan& plain_instead(const GemmArgs& g, Plan& p) {
  g_class_algo.erase(plan_key(g, p.epi, true));
  g_class_refused.insert(plan_key(g, p.epi, true));
  destroy_plan(p);
  if (!make_plan(g, EPI_NONE, align_of(g.A), align_of(g.B), align_of(g.D), plan_key(g, EPI_NONE, true), p)) {
    mb_throw("matmul: cuBLASLt found no algorithm for this shape/dtype combination");
  }
  return p;
}

void mb_gemm(const GemmArgs& g) {
  mb_gemm_init();
  if (g.M == 0) return;
  if (g.biasGrad && !g.transA) mb_throw("matmul: biasGrad needs transA");
  if (g.N == 0 || g.K == 0) {
    // An empty product: D is zero (or unchanged), and so is the sum over an empty K.
    if (g.N > 0 && !g.accumulate) k_fill(g.dtOut, g.D, g.M * g.N, 0.0);
    if (g.N > 0 && g.bias) k_bias_act(g.dtOut, g.D, g.dtOut, g.D, g.dtBias, g.bias, g.M, g.N, 0, 0, nullptr, 0);
    if (g.biasGrad) {
      if (g.K > 0) k_sum_rows(g.biasGrad, g.dtA, g.A, g.K, g.M, g.accumulate);
      else if (!g.accumulate) k_fill(DT_F32, g.biasGrad, g.M, 0.0);
    }
    return;
  }
  cudaStream_t s = (cudaStream_t)mb_stream();
  Epi want = EPI_NONE;
  if (g.bias && align_of(g.bias) >= 16) want = EPI_BIAS;
  else if (g.biasGrad && bgrad_epilogue_enabled()) want = EPI_BGRAD;
  Plan* pp = &plan_for(g, want);
  if (pp->epi != EPI_NONE) {
    const void* bp = epilogue_pointer(g, pp->epi);
    ckb(cublasLtMatmulDescSetAttribute(pp->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp), "set bias");
  }
  float alpha = g.alpha, beta = g.accumulate ? 1.0f : 0.0f;
  auto run = [&](Plan& q) { return cublasLtMatmul(g_lt, q.desc, &alpha, g.B, q.la, g.A, q.lb, &beta, g.D, q.lc, g.D, q.lc, &q.algo, g_ws, WS_BYTES, s); };
  // The side stream's sums may start once dy and the bias gradient are ready: where the GEMM starts too.
  const bool side = g.biasGrad && want != EPI_BGRAD && bgrad_side();
  if (side) ckc(cudaEventRecord(g_fork, s), "bias-gradient fork");
  cublasStatus_t st = run(*pp);
  // A restored algorithm refused here: timed afresh (a new plan: the epilogue's pointer set again).
  if (st != CUBLAS_STATUS_SUCCESS && pp->restored) {
    pp = &tune_instead(g, *pp);
    if (pp->epi != EPI_NONE) {
      const void* bp = epilogue_pointer(g, pp->epi);
      ckb(cublasLtMatmulDescSetAttribute(pp->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp), "set bias");
    }
    st = run(*pp);
  }
  // Refused before it ran (nothing written): the plain product, now and for this shape from now on.
  if (st != CUBLAS_STATUS_SUCCESS && pp->epi != EPI_NONE) st = run(plain_instead(g, *pp));
  ckb(st, "matmul");
  Plan& p = *pp;
  if (g.bias && p.epi != EPI_BIAS) k_bias_act(g.dtOut, g.D, g.dtOut, g.D, g.dtBias, g.bias, g.M, g.N, 0, 0, nullptr, 0);
  if (g.biasGrad) {
    if (p.epi == EPI_BGRAD) {
      if (g.accumulate) k_axpy(DT_F32, g.biasGrad, DT_F32, g_bgrad, 1.0f, g.M);
      else k_copy(DT_F32, g.biasGrad, DT_F32, g_bgrad, g.M);
      deliberate_bug(g.biasGrad, g.M);
    } else if (side) {
      ckc(cudaStreamWaitEvent(g_side, g_fork, 0), "bias-gradient fork");
      k_sum_rows_on(g_side, g.biasGrad, g.dtA, g.A, g.K, g.M, g.accumulate);
      ckc(cudaEventRecord(g_join, g_side), "bias-gradient join");
      ckc(cudaStreamWaitEvent(s, g_join, 0), "bias-gradient join");
      deliberate_bug(g.biasGrad, g.M);
    } else {
      k_sum_rows(g.biasGrad, g.dtA, g.A, g.K, g.M, g.accumulate);
    }
  }
}
