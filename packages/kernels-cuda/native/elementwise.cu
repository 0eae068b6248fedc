// Elementwise kernels: copy/cast, fill, add, axpy, scale, exact GELU, GeGLU, tanh, dropout and the
// GEMM epilogue fallback (bias + optional GELU). Float math in fp32; outputs round to nearest even.
#include "common.cuh"
#include "random.cuh"
#include <cmath>
#include <cstdlib>

#define GRID_LOOP(i, n) for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)
static cudaStream_t S() { return (cudaStream_t)mb_stream(); }
// The 16-byte vector kernels may run (not with MOSAICBERT_CUDA_GENERIC=1).
static bool vec_ok() { return !mb_generic_forced(); }
// The GeGLU kernels' layout. Default: 2D — blocks of GEGLU_2D_THREADS column chunks × ceil(rows / 4) row slots,
// each thread walking its column down 4 rows (two rows' loads issued before either is computed), no division
// (measured on an H100: 0.551 ms forward + backward at 32768 × 3072 with dropout against 0.577 for the flat layout).
// MOSAICBERT_GEGLU_ROWS=k (k >= 1) walks k rows; MOSAICBERT_GEGLU_ROWS=0 is the flat layout (one index per 16-byte
// chunk, divided by the row width per thread); MOSAICBERT_GEGLU_2D=1 is k = 1. The element work is the same
// function either way.
static int64_t geglu_rows_per_block() {
  static const int64_t k = [] {
    const int64_t v = mb_env_int("MOSAICBERT_GEGLU_ROWS", -1);
    if (v > 65536) return (int64_t)65536;
    if (v >= 0) return v;
    return mb_env_on("MOSAICBERT_GEGLU_2D") ? (int64_t)1 : (int64_t)4;
  }();
  return k;
}
static const int GEGLU_2D_THREADS = 128;
static dim3 geglu_2d_grid(int64_t rows, int64_t inter8, int64_t k) {
  const int64_t slots = (rows + k - 1) / k;
  return dim3((unsigned)((inter8 + GEGLU_2D_THREADS - 1) / GEGLU_2D_THREADS), (unsigned)(slots < 65535 ? slots : 65535));
}

__device__ __forceinline__ float gelu_f(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
__device__ __forceinline__ float gelu_grad(float x) {
  float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
  float pdf = 0.39894228040143268f * __expf(-0.5f * x * x);
  return cdf + x * pdf;
}

__global__ void copy_k(int dd, void* dst, int ds, const void* src, int64_t n) {
  GRID_LOOP(i, n) stany(dd, dst, i, ldany(ds, src, i));
}
// Same-dtype float conversions are the hot path of cast; keep them out of the double route.
__global__ void f32_to_bf16_k(__nv_bfloat16* dst, const float* src, int64_t n) {
  GRID_LOOP(i, n) dst[i] = __float2bfloat16_rn(src[i]);
}
__global__ void bf16_to_f32_k(float* dst, const __nv_bfloat16* src, int64_t n) {
  GRID_LOOP(i, n) dst[i] = __bfloat162float(src[i]);
}
void k_copy(int dd, void* dst, int ds, const void* src, int64_t n) {
  if (n == 0) return;
  if (dd == ds) { CK(cudaMemcpyAsync(dst, src, n * (dd == DT_F32 || dd == DT_I32 ? 4 : dd == DT_I64 ? 8 : dd <= DT_F16 ? 2 : 1), cudaMemcpyDeviceToDevice, S())); return; }
  if (dd == DT_BF16 && ds == DT_F32) f32_to_bf16_k<<<grid_for(n, 256), 256, 0, S()>>>((__nv_bfloat16*)dst, (const float*)src, n);
  else if (dd == DT_F32 && ds == DT_BF16) bf16_to_f32_k<<<grid_for(n, 256), 256, 0, S()>>>((float*)dst, (const __nv_bfloat16*)src, n);
  else copy_k<<<grid_for(n, 256), 256, 0, S()>>>(dd, dst, ds, src, n);
  CKL();
}

__global__ void fill_k(int dt, void* p, int64_t n, double v) { GRID_LOOP(i, n) stany(dt, p, i, v); }
void k_fill(int dt, void* p, int64_t n, double v) {
  if (n == 0) return;
  if (v == 0.0 && !std::signbit(v)) {
    // All-zero bits for every dtype: a memset (zeroing the gradient buffers each step).
    CK(cudaMemsetAsync(p, 0, n * (dt == DT_F32 || dt == DT_I32 ? 4 : dt == DT_I64 ? 8 : dt <= DT_F16 ? 2 : 1), S()));
    return;
  }
  fill_k<<<grid_for(n, 256), 256, 0, S()>>>(dt, p, n, v);
  CKL();
}

__global__ void add_k(int dto, void* o, int da, const void* a, int db, const void* b, int64_t n) {
  GRID_LOOP(i, n) stf(dto, o, i, ldf(da, a, i) + ldf(db, b, i));
}
void k_add(int dto, void* o, int da, const void* a, int db, const void* b, int64_t n) {
  if (n == 0) return;
  add_k<<<grid_for(n, 256), 256, 0, S()>>>(dto, o, da, a, db, b, n);
  CKL();
}

__global__ void axpy_k(int da, void* a, int db, const void* b, float alpha, int64_t n) {
  GRID_LOOP(i, n) stf(da, a, i, ldf(da, a, i) + alpha * ldf(db, b, i));
}
void k_axpy(int da, void* a, int db, const void* b, float alpha, int64_t n) {
  if (n == 0) return;
  axpy_k<<<grid_for(n, 256), 256, 0, S()>>>(da, a, db, b, alpha, n);
  CKL();
}

__global__ void scale_k(int dt, void* x, float s, int64_t n) { GRID_LOOP(i, n) stf(dt, x, i, ldf(dt, x, i) * s); }
void k_scale(int dt, void* x, float s, int64_t n) {
  if (n == 0) return;
  scale_k<<<grid_for(n, 256), 256, 0, S()>>>(dt, x, s, n);
  CKL();
}

__global__ void gelu_k(int dy, void* y, int dx, const void* x, int64_t n) { GRID_LOOP(i, n) stf(dy, y, i, gelu_f(ldf(dx, x, i))); }
void k_gelu(int dy, void* y, int dx, const void* x, int64_t n) {
  if (n == 0) return;
  gelu_k<<<grid_for(n, 256), 256, 0, S()>>>(dy, y, dx, x, n);
  CKL();
}

__global__ void gelu_bwd_k(int ddx, void* dx, int ddy, const void* dy, int dtx, const void* x, int64_t n) {
  GRID_LOOP(i, n) stf(ddx, dx, i, ldf(ddy, dy, i) * gelu_grad(ldf(dtx, x, i)));
}
__global__ void gelu_bwd_bf16_v8(uint4* dx, const uint4* dy, const uint4* x, int64_t n8) {
  GRID_LOOP(i, n8) {
    uint4 ud = dy[i], ux = x[i], o;
    const __nv_bfloat162* d2 = reinterpret_cast<const __nv_bfloat162*>(&ud);
    const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&ux);
    __nv_bfloat162* o2 = reinterpret_cast<__nv_bfloat162*>(&o);
#pragma unroll
    for (int k = 0; k < 4; k++) {
      float2 fd = __bfloat1622float2(d2[k]), fx = __bfloat1622float2(x2[k]);
      o2[k] = __floats2bfloat162_rn(fd.x * gelu_grad(fx.x), fd.y * gelu_grad(fx.y));
    }
    dx[i] = o;
  }
}
void k_gelu_bwd(int ddx, void* dx, int ddy, const void* dy, int dtx, const void* x, int64_t n) {
  if (n == 0) return;
  if (vec_ok() && ddx == DT_BF16 && ddy == DT_BF16 && dtx == DT_BF16 && n % 8 == 0 && aligned16(dx) && aligned16(dy) && aligned16(x)) {
    gelu_bwd_bf16_v8<<<grid_for(n / 8, 256), 256, 0, S()>>>((uint4*)dx, (const uint4*)dy, (const uint4*)x, n / 8);
    CKL();
    return;
  }
  gelu_bwd_k<<<grid_for(n, 256), 256, 0, S()>>>(ddx, dx, ddy, dy, dtx, x, n);
  CKL();
}

// GeGLU on bf16 with 16-byte accesses (8 elements a thread): the FFN's largest elementwise pass.
// With p > 0 it also applies MosaicBERT's FFN dropout: element e of h (row-major [rows, inter]) is
// kept iff mb_uniform(key, off + e) >= p, exactly the mask `k_dropout` draws for h, so the separate
// dropout pass (and its backward) disappear. The backward applies the same mask to dh.

// Chunk c (8 elements) of row r of h from its two halves ua (gelu side) and ub; dropout counters
// off + (r·inter8 + c)·8 + k, i.e. c0 + k.
template <bool DROP>
__device__ __forceinline__ uint4 geglu_vec(uint4 ua, uint4 ub, uint32_t c0, float p, float inv, uint32_t key) {
  uint4 uo;
  const __nv_bfloat162* a2 = reinterpret_cast<const __nv_bfloat162*>(&ua);
  const __nv_bfloat162* b2 = reinterpret_cast<const __nv_bfloat162*>(&ub);
  __nv_bfloat162* o2 = reinterpret_cast<__nv_bfloat162*>(&uo);
#pragma unroll
  for (int k = 0; k < 4; k++) {
    float2 fa = __bfloat1622float2(a2[k]), fb = __bfloat1622float2(b2[k]);
    float m0 = 1.0f, m1 = 1.0f;
    if (DROP) { m0 = drop_factor(p, inv, key, c0 + 2 * k); m1 = drop_factor(p, inv, key, c0 + 2 * k + 1); }
    o2[k] = __floats2bfloat162_rn(gelu_f(fa.x) * fb.x * m0, gelu_f(fa.y) * fb.y * m1);
  }
  return uo;
}
template <bool DROP>
__device__ __forceinline__ void geglu_chunk(uint4* h, const uint4* g, int64_t r, int64_t c, int64_t inter8, float p, float inv, uint32_t key, uint32_t off) {
  const int64_t i = r * inter8 + c;
  h[i] = geglu_vec<DROP>(g[r * 2 * inter8 + c], g[r * 2 * inter8 + inter8 + c], off + (uint32_t)(i * 8), p, inv, key);
}
template <bool DROP>
__global__ void geglu_bf16_v8(uint4* h, const uint4* g, int64_t rows, int64_t inter8, float p, float inv, uint32_t key, uint32_t off) {
  GRID_LOOP(i, rows * inter8) {
    const int64_t r = i / inter8;
    geglu_chunk<DROP>(h, g, r, i - r * inter8, inter8, p, inv, key, off);
  }
}
// The same chunks in 2D: column blocks × row slots; a thread takes rows blockIdx.y, + gridDim.y, … two at a time.
template <bool DROP>
__global__ void __launch_bounds__(GEGLU_2D_THREADS) geglu_bf16_2d(uint4* h, const uint4* g, int64_t rows, int64_t inter8, float p, float inv, uint32_t key, uint32_t off) {
  const int64_t c = (int64_t)blockIdx.x * GEGLU_2D_THREADS + threadIdx.x;
  if (c >= inter8) return;
  const int64_t step = gridDim.y;
  int64_t r = blockIdx.y;
  for (; r + step < rows; r += 2 * step) {
    const int64_t r1 = r + step;
    const uint4 a0 = g[r * 2 * inter8 + c], b0 = g[r * 2 * inter8 + inter8 + c];
    const uint4 a1 = g[r1 * 2 * inter8 + c], b1 = g[r1 * 2 * inter8 + inter8 + c];
    h[r * inter8 + c] = geglu_vec<DROP>(a0, b0, off + (uint32_t)((r * inter8 + c) * 8), p, inv, key);
    h[r1 * inter8 + c] = geglu_vec<DROP>(a1, b1, off + (uint32_t)((r1 * inter8 + c) * 8), p, inv, key);
  }
  if (r < rows) geglu_chunk<DROP>(h, g, r, c, inter8, p, inv, key, off);
}
__global__ void geglu_k(int dth, void* h, int dtg, const void* g, int64_t rows, int64_t inter, float p, float inv, uint32_t key, uint32_t off) {
  GRID_LOOP(i, rows * inter) {
    int64_t r = i / inter, c = i - r * inter;
    float m = p > 0.0f ? drop_factor(p, inv, key, off + (uint32_t)i) : 1.0f;
    stf(dth, h, i, gelu_f(ldf(dtg, g, r * 2 * inter + c)) * ldf(dtg, g, r * 2 * inter + inter + c) * m);
  }
}
void k_geglu(int dth, void* h, int dtg, const void* g, int64_t rows, int64_t inter, float p, uint32_t key, uint32_t off) {
  if (rows * inter == 0) return;
  const float inv = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
  if (vec_ok() && dth == DT_BF16 && dtg == DT_BF16 && inter % 8 == 0 && aligned16(h) && aligned16(g)) {
    int64_t n = rows * inter / 8;
    if (const int64_t k = geglu_rows_per_block()) {
      const dim3 grid = geglu_2d_grid(rows, inter / 8, k);
      if (p > 0.0f) geglu_bf16_2d<true><<<grid, GEGLU_2D_THREADS, 0, S()>>>((uint4*)h, (const uint4*)g, rows, inter / 8, p, inv, key, off);
      else geglu_bf16_2d<false><<<grid, GEGLU_2D_THREADS, 0, S()>>>((uint4*)h, (const uint4*)g, rows, inter / 8, p, inv, key, off);
    } else if (p > 0.0f) geglu_bf16_v8<true><<<grid_for(n, 256), 256, 0, S()>>>((uint4*)h, (const uint4*)g, rows, inter / 8, p, inv, key, off);
    else geglu_bf16_v8<false><<<grid_for(n, 256), 256, 0, S()>>>((uint4*)h, (const uint4*)g, rows, inter / 8, p, inv, key, off);
  } else {
    geglu_k<<<grid_for(rows * inter, 256), 256, 0, S()>>>(dth, h, dtg, g, rows, inter, p, inv, key, off);
  }
  CKL();
}

// The backward of one chunk: dg's two halves (oa, ob) at row r, chunk c, from dh (through the forward's mask) and g.
template <bool DROP>
__device__ __forceinline__ void geglu_bwd_vec(uint4 ua, uint4 ub, uint4 ud, uint4& oa, uint4& ob, uint32_t c0, float p, float inv, uint32_t key) {
  const __nv_bfloat162* a2 = reinterpret_cast<const __nv_bfloat162*>(&ua);
  const __nv_bfloat162* b2 = reinterpret_cast<const __nv_bfloat162*>(&ub);
  const __nv_bfloat162* d2 = reinterpret_cast<const __nv_bfloat162*>(&ud);
  __nv_bfloat162* oa2 = reinterpret_cast<__nv_bfloat162*>(&oa);
  __nv_bfloat162* ob2 = reinterpret_cast<__nv_bfloat162*>(&ob);
#pragma unroll
  for (int k = 0; k < 4; k++) {
    float2 fa = __bfloat1622float2(a2[k]), fb = __bfloat1622float2(b2[k]), fd = __bfloat1622float2(d2[k]);
    if (DROP) { fd.x *= drop_factor(p, inv, key, c0 + 2 * k); fd.y *= drop_factor(p, inv, key, c0 + 2 * k + 1); }
    oa2[k] = __floats2bfloat162_rn(fd.x * fb.x * gelu_grad(fa.x), fd.y * fb.y * gelu_grad(fa.y));
    ob2[k] = __floats2bfloat162_rn(fd.x * gelu_f(fa.x), fd.y * gelu_f(fa.y));
  }
}
template <bool DROP>
__device__ __forceinline__ void geglu_bwd_chunk(uint4* dg, const uint4* dh, const uint4* g, int64_t r, int64_t c, int64_t inter8, float p, float inv,
                                                uint32_t key, uint32_t off) {
  const int64_t i = r * inter8 + c;
  uint4 oa, ob;
  geglu_bwd_vec<DROP>(g[r * 2 * inter8 + c], g[r * 2 * inter8 + inter8 + c], dh[i], oa, ob, off + (uint32_t)(i * 8), p, inv, key);
  dg[r * 2 * inter8 + c] = oa;
  dg[r * 2 * inter8 + inter8 + c] = ob;
}
template <bool DROP>
__global__ void geglu_bwd_bf16_v8(uint4* dg, const uint4* dh, const uint4* g, int64_t rows, int64_t inter8, float p, float inv, uint32_t key, uint32_t off) {
  GRID_LOOP(i, rows * inter8) {
    const int64_t r = i / inter8;
    geglu_bwd_chunk<DROP>(dg, dh, g, r, i - r * inter8, inter8, p, inv, key, off);
  }
}
template <bool DROP>
__global__ void __launch_bounds__(GEGLU_2D_THREADS) geglu_bwd_bf16_2d(uint4* dg, const uint4* dh, const uint4* g, int64_t rows, int64_t inter8, float p, float inv, uint32_t key, uint32_t off) {
  const int64_t c = (int64_t)blockIdx.x * GEGLU_2D_THREADS + threadIdx.x;
  if (c >= inter8) return;
  const int64_t step = gridDim.y;
  int64_t r = blockIdx.y;
  for (; r + step < rows; r += 2 * step) {
    const int64_t r1 = r + step;
    const uint4 a0 = g[r * 2 * inter8 + c], b0 = g[r * 2 * inter8 + inter8 + c], d0 = dh[r * inter8 + c];
    const uint4 a1 = g[r1 * 2 * inter8 + c], b1 = g[r1 * 2 * inter8 + inter8 + c], d1 = dh[r1 * inter8 + c];
    uint4 oa, ob;
    geglu_bwd_vec<DROP>(a0, b0, d0, oa, ob, off + (uint32_t)((r * inter8 + c) * 8), p, inv, key);
    dg[r * 2 * inter8 + c] = oa;
    dg[r * 2 * inter8 + inter8 + c] = ob;
    geglu_bwd_vec<DROP>(a1, b1, d1, oa, ob, off + (uint32_t)((r1 * inter8 + c) * 8), p, inv, key);
    dg[r1 * 2 * inter8 + c] = oa;
    dg[r1 * 2 * inter8 + inter8 + c] = ob;
  }
  if (r < rows) geglu_bwd_chunk<DROP>(dg, dh, g, r, c, inter8, p, inv, key, off);
}
__global__ void geglu_bwd_k(int ddg, void* dg, int ddh, const void* dh, int dtg, const void* g, int64_t rows, int64_t inter, float p, float inv,
                            uint32_t key, uint32_t off) {
  GRID_LOOP(i, rows * inter) {
    int64_t r = i / inter, c = i - r * inter;
    float m = p > 0.0f ? drop_factor(p, inv, key, off + (uint32_t)i) : 1.0f;
    float a = ldf(dtg, g, r * 2 * inter + c), b = ldf(dtg, g, r * 2 * inter + inter + c), d = ldf(ddh, dh, i) * m;
    stf(ddg, dg, r * 2 * inter + c, d * b * gelu_grad(a));
    stf(ddg, dg, r * 2 * inter + inter + c, d * gelu_f(a));
  }
}
void k_geglu_bwd(int ddg, void* dg, int ddh, const void* dh, int dtg, const void* g, int64_t rows, int64_t inter, float p, uint32_t key, uint32_t off) {
  if (rows * inter == 0) return;
  const float inv = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
  if (vec_ok() && ddg == DT_BF16 && ddh == DT_BF16 && dtg == DT_BF16 && inter % 8 == 0 && aligned16(dg) && aligned16(dh) && aligned16(g)) {
    int64_t n = rows * inter / 8;
    if (const int64_t k = geglu_rows_per_block()) {
      const dim3 grid = geglu_2d_grid(rows, inter / 8, k);
      if (p > 0.0f) geglu_bwd_bf16_2d<true><<<grid, GEGLU_2D_THREADS, 0, S()>>>((uint4*)dg, (const uint4*)dh, (const uint4*)g, rows, inter / 8, p, inv, key, off);
      else geglu_bwd_bf16_2d<false><<<grid, GEGLU_2D_THREADS, 0, S()>>>((uint4*)dg, (const uint4*)dh, (const uint4*)g, rows, inter / 8, p, inv, key, off);
    } else if (p > 0.0f) geglu_bwd_bf16_v8<true><<<grid_for(n, 256), 256, 0, S()>>>((uint4*)dg, (const uint4*)dh, (const uint4*)g, rows, inter / 8, p, inv, key, off);
    else geglu_bwd_bf16_v8<false><<<grid_for(n, 256), 256, 0, S()>>>((uint4*)dg, (const uint4*)dh, (const uint4*)g, rows, inter / 8, p, inv, key, off);
  } else {
    geglu_bwd_k<<<grid_for(rows * inter, 256), 256, 0, S()>>>(ddg, dg, ddh, dh, dtg, g, rows, inter, p, inv, key, off);
  }
  CKL();
}

__global__ void tanh_k(int dy, void* y, int dx, const void* x, int64_t n) { GRID_LOOP(i, n) stf(dy, y, i, tanhf(ldf(dx, x, i))); }
void k_tanh(int dy, void* y, int dx, const void* x, int64_t n) {
  if (n == 0) return;
  tanh_k<<<grid_for(n, 256), 256, 0, S()>>>(dy, y, dx, x, n);
  CKL();
}
__global__ void tanh_bwd_k(int ddx, void* dx, int ddy, const void* dy, int dty, const void* y, int64_t n) {
  GRID_LOOP(i, n) { float t = ldf(dty, y, i); stf(ddx, dx, i, ldf(ddy, dy, i) * (1.0f - t * t)); }
}
void k_tanh_bwd(int ddx, void* dx, int ddy, const void* dy, int dty, const void* y, int64_t n) {
  if (n == 0) return;
  tanh_bwd_k<<<grid_for(n, 256), 256, 0, S()>>>(ddx, dx, ddy, dy, dty, y, n);
  CKL();
}

__global__ void dropout_k(int dy, void* y, int dx, const void* x, int64_t n, float p, float inv, uint32_t key, uint32_t off) {
  GRID_LOOP(i, n) {
    bool keep = mb_uniform(key, off + (uint32_t)i) >= p;
    stf(dy, y, i, keep ? ldf(dx, x, i) * inv : 0.0f);
  }
}
// bf16 dropout, 8 elements (16 bytes) a thread; element i keeps its own counter offset + i.
__global__ void dropout_bf16_v8(uint4* y, const uint4* x, int64_t n8, float p, float inv, uint32_t key, uint32_t off) {
  GRID_LOOP(i, n8) {
    uint4 u = x[i], o;
    const __nv_bfloat162* a2 = reinterpret_cast<const __nv_bfloat162*>(&u);
    __nv_bfloat162* o2 = reinterpret_cast<__nv_bfloat162*>(&o);
    const uint32_t c0 = off + (uint32_t)(i * 8);
#pragma unroll
    for (int k = 0; k < 4; k++) {
      float2 f = __bfloat1622float2(a2[k]);
      o2[k] = __floats2bfloat162_rn(drop_apply(f.x, p, inv, key, c0 + 2 * k), drop_apply(f.y, p, inv, key, c0 + 2 * k + 1));
    }
    y[i] = o;
  }
}
void k_dropout(int dy, void* y, int dx, const void* x, int64_t n, float p, uint32_t key, uint32_t off) {
  if (n == 0) return;
  if (p == 0.0f) { k_copy(dy, y, dx, x, n); return; }
  if (vec_ok() && dy == DT_BF16 && dx == DT_BF16 && n % 8 == 0 && aligned16(y) && aligned16(x)) {
    dropout_bf16_v8<<<grid_for(n / 8, 256), 256, 0, S()>>>((uint4*)y, (const uint4*)x, n / 8, p, 1.0f / (1.0f - p), key, off);
    CKL();
    return;
  }
  dropout_k<<<grid_for(n, 256), 256, 0, S()>>>(dy, y, dx, x, n, p, 1.0f / (1.0f - p), key, off);
  CKL();
}

// out (+)= act(pre + bias): the matmul epilogue when cuBLASLt's cannot express it (exact GELU,
// accumulate after the activation). `save` (optional) receives pre + bias.
__global__ void bias_act_k(int dto, void* out, int dtp, const void* pre, int dtb, const void* bias, int64_t rows, int64_t cols,
                           int gelu, int dts, void* save, int acc) {
  GRID_LOOP(i, rows * cols) {
    float v = ldf(dtp, pre, i);
    if (bias) v += ldf(dtb, bias, i % cols);
    if (save) stf(dts, save, i, v);
    if (gelu) v = gelu_f(v);
    if (acc) v += ldf(dto, out, i);
    stf(dto, out, i, v);
  }
}
// The GELU linear's epilogue as the BERT FFN runs it (f32 product with the bias already added by the GEMM, bf16
// output and bf16 saved pre-activation, no accumulate): 8 elements a thread with 16-byte accesses and no per-element
// modulo or dtype switch — the generic kernel above spent ≈ 0.9 ms a call on BERT-base's [32768, 3072] (146
// TFLOP/s for the whole linear; BERT-base's step 55.72 → 53.62 ms on an H100 with this one). The same float math,
// so the same bits. MOSAICBERT_BIAS_ACT_V8=0 goes back to the generic kernel.
static bool bias_act_v8() {
  static const bool on = mb_env_not_off("MOSAICBERT_BIAS_ACT_V8");
  return on;
}
template <bool SAVE>
__global__ void gelu_save_f32_bf16_v8(uint4* out, uint4* save, const float4* pre, int64_t n8) {
  GRID_LOOP(i, n8) {
    const float4 a = pre[2 * i], b = pre[2 * i + 1];
    const float v[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
    uint4 uo, us;
    __nv_bfloat162* o2 = reinterpret_cast<__nv_bfloat162*>(&uo);
    __nv_bfloat162* s2 = reinterpret_cast<__nv_bfloat162*>(&us);
#pragma unroll
    for (int k = 0; k < 4; k++) {
      o2[k] = __floats2bfloat162_rn(gelu_f(v[2 * k]), gelu_f(v[2 * k + 1]));
      if (SAVE) s2[k] = __floats2bfloat162_rn(v[2 * k], v[2 * k + 1]);
    }
    out[i] = uo;
    if (SAVE) save[i] = us;
  }
}
void k_bias_act(int dto, void* out, int dtp, const void* pre, int dtb, const void* bias, int64_t rows, int64_t cols,
                int gelu, int dts, void* save, int acc) {
  if (rows * cols == 0) return;
  const int64_t n = rows * cols;
  if (vec_ok() && bias_act_v8() && gelu && !acc && !bias && dto == DT_BF16 && dtp == DT_F32 && (!save || dts == DT_BF16) && n % 8 == 0 && aligned16(out) &&
      aligned16(pre) && (!save || aligned16(save))) {
    if (save) gelu_save_f32_bf16_v8<true><<<grid_for(n / 8, 256), 256, 0, S()>>>((uint4*)out, (uint4*)save, (const float4*)pre, n / 8);
    else gelu_save_f32_bf16_v8<false><<<grid_for(n / 8, 256), 256, 0, S()>>>((uint4*)out, nullptr, (const float4*)pre, n / 8);
    CKL();
    return;
  }
  bias_act_k<<<grid_for(rows * cols, 256), 256, 0, S()>>>(dto, out, dtp, pre, dtb, bias, rows, cols, gelu, dts, save, acc);
  CKL();
}
