// The one place that knows which backends this binary has: the CPU always, CUDA in builds with
// it. Everything above (the harness) chooses a backend by name through here.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/backend.h"

namespace starattn {

struct BackendOptions {
  std::string name = "cpu";  // a name from BackendNames()
  // The arithmetic: cpu: f32, or bf16 operands of prefill GEMMs and attention with fp32
  // accumulation (weights held in that type); cuda: bf16 or f16 weights and activations.
  DType compute = DType::kF32;
  // The type of K/V in caches: cpu: f32, f16 or bf16; cuda: the compute type.
  DType kv = DType::kF32;
  // This process's index among the processes of its node (MPI local rank; 0 otherwise): picks
  // the GPU (local rank % GPUs).
  int local_rank = 0;
};

// Every backend name this tool knows, and whether this build has it.
std::vector<std::string_view> BackendNames();
bool BackendBuilt(std::string_view name);
// Empty when the backend can run on this machine, else one line saying why not (not built, no
// device, unknown name).
std::string BackendUnavailable(std::string_view name);
// Devices of that backend on this machine (the CPU counts as one).
int BackendDeviceCount(std::string_view name);

// Loads `model` onto the backend; throws Error with BackendUnavailable's reason when it cannot
// run here. `model` must outlive the result.
std::unique_ptr<DeviceModel> NewDeviceModel(const Model& model, const BackendOptions& options);

}  // namespace starattn
