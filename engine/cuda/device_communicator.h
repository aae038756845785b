// How hosts that hold their tensors on a GPU talk: collectives over device buffers, ordered on a
// CUDA stream. Implementations: StagedDeviceCommunicator (through a host Communicator: the
// in-process group of logical hosts on one GPU, or MPI), NcclCommunicator
// (engine/cuda/nccl_communicator.h: one process per GPU). Like Communicator, every rank calls
// the collectives in the same order; they are blocking for the host only where stated.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/dist/communicator.h"

namespace starattn::cuda {

class DeviceCommunicator {
 public:
  virtual ~DeviceCommunicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string kind() const = 0;
  // The host communicator of the same ranks (sampled tokens, stats, bootstrap).
  virtual Communicator& host() = 0;

  // send: `bytes` on the device; recv: [size(), bytes] on the device, rank r's send at
  // recv + r * bytes. Ordered on `stream`: reads `send` after the work queued before it, and
  // the work queued after it sees `recv`.
  virtual void AllGather(const void* send, size_t bytes, void* recv, cudaStream_t stream) = 0;
  // Sends `send` (device) to `dest` and receives `recv_bytes` from `src` into `recv` (device);
  // deadlock-free for rings. Ordered on `stream`.
  virtual void SendRecv(const void* send, size_t send_bytes, int dest, void* recv,
                        size_t recv_bytes, int src, cudaStream_t stream) = 0;
};

// Device collectives staged through pinned host memory and a host Communicator: copy down,
// synchronise the stream, the host collective, copy up. Correct on any communicator; the cost is
// one stream synchronisation and two PCIe copies per call.
class StagedDeviceCommunicator : public DeviceCommunicator {
 public:
  explicit StagedDeviceCommunicator(Communicator& host);
  ~StagedDeviceCommunicator() override;
  StagedDeviceCommunicator(const StagedDeviceCommunicator&) = delete;
  StagedDeviceCommunicator& operator=(const StagedDeviceCommunicator&) = delete;

  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  std::string kind() const override { return "staged-" + host_.kind(); }
  Communicator& host() override { return host_; }
  void AllGather(const void* send, size_t bytes, void* recv, cudaStream_t stream) override;
  void SendRecv(const void* send, size_t send_bytes, int dest, void* recv, size_t recv_bytes,
                int src, cudaStream_t stream) override;

 private:
  // Grows a pinned buffer to at least `bytes` (synchronising `stream` first: the old buffer may
  // still feed a queued copy).
  void Reserve(void** buf, size_t* cap, size_t bytes, cudaStream_t stream);

  Communicator& host_;
  void* send_ = nullptr;
  void* recv_ = nullptr;
  size_t send_cap_ = 0, recv_cap_ = 0;
};

// Logical hosts on one GPU in this process: collectives are device-to-device copies between the
// hosts' buffers, ordered across their streams with CUDA events. The host threads meet at two
// barriers per call (to publish buffers and events) but never wait for the GPU, so phase 2
// costs no stream synchronisation. Endpoint(r) belongs to rank r's thread.
class InProcessDeviceGroup {
 public:
  // `device`: the GPU every rank uses (its events are created there).
  InProcessDeviceGroup(int size, int device);
  ~InProcessDeviceGroup();
  InProcessDeviceGroup(const InProcessDeviceGroup&) = delete;
  InProcessDeviceGroup& operator=(const InProcessDeviceGroup&) = delete;
  DeviceCommunicator& Endpoint(int rank);
  int size() const { return host_.size(); }

  struct Shared;

 private:
  InProcessGroup host_;
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<DeviceCommunicator>> endpoints_;
};

// A DeviceCommunicator as a Communicator over one host's device memory: collectives are ordered on
// that host's stream. Broadcast and Barrier wait for the stream (they go through host memory).
class StreamCommunicator : public Communicator {
 public:
  // `owned` may be null when `device` outlives this object.
  StreamCommunicator(DeviceCommunicator& device, cudaStream_t stream,
                     std::unique_ptr<DeviceCommunicator> owned = nullptr)
      : owned_(std::move(owned)), d_(device), stream_(stream) {}
  int rank() const override { return d_.rank(); }
  int size() const override { return d_.size(); }
  std::string kind() const override { return d_.kind(); }
  void AllGather(const void* send, size_t bytes, void* recv) override {
    d_.AllGather(send, bytes, recv, stream_);
  }
  void SendRecv(const void* send, size_t send_bytes, int dest, void* recv, size_t recv_bytes,
                int src) override {
    d_.SendRecv(send, send_bytes, dest, recv, recv_bytes, src, stream_);
  }
  // buf: device memory.
  void Broadcast(void* buf, size_t bytes, int root) override;
  void Barrier() override;

 private:
  std::unique_ptr<DeviceCommunicator> owned_;
  DeviceCommunicator& d_;
  cudaStream_t stream_;
};

}  // namespace starattn::cuda
