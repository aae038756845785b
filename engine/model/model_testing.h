// Test support for engine/model tests: a model's single host on the CPU backend.
#pragma once

#include <memory>

#include "engine/cpu/cpu_backend.h"
#include "engine/model/forward.h"

namespace starattn::testing {

// One CPU host of `m`: its device model, backend and forward pass.
struct CpuHost {
  explicit CpuHost(const Model& m) : dm(cpu::NewCpuDeviceModel(m)), be(dm->NewHost(1)), t(*be) {}
  std::unique_ptr<DeviceModel> dm;
  std::unique_ptr<Backend> be;
  Transformer t;
};

}  // namespace starattn::testing
