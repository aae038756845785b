#include "engine/cuda/convert.cuh"
#include "engine/cuda/swiglu.cuh"

namespace starattn::cuda {
namespace {

template <typename TOut>
__global__ void SwiGluKernel(const float* gate, const float* __restrict__ up, int64_t n,
                             TOut* out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    // g / (1 + e^-g): for g -> -inf the denominator is +inf and the result -0, as on the CPU.
    out[i] = FromFloat<TOut>(g / (1.0f + expf(-g)) * up[i]);
  }
}

}  // namespace

template <typename TOut>
cudaError_t SwiGlu(const float* gate, const float* up, int64_t n, TOut* out, cudaStream_t stream) {
  if (n < 0) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  const int64_t blocks = (n + 255) / 256;
  SwiGluKernel<TOut><<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), 256, 0, stream>>>(
      gate, up, n, out);
  return cudaGetLastError();
}

template cudaError_t SwiGlu<float>(const float*, const float*, int64_t, float*, cudaStream_t);
template cudaError_t SwiGlu<__nv_bfloat16>(const float*, const float*, int64_t, __nv_bfloat16*,
                                           cudaStream_t);
template cudaError_t SwiGlu<__half>(const float*, const float*, int64_t, __half*, cudaStream_t);

}  // namespace starattn::cuda
