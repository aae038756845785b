// Rotary position embedding on the device, in place on fp32 q or k. Same math as cpu::Rope:
// angle = position * inv_freq[i] (in double, as the CPU computes it), then a rotation of the
// pair (x[a], x[b]) by that angle.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace starattn::cuda {

// How a head's dimensions pair up (mirrors cpu::RopeLayout, which CUDA files do not include):
//   kAdjacentPairs: (x[2i], x[2i+1])      GGUF llama ("normal", interleaved)
//   kSplitHalf:     (x[i], x[i + rot/2])  Hugging Face, GGUF qwen2 ("neox")
enum class DeviceRopeLayout { kAdjacentPairs, kSplitHalf };

//   x:         [n, n_heads, head_dim] (fp32, rotated in place)
//   positions: [n] (int32, device)
//   inv_freq:  [n_freq] (fp32, device): theta^(-2i/rot) / freq_factor_i / linear_scale
//              (cpu::RopeInvFreq's table); the first 2 * n_freq dims of each head rotate.
// 2 * n_freq <= head_dim. Returns cudaErrorInvalidValue for a bad shape, else the launch error.
cudaError_t Rope(float* x, int64_t n, int64_t n_heads, int64_t head_dim, const int32_t* positions,
                 const float* inv_freq, int64_t n_freq, DeviceRopeLayout layout,
                 cudaStream_t stream);

}  // namespace starattn::cuda
