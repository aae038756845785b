// RMSNorm on the device: fp32 activations in, normalised rows out in fp32 or 16 bits (the
// input of the next GEMM). Same math as cpu::RmsNorm: y = x / sqrt(mean(x^2) + eps) * w.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace starattn::cuda {

//   x: [n, d] (fp32)   w: [d] (fp32)   y: [n, d] (TOut: float, __nv_bfloat16 or __half)
// y may alias x when TOut is float. The sum of squares accumulates in fp32. Returns the launch
// error, if any.
template <typename TOut>
cudaError_t RmsNorm(const float* x, const float* w, int64_t n, int64_t d, float eps, TOut* y,
                    cudaStream_t stream);

}  // namespace starattn::cuda
