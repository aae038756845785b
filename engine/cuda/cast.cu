#include "engine/cuda/cast.cuh"
#include "engine/cuda/convert.cuh"

namespace starattn::cuda {
namespace {

unsigned Blocks(int64_t n) {
  const int64_t b = (n + 255) / 256;
  return static_cast<unsigned>(b < 65536 ? b : 65536);
}

template <typename TIn, typename TOut>
__global__ void CastKernel(const TIn* __restrict__ in, int64_t n, TOut* __restrict__ out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = FromFloat<TOut>(ToFloat(in[i]));
  }
}

}  // namespace

template <typename T>
cudaError_t CastFromFp32(const float* in, int64_t n, T* out, cudaStream_t stream) {
  if (n < 0) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  CastKernel<float, T><<<Blocks(n), 256, 0, stream>>>(in, n, out);
  return cudaGetLastError();
}

template <typename T>
cudaError_t CastToFp32(const T* in, int64_t n, float* out, cudaStream_t stream) {
  if (n < 0) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  CastKernel<T, float><<<Blocks(n), 256, 0, stream>>>(in, n, out);
  return cudaGetLastError();
}

template cudaError_t CastFromFp32<__nv_bfloat16>(const float*, int64_t, __nv_bfloat16*,
                                                 cudaStream_t);
template cudaError_t CastFromFp32<__half>(const float*, int64_t, __half*, cudaStream_t);
template cudaError_t CastToFp32<__nv_bfloat16>(const __nv_bfloat16*, int64_t, float*, cudaStream_t);
template cudaError_t CastToFp32<__half>(const __half*, int64_t, float*, cudaStream_t);

}  // namespace starattn::cuda
