// Embedding lookup and its backward (scatter-add into a float32 table).
#include "common.cuh"
static cudaStream_t S() { return (cudaStream_t)mb_stream(); }

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
  embedding_bwd_k<<<grid_for(n * H, 256), 256, 0, S()>>>(dtab, ids, dtd, dy, n, V, H, pad, mb_error_flag());
  CKL();
}
