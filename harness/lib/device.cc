#include "harness/lib/device.h"

#include <algorithm>
#include <string>
#include <utility>

#include "engine/backends/registry.h"
#include "engine/common/error.h"

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

bool BuildHasCuda() { return BackendBuilt("cuda"); }

void AddDeviceOptions(po::options_description& desc) {
  desc.add_options()("device", po::value<std::string>()->default_value("cpu"),
                     "where the model runs: cpu, cuda")(
      "compute", po::value<std::string>()->default_value("bf16"),
      "arithmetic: cpu: bf16 (operands of prefill GEMMs and attention; fp32 accumulation, "
      "softmax and merges) or f32; cuda: bf16 or f16 (weights and activations)")(
      "kv-dtype", po::value<std::string>()->default_value("bf16"),
      "K/V cache type: cpu: bf16, f16 or f32; cuda: the --compute type");
}

std::string DeviceChoice::precision() const {
  return fmt::format("compute {}, kv {}", DTypeName(compute), DTypeName(kv));
}

void RequireDevice(Device d) {
  const std::string why = BackendUnavailable(DeviceName(d));
  if (!why.empty()) Fail("--device {}: {}", DeviceName(d), why);
}

DeviceChoice DeviceFromOptions(const po::variables_map& vm) {
  DeviceChoice c;
  c.device = ParseDevice(vm["device"].as<std::string>());
  const std::string compute = vm["compute"].as<std::string>();
  const std::string kv = vm["kv-dtype"].as<std::string>();
  if (compute != "f32" && compute != "bf16" && compute != "f16") {
    Fail("unknown --compute '{}' (f32, bf16, f16)", compute);
  }
  if (kv != "f32" && kv != "bf16" && kv != "f16")
    Fail("unknown --kv-dtype '{}' (f32, bf16, f16)", kv);
  c.compute = ParseDType(compute);
  c.kv = ParseDType(kv);
  if (c.device == Device::kCpu && c.compute == DType::kF16) {
    Fail("--compute f16: the CPU computes in f32 or bf16");
  }
  if (c.device == Device::kCuda && c.compute == DType::kF32) {
    Fail("--compute f32: the CUDA backend computes in bf16 or f16");
  }
  if (c.device == Device::kCuda && c.kv != c.compute) {
    Fail("--kv-dtype {}: the CUDA backend holds K/V in its --compute type ({})", kv, compute);
  }
  RequireDevice(c.device);
  return c;
}

ModelRunner::ModelRunner(const Model& model, const DeviceChoice& device, Communicator* mpi)
    : device_(device) {
  BackendOptions o;
  o.name = DeviceName(device.device);
  o.compute = device.compute;
  o.kv = device.kv;
  o.local_rank = mpi != nullptr ? LocalRank(*mpi).rank : 0;
  dm_ = NewDeviceModel(model, o);
}

ModelRunner::~ModelRunner() {
  world_data_.reset();  // before the host whose memory it serves
  host_.reset();
}

Backend& ModelRunner::OwnHost() {
  if (host_ == nullptr) host_ = dm_->NewHost(1);
  return *host_;
}

GenerateResult ModelRunner::Generate(std::span<const int32_t> prompt, const GenerateOptions& opts) {
  Transformer t(OwnHost());
  const Model& m = dm_->model();
  return GenerateGreedy(t, m.has_tokenizer() ? &m.tokenizer() : nullptr, prompt, opts);
}

void ModelRunner::AllLogits(std::span<const int32_t> ids, int64_t chunk,
                            const std::function<void(int64_t, int64_t, const float*)>& on_chunk) {
  const int64_t n_ids = static_cast<int64_t>(ids.size());
  if (chunk <= 0) Fail("logits: chunk must be positive");
  Backend& be = OwnHost();
  Transformer t(be);
  KvCache cache(be, n_ids);
  for (int64_t i = 0; i < n_ids; i += chunk) {
    const int64_t n = std::min(chunk, n_ids - i);
    const auto logits = t.Forward(ids.subspan(i, n), Range(i, n), cache, LogitsFor::kAll);
    on_chunk(i, n, logits.data());
  }
}

SampleResult ModelRunner::RunSample(const DistConfig& cfg, std::span<const int32_t> context,
                                    std::span<const int32_t> query, const GenerateOptions& opts,
                                    Communicator* mpi) {
  if (mpi == nullptr) return RunInProcess(*dm_, cfg, context, query, opts);
  Backend& be = OwnHost();
  if (world_ != mpi) {
    world_data_ = dm_->NewWorldData(*mpi, be);
    world_ = mpi;
  }
  return starattn::RunSample(be, *mpi, *world_data_, cfg, context, query, opts);
}

HostStats ModelRunner::Phase1Alone(const DistConfig& cfg, std::span<const int32_t> context,
                                   int host) {
  return starattn::Phase1Alone(*dm_, cfg, context, host);
}

}  // namespace starattn::cli
