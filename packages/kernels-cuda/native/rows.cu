// Row gather/scatter for unpadding, and column sums (the bias gradient).
#include "common.cuh"
static cudaStream_t S() { return (cudaStream_t)mb_stream(); }

__device__ __forceinline__ int elt_size(int dt) { return dt == DT_F32 || dt == DT_I32 ? 4 : dt == DT_I64 ? 8 : dt <= DT_F16 ? 2 : 1; }

// Copies whole rows byte-wise in 4-byte words when the row size allows (it does for every float dtype with even H).
__global__ void gather_k(char* out, const char* x, const int32_t* idx, int64_t T, int64_t N, int64_t rowBytes, int* flag) {
  bool words = (rowBytes & 3) == 0 && ((uintptr_t)out & 3) == 0 && ((uintptr_t)x & 3) == 0;
  int64_t unit = words ? 4 : 1, per = rowBytes / unit;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < T * per; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i / per, c = i - r * per;
    int src = idx[r];
    if (src < 0 || src >= N) {
      report(flag, ERR_GATHER_INDEX);
      if (words) ((int*)out)[r * per + c] = 0; else out[r * per + c] = 0;
      continue;
    }
    if (words) ((int*)out)[r * per + c] = ((const int*)x)[(int64_t)src * per + c];
    else out[r * per + c] = x[(int64_t)src * per + c];
  }
}
void k_gather_rows(int dt, void* out, const void* x, const int32_t* idx, int64_t T, int64_t N, int64_t H) {
  int64_t rb = H * (dt == DT_F32 || dt == DT_I32 ? 4 : dt == DT_I64 ? 8 : dt <= DT_F16 ? 2 : 1);
  if (T * rb == 0) return;
  gather_k<<<grid_for(T * rb / 4 + 1, 256), 256, 0, S()>>>((char*)out, (const char*)x, idx, T, N, rb, mb_error_flag());
  CKL();
}

__global__ void scatter_k(int dt, void* out, int dtx, const void* x, const int32_t* idx, int64_t T, int64_t N, int64_t H, int add, int* flag) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < T * H; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i / H, c = i - r * H;
    int dst = idx[r];
    if (dst < 0 || dst >= N) { report(flag, add ? ERR_SCATTER_ADD_INDEX : ERR_SCATTER_INDEX); continue; }
    int64_t o = (int64_t)dst * H + c;
    if (!add) { stany(dt, out, o, ldany(dtx, x, i)); continue; }
    float v = ldf(dtx, x, i);
    switch (dt) {
      case DT_F32: atomicAdd((float*)out + o, v); break;
      case DT_BF16: atomicAdd((__nv_bfloat16*)out + o, __float2bfloat16_rn(v)); break;
      case DT_F16: atomicAdd((__half*)out + o, __float2half_rn(v)); break;
      default: break;
    }
  }
}
void k_scatter_rows(int dt, void* out, const void* x, const int32_t* idx, int64_t T, int64_t N, int64_t H, int add, int dtx) {
  if (T * H == 0) return;
  scatter_k<<<grid_for(T * H, 256), 256, 0, S()>>>(dt, out, dtx, x, idx, T, N, H, add, mb_error_flag());
  CKL();
}

// Column sums: blocks of 32 columns x 8 row-lanes; each block covers a slab of rows, then one
// atomicAdd per column per block.
__global__ void sum_rows_k(float* out, int dt, const void* x, int64_t N, int64_t M, int64_t rowsPerBlock) {
  __shared__ float part[8][33];
  int64_t col = blockIdx.x * 32 + threadIdx.x;
  int64_t r0 = blockIdx.y * rowsPerBlock, r1 = min(N, r0 + rowsPerBlock);
  float s = 0.0f;
  if (col < M) for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) s += ldf(dt, x, r * M + col);
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && col < M) {
    float t = 0.0f;
    for (int k = 0; k < 8; k++) t += part[k][threadIdx.x];
    atomicAdd(out + col, t);
  }
}
// bf16 column sums with 16-byte loads: a thread owns 8 adjacent columns over a slab of rows, four rows' loads in
// flight at a time (the sums of a weight-gradient GEMM's bias run over 32768 × 2304 and are bandwidth-bound).
__device__ __forceinline__ void add8(float* s, uint4 u) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&u);
#pragma unroll
  for (int k = 0; k < 4; k++) { float2 f = __bfloat1622float2(h[k]); s[2 * k] += f.x; s[2 * k + 1] += f.y; }
}
__global__ void __launch_bounds__(256) sum_rows_bf16_v8(float* out, const uint4* x, int64_t N, int64_t M8, int64_t rowsPerBlock) {
  __shared__ float part[8][32][9];
  const int64_t c8 = blockIdx.x * 32 + threadIdx.x;
  const int64_t r0 = blockIdx.y * rowsPerBlock, r1 = min(N, r0 + rowsPerBlock);
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (c8 < M8) {
    int64_t r = r0 + threadIdx.y;
    for (; r + 24 < r1; r += 32) {
      const uint4 u0 = x[r * M8 + c8], u1 = x[(r + 8) * M8 + c8], u2 = x[(r + 16) * M8 + c8], u3 = x[(r + 24) * M8 + c8];
      add8(s, u0); add8(s, u1); add8(s, u2); add8(s, u3);
    }
    for (; r < r1; r += 8) add8(s, x[r * M8 + c8]);
  }
#pragma unroll
  for (int k = 0; k < 8; k++) part[threadIdx.y][threadIdx.x][k] = s[k];
  __syncthreads();
  if (threadIdx.y == 0 && c8 < M8) {
#pragma unroll
    for (int k = 0; k < 8; k++) {
      float t = 0.0f;
      for (int y = 0; y < 8; y++) t += part[y][threadIdx.x][k];
      atomicAdd(out + c8 * 8 + k, t);
    }
  }
}

// A build with -DMB_DELIBERATE_BUG (scripts/gpu-check.sh --broken) gets one parameter's gradient wrong in the
// golden cases: the column sums over ≥ 2000 columns — there only the MLM decoder bias [vocab 2042 / 2048]
// (cls.predictions.decoder.bias in MosaicBERT, cls.predictions.bias in BERT; every other bias has ≤ 512) — come
// out 20% high, whether they come from here or from the weight-gradient GEMM (matmul.cc calls this too).
// (At base size the feed-forward biases pass 2000 too: the broken build is for the golden check alone. An
// earlier bound of 30000, the base vocab, never fired on the golden cases: the check was never caught.)
// The GPU check must then fail naming that parameter; a normal build never defines it.
void deliberate_bug(float* out, int64_t M) {
#ifdef MB_DELIBERATE_BUG
  if (M >= 2000) k_scale(DT_F32, out, 1.2f, M);
#else
  (void)out; (void)M;
#endif
}

void k_sum_rows(float* out, int dt, const void* x, int64_t N, int64_t M, int accumulate) {
  k_sum_rows_on(S(), out, dt, x, N, M, accumulate);
  if (M > 0 && N > 0) deliberate_bug(out, M);
}

void k_sum_rows_on(void* stream, float* out, int dt, const void* x, int64_t N, int64_t M, int accumulate) {
  cudaStream_t st = (cudaStream_t)stream;
  if (M == 0) return;
  if (!accumulate) CK(cudaMemsetAsync(out, 0, M * 4, st));
  if (N == 0) return;
  if (!mb_generic_forced() && dt == DT_BF16 && M % 8 == 0 && aligned16(x)) {
    // About eight blocks of 256 threads per SM (two waves at most), each slab ≥ 128 rows.
    const int64_t M8 = M / 8, colBlocks = (M8 + 31) / 32;
    int64_t slabs = (mb_sm_count() * 8 + colBlocks - 1) / colBlocks;
    if (slabs > (N + 127) / 128) slabs = (N + 127) / 128;
    if (slabs < 1) slabs = 1;
    const int64_t rpb = (N + slabs - 1) / slabs;
    sum_rows_bf16_v8<<<dim3((unsigned)colBlocks, (unsigned)slabs), dim3(32, 8), 0, st>>>(out, (const uint4*)x, N, M8, rpb);
    CKL();
    return;
  }
  int64_t colBlocks = (M + 31) / 32;
  int64_t slabs = (264 + colBlocks - 1) / colBlocks;  // about two waves of blocks over the chip
  if (slabs > (N + 63) / 64) slabs = (N + 63) / 64;
  if (slabs < 1) slabs = 1;
  int64_t rpb = (N + slabs - 1) / slabs;
  sum_rows_k<<<dim3((unsigned)colBlocks, (unsigned)slabs), dim3(32, 8), 0, st>>>(out, dt, x, N, M, rpb);
  CKL();
}
