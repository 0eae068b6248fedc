// Embedding lookup and its backward (scatter-add into a float32 table).
#include "common.cuh"
#include <algorithm>
static cudaStream_t S() { return (cudaStream_t)mb_stream(); }
bool k_embedding_fast(int dto, void* out, const int32_t* ids, int dtt, const void* table, int64_t n, int64_t V, int64_t H);
bool k_embedding_bwd_fast(float* dtab, const int32_t* ids, int dtd, const void* dy, int64_t n, int64_t V, int64_t H, int64_t pad);

__global__ void embedding_k(int dto, void* out, const int32_t* ids, int dtt, const void* table, int64_t n, int64_t V, int64_t H, int* flag) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n * H; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i / H, c = i - r * H;
    int id = ids[r];
    if (id < 0 || id >= V) { report(flag, ERR_EMBEDDING_ID); stf(dto, out, i, 0.0f); continue; }
    stf(dto, out, i, ldf(dtt, table, (int64_t)id * H + c));
  }
}
void k_embedding(int dto, void* out, const int32_t* ids, int dtt, const void* table, int64_t n, int64_t V, int64_t H) {
  if (n * H == 0) return;
  if (k_embedding_fast(dto, out, ids, dtt, table, n, V, H)) return;
  embedding_k<<<grid_for(n * H, 256), 256, 0, S()>>>(dto, out, ids, dtt, table, n, V, H, mb_error_flag());
  CKL();
}

__global__ void embedding_bwd_k(float* dtab, const int32_t* ids, int dtd, const void* dy, int64_t n, int64_t V, int64_t H, int64_t pad, int* flag) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n * H; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i / H, c = i - r * H;
    int id = ids[r];
    if (id < 0 || id >= V) { report(flag, ERR_EMBEDDING_BWD_ID); continue; }
    if (id == pad) continue;
    atomicAdd(dtab + (int64_t)id * H + c, ldf(dtd, dy, i));
  }
}
void k_embedding_bwd(float* dtab, const int32_t* ids, int dtd, const void* dy, int64_t n, int64_t V, int64_t H, int64_t pad) {
  if (n * H == 0) return;
  if (k_embedding_bwd_fast(dtab, ids, dtd, dy, n, V, H, pad)) return;
  embedding_bwd_k<<<grid_for(n * H, 256), 256, 0, S()>>>(dtab, ids, dtd, dy, n, V, H, pad, mb_error_flag());
  CKL();
}

// ------------------------------------------------------------------------------------------------
// Fast paths (the default; MOSAICBERT_EMB_FAST=0 takes the plain kernels above), for rows of 16-byte multiples:
// - the lookup copies 16-byte chunks when the table and the output have one dtype (the training step's bf16);
// - the backward of a small table (V·H float32 sums of a block fit 24 KB of shared memory: token types) sums each
//   block's rows per id in shared memory — each thread owns 8 columns, so no two threads add to one sum — and adds
//   them to the table once per block, instead of one global atomic per element, all on the same few rows;
// - the backward of a large table (words) reads dy 8 elements at a time and adds them with 16-byte float atomics
//   where the GPU has them (sm_90), four scalar ones elsewhere.
// Ids out of range are reported as by the plain kernels (the lookup writes zeros; the backward skips the row).

static bool emb_fast() {
  static const bool on = mb_env_not_off("MOSAICBERT_EMB_FAST");
  return on;
}

__global__ void embedding_v16(uint4* out, const int32_t* ids, const uint4* table, int64_t n, int64_t V, int64_t H16, int* flag) {
  const int64_t total = n * H16;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = i / H16, c = i - r * H16;
    const int id = ids[r];
    if (id < 0 || id >= V) { report(flag, ERR_EMBEDDING_ID); out[i] = make_uint4(0, 0, 0, 0); continue; }
    out[i] = table[(int64_t)id * H16 + c];
  }
}

bool k_embedding_fast(int dto, void* out, const int32_t* ids, int dtt, const void* table, int64_t n, int64_t V, int64_t H) {
  if (!emb_fast() || mb_generic_forced() || dto != dtt || (dto != DT_F32 && dto != DT_BF16)) return false;
  const int64_t bytes = H * (dto == DT_F32 ? 4 : 2);
  if (bytes % 16 != 0 || !aligned16(out) || !aligned16(table)) return false;
  const int64_t H16 = bytes / 16;
  embedding_v16<<<grid_for(n * H16, 256), 256, 0, S()>>>((uint4*)out, ids, (const uint4*)table, n, V, H16, mb_error_flag());
  CKL();
  return true;
}

// dy's 8 elements at chunk c8 of row r, as floats.
__device__ __forceinline__ void emb_load8(int dtd, const void* dy, int64_t r, int64_t H8, int64_t c8, float* v) {
  if (dtd == DT_BF16) {
    unpack8(reinterpret_cast<const uint4*>(dy)[r * H8 + c8], v);
  } else {
    const float4* p = reinterpret_cast<const float4*>(dy) + (r * H8 + c8) * 2;
    const float4 a = p[0], b = p[1];
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
  }
}

// Large tables: one thread per 8-element chunk of dy.
__global__ void embedding_bwd_v8(float* dtab, const int32_t* ids, int dtd, const void* dy, int64_t n, int64_t V, int64_t H8, int64_t pad, int* flag) {
  const int64_t total = n * H8;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = i / H8, c8 = i - r * H8;
    const int id = ids[r];
    if (id < 0 || id >= V) { report(flag, ERR_EMBEDDING_BWD_ID); continue; }
    if (id == pad) continue;
    float v[8];
    emb_load8(dtd, dy, r, H8, c8, v);
    float* t = dtab + ((int64_t)id * H8 + c8) * 8;
    atomic_add4(t, v[0], v[1], v[2], v[3]);
    atomic_add4(t + 4, v[4], v[5], v[6], v[7]);
  }
}

// Small tables: block b sums rows [b·rpb, (b+1)·rpb) in G groups of H8 threads (group g takes every G-th row,
// four rows' loads in flight at once), each group into its own V·H sums in shared memory, then adds the groups'
// sums to the table.
constexpr int EMB_ROWS_IN_FLIGHT = 4;
__global__ void embedding_bwd_small(float* dtab, const int32_t* ids, int dtd, const void* dy, int64_t n, int64_t V, int64_t H8, int64_t pad,
                                    int64_t rpb, int G, int* flag) {
  extern __shared__ __align__(16) float acc[];  // [G][V][H]
  const int64_t H = H8 * 8, VH = V * H;
  for (int64_t i = threadIdx.x; i < G * VH; i += blockDim.x) acc[i] = 0.0f;
  __syncthreads();
  const int g = threadIdx.x / (int)H8;
  const int64_t c8 = threadIdx.x - (int64_t)g * H8;
  const int64_t r0 = blockIdx.x * rpb, r1 = min(n, r0 + rpb);
  if (g < G) {
    float* mine = acc + (int64_t)g * VH + c8 * 8;
    for (int64_t r = r0 + g; r < r1; r += EMB_ROWS_IN_FLIGHT * G) {
      int id[EMB_ROWS_IN_FLIGHT];
      float v[EMB_ROWS_IN_FLIGHT][8];
#pragma unroll
      for (int j = 0; j < EMB_ROWS_IN_FLIGHT; j++) {
        const int64_t rr = r + (int64_t)j * G;
        id[j] = -1;
        if (rr >= r1) continue;
        id[j] = ids[rr];
        if (id[j] < 0 || id[j] >= V) { report(flag, ERR_EMBEDDING_BWD_ID); id[j] = -1; continue; }
        if (id[j] == pad) { id[j] = -1; continue; }
        emb_load8(dtd, dy, rr, H8, c8, v[j]);
      }
#pragma unroll
      for (int j = 0; j < EMB_ROWS_IN_FLIGHT; j++) {
        if (id[j] < 0) continue;
        float* a = mine + (int64_t)id[j] * H;
#pragma unroll
        for (int k = 0; k < 8; k++) a[k] += v[j][k];
      }
    }
  }
  __syncthreads();
  for (int64_t i = threadIdx.x; i < VH; i += blockDim.x) {
    float t = 0.0f;
    for (int k = 0; k < G; k++) t += acc[k * VH + i];
    if (t != 0.0f) atomicAdd(dtab + i, t);
  }
}

bool k_embedding_bwd_fast(float* dtab, const int32_t* ids, int dtd, const void* dy, int64_t n, int64_t V, int64_t H, int64_t pad) {
  if (!emb_fast() || mb_generic_forced() || (dtd != DT_F32 && dtd != DT_BF16) || H % 8 != 0 || V < 1) return false;
  if (!aligned16(dtab) || !aligned16(dy)) return false;
  const int64_t H8 = H / 8;
  const int64_t smallBytes = V * H * 4;
  if (H8 <= 256 && smallBytes <= 24 * 1024) {
    const int G = (int)std::max<int64_t>(1, std::min<int64_t>(256 / H8, (24 * 1024) / smallBytes));
    const int threads = (int)(G * H8);
    // 64 rows a block (512 blocks at the anchor's 32768 rows): enough loads in flight, V·H adds each at the end.
    int64_t blocks = (n + 63) / 64;
    if (blocks < 1) blocks = 1;
    const int64_t rpb = (n + blocks - 1) / blocks;
    blocks = (n + rpb - 1) / rpb;
    embedding_bwd_small<<<(unsigned)blocks, threads, (size_t)G * smallBytes, S()>>>(dtab, ids, dtd, dy, n, V, H8, pad, rpb, G, mb_error_flag());
  } else {
    embedding_bwd_v8<<<grid_for(n * H8, 256), 256, 0, S()>>>(dtab, ids, dtd, dy, n, V, H8, pad, mb_error_flag());
  }
  CKL();
  return true;
}
