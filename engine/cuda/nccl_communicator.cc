#include "engine/cuda/nccl_communicator.h"

#include "engine/common/error.h"

#ifdef STARATTN_HAVE_NCCL
#include <nccl.h>

#include <cstdio>

#include "engine/cuda/check.cuh"

// Every NCCL call goes through this: the failing expression, file and line in a one-line error.
#define STARATTN_NCCL_CHECK(expr)                                                            \
  do {                                                                                       \
    const ncclResult_t starattn_nccl_ = (expr);                                              \
    if (starattn_nccl_ != ncclSuccess) {                                                     \
      ::starattn::Fail("NCCL error '{}' in {} at {}:{}", ncclGetErrorString(starattn_nccl_), \
                       #expr, __FILE__, __LINE__);                                           \
    }                                                                                        \
  } while (0)
#endif

namespace starattn {

#ifdef STARATTN_HAVE_NCCL

bool NcclAvailable() { return true; }

namespace {

class NcclCommunicator : public cuda::DeviceCommunicator {
 public:
  NcclCommunicator(Communicator& host, int device) : host_(host) {
    STARATTN_CUDA_CHECK(cudaSetDevice(device));
    ncclUniqueId id{};
    if (host.rank() == 0) STARATTN_NCCL_CHECK(ncclGetUniqueId(&id));
    host.Broadcast(&id, sizeof(id), 0);
    STARATTN_NCCL_CHECK(ncclCommInitRank(&comm_, host.size(), id, host.rank()));
  }
  ~NcclCommunicator() override {
    // A destructor cannot throw: a failure is reported and the communicator leaked.
    const ncclResult_t r = ncclCommDestroy(comm_);
    if (r != ncclSuccess) {
      std::fprintf(stderr, "NCCL error '%s' in ncclCommDestroy at %s:%d\n", ncclGetErrorString(r),
                   __FILE__, __LINE__);
    }
  }

  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  std::string kind() const override { return "nccl"; }
  Communicator& host() override { return host_; }

  void AllGather(const void* send, size_t bytes, void* recv, cudaStream_t stream) override {
    STARATTN_NCCL_CHECK(ncclAllGather(send, recv, bytes, ncclChar, comm_, stream));
  }

  void SendRecv(const void* send, size_t send_bytes, int dest, void* recv, size_t recv_bytes,
                int src, cudaStream_t stream) override {
    // Grouped: every rank sends and receives at once, so a ring cannot deadlock.
    STARATTN_NCCL_CHECK(ncclGroupStart());
    STARATTN_NCCL_CHECK(ncclSend(send, send_bytes, ncclChar, dest, comm_, stream));
    STARATTN_NCCL_CHECK(ncclRecv(recv, recv_bytes, ncclChar, src, comm_, stream));
    STARATTN_NCCL_CHECK(ncclGroupEnd());
  }

 private:
  Communicator& host_;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<cuda::DeviceCommunicator> MakeNcclCommunicator(Communicator& host, int device) {
  return std::make_unique<NcclCommunicator>(host, device);
}

#else

bool NcclAvailable() { return false; }

std::unique_ptr<cuda::DeviceCommunicator> MakeNcclCommunicator(Communicator&, int) {
  Fail("this build has no NCCL support (configure with NCCL and MPI installed)");
}

#endif

}  // namespace starattn
