// All-reduce across processes (one GPU each) through NCCL, on the backend's stream.
#include <nccl.h>
#include <cstdio>
#include <cstring>
#include "kernels.h"

static ncclComm_t g_comm = nullptr;

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

void mb_nccl_all_reduce(void* p, int64_t n, int dt, int average) {
  if (!g_comm) mb_throw("NCCL communicator not initialised (call ncclInit first)");
  ncclDataType_t t = dt == DT_F32 ? ncclFloat32 : dt == DT_BF16 ? ncclBfloat16 : dt == DT_F16 ? ncclFloat16 : ncclInt32;
  ckn(ncclAllReduce(p, p, (size_t)n, t, average ? ncclAvg : ncclSum, g_comm, (cudaStream_t)mb_stream()), "allReduce");
}

void mb_nccl_destroy() {
  if (g_comm) { ncclCommDestroy(g_comm); g_comm = nullptr; }
}
