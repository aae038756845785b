#include "engine/cuda/add.cuh"

namespace starattn::cuda {
namespace {

unsigned Blocks(int64_t n) {
  const int64_t b = (n + 255) / 256;
  return static_cast<unsigned>(b < 65536 ? b : 65536);
}

__global__ void AddKernel(float* x, const float* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    x[i] += y[i];
  }
}

__global__ void AddBiasKernel(float* x, const float* __restrict__ bias, int64_t total, int64_t d) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    x[i] += bias[i % d];
  }
}

}  // namespace

cudaError_t AddInPlace(float* x, const float* y, int64_t n, cudaStream_t stream) {
  if (n < 0) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  AddKernel<<<Blocks(n), 256, 0, stream>>>(x, y, n);
  return cudaGetLastError();
}

cudaError_t AddBias(float* x, const float* bias, int64_t n, int64_t d, cudaStream_t stream) {
  if (n < 0 || d <= 0) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  AddBiasKernel<<<Blocks(n * d), 256, 0, stream>>>(x, bias, n * d, d);
  return cudaGetLastError();
}

}  // namespace starattn::cuda
