#include <cstdint>

#include "engine/cuda/argmax.cuh"

namespace starattn::cuda {
namespace {

constexpr int kThreads = 1024;
constexpr int32_t kNone = 0x7fffffff;

// (v, i) beats (best, bi): larger value, or the same value at a smaller index. A NaN v never
// beats anything (both comparisons are false).
__device__ __forceinline__ bool Beats(float v, int32_t i, float best, int32_t bi) {
  return v > best || (v == best && i < bi);
}

// One block per row: a strided scan per thread, then a warp and a block reduction.
__global__ void ArgmaxKernel(const float* __restrict__ x, int64_t n, int32_t* out) {
  __shared__ float s_val[32];
  __shared__ int32_t s_idx[32];
  const float* row = x + static_cast<int64_t>(blockIdx.x) * n;
  float best = -__int_as_float(0x7f800000);  // -inf
  int32_t bi = kNone;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float v = row[i];
    if (v > best) {  // indices grow along the scan: strictly larger wins, NaN never does
      best = v;
      bi = static_cast<int32_t>(i);
    }
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int32_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (Beats(ov, oi, best, bi)) {
      best = ov;
      bi = oi;
    }
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    s_val[warp] = best;
    s_idx[warp] = bi;
  }
  __syncthreads();
  if (warp == 0) {
    const int n_warps = blockDim.x >> 5;
    best = lane < n_warps ? s_val[lane] : -__int_as_float(0x7f800000);
    bi = lane < n_warps ? s_idx[lane] : kNone;
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, best, o);
      const int32_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
      if (Beats(ov, oi, best, bi)) {
        best = ov;
        bi = oi;
      }
    }
    if (lane == 0) out[blockIdx.x] = bi == kNone ? 0 : bi;
  }
}

}  // namespace

cudaError_t Argmax(const float* x, int64_t n_rows, int64_t n, int32_t* out, cudaStream_t stream) {
  if (n_rows < 0 || n_rows > 0x7fffffff || n <= 0 || n >= (int64_t{1} << 31)) {
    return cudaErrorInvalidValue;
  }
  if (n_rows == 0) return cudaSuccess;
  ArgmaxKernel<<<static_cast<unsigned>(n_rows), kThreads, 0, stream>>>(x, n, out);
  return cudaGetLastError();
}

}  // namespace starattn::cuda
