// SwiGLU on the device: out = silu(gate) * up, fp32 in, fp32 or 16 bits out (the input of the
// down projection). Same math as cpu::SwiGlu.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace starattn::cuda {

//   gate, up: [n] (fp32)   out: [n] (TOut: float, __nv_bfloat16 or __half)
// out may alias gate when TOut is float. Returns the launch error, if any.
template <typename TOut>
cudaError_t SwiGlu(const float* gate, const float* up, int64_t n, TOut* out, cudaStream_t stream);

}  // namespace starattn::cuda
