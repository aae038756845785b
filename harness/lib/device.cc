#include "harness/lib/device.h"

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <string>
#include <utility>

#include "engine/common/error.h"

#ifdef STARATTN_HAVE_CUDA
#include "engine/cuda/device_communicator.h"
#include "engine/dist/nccl_communicator.h"
#include "engine/model/cuda_distributed.h"
#include "engine/model/cuda_model.h"
#endif

namespace po = boost::program_options;

namespace starattn::cli {

std::string_view DeviceName(Device d) {
  switch (d) {
    case Device::kCpu:
      return "cpu";
    case Device::kCuda:
      return "cuda";
  }
  return "?";
}

Device ParseDevice(std::string_view s) {
  if (s == "cpu") return Device::kCpu;
  if (s == "cuda") return Device::kCuda;
  Fail("unknown --device '{}' (cpu, cuda)", s);
}

bool BuildHasCuda() {
#ifdef STARATTN_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

void AddDeviceOptions(po::options_description& desc) {
  desc.add_options()("device", po::value<std::string>()->default_value("cpu"),
                     "where the model runs: cpu, cuda")(
      "dtype", po::value<std::string>()->default_value("bf16"),
      "cuda: weight and activation type, bf16 or fp16");
}

void RequireDevice(Device d) {
  switch (d) {
    case Device::kCpu:
      return;
    case Device::kCuda: {
#ifdef STARATTN_HAVE_CUDA
      std::string why;
      if (CudaDeviceCount(&why) == 0) Fail("--device cuda: {}", why);
      return;
#else
      Fail(
          "--device cuda: this build has no CUDA support (nvcc was not found at configure time, "
          "or -DSTARATTN_CUDA=OFF)");
#endif
    }
  }
}

DeviceChoice DeviceFromOptions(const po::variables_map& vm) {
  DeviceChoice c;
  c.device = ParseDevice(vm["device"].as<std::string>());
  const std::string dtype = vm["dtype"].as<std::string>();
  if (dtype != "bf16" && dtype != "fp16") Fail("unknown --dtype '{}' (bf16, fp16)", dtype);
  c.fp16 = dtype == "fp16";
  RequireDevice(c.device);
  return c;
}

#ifdef STARATTN_HAVE_CUDA
struct ModelRunner::Cuda {
  std::unique_ptr<CudaWeights> weights;
  std::unique_ptr<CudaModel> model;  // the single-host runner (generate, logits, MPI rank)
  // Under MPI: the device communicator over `comm_host`, made once (NCCL setup is costly).
  Communicator* comm_host = nullptr;
  std::unique_ptr<cuda::DeviceCommunicator> comm;
};
#else
struct ModelRunner::Cuda {};
#endif

#ifdef STARATTN_HAVE_CUDA
namespace {

// This process's index among the MPI ranks on its node, and their count (OpenMPI, MPICH/PMI
// variables); the world rank and size when the launcher sets neither.
std::pair<int, int> LocalRank(int rank, int size) {
  for (auto [r, n] : {std::pair{"OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"},
                      std::pair{"MPI_LOCALRANKID", "MPI_LOCALNRANKS"}}) {
    const char* rv = std::getenv(r);
    const char* nv = std::getenv(n);
    if (rv != nullptr && nv != nullptr) return {std::atoi(rv), std::atoi(nv)};
  }
  return {rank, size};
}

}  // namespace
#endif

ModelRunner::ModelRunner(const Model& model, const DeviceChoice& device, Communicator* mpi)
    : model_(model), device_(device) {
  RequireDevice(device.device);
#ifdef STARATTN_HAVE_CUDA
  if (device.device == Device::kCuda) {
    // One GPU per rank of a node while there are enough; ranks share GPUs beyond that.
    const int n_dev = CudaDeviceCount(nullptr);
    const int local_rank = mpi != nullptr ? LocalRank(mpi->rank(), mpi->size()).first : 0;
    cuda_ = std::make_unique<Cuda>();
    cuda_->weights = std::make_unique<CudaWeights>(
        model, device.fp16 ? DeviceDType::kFp16 : DeviceDType::kBf16, local_rank % n_dev);
    cuda_->model = std::make_unique<CudaModel>(*cuda_->weights);
  }
#endif
}

ModelRunner::~ModelRunner() = default;

GenerateResult ModelRunner::Generate(std::span<const int32_t> prompt, const GenerateOptions& opts) {
#ifdef STARATTN_HAVE_CUDA
  if (cuda_) return CudaGenerateGreedy(*cuda_->model, prompt, opts);
#endif
  return GenerateGreedy(model_, prompt, opts);
}

void ModelRunner::AllLogits(std::span<const int32_t> ids, int64_t chunk,
                            const std::function<void(int64_t, int64_t, const float*)>& on_chunk) {
  const int64_t n_ids = static_cast<int64_t>(ids.size());
  if (chunk <= 0) Fail("logits: chunk must be positive");
#ifdef STARATTN_HAVE_CUDA
  if (cuda_) {
    DeviceKvCache cache(*cuda_->weights, n_ids);
    for (int64_t i = 0; i < n_ids; i += chunk) {
      const int64_t n = std::min(chunk, n_ids - i);
      std::vector<int32_t> pos(n);
      std::iota(pos.begin(), pos.end(), static_cast<int32_t>(i));
      const auto logits = cuda_->model->Forward(ids.subspan(i, n), pos, cache, LogitsFor::kAll);
      on_chunk(i, n, logits.data());
    }
    return;
  }
#endif
  KvCache cache(model_.config(), n_ids);
  for (int64_t i = 0; i < n_ids; i += chunk) {
    const int64_t n = std::min(chunk, n_ids - i);
    std::vector<int32_t> pos(n);
    std::iota(pos.begin(), pos.end(), static_cast<int32_t>(i));
    const auto logits = model_.Forward(ids.subspan(i, n), pos, cache, LogitsFor::kAll);
    on_chunk(i, n, logits.data());
  }
}

SampleResult ModelRunner::RunSample(const DistConfig& cfg, std::span<const int32_t> context,
                                    std::span<const int32_t> query, const GenerateOptions& opts,
                                    Communicator* mpi) {
#ifdef STARATTN_HAVE_CUDA
  if (cuda_) {
    if (mpi == nullptr) return CudaRunInProcess(*cuda_->weights, cfg, context, query, opts);
    if (cuda_->comm_host != mpi) {
      cuda_->comm.reset();
      // NCCL needs one GPU per rank (it rejects two ranks on one device): every rank must see
      // that, else all of them stage through MPI.
      const int local_size = LocalRank(mpi->rank(), mpi->size()).second;
      const int own_gpu = local_size <= CudaDeviceCount(nullptr) ? 1 : 0;
      const bool nccl = NcclAvailable() && mpi->AllReduceSum(own_gpu) == mpi->size();
      cuda_->comm = nccl ? MakeNcclCommunicator(*mpi, cuda_->weights->device())
                         : std::make_unique<cuda::StagedDeviceCommunicator>(*mpi);
      cuda_->comm_host = mpi;
    }
    return CudaRunSample(*cuda_->model, *cuda_->comm, cfg, context, query, opts);
  }
#endif
  return mpi != nullptr ? starattn::RunSample(model_, *mpi, cfg, context, query, opts)
                        : RunInProcess(model_, cfg, context, query, opts);
}

}  // namespace starattn::cli
