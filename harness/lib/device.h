// Where the model runs: `--device cpu|cuda` for every command that runs the model (generate,
// logits, run, sweep, bench), through the engine's backend registry (engine/backends/registry.h):
// a backend this build lacks, or a machine without its device, is a one-line error.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "engine/dist/communicator.h"
#include "engine/model/backend.h"
#include "engine/model/distributed.h"
#include "engine/model/generate.h"

namespace starattn::cli {

enum class Device { kCpu, kCuda };
std::string_view DeviceName(Device d);
Device ParseDevice(std::string_view s);  // "cpu" or "cuda"; else Error

// True when this build has the CUDA backend.
bool BuildHasCuda();

// Adds --device (default cpu), --compute (the arithmetic) and --kv-dtype (the K/V cache type).
void AddDeviceOptions(boost::program_options::options_description& desc);
struct DeviceChoice {
  Device device = Device::kCpu;
  // cpu: f32, or bf16 operands of prefill GEMMs and attention with fp32 accumulation;
  // cuda: bf16 or f16 weights and activations.
  DType compute = DType::kBf16;
  DType kv = DType::kBf16;  // cpu: f32, f16 or bf16; cuda: the compute type
  // "compute bf16, kv bf16"
  std::string precision() const;
};
// Parses the options and checks that the device can run here: throws Error with one line
// ("--device cuda: this build has no CUDA support ...", "--device cuda: no CUDA device ...").
DeviceChoice DeviceFromOptions(const boost::program_options::variables_map& vm);
void RequireDevice(Device d);

// A model on the chosen device: its weights in the backend's form, this process's own host (for
// generate, logits and an MPI rank), and the sample driver.
class ModelRunner {
 public:
  // Loads the weights onto the device (throws Error when that is impossible). `model` must
  // outlive the runner. `mpi`: the MPI world when this process is one rank of it (null
  // otherwise); the rank's index on its node picks the GPU (local rank % device count).
  ModelRunner(const Model& model, const DeviceChoice& device, Communicator* mpi = nullptr);
  ~ModelRunner();
  ModelRunner(const ModelRunner&) = delete;
  ModelRunner& operator=(const ModelRunner&) = delete;

  Device device() const { return device_.device; }
  DeviceModel& device_model() { return *dm_; }

  // Greedy generation on one host.
  GenerateResult Generate(std::span<const int32_t> prompt, const GenerateOptions& opts);

  // Every position's logits of `ids`, prefilled in chunks of `chunk` tokens; `on_chunk(first, n,
  // logits [n, vocab])` receives each chunk's logits in order.
  void AllLogits(std::span<const int32_t> ids, int64_t chunk,
                 const std::function<void(int64_t, int64_t, const float*)>& on_chunk);

  // One sample across hosts: in-process logical hosts when `mpi` is null, else this rank of the
  // MPI world.
  SampleResult RunSample(const DistConfig& cfg, std::span<const int32_t> context,
                         std::span<const int32_t> query, const GenerateOptions& opts,
                         Communicator* mpi);

  // One host's phase 1 alone on the whole device (bench --isolated-hosts).
  HostStats Phase1Alone(const DistConfig& cfg, std::span<const int32_t> context, int host);

 private:
  Backend& OwnHost();

  DeviceChoice device_;
  std::unique_ptr<DeviceModel> dm_;
  std::unique_ptr<Backend> host_;  // this process's host, made on first use
  Communicator* world_ = nullptr;  // the MPI world world_data_ was made for
  std::unique_ptr<Communicator> world_data_;
};

}  // namespace starattn::cli
