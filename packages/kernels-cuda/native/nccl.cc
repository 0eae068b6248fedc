// All-reduce across processes (one GPU each) through NCCL: either on the backend's stream (ordered
// with everything else), or on a side stream so that gradient buckets are reduced while backward
// keeps computing the earlier layers (DDP's overlap). The side stream starts each reduction only
// after the backend's stream has reached the launch point (an event), and join() makes the backend's
// stream wait for every reduction launched so far, so no host synchronisation is involved.
#include <cuda_runtime.h>
#include <nccl.h>
#include <cstdio>
#include <cstring>
#include "kernels.h"

static ncclComm_t g_comm = nullptr;
static cudaStream_t g_side = nullptr;   // reductions overlapped with compute
static cudaEvent_t g_ready = nullptr;   // backend stream → side stream ("these gradients are final")
static cudaEvent_t g_done = nullptr;    // side stream → backend stream (join)

static void ckc(cudaError_t e, const char* what) { if (e != cudaSuccess) mb_throw_cuda(e, what); }

static void ckn(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) {
    char buf[256];
    snprintf(buf, sizeof buf, "NCCL %s failed: %s", what, ncclGetErrorString(r));
    mb_throw(buf);
  }
}

int mb_nccl_version() { int v = 0; ncclGetVersion(&v); return v; }

void mb_nccl_unique_id(char* out) {
  ncclUniqueId id;
  ckn(ncclGetUniqueId(&id), "getUniqueId");
  memcpy(out, id.internal, NCCL_UNIQUE_ID_BYTES);
}

void mb_nccl_init(int nranks, int rank, const char* id128) {
  if (g_comm) mb_throw("NCCL communicator already initialised");
  ncclUniqueId id;
  memcpy(id.internal, id128, NCCL_UNIQUE_ID_BYTES);
  ckn(ncclCommInitRank(&g_comm, nranks, id, rank), "commInitRank");
}

static ncclDataType_t nccl_type(int dt) {
  return dt == DT_F32 ? ncclFloat32 : dt == DT_BF16 ? ncclBfloat16 : dt == DT_F16 ? ncclFloat16 : ncclInt32;
}

void mb_nccl_all_reduce(void* p, int64_t n, int dt, int average) {
  if (!g_comm) mb_throw("NCCL communicator not initialised (call ncclInit first)");
  ckn(ncclAllReduce(p, p, (size_t)n, nccl_type(dt), average ? ncclAvg : ncclSum, g_comm, (cudaStream_t)mb_stream()), "allReduce");
}

void mb_nccl_all_reduce_side(void* p, int64_t n, int dt, int average) {
  if (!g_comm) mb_throw("NCCL communicator not initialised (call ncclInit first)");
  if (!g_side) {
    // Highest priority: a reduction's few blocks get scheduled as soon as SMs free up, so the
    // communication hides under the remaining backward instead of queueing behind it.
    int lo = 0, hi = 0;
    ckc(cudaDeviceGetStreamPriorityRange(&lo, &hi), "cudaDeviceGetStreamPriorityRange");
    ckc(cudaStreamCreateWithPriority(&g_side, cudaStreamNonBlocking, hi), "cudaStreamCreateWithPriority");
    ckc(cudaEventCreateWithFlags(&g_ready, cudaEventDisableTiming), "cudaEventCreate");
    ckc(cudaEventCreateWithFlags(&g_done, cudaEventDisableTiming), "cudaEventCreate");
  }
  ckc(cudaEventRecord(g_ready, (cudaStream_t)mb_stream()), "cudaEventRecord");
  ckc(cudaStreamWaitEvent(g_side, g_ready, 0), "cudaStreamWaitEvent");
  ckn(ncclAllReduce(p, p, (size_t)n, nccl_type(dt), average ? ncclAvg : ncclSum, g_comm, g_side), "allReduce (side stream)");
}

void mb_nccl_join() {
  if (!g_side) return;
  ckc(cudaEventRecord(g_done, g_side), "cudaEventRecord");
  ckc(cudaStreamWaitEvent((cudaStream_t)mb_stream(), g_done, 0), "cudaStreamWaitEvent");
}

void mb_nccl_destroy() {
  if (g_side) {
    cudaStreamSynchronize(g_side);
    cudaEventDestroy(g_ready);
    cudaEventDestroy(g_done);
    cudaStreamDestroy(g_side);
    g_side = nullptr; g_ready = nullptr; g_done = nullptr;
  }
  if (g_comm) { ncclCommDestroy(g_comm); g_comm = nullptr; }
}
