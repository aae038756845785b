#include "engine/cuda/block_reduce.cuh"
#include "engine/cuda/convert.cuh"
#include "engine/cuda/rmsnorm.cuh"

namespace starattn::cuda {
namespace {

constexpr int kThreads = 256;

// One block per row.
template <typename TOut>
__global__ void RmsNormKernel(const float* x, const float* __restrict__ w, int64_t d, float eps,
                              TOut* y) {
  __shared__ float scratch[32];
  const float* xr = x + static_cast<int64_t>(blockIdx.x) * d;
  TOut* yr = y + static_cast<int64_t>(blockIdx.x) * d;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) ss = fmaf(xr[i], xr[i], ss);
  ss = BlockSum(ss, scratch);
  // 1/sqrt rather than rsqrtf: the CPU oracle divides by the square root.
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(d) + eps);
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) yr[i] = FromFloat<TOut>(xr[i] * inv * w[i]);
}

}  // namespace

template <typename TOut>
cudaError_t RmsNorm(const float* x, const float* w, int64_t n, int64_t d, float eps, TOut* y,
                    cudaStream_t stream) {
  if (n < 0 || d <= 0 || n > 0x7fffffff) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  RmsNormKernel<TOut><<<static_cast<unsigned>(n), kThreads, 0, stream>>>(x, w, d, eps, y);
  return cudaGetLastError();
}

template cudaError_t RmsNorm<float>(const float*, const float*, int64_t, int64_t, float, float*,
                                    cudaStream_t);
template cudaError_t RmsNorm<__nv_bfloat16>(const float*, const float*, int64_t, int64_t, float,
                                            __nv_bfloat16*, cudaStream_t);
template cudaError_t RmsNorm<__half>(const float*, const float*, int64_t, int64_t, float, __half*,
                                     cudaStream_t);

}  // namespace starattn::cuda
