// Element-wise casts between fp32 and the 16-bit types (round to nearest even).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace starattn::cuda {

// out: [n] (T: __nv_bfloat16 or __half) = in: [n] (fp32). Returns the launch error, if any.
template <typename T>
cudaError_t CastFromFp32(const float* in, int64_t n, T* out, cudaStream_t stream);

// out: [n] (fp32) = in: [n] (T). Exact. Returns the launch error, if any.
template <typename T>
cudaError_t CastToFp32(const T* in, int64_t n, float* out, cudaStream_t stream);

}  // namespace starattn::cuda
