#include "engine/cuda/fill.cuh"

namespace starattn::cuda {
namespace {

__global__ void FillKernel(float* x, int64_t n, float value) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    x[i] = value;
  }
}

}  // namespace

cudaError_t Fill(float* x, int64_t n, float value, cudaStream_t stream) {
  if (n < 0) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  const int64_t blocks = (n + 255) / 256;
  FillKernel<<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), 256, 0, stream>>>(x, n,
                                                                                         value);
  return cudaGetLastError();
}

}  // namespace starattn::cuda
