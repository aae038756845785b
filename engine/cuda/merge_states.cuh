// MergeStates on the device: N partial attention states per row -> one state, with the same
// semantics as engine/cpu/attention_state.h (max form; -inf, +inf and NaN lse read as empty;
// all-empty rows give out = 0, lse = -inf).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace starattn::cuda {

//   outs: [n_states, n_rows, dim] (T)   lses: [n_states, n_rows] (fp32)
//   out:  [n_rows, dim] (T)             lse:  [n_rows] (fp32)
// Accumulates in fp32. Returns the launch error, if any.
template <typename T>
cudaError_t MergeStates(const T* outs, const float* lses, int64_t n_states, int64_t n_rows,
                        int64_t dim, T* out, float* lse, cudaStream_t stream);

}  // namespace starattn::cuda
