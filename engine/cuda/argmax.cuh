// Greedy sampling on the device: the index of the largest value of each row.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace starattn::cuda {

//   x: [n_rows, n] (fp32)   out: [n_rows] (int32, device)
// The first index on ties, as cpu::Argmax. NaN never wins; a row without a number larger than
// -inf gives 0 (cpu::Argmax agrees except for a NaN at index 0, which it keeps).
// n < 2^31. Returns cudaErrorInvalidValue for a bad shape, else the launch error.
cudaError_t Argmax(const float* x, int64_t n_rows, int64_t n, int32_t* out, cudaStream_t stream);

}  // namespace starattn::cuda
