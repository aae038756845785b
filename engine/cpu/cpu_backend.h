// The CPU backend: the model's ops on oneDNN (GEMMs), Eigen and our own kernels (attention,
// decode-sized GEMMs on the exact int8/4-bit form of GGUF weights), OpenMP threads. Weights are
// read from the model's file straight into their compute form (fp32 or bf16, plus the int8 form
// where the file has one); activations, the residual stream, softmax and log-sum-exps are fp32;
// K/V are held in fp32, fp16 or bf16. Hosts in one process split the process's OpenMP threads.
#pragma once

#include <memory>

#include "engine/cpu/gemm.h"
#include "engine/model/backend.h"

namespace starattn::cpu {

// `model` must outlive the result. `compute`: the arithmetic of prefill GEMMs and attention;
// `kv`: the type of K/V in caches (f32, f16, bf16).
std::unique_ptr<DeviceModel> NewCpuDeviceModel(const Model& model, Compute compute = Compute::kF32,
                                               DType kv = DType::kF32);

}  // namespace starattn::cpu
