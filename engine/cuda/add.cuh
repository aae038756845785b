// Residual and bias adds on the device (fp32).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace starattn::cuda {

// x: [n] += y: [n]. Same as cpu::AddInPlace. Returns the launch error, if any.
cudaError_t AddInPlace(float* x, const float* y, int64_t n, cudaStream_t stream);

// x: [n, d] += bias: [d] on every row (the q/k/v biases of qwen2). Returns the launch error.
cudaError_t AddBias(float* x, const float* bias, int64_t n, int64_t d, cudaStream_t stream);

}  // namespace starattn::cuda
