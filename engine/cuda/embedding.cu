#include "engine/cuda/convert.cuh"
#include "engine/cuda/embedding.cuh"

namespace starattn::cuda {
namespace {

template <typename T>
__global__ void EmbeddingKernel(const T* __restrict__ table, int64_t vocab, int64_t d,
                                const int32_t* __restrict__ tokens, float* __restrict__ out) {
  const int64_t t = blockIdx.x;
  const int32_t id = tokens[t];
  float* row = out + t * d;
  if (id < 0 || id >= vocab) {
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) row[i] = __int_as_float(0x7fc00000);
    return;
  }
  const T* src = table + static_cast<int64_t>(id) * d;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) row[i] = ToFloat(src[i]);
}

}  // namespace

template <typename T>
cudaError_t Embedding(const T* table, int64_t vocab, int64_t d, const int32_t* tokens, int64_t n,
                      float* out, cudaStream_t stream) {
  if (n < 0 || d <= 0 || vocab <= 0 || n > 0x7fffffff) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  EmbeddingKernel<T><<<static_cast<unsigned>(n), 256, 0, stream>>>(table, vocab, d, tokens, out);
  return cudaGetLastError();
}

template cudaError_t Embedding<float>(const float*, int64_t, int64_t, const int32_t*, int64_t,
                                      float*, cudaStream_t);
template cudaError_t Embedding<__nv_bfloat16>(const __nv_bfloat16*, int64_t, int64_t,
                                              const int32_t*, int64_t, float*, cudaStream_t);
template cudaError_t Embedding<__half>(const __half*, int64_t, int64_t, const int32_t*, int64_t,
                                       float*, cudaStream_t);

}  // namespace starattn::cuda
