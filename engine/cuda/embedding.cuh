// Token embedding gather on the device: rows of a 16-bit (or fp32) table into fp32 activations.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace starattn::cuda {

//   table:  [vocab, d] (T: float, __nv_bfloat16 or __half)
//   tokens: [n] (int32, device)
//   out:    [n, d] (fp32)
// A token id outside [0, vocab) gives a NaN row (callers validate ids on the host first; the
// poison makes a missed check visible). Returns the launch error, if any.
template <typename T>
cudaError_t Embedding(const T* table, int64_t vocab, int64_t d, const int32_t* tokens, int64_t n,
                      float* out, cudaStream_t stream);

}  // namespace starattn::cuda
