#include "engine/cuda/rope.cuh"

namespace starattn::cuda {
namespace {

// One block per token; thread i owns frequency i (strided when n_freq > blockDim.x) and rotates
// that pair in every head, so each cos/sin is computed once per token.
template <bool kAdjacent>
__global__ void RopeKernel(float* x, int64_t n_heads, int64_t head_dim,
                           const int32_t* __restrict__ positions,
                           const float* __restrict__ inv_freq, int64_t n_freq) {
  const int64_t t = blockIdx.x;
  const double pos = static_cast<double>(positions[t]);
  float* xt = x + t * n_heads * head_dim;
  for (int64_t i = threadIdx.x; i < n_freq; i += blockDim.x) {
    double s, c;
    sincos(pos * static_cast<double>(inv_freq[i]), &s, &c);
    const float cs = static_cast<float>(c), sn = static_cast<float>(s);
    const int64_t a = kAdjacent ? 2 * i : i;
    const int64_t b = kAdjacent ? 2 * i + 1 : i + n_freq;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* xh = xt + h * head_dim;
      const float x0 = xh[a], x1 = xh[b];
      xh[a] = x0 * cs - x1 * sn;
      xh[b] = x0 * sn + x1 * cs;
    }
  }
}

}  // namespace

cudaError_t Rope(float* x, int64_t n, int64_t n_heads, int64_t head_dim, const int32_t* positions,
                 const float* inv_freq, int64_t n_freq, DeviceRopeLayout layout,
                 cudaStream_t stream) {
  if (n < 0 || n > 0x7fffffff || n_heads <= 0 || n_freq <= 0 || 2 * n_freq > head_dim) {
    return cudaErrorInvalidValue;
  }
  if (n == 0) return cudaSuccess;
  const unsigned threads = n_freq >= 128 ? 128 : (static_cast<unsigned>(n_freq) + 31) / 32 * 32;
  switch (layout) {
    case DeviceRopeLayout::kAdjacentPairs:
      RopeKernel<true><<<static_cast<unsigned>(n), threads, 0, stream>>>(
          x, n_heads, head_dim, positions, inv_freq, n_freq);
      break;
    case DeviceRopeLayout::kSplitHalf:
      RopeKernel<false><<<static_cast<unsigned>(n), threads, 0, stream>>>(
          x, n_heads, head_dim, positions, inv_freq, n_freq);
      break;
  }
  return cudaGetLastError();
}

}  // namespace starattn::cuda
