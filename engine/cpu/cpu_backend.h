// The CPU backend: the model's ops on Eigen/OpenBLAS/OpenMP over the loaded Model's fp32 weights
// (and their exact int8/4-bit forms for decode-sized batches), fp32 activations and K/V. Hosts
// in one process split the process's OpenMP threads.
#pragma once

#include <memory>

#include "engine/model/backend.h"

namespace starattn::cpu {

// `model` must outlive the result.
std::unique_ptr<DeviceModel> NewCpuDeviceModel(const Model& model);

}  // namespace starattn::cpu
