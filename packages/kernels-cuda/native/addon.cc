// Node-API bindings. Every entry takes plain numbers (device addresses travel as doubles, exact
// below 2^53) or Float64Array argument packs, launches asynchronously on the backend's one stream,
// and turns any CUDA/cuBLAS/NCCL error into a JavaScript exception that names the op.
#include <node_api.h>
#include <cuda_runtime.h>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>
#include "kernels.h"
#include "attn_pack.h"
#include "matmul_pack.h"

static cudaStream_t g_stream = nullptr;
static int* g_flag = nullptr;
static std::vector<cudaEvent_t> g_events;
static const size_t STAGE_SLOT = 256 << 10;
static const int STAGE_SLOTS = 32;
static const size_t STAGE_CHUNKS_MAX = 8;  // slots one upload may take (larger: a synchronous copy)
static char* g_stage = nullptr;
static cudaEvent_t g_stageEv[STAGE_SLOTS];
static int g_stageNext = 0;
// Read-back slots for readLater: small device values copied into pinned memory in stream order, each
// with an event, so the host can wait for that point of the stream and not for everything queued since.
// A slot's last 4 bytes get the device error flag as it was at that point (what `sync` would report).
static const size_t READ_SLOT = 4096;
static const size_t READ_VALUE = READ_SLOT - 16;
static const int READ_SLOTS = 64;
static char* g_readback = nullptr;
static cudaEvent_t g_readEv[READ_SLOTS];
static bool g_readBusy[READ_SLOTS];

struct MbError : std::runtime_error { using std::runtime_error::runtime_error; };

void mb_throw_cuda(int err, const char* what) {
  throw MbError(std::string(cudaGetErrorName((cudaError_t)err)) + " (" + cudaGetErrorString((cudaError_t)err) + ") in " + what);
}
void mb_throw(const char* what) { throw MbError(what); }
void* mb_stream() { return g_stream; }
int* mb_error_flag() { return g_flag; }

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) mb_throw_cuda(e_, #x); } while (0)

// ---- argument access ---------------------------------------------------------------------------
struct Args {
  napi_env env;
  napi_value v[24];
  size_t n = 24;
  double d(size_t i) const {
    double x = 0;
    if (i >= n || napi_get_value_double(env, v[i], &x) != napi_ok) throw MbError("argument " + std::to_string(i) + ": expected a number");
    return x;
  }
  int64_t i(size_t k) const { return (int64_t)d(k); }
  int dt(size_t k) const { return (int)d(k); }
  void* p(size_t k) const { return (void*)(uintptr_t)(uint64_t)d(k); }
  float f(size_t k) const { return (float)d(k); }
  // Raw bytes of a TypedArray / ArrayBuffer view.
  void* bytes(size_t k, size_t* len) const {
    bool is = false;
    napi_is_typedarray(env, v[k], &is);
    if (is) {
      napi_typedarray_type t; size_t length; void* data; napi_value ab; size_t off;
      napi_get_typedarray_info(env, v[k], &t, &length, &data, &ab, &off);
      size_t es = 1;
      switch (t) {
        case napi_int16_array: case napi_uint16_array: es = 2; break;
        case napi_int32_array: case napi_uint32_array: case napi_float32_array: es = 4; break;
        case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: es = 8; break;
        default: es = 1;
      }
      *len = length * es;
      return data;
    }
    throw MbError("argument " + std::to_string(k) + ": expected a TypedArray");
  }
  const double* f64(size_t k, size_t* count) const {
    size_t len;
    const double* p = (const double*)bytes(k, &len);
    *count = len / 8;
    return p;
  }
};

typedef napi_value (*Impl)(Args&);

static napi_value num(napi_env env, double x) { napi_value r; napi_create_double(env, x, &r); return r; }
static napi_value undef(napi_env env) { napi_value r; napi_get_undefined(env, &r); return r; }

struct Entry { const char* name; Impl fn; };

static napi_value dispatch(napi_env env, napi_callback_info info) {
  Args a;
  a.env = env;
  void* data = nullptr;
  napi_get_cb_info(env, info, &a.n, a.v, nullptr, &data);
  const Entry* e = (const Entry*)data;
  try {
    napi_value r = e->fn(a);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) mb_throw_cuda(err, "kernel launch");
    return r;
  } catch (const std::exception& ex) {
    napi_throw_error(env, "ERR_MOSAICBERT_CUDA", (std::string(e->name) + ": " + ex.what()).c_str());
    return nullptr;
  }
}

static void ensure_init() {
  if (g_stream) return;
  CK(cudaSetDevice(0));
  mb_check_arch();
  CK(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
  CK(cudaMalloc(&g_flag, sizeof(int)));
  CK(cudaMemset(g_flag, 0, sizeof(int)));
  CK(cudaHostAlloc((void**)&g_stage, STAGE_SLOT * STAGE_SLOTS, cudaHostAllocDefault));
  for (int i = 0; i < STAGE_SLOTS; i++) { CK(cudaEventCreateWithFlags(&g_stageEv[i], cudaEventDisableTiming)); CK(cudaEventRecord(g_stageEv[i], g_stream)); }
  CK(cudaHostAlloc((void**)&g_readback, READ_SLOT * READ_SLOTS, cudaHostAllocDefault));
  for (int i = 0; i < READ_SLOTS; i++) CK(cudaEventCreateWithFlags(&g_readEv[i], cudaEventDisableTiming));
  mb_gemm_init();
}

static AttnArgs attn_from(const Args& a, size_t k) {
  size_t n;
  const double* f = a.f64(k, &n);
  if (n < ATTN_SLOTS) throw MbError("attention argument pack too short");
  AttnArgs r{};
  r.dt = (int)f[ATTN_DT]; r.qkv = (const void*)(uintptr_t)f[ATTN_QKV]; r.out = (void*)(uintptr_t)f[ATTN_OUT]; r.lse = (float*)(uintptr_t)f[ATTN_LSE];
  r.cu = (const int32_t*)(uintptr_t)f[ATTN_CU_SEQLENS]; r.positions = (const int32_t*)(uintptr_t)f[ATTN_POSITIONS]; r.dtMask = (int)f[ATTN_DT_MASK];
  r.keyMask = (const void*)(uintptr_t)f[ATTN_KEY_MASK]; r.slopes = (const float*)(uintptr_t)f[ATTN_SLOPES];
  r.B = (int)f[ATTN_BATCH]; r.T = (int)f[ATTN_TOKENS]; r.nh = (int)f[ATTN_HEADS]; r.dh = (int)f[ATTN_HEAD_DIM]; r.maxSeqlen = (int)f[ATTN_MAX_SEQLEN];
  r.scale = (float)f[ATTN_SCALE]; r.dropP = (float)f[ATTN_DROP_P]; r.dropKey = (uint32_t)f[ATTN_DROP_KEY]; r.dropOffset = (uint32_t)f[ATTN_DROP_OFFSET];
  r.dtO = (int)f[ATTN_DT_OUT]; r.dtDo = (int)f[ATTN_DT_DOUT];
  return r;
}

static const Entry ENTRIES[] = {
  {"init", [](Args& a) -> napi_value {
    ensure_init();
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    napi_value o, s;
    napi_create_object(a.env, &o);
    napi_create_string_utf8(a.env, prop.name, NAPI_AUTO_LENGTH, &s);
    napi_set_named_property(a.env, o, "device", s);
    napi_set_named_property(a.env, o, "smCount", num(a.env, prop.multiProcessorCount));
    napi_set_named_property(a.env, o, "computeCapability", num(a.env, prop.major * 10 + prop.minor));
    napi_set_named_property(a.env, o, "totalMemory", num(a.env, (double)prop.totalGlobalMem));
    napi_set_named_property(a.env, o, "cublasLt", num(a.env, mb_cublaslt_version()));
    int rt = 0; cudaRuntimeGetVersion(&rt);
    napi_set_named_property(a.env, o, "cudaRuntime", num(a.env, rt));
    napi_set_named_property(a.env, o, "nccl", num(a.env, mb_nccl_version()));
    return o;
  }},
  {"malloc", [](Args& a) -> napi_value {
    void* p = nullptr;
    size_t bytes = (size_t)a.i(0);
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) { cudaGetLastError(); return num(a.env, 0); }  // the allocator frees its cache and retries
    return num(a.env, (double)(uintptr_t)p);
  }},
  {"free", [](Args& a) -> napi_value { CK(cudaFree(a.p(0))); return undef(a.env); }},
  {"memGetInfo", [](Args& a) -> napi_value {
    size_t f, t; CK(cudaMemGetInfo(&f, &t));
    napi_value arr; napi_create_array_with_length(a.env, 2, &arr);
    napi_set_element(a.env, arr, 0, num(a.env, (double)f)); napi_set_element(a.env, arr, 1, num(a.env, (double)t));
    return arr;
  }},
  {"memset0", [](Args& a) -> napi_value { CK(cudaMemsetAsync(a.p(0), 0, (size_t)a.i(1), g_stream)); return undef(a.env); }},
  {"h2d", [](Args& a) -> napi_value {
    size_t len; void* src = a.bytes(1, &len);
    size_t n = (size_t)a.i(2);
    if (n > len) throw MbError("host buffer smaller than the copy");
    if (n <= STAGE_SLOT * STAGE_CHUNKS_MAX) {
      // Uploads of up to 2 MiB (ids, lengths, row lists, masks of a batch) go through a pinned ring, a slot per
      // 256 KiB, so they do not wait for the stream (the next training step is queued while one runs): a slot
      // is reused only after the copy that last used it has completed, 32 uploads of one slot ago.
      for (size_t done = 0; done < n; done += STAGE_SLOT) {
        const size_t m = n - done < STAGE_SLOT ? n - done : STAGE_SLOT;
        int s = g_stageNext; g_stageNext = (g_stageNext + 1) % STAGE_SLOTS;
        CK(cudaEventSynchronize(g_stageEv[s]));
        char* slot = g_stage + (size_t)s * STAGE_SLOT;
        memcpy(slot, static_cast<char*>(src) + done, m);
        CK(cudaMemcpyAsync(static_cast<char*>(a.p(0)) + done, slot, m, cudaMemcpyHostToDevice, g_stream));
        CK(cudaEventRecord(g_stageEv[s], g_stream));
      }
      return undef(a.env);
    }
    // Large pageable source: the copy must finish before the JavaScript buffer can change.
    CK(cudaMemcpyAsync(a.p(0), src, n, cudaMemcpyHostToDevice, g_stream));
    CK(cudaStreamSynchronize(g_stream));
    return undef(a.env);
  }},
  {"d2h", [](Args& a) -> napi_value {
    size_t len; void* dst = a.bytes(0, &len);
    size_t n = (size_t)a.i(2);
    if (n > len) throw MbError("host buffer smaller than the copy");
    CK(cudaMemcpyAsync(dst, a.p(1), n, cudaMemcpyDeviceToHost, g_stream));
    CK(cudaStreamSynchronize(g_stream));
    return undef(a.env);
  }},
  {"readLater", [](Args& a) -> napi_value {
    // Queues the copy of n bytes at p into a free pinned slot and returns the slot; −1 when the value
    // is larger than a slot or every slot awaits its readTake (the caller then snapshots on the device).
    size_t n = (size_t)a.i(1);
    if (n > READ_VALUE) return num(a.env, -1);
    for (int s = 0; s < READ_SLOTS; s++) {
      if (g_readBusy[s]) continue;
      char* slot = g_readback + (size_t)s * READ_SLOT;
      CK(cudaMemcpyAsync(slot, a.p(0), n, cudaMemcpyDeviceToHost, g_stream));
      CK(cudaMemcpyAsync(slot + READ_SLOT - 4, g_flag, sizeof(int), cudaMemcpyDeviceToHost, g_stream));
      CK(cudaEventRecord(g_readEv[s], g_stream));
      g_readBusy[s] = true;
      return num(a.env, s);
    }
    return num(a.env, -1);
  }},
  {"readTake", [](Args& a) -> napi_value {
    // Waits for slot s's copy only, moves its n bytes into dst, frees the slot and returns the device
    // error flag as it was when the copy was queued (0: none; the caller then synchronizes to report it).
    size_t len; void* dst = a.bytes(0, &len);
    int64_t s = a.i(1);
    size_t n = (size_t)a.i(2);
    if (s < 0 || s >= READ_SLOTS || !g_readBusy[s]) throw MbError("no read pending in slot " + std::to_string(s));
    if (n > len || n > READ_VALUE) throw MbError("host buffer smaller than the copy");
    // The slot is freed even when the wait fails (the error is sticky; the caller does not take it twice).
    g_readBusy[s] = false;
    CK(cudaEventSynchronize(g_readEv[s]));
    const char* slot = g_readback + (size_t)s * READ_SLOT;
    memcpy(dst, slot, n);
    int flag = 0;
    memcpy(&flag, slot + READ_SLOT - 4, sizeof flag);
    return num(a.env, flag);
  }},
  {"d2d", [](Args& a) -> napi_value { CK(cudaMemcpyAsync(a.p(0), a.p(1), (size_t)a.i(2), cudaMemcpyDeviceToDevice, g_stream)); return undef(a.env); }},
  {"sync", [](Args& a) -> napi_value {
    CK(cudaStreamSynchronize(g_stream));
    int flag = 0;
    CK(cudaMemcpy(&flag, g_flag, sizeof flag, cudaMemcpyDeviceToHost));
    if (flag) CK(cudaMemset(g_flag, 0, sizeof(int)));
    return num(a.env, flag);
  }},
  {"eventRecord", [](Args& a) -> napi_value {
    size_t i = (size_t)a.i(0);
    while (g_events.size() <= i) { cudaEvent_t e; CK(cudaEventCreate(&e)); g_events.push_back(e); }
    CK(cudaEventRecord(g_events[i], g_stream));
    return undef(a.env);
  }},
  {"eventElapsed", [](Args& a) -> napi_value {
    size_t i = (size_t)a.i(0), j = (size_t)a.i(1);
    if (i >= g_events.size() || j >= g_events.size()) throw MbError("unknown event");
    CK(cudaEventSynchronize(g_events[j]));
    float ms = 0; CK(cudaEventElapsedTime(&ms, g_events[i], g_events[j]));
    return num(a.env, ms);
  }},
  {"copy", [](Args& a) -> napi_value { k_copy(a.dt(0), a.p(1), a.dt(2), a.p(3), a.i(4)); return undef(a.env); }},
  {"fill", [](Args& a) -> napi_value { k_fill(a.dt(0), a.p(1), a.i(2), a.d(3)); return undef(a.env); }},
  {"add", [](Args& a) -> napi_value { k_add(a.dt(0), a.p(1), a.dt(2), a.p(3), a.dt(4), a.p(5), a.i(6)); return undef(a.env); }},
  {"addInPlace", [](Args& a) -> napi_value { k_axpy(a.dt(0), a.p(1), a.dt(2), a.p(3), a.f(4), a.i(5)); return undef(a.env); }},
  {"scaleInPlace", [](Args& a) -> napi_value { k_scale(a.dt(0), a.p(1), a.f(2), a.i(3)); return undef(a.env); }},
  {"gelu", [](Args& a) -> napi_value { k_gelu(a.dt(0), a.p(1), a.dt(2), a.p(3), a.i(4)); return undef(a.env); }},
  {"geluBackward", [](Args& a) -> napi_value { k_gelu_bwd(a.dt(0), a.p(1), a.dt(2), a.p(3), a.dt(4), a.p(5), a.i(6)); return undef(a.env); }},
  {"geglu", [](Args& a) -> napi_value { k_geglu(a.dt(0), a.p(1), a.dt(2), a.p(3), a.i(4), a.i(5), a.f(6), (uint32_t)a.d(7), (uint32_t)a.d(8)); return undef(a.env); }},
  {"gegluBackward", [](Args& a) -> napi_value { k_geglu_bwd(a.dt(0), a.p(1), a.dt(2), a.p(3), a.dt(4), a.p(5), a.i(6), a.i(7), a.f(8), (uint32_t)a.d(9), (uint32_t)a.d(10)); return undef(a.env); }},
  {"tanh", [](Args& a) -> napi_value { k_tanh(a.dt(0), a.p(1), a.dt(2), a.p(3), a.i(4)); return undef(a.env); }},
  {"tanhBackward", [](Args& a) -> napi_value { k_tanh_bwd(a.dt(0), a.p(1), a.dt(2), a.p(3), a.dt(4), a.p(5), a.i(6)); return undef(a.env); }},
  {"dropout", [](Args& a) -> napi_value { k_dropout(a.dt(0), a.p(1), a.dt(2), a.p(3), a.i(4), a.f(5), (uint32_t)a.d(6), (uint32_t)a.d(7)); return undef(a.env); }},
  {"biasAct", [](Args& a) -> napi_value {
    k_bias_act(a.dt(0), a.p(1), a.dt(2), a.p(3), a.dt(4), a.p(5), a.i(6), a.i(7), (int)a.i(8), a.dt(9), a.p(10), (int)a.i(11));
    return undef(a.env);
  }},
  {"embedding", [](Args& a) -> napi_value { k_embedding(a.dt(0), a.p(1), (const int32_t*)a.p(2), a.dt(3), a.p(4), a.i(5), a.i(6), a.i(7)); return undef(a.env); }},
  {"embeddingBackward", [](Args& a) -> napi_value {
    k_embedding_bwd((float*)a.p(0), (const int32_t*)a.p(1), a.dt(2), a.p(3), a.i(4), a.i(5), a.i(6), a.i(7));
    return undef(a.env);
  }},
  {"gatherRows", [](Args& a) -> napi_value { k_gather_rows(a.dt(0), a.p(1), a.p(2), (const int32_t*)a.p(3), a.i(4), a.i(5), a.i(6)); return undef(a.env); }},
  {"scatterRows", [](Args& a) -> napi_value {
    k_scatter_rows(a.dt(0), a.p(1), a.p(2), (const int32_t*)a.p(3), a.i(4), a.i(5), a.i(6), (int)a.i(7), a.dt(8));
    return undef(a.env);
  }},
  {"sumRows", [](Args& a) -> napi_value { k_sum_rows((float*)a.p(0), a.dt(1), a.p(2), a.i(3), a.i(4), (int)a.i(5)); return undef(a.env); }},
  {"layerNorm", [](Args& a) -> napi_value {
    k_layernorm(a.dt(0), a.p(1), a.dt(2), a.p(3), a.dt(4), a.p(5), a.p(6), a.dt(7), a.p(8), a.dt(9), a.p(10), (float*)a.p(11),
                (float*)a.p(12), a.i(13), a.i(14), a.f(15), a.f(16), (uint32_t)a.d(17), (uint32_t)a.d(18));
    return undef(a.env);
  }},
  {"layerNormBackward", [](Args& a) -> napi_value {
    k_layernorm_bwd(a.dt(0), a.p(1), a.dt(2), a.p(3), a.dt(4), a.p(5), a.dt(6), a.p(7), (const float*)a.p(8), (const float*)a.p(9),
                    (float*)a.p(10), (float*)a.p(11), a.i(12), a.i(13), a.p(14), a.f(15), (uint32_t)a.d(16), (uint32_t)a.d(17));
    return undef(a.env);
  }},
  {"crossEntropy", [](Args& a) -> napi_value {
    k_cross_entropy((float*)a.p(0), a.dt(1), a.p(2), (const int32_t*)a.p(3), a.i(4), a.i(5), (int)a.i(6), (int)a.i(7), a.dt(8), a.p(9),
                    a.f(10), (float*)a.p(11));
    return undef(a.env);
  }},
  {"mse", [](Args& a) -> napi_value {
    k_mse((float*)a.p(0), a.dt(1), a.p(2), a.dt(3), a.p(4), a.i(5), a.dt(6), a.p(7), a.f(8));
    return undef(a.env);
  }},
  {"argmax", [](Args& a) -> napi_value { k_argmax((int32_t*)a.p(0), a.dt(1), a.p(2), a.i(3), a.i(4)); return undef(a.env); }},
  {"adamw", [](Args& a) -> napi_value {
    size_t n; const double* t = a.f64(0, &n);
    k_adamw(t, (int)(n / 7), a.f(1), a.f(2), a.f(3), a.f(4), a.f(5), a.f(6), a.f(7), a.f(8), (const float*)a.p(9));
    return undef(a.env);
  }},
  {"globalNorm", [](Args& a) -> napi_value {
    size_t n; const double* t = a.f64(1, &n);
    k_global_norm((float*)a.p(0), t, (int)(n / 3), (float*)a.p(2));
    return undef(a.env);
  }},
  {"clipCoefficient", [](Args& a) -> napi_value { k_clip_coef((float*)a.p(0), (const float*)a.p(1), a.f(2)); return undef(a.env); }},
  {"attention", [](Args& a) -> napi_value { k_attention_fwd(attn_from(a, 0)); return undef(a.env); }},
  {"attentionBackwardScratch", [](Args& a) -> napi_value { return num(a.env, (double)k_attention_bwd_scratch_floats(attn_from(a, 0), a.p(1))); }},
  {"attentionBackward", [](Args& a) -> napi_value { k_attention_bwd(attn_from(a, 0), a.p(1), a.p(2), (float*)a.p(3)); return undef(a.env); }},
  {"matmul", [](Args& a) -> napi_value {
    size_t n; const double* f = a.f64(0, &n);
    if (n < MATMUL_SLOTS) throw MbError("matmul argument pack too short");
    GemmArgs g{};
    g.dtA = (int)f[MATMUL_DT_A]; g.dtB = (int)f[MATMUL_DT_B]; g.dtOut = (int)f[MATMUL_DT_OUT]; g.dtBias = (int)f[MATMUL_DT_BIAS];
    g.A = (const void*)(uintptr_t)f[MATMUL_A]; g.B = (const void*)(uintptr_t)f[MATMUL_B]; g.D = (void*)(uintptr_t)f[MATMUL_OUT];
    g.bias = (const void*)(uintptr_t)f[MATMUL_BIAS];
    g.M = (int64_t)f[MATMUL_M]; g.N = (int64_t)f[MATMUL_N]; g.K = (int64_t)f[MATMUL_K];
    g.transA = (int)f[MATMUL_TRANS_A]; g.transB = (int)f[MATMUL_TRANS_B];
    g.alpha = (float)f[MATMUL_ALPHA]; g.accumulate = (int)f[MATMUL_ACCUMULATE];
    g.biasGrad = (float*)(uintptr_t)f[MATMUL_BIAS_GRAD];
    mb_gemm(g);
    return undef(a.env);
  }},
  {"ncclUniqueId", [](Args& a) -> napi_value {
    char id[128]; mb_nccl_unique_id(id);
    void* data; napi_value buf;
    napi_create_buffer_copy(a.env, 128, id, &data, &buf);
    return buf;
  }},
  {"ncclInit", [](Args& a) -> napi_value {
    size_t len; const char* id = (const char*)a.bytes(2, &len);
    if (len < 128) throw MbError("NCCL unique id must be 128 bytes");
    mb_nccl_init((int)a.i(0), (int)a.i(1), id);
    return undef(a.env);
  }},
  {"ncclAllReduce", [](Args& a) -> napi_value { mb_nccl_all_reduce(a.p(0), a.i(1), a.dt(2), (int)a.i(3)); return undef(a.env); }},
  {"ncclAllReduceSide", [](Args& a) -> napi_value { mb_nccl_all_reduce_side(a.p(0), a.i(1), a.dt(2), (int)a.i(3)); return undef(a.env); }},
  {"ncclJoin", [](Args& a) -> napi_value { mb_nccl_join(); return undef(a.env); }},
  {"ncclDestroy", [](Args& a) -> napi_value { mb_nccl_destroy(); return undef(a.env); }},
};

static napi_value Init(napi_env env, napi_value exports) {
  for (const Entry& e : ENTRIES) {
    napi_value fn;
    napi_create_function(env, e.name, NAPI_AUTO_LENGTH, dispatch, (void*)&e, &fn);
    napi_set_named_property(env, exports, e.name, fn);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
