// Host-side entry points of every kernel family (plain C++: the bindings in addon.cc include this
// without CUDA headers). Pointers are device addresses; n/rows/cols are element counts.
#pragma once
#include <cstdint>
#include <cstdlib>

// MOSAICBERT_CUDA_GENERIC=1: every op takes its plain kernel — no flash attention, no register or 16-byte
// vector fast paths, bias gradients by column sums — the reference path of the speed checks (the `compare`
// stage of packages/trainer/src/checks/gpu-run.ts, the attention benchmark's generic row).
inline bool mb_generic_forced() {
  const char* g = std::getenv("MOSAICBERT_CUDA_GENERIC");
  return g && g[0] == '1';
}

// An opt-in switch: the environment variable `name` set to exactly "1".
inline bool mb_env_on(const char* name) {
  const char* e = std::getenv(name);
  return e && e[0] == '1' && e[1] == 0;
}

// A default-on path: off only when the environment variable `name` is set to exactly "0".
inline bool mb_env_not_off(const char* name) {
  const char* e = std::getenv(name);
  return !(e && e[0] == '0' && e[1] == 0);
}

// A tuning knob: the environment variable `name` as a decimal integer, or `fallback` when unset or not one.
inline int64_t mb_env_int(const char* name, int64_t fallback) {
  const char* e = std::getenv(name);
  if (!e || !*e) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(e, &end, 10);
  return end && *end == 0 ? (int64_t)v : fallback;
}

enum { DT_F32 = 0, DT_BF16 = 1, DT_F16 = 2, DT_I32 = 3, DT_I64 = 4, DT_U8 = 5, DT_BOOL = 6 };

// Error codes a kernel may leave in the device flag (first one wins); see addon.cc for messages.
enum {
  ERR_NONE = 0,
  ERR_EMBEDDING_ID = 1,
  ERR_EMBEDDING_BWD_ID = 2,
  ERR_GATHER_INDEX = 3,
  ERR_SCATTER_INDEX = 4,
  ERR_SCATTER_ADD_INDEX = 5,
  ERR_CE_TARGET = 6,
  ERR_ATTN_SEQLEN = 7,
  ERR_ATTN_CUSEQLENS = 8,
};

[[noreturn]] void mb_throw_cuda(int err, const char* what);
[[noreturn]] void mb_throw(const char* what);

void* mb_stream();       // cudaStream_t of the backend
void mb_check_arch();    // arch.cu: throws, naming the GPU and the architectures built, if no kernel can run
int64_t mb_sm_count();   // arch.cu: streaming multiprocessors of this process's device (132 when it cannot be asked)
int* mb_error_flag();    // device int

// elementwise.cu
void k_copy(int dtDst, void* dst, int dtSrc, const void* src, int64_t n);
void k_fill(int dt, void* p, int64_t n, double v);
void k_add(int dtOut, void* out, int dtA, const void* a, int dtB, const void* b, int64_t n);
void k_axpy(int dtA, void* a, int dtB, const void* b, float alpha, int64_t n);
void k_scale(int dt, void* x, float s, int64_t n);
void k_gelu(int dtY, void* y, int dtX, const void* x, int64_t n);
void k_gelu_bwd(int dtDx, void* dx, int dtDy, const void* dy, int dtX, const void* x, int64_t n);
void k_geglu(int dtH, void* h, int dtG, const void* g, int64_t rows, int64_t inter, float p, uint32_t key, uint32_t offset);
void k_geglu_bwd(int dtDg, void* dg, int dtDh, const void* dh, int dtG, const void* g, int64_t rows, int64_t inter, float p, uint32_t key,
                 uint32_t offset);
void k_tanh(int dtY, void* y, int dtX, const void* x, int64_t n);
void k_tanh_bwd(int dtDx, void* dx, int dtDy, const void* dy, int dtY, const void* y, int64_t n);
void k_dropout(int dtY, void* y, int dtX, const void* x, int64_t n, float p, uint32_t key, uint32_t offset);
void k_bias_act(int dtOut, void* out, int dtPre, const void* pre, int dtBias, const void* bias, int64_t rows,
                int64_t cols, int gelu, int dtSave, void* save, int accumulate);

// embedding.cu
void k_embedding(int dtOut, void* out, const int32_t* ids, int dtTab, const void* table, int64_t n, int64_t V, int64_t H);
void k_embedding_bwd(float* dtable, const int32_t* ids, int dtDy, const void* dy, int64_t n, int64_t V, int64_t H, int64_t paddingIdx);

// rows.cu
void k_gather_rows(int dt, void* out, const void* x, const int32_t* idx, int64_t T, int64_t N, int64_t H);
void k_scatter_rows(int dt, void* out, const void* x, const int32_t* idx, int64_t T, int64_t N, int64_t H, int add, int dtX);
void k_sum_rows(float* out, int dt, const void* x, int64_t N, int64_t M, int accumulate);
// The same sums on another stream (a cudaStream_t), without deliberate_bug: the caller orders it and calls that.
void k_sum_rows_on(void* stream, float* out, int dt, const void* x, int64_t N, int64_t M, int accumulate);
void deliberate_bug(float* out, int64_t M);  // a no-op unless built with -DMB_DELIBERATE_BUG (scripts/gpu-check.sh --broken)

// layernorm.cu
// With a residual and p > 0: LN(dropout(x) + residual), the dropout of k_dropout (key, off).
void k_layernorm(int dtY, void* y, int dtX, const void* x, int dtR, const void* residual, void* sum,
                 int dtW, const void* w, int dtB, const void* b, float* mean, float* rstd, int64_t N, int64_t H, float eps,
                 float p, uint32_t key, uint32_t off);
// dxd (dx's dtype, or null): dx through that dropout's mask.
void k_layernorm_bwd(int dtDx, void* dx, int dtDy, const void* dy, int dtX, const void* x, int dtW, const void* w,
                     const float* mean, const float* rstd, float* dw, float* db, int64_t N, int64_t H, void* dxd, float p,
                     uint32_t key, uint32_t off);

// loss.cu
void k_cross_entropy(float* loss, int dtL, const void* logits, const int32_t* targets, int64_t N, int64_t C,
                     int ignoreIndex, int mean, int dtG, void* grad, float gradScale, float* scratch);
void k_mse(float* loss, int dtP, const void* pred, int dtT, const void* target, int64_t N, int dtG, void* grad, float gradScale);
void k_argmax(int32_t* out, int dt, const void* x, int64_t N, int64_t C);

// optim.cu: pointers packed as doubles [param, grad, m, v, lowp(0 = none), n, lowpDtype] per tensor
void k_adamw(const double* table, int count, float lr, float beta1, float beta2, float eps, float decay,
             float bc1, float bc2, float gradScale, const float* gradScaleTensor);
// table [ptr, n, dtype] per tensor; out float[1] = sqrt(sum of squares)
void k_global_norm(float* out, const double* table, int count, float* scratch);
void k_clip_coef(float* out, const float* norm, float maxNorm);

// attention.cu
struct AttnArgs {
  int dt;            // qkv dtype
  int dtO, dtDo;     // out and dout dtypes (backward)
  const void* qkv;   // [T, 3H]
  void* out;         // [T, H]
  float* lse;        // [T, nh]
  const int32_t* cu; // [B+1]
  const int32_t* positions; // [T] or null
  int dtMask; const void* keyMask; // [T] or null (i32/u8)
  const float* slopes;      // [nh] device, or null
  int B, T, nh, dh, maxSeqlen;
  float scale;
  float dropP; uint32_t dropKey; uint32_t dropOffset; float dropInv;
  int* flag;         // set by the dispatcher: where kernels report bad lengths
};
void k_attention_fwd(const AttnArgs& a);
// dout [T, H] (dt), dqkv [T, 3H] (dt); scratch float [T, 2H + nh] (generic path only)
void k_attention_bwd(const AttnArgs& a, const void* dout, void* dqkv, float* scratch);
int64_t k_attention_bwd_scratch_floats(const AttnArgs& a, const void* dout);

// matmul.cc (cuBLASLt GEMM; the matmul family)
struct GemmArgs {
  int dtA, dtB, dtOut, dtBias;
  const void* A; const void* B; void* D; const void* bias;
  int64_t M, N, K;
  int transA, transB;
  float alpha;
  int accumulate;
  float* biasGrad;  // f32 [M] or null: Σ over K of A (transA) beside the product, += when accumulating
};
void mb_gemm(const GemmArgs& g);
int mb_cublaslt_version();
void mb_gemm_init();

// nccl.cc
int mb_nccl_version();
void mb_nccl_unique_id(char* out128);
void mb_nccl_init(int nranks, int rank, const char* id128);
void mb_nccl_all_reduce(void* p, int64_t n, int dt, int average);
void mb_nccl_all_reduce_side(void* p, int64_t n, int dt, int average);  // on the side stream, after the backend's stream
void mb_nccl_join();  // the backend's stream waits for every side-stream reduction launched so far
void mb_nccl_destroy();
