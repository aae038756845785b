// The CUDA backend: the model's ops on the GPU with cuBLASLt GEMMs (16-bit inputs, fp32
// accumulation), the op kernels of engine/cuda and its attention kernels; bf16 or f16 weights,
// activations and K/V; fp32 residual stream, GEMM outputs, RoPE, log-sum-exps and logits.
// Hosts of one process share the weights on one GPU; each host has its own stream. Across
// processes (MPI) the hosts' collectives go through NCCL when every rank has a GPU of its own,
// else through host memory over MPI.
#pragma once

#include <memory>
#include <string>

#include "engine/model/backend.h"

namespace starattn::cuda {

// Number of CUDA devices usable here; 0 with `why` set (no driver, no device) otherwise.
int CudaDeviceCount(std::string* why);

// Uploads `model`'s weights in `dtype` (bf16 or f16) to GPU local_rank % devices; throws Error
// (one line) when that is impossible. `model` must outlive the result.
std::unique_ptr<DeviceModel> NewCudaDeviceModel(const Model& model, DType dtype, int local_rank);

// The backend's entry points. The backend is a shared library (libstarattn_cuda_backend.so)
// that the registry loads only when --device cuda is asked for, so CPU runs do not map the CUDA
// libraries (about 150 MiB of resident memory).
struct BackendEntry {
  int (*device_count)(std::string* why);
  std::unique_ptr<DeviceModel> (*new_device_model)(const Model& model, DType dtype, int local_rank);
};

}  // namespace starattn::cuda

// The symbol the registry looks up with dlsym.
extern "C" const starattn::cuda::BackendEntry* starattn_cuda_backend_entry();
