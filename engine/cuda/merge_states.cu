#include <cmath>

#include "engine/cuda/convert.cuh"
#include "engine/cuda/merge_states.cuh"

namespace starattn::cuda {
namespace {

__device__ __forceinline__ bool Live(float l) { return l > -INFINITY && l < INFINITY; }

// One block per row; threads stride over dim. Every thread recomputes the row's max and weight
// sum from the n_states lse values (n_states is small: hosts or KV splits).
template <typename T>
__global__ void MergeStatesKernel(const T* __restrict__ outs, const float* __restrict__ lses,
                                  int64_t n_states, int64_t n_rows, int64_t dim,
                                  T* __restrict__ out, float* __restrict__ lse) {
  const int64_t r = blockIdx.x;
  float m = -INFINITY;
  for (int64_t s = 0; s < n_states; ++s) {
    const float l = lses[s * n_rows + r];
    if (Live(l)) m = fmaxf(m, l);
  }
  if (m == -INFINITY) {
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) out[r * dim + d] = FromFloat<T>(0.f);
    if (threadIdx.x == 0) lse[r] = -INFINITY;
    return;
  }
  float wsum = 0.f;
  for (int64_t s = 0; s < n_states; ++s) {
    const float l = lses[s * n_rows + r];
    if (Live(l)) wsum += __expf(l - m);
  }
  const float inv = 1.f / wsum;
  for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) {
    float acc = 0.f;
    for (int64_t s = 0; s < n_states; ++s) {
      const float l = lses[s * n_rows + r];
      if (Live(l)) acc += __expf(l - m) * ToFloat(outs[(s * n_rows + r) * dim + d]);
    }
    out[r * dim + d] = FromFloat<T>(acc * inv);
  }
  if (threadIdx.x == 0) lse[r] = m + logf(wsum);
}

}  // namespace

template <typename T>
cudaError_t MergeStates(const T* outs, const float* lses, int64_t n_states, int64_t n_rows,
                        int64_t dim, T* out, float* lse, cudaStream_t stream) {
  if (n_rows == 0) return cudaSuccess;
  const int threads = dim >= 128 ? 128 : 64;
  MergeStatesKernel<T><<<static_cast<unsigned>(n_rows), threads, 0, stream>>>(
      outs, lses, n_states, n_rows, dim, out, lse);
  return cudaGetLastError();
}

template cudaError_t MergeStates<float>(const float*, const float*, int64_t, int64_t, int64_t,
                                        float*, float*, cudaStream_t);
template cudaError_t MergeStates<__half>(const __half*, const float*, int64_t, int64_t, int64_t,
                                         __half*, float*, cudaStream_t);
template cudaError_t MergeStates<__nv_bfloat16>(const __nv_bfloat16*, const float*, int64_t,
                                                int64_t, int64_t, __nv_bfloat16*, float*,
                                                cudaStream_t);

}  // namespace starattn::cuda
