// The device MergeStates against the CPU MergeStates (label: gpu; skipped without a device).
#include "engine/cuda/merge_states.cuh"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "engine/common/testing.h"
#include "engine/cpu/attention_state.h"
#include "engine/cuda/check.cuh"

namespace starattn::cuda {
namespace {

bool HaveDevice(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    *why = std::string("no CUDA device: ") + cudaGetErrorString(e);
    return false;
  }
  if (n == 0) {
    *why = "no CUDA device";
    return false;
  }
  return true;
}

TEST(CudaMergeStatesTest, MatchesCpuMergeIncludingEmptyRows) {
  std::string why;
  if (!HaveDevice(&why)) GTEST_SKIP() << why;
  const int64_t n_states = 5, n_rows = 300, dim = 128;
  testing::Rng rng(11);
  SCOPED_TRACE(testing::SeedTrace(11));
  auto outs = rng.UniformVector(n_states * n_rows * dim, -1, 1);
  auto lses = rng.UniformVector(n_states * n_rows, -40, 40);
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t s = 0; s < n_states; ++s) {
    lses[s * n_rows + 0] = -inf;             // row 0: all empty
    if (s % 2) lses[s * n_rows + 1] = -inf;  // row 1: some empty
    if (s == 2) lses[s * n_rows + 2] = inf;  // row 2: a flash-attn +inf marker
  }
  std::vector<float> want(n_rows * dim), want_lse(n_rows);
  cpu::MergeStates(outs.data(), lses.data(), n_states, n_rows, dim, want.data(), want_lse.data());

  float *d_outs, *d_lses, *d_out, *d_lse;
  STARATTN_CUDA_CHECK(cudaMalloc(&d_outs, outs.size() * sizeof(float)));
  STARATTN_CUDA_CHECK(cudaMalloc(&d_lses, lses.size() * sizeof(float)));
  STARATTN_CUDA_CHECK(cudaMalloc(&d_out, want.size() * sizeof(float)));
  STARATTN_CUDA_CHECK(cudaMalloc(&d_lse, want_lse.size() * sizeof(float)));
  STARATTN_CUDA_CHECK(cudaMemcpy(d_outs, outs.data(), outs.size() * 4, cudaMemcpyHostToDevice));
  STARATTN_CUDA_CHECK(cudaMemcpy(d_lses, lses.data(), lses.size() * 4, cudaMemcpyHostToDevice));
  STARATTN_CUDA_CHECK(cudaMemset(d_out, 0xFF, want.size() * 4));  // poison: NaN
  STARATTN_CUDA_CHECK(MergeStates<float>(d_outs, d_lses, n_states, n_rows, dim, d_out, d_lse, 0));
  std::vector<float> got(want.size()), got_lse(n_rows);
  STARATTN_CUDA_CHECK(cudaMemcpy(got.data(), d_out, got.size() * 4, cudaMemcpyDeviceToHost));
  STARATTN_CUDA_CHECK(cudaMemcpy(got_lse.data(), d_lse, n_rows * 4, cudaMemcpyDeviceToHost));
  for (float* p : {d_outs, d_lses, d_out, d_lse}) STARATTN_CUDA_CHECK(cudaFree(p));
  // __expf on the device vs exp in double on the CPU: fp32 reduction tolerance.
  testing::AllClose(got, want, testing::kFp32Reduction, "device merge out");
  testing::AllClose(got_lse, want_lse, testing::kFp32Reduction, "device merge lse");
}

}  // namespace
}  // namespace starattn::cuda
