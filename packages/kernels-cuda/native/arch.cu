// Does this addon carry code the GPU present can run? Checked once at start, so that a build for
// other GPUs fails with the GPU, its compute capability and the architectures built, not with the
// first kernel launch's "no kernel image is available".
#include "common.cuh"
#include <cstdio>

#define MB_STR2(...) #__VA_ARGS__
#define MB_STR(...) MB_STR2(__VA_ARGS__)
#ifdef __CUDA_ARCH_LIST__
static const char* BUILT = MB_STR(__CUDA_ARCH_LIST__);  // e.g. "800,860,890,900"
#else
static const char* BUILT = "unknown";
#endif

__global__ void mb_arch_probe_k() {}

void mb_check_arch() {
  cudaFuncAttributes fa;
  const cudaError_t e = cudaFuncGetAttributes(&fa, mb_arch_probe_k);
  if (e == cudaSuccess) return;
  cudaGetLastError();
  cudaDeviceProp p;
  CK(cudaGetDeviceProperties(&p, 0));
  char msg[640];
  snprintf(msg, sizeof msg,
           "this build of the addon cannot run on %s (compute capability %d.%d): it holds code for compute capabilities "
           "[%s] (×10); rebuild it for this GPU with `npm rebuild @mosaicbert/kernels-cuda` (or set MB_CUDA_ARCH): %s",
           p.name, p.major, p.minor, BUILT, cudaGetErrorString(e));
  mb_throw(msg);
}

// Streaming multiprocessors of this process's device (one device per process), asked once.
int64_t mb_sm_count() {
  static const int64_t n = [] {
    int d = 0, v = 0;
    if (cudaGetDevice(&d) != cudaSuccess || cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, d) != cudaSuccess || v <= 0) v = 132;
    return (int64_t)v;
  }();
  return n;
}
