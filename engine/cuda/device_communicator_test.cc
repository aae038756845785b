// The device communicators of logical hosts on one GPU (InProcessDeviceGroup: event-ordered
// device copies; StagedDeviceCommunicator: through pinned host memory and an InProcessGroup):
// device-buffer all-gather and ring send/recv (label: gpu; skipped without a device).
#include "engine/cuda/device_communicator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <exception>
#include <ostream>
#include <thread>
#include <vector>

#include "engine/cuda/attention_testing.h"
#include "engine/cuda/check.cuh"

namespace starattn::cuda {
namespace {

using testing::DeviceBuffer;

enum class Kind { kInProcessDevice, kStaged };
void PrintTo(Kind k, std::ostream* os) {
  *os << (k == Kind::kStaged ? "staged" : "in-process-device");
}

// Runs body(rank, comm, stream) on H threads, one logical host each, with the communicator of
// `kind`; rethrows a host's error.
template <typename F>
void OnHosts(Kind kind, int H, F body) {
  InProcessDeviceGroup device_group(H, 0);
  InProcessGroup host_group(H);
  std::vector<std::exception_ptr> errors(H);
  std::vector<std::thread> threads;
  for (int h = 0; h < H; ++h) {
    threads.emplace_back([&, h] {
      try {
        STARATTN_CUDA_CHECK(cudaSetDevice(0));
        cudaStream_t stream;
        STARATTN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
        {
          StagedDeviceCommunicator staged(host_group.Endpoint(h));
          DeviceCommunicator& comm = kind == Kind::kStaged ? staged : device_group.Endpoint(h);
          body(h, comm, stream);
        }
        STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream));
        STARATTN_CUDA_CHECK(cudaStreamDestroy(stream));
      } catch (...) {
        errors[h] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

class DeviceCommunicatorTest : public ::testing::TestWithParam<Kind> {};

TEST_P(DeviceCommunicatorTest, AllGatherTwiceWithGrowingSizes) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  const int H = 3;
  std::vector<std::vector<int32_t>> got(H);
  OnHosts(GetParam(), H, [&](int rank, DeviceCommunicator& comm, cudaStream_t stream) {
    EXPECT_EQ(comm.rank(), rank);
    EXPECT_EQ(comm.size(), H);
    for (int64_t n : {5, 1000}) {  // the second call grows the pinned staging
      std::vector<int32_t> mine(n);
      for (int64_t i = 0; i < n; ++i) mine[i] = static_cast<int32_t>(rank * 100000 + i);
      DeviceBuffer<int32_t> send(mine), recv(H * n);
      recv.Poison();
      comm.AllGather(send.get(), n * sizeof(int32_t), recv.get(), stream);
      STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream));
      got[rank] = recv.Download();
      for (int r = 0; r < H; ++r) {
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(got[rank][r * n + i], r * 100000 + i) << "rank " << rank << " from " << r;
        }
      }
    }
  });
}

TEST_P(DeviceCommunicatorTest, RingSendRecvWithUnequalSizes) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  const int H = 4;
  OnHosts(GetParam(), H, [&](int rank, DeviceCommunicator& comm, cudaStream_t stream) {
    // Rank r sends r + 3 values to r + 1 and receives (r - 1) + 3 values from r - 1.
    const int dest = (rank + 1) % H, src = (rank - 1 + H) % H;
    std::vector<float> mine(rank + 3);
    for (size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<float>(rank) + 0.25f * i;
    DeviceBuffer<float> send(mine), recv(src + 3);
    recv.Poison();
    comm.SendRecv(send.get(), mine.size() * sizeof(float), dest, recv.get(),
                  (src + 3) * sizeof(float), src, stream);
    STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream));
    const auto got = recv.Download();
    for (int i = 0; i < src + 3; ++i) {
      ASSERT_EQ(got[i], static_cast<float>(src) + 0.25f * i) << "rank " << rank;
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Kinds, DeviceCommunicatorTest,
                         ::testing::Values(Kind::kInProcessDevice, Kind::kStaged),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::kStaged ? "Staged" : "InProcessDevice";
                         });

}  // namespace
}  // namespace starattn::cuda
