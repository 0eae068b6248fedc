// GeGLU forward and backward kernels alone, timed with CUDA events at the shapes of one MosaicBERT-base layer
// (rows × 2·3072 bf16 → rows × 3072), through the same dispatchers the addon calls (k_geglu, k_geglu_bwd), so
// the layout switches of elementwise.cu (MOSAICBERT_GEGLU_ROWS, MOSAICBERT_GEGLU_2D) are compared as shipped.
// Built and run by scripts/geglu-bench.sh on the GPU machine; one JSON line per dropout rate.
//   usage: geglu_bench [rows=32768] [inter=3072] [reps=50]
#include "../native/elementwise.cu"
#include <cstdio>
#include <stdexcept>
#include <vector>

void* mb_stream() { return nullptr; }
[[noreturn]] void mb_throw_cuda(int err, const char* what) {
  std::fprintf(stderr, "CUDA error %d (%s) in %s\n", err, cudaGetErrorString((cudaError_t)err), what);
  std::exit(1);
}
[[noreturn]] void mb_throw(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::exit(1);
}

__global__ void fill_bf16_k(__nv_bfloat16* p, int64_t n, uint32_t key) {
  GRID_LOOP(i, n) p[i] = __float2bfloat16_rn(4.0f * mb_uniform(key, (uint32_t)i) - 2.0f);
}

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 32768;
  const int64_t inter = argc > 2 ? std::atoll(argv[2]) : 3072;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 50;
  __nv_bfloat16 *g, *h, *dh, *dg;
  CK(cudaMalloc(&g, rows * 2 * inter * 2));
  CK(cudaMalloc(&dg, rows * 2 * inter * 2));
  CK(cudaMalloc(&h, rows * inter * 2));
  CK(cudaMalloc(&dh, rows * inter * 2));
  fill_bf16_k<<<grid_for(rows * 2 * inter, 256), 256>>>(g, rows * 2 * inter, 1);
  fill_bf16_k<<<grid_for(rows * inter, 256), 256>>>(dh, rows * inter, 2);
  CK(cudaDeviceSynchronize());
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  const char* rowsEnv = std::getenv("MOSAICBERT_GEGLU_ROWS");
  const char* twoD = std::getenv("MOSAICBERT_GEGLU_2D");
  for (float p : {0.1f, 0.0f}) {
    float ms[2];
    for (int pass = 0; pass < 2; pass++) {
      auto launch = [&](uint32_t off) {
        if (pass == 0) k_geglu(DT_BF16, h, DT_BF16, g, rows, inter, p, 7, off);
        else k_geglu_bwd(DT_BF16, dg, DT_BF16, dh, DT_BF16, g, rows, inter, p, 7, off);
      };
      for (int w = 0; w < 3; w++) launch(w);
      CK(cudaEventRecord(e0));
      for (int r = 0; r < reps; r++) launch(r * 1000);
      CK(cudaEventRecord(e1));
      CK(cudaEventSynchronize(e1));
      CK(cudaEventElapsedTime(&ms[pass], e0, e1));
      ms[pass] /= reps;
    }
    const double fwdBytes = (double)rows * inter * 6, bwdBytes = (double)rows * inter * 10;
    std::printf("{\"rows\":%lld,\"inter\":%lld,\"p\":%.2f,\"GEGLU_ROWS\":\"%s\",\"GEGLU_2D\":\"%s\",\"fwd_ms\":%.4f,\"bwd_ms\":%.4f,"
                "\"fwd_TBps\":%.3f,\"bwd_TBps\":%.3f}\n",
                (long long)rows, (long long)inter, p, rowsEnv ? rowsEnv : "", twoD ? twoD : "", ms[0], ms[1], fwdBytes / ms[0] / 1e9,
                bwdBytes / ms[1] / 1e9);
  }
  return 0;
}
