// Fills an fp32 device array with one value (e.g. -inf log-sum-exps of empty attention states).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace starattn::cuda {

// x: [n] (fp32) = value. Returns the launch error, if any.
cudaError_t Fill(float* x, int64_t n, float value, cudaStream_t stream);

}  // namespace starattn::cuda
