#include "engine/cuda/device_communicator.h"

#include <vector>

#include "engine/common/error.h"
#include "engine/cuda/check.cuh"

namespace starattn::cuda {

StagedDeviceCommunicator::StagedDeviceCommunicator(Communicator& host) : host_(host) {}

StagedDeviceCommunicator::~StagedDeviceCommunicator() {
  if (send_ != nullptr) STARATTN_CUDA_CHECK(cudaFreeHost(send_));
  if (recv_ != nullptr) STARATTN_CUDA_CHECK(cudaFreeHost(recv_));
}

void StagedDeviceCommunicator::Reserve(void** buf, size_t* cap, size_t bytes, cudaStream_t stream) {
  if (bytes <= *cap) return;
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (*buf != nullptr) STARATTN_CUDA_CHECK(cudaFreeHost(*buf));
  STARATTN_CUDA_CHECK(cudaMallocHost(buf, bytes));
  *cap = bytes;
}

void StagedDeviceCommunicator::AllGather(const void* send, size_t bytes, void* recv,
                                         cudaStream_t stream) {
  const size_t total = bytes * static_cast<size_t>(size());
  Reserve(&send_, &send_cap_, bytes, stream);
  Reserve(&recv_, &recv_cap_, total, stream);
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(send_, send, bytes, cudaMemcpyDeviceToHost, stream));
  // Also waits for the previous call's upload from recv_, which is rewritten below.
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream));
  host_.AllGather(send_, bytes, recv_);
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(recv, recv_, total, cudaMemcpyHostToDevice, stream));
}

void StagedDeviceCommunicator::SendRecv(const void* send, size_t send_bytes, int dest, void* recv,
                                        size_t recv_bytes, int src, cudaStream_t stream) {
  Reserve(&send_, &send_cap_, send_bytes, stream);
  Reserve(&recv_, &recv_cap_, recv_bytes, stream);
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(send_, send, send_bytes, cudaMemcpyDeviceToHost, stream));
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream));
  host_.SendRecv(send_, send_bytes, dest, recv_, recv_bytes, src);
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(recv, recv_, recv_bytes, cudaMemcpyHostToDevice, stream));
}

// ---- InProcessDeviceGroup ------------------------------------------------------------------

// What each rank publishes for a collective: its send buffer and size, the event after which the
// buffer holds the data (ready), and the event after which it has finished reading its peers'
// buffers (copied).
struct InProcessDeviceGroup::Shared {
  explicit Shared(int n) : send(n, nullptr), bytes(n, 0), ready(n, nullptr), copied(n, nullptr) {}
  std::vector<const void*> send;
  std::vector<size_t> bytes;
  std::vector<cudaEvent_t> ready, copied;
};

namespace {

class InProcessDeviceEndpoint : public DeviceCommunicator {
 public:
  InProcessDeviceEndpoint(InProcessDeviceGroup::Shared* s, Communicator& host)
      : s_(s), host_(host) {}
  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  std::string kind() const override { return "in-process-device"; }
  Communicator& host() override { return host_; }

  void AllGather(const void* send, size_t bytes, void* recv, cudaStream_t stream) override {
    const int me = rank(), H = size();
    Publish(send, bytes, stream);
    for (int p = 0; p < H; ++p) {
      if (s_->bytes[p] != bytes)
        Fail("all-gather: rank {} sends {} bytes, rank {} {}", p, s_->bytes[p], me, bytes);
      if (p != me) STARATTN_CUDA_CHECK(cudaStreamWaitEvent(stream, s_->ready[p], 0));
      STARATTN_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(recv) + p * bytes, s_->send[p], bytes,
                                          cudaMemcpyDeviceToDevice, stream));
    }
    Release(stream, -1);
  }

  void SendRecv(const void* send, size_t send_bytes, int dest, void* recv, size_t recv_bytes,
                int src, cudaStream_t stream) override {
    Publish(send, send_bytes, stream);
    if (s_->bytes[src] != recv_bytes) {
      Fail("send/recv: rank {} expects {} bytes from rank {}, which sends {}", rank(), recv_bytes,
           src, s_->bytes[src]);
    }
    if (src != rank()) STARATTN_CUDA_CHECK(cudaStreamWaitEvent(stream, s_->ready[src], 0));
    STARATTN_CUDA_CHECK(
        cudaMemcpyAsync(recv, s_->send[src], recv_bytes, cudaMemcpyDeviceToDevice, stream));
    Release(stream, dest);
  }

 private:
  // Publishes this rank's buffer and its ready event; returns when every rank has.
  void Publish(const void* send, size_t bytes, cudaStream_t stream) {
    const int me = rank();
    s_->send[me] = send;
    s_->bytes[me] = bytes;
    STARATTN_CUDA_CHECK(cudaEventRecord(s_->ready[me], stream));
    host_.Barrier();
  }
  // Records that this rank's reads are queued, and makes its stream wait until the readers of its
  // own buffer (`reader`, or every rank when -1) have copied it: the caller may then overwrite it.
  // The second barrier also keeps the next Publish from re-recording events before every rank has
  // queued its waits on them.
  void Release(cudaStream_t stream, int reader) {
    const int me = rank(), H = size();
    STARATTN_CUDA_CHECK(cudaEventRecord(s_->copied[me], stream));
    host_.Barrier();
    for (int p = 0; p < H; ++p) {
      if (p != me && (reader < 0 || p == reader)) {
        STARATTN_CUDA_CHECK(cudaStreamWaitEvent(stream, s_->copied[p], 0));
      }
    }
  }

  InProcessDeviceGroup::Shared* s_;
  Communicator& host_;
};

}  // namespace

InProcessDeviceGroup::InProcessDeviceGroup(int size, int device)
    : host_(size), shared_(std::make_unique<Shared>(size)) {
  STARATTN_CUDA_CHECK(cudaSetDevice(device));
  for (int r = 0; r < size; ++r) {
    STARATTN_CUDA_CHECK(cudaEventCreateWithFlags(&shared_->ready[r], cudaEventDisableTiming));
    STARATTN_CUDA_CHECK(cudaEventCreateWithFlags(&shared_->copied[r], cudaEventDisableTiming));
    endpoints_.push_back(
        std::make_unique<InProcessDeviceEndpoint>(shared_.get(), host_.Endpoint(r)));
  }
}

InProcessDeviceGroup::~InProcessDeviceGroup() {
  for (size_t r = 0; r < shared_->ready.size(); ++r) {
    STARATTN_CUDA_CHECK(cudaEventDestroy(shared_->ready[r]));
    STARATTN_CUDA_CHECK(cudaEventDestroy(shared_->copied[r]));
  }
}

DeviceCommunicator& InProcessDeviceGroup::Endpoint(int rank) { return *endpoints_[rank]; }

// ---- StreamCommunicator --------------------------------------------------------------------

void StreamCommunicator::Broadcast(void* buf, size_t bytes, int root) {
  std::vector<char> host(bytes);
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(host.data(), buf, bytes, cudaMemcpyDeviceToHost, stream_));
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  d_.host().Broadcast(host.data(), bytes, root);
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(buf, host.data(), bytes, cudaMemcpyHostToDevice, stream_));
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void StreamCommunicator::Barrier() {
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  d_.host().Barrier();
}

}  // namespace starattn::cuda
