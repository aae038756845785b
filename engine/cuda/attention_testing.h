// Host-side support for the CUDA attention tests: device detection, 16-bit rounding, device
// buffers that are poisoned before each run, and the CPU oracle on the rounded inputs.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/common/testing.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/ops.h"
#include "engine/cuda/attention_fwd.cuh"
#include "engine/cuda/check.cuh"

namespace starattn::cuda::testing {

// Tolerances of the 16-bit attention kernels against the fp32 CPU oracle on the same rounded
// inputs (engine/common/testing.h has no 16-bit policy; declared here with the reason):
// - out is rounded to bf16 on store (relative 2^-8 = 3.9e-3; fp16 2^-11) and P is rounded to
//   the input dtype before the P V product (FlashAttention-2 does the same), each term off by
//   up to 2^-8 relative, so out gets atol 1e-2 / rtol 1e-2 for |v| <= 1.
// - lse is pure fp32 (scores of exactly representable inputs, fp32 sums, ex2/lg2.approx),
//   only the summation order differs: 1e-3 absolute.
inline constexpr starattn::testing::Tolerance k16BitOut{1e-2, 1e-2};
inline constexpr starattn::testing::Tolerance kLse{1e-3, 0.0};

// Returns false with the reason when there is no usable device.
inline bool HaveDevice(std::string* why) {
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
  int major = 0;
  STARATTN_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0));
  if (major < 8) {
    *why = "CUDA device older than sm_80 (mma.sync bf16 needs Ampere or newer)";
    return false;
  }
  return true;
}

#define STARATTN_REQUIRE_CUDA_DEVICE()                            \
  do {                                                            \
    std::string starattn_why_;                                    \
    if (!::starattn::cuda::testing::HaveDevice(&starattn_why_)) { \
      GTEST_SKIP() << starattn_why_;                              \
    }                                                             \
  } while (0)

enum class DType { kBf16, kFp16 };
inline const char* Name(DType t) {
  switch (t) {
    case DType::kBf16:
      return "bf16";
    case DType::kFp16:
      return "fp16";
  }
  return "?";
}

template <typename T>
T ToHalf(float x);
template <>
inline __nv_bfloat16 ToHalf<__nv_bfloat16>(float x) {
  return __float2bfloat16(x);
}
template <>
inline __half ToHalf<__half>(float x) {
  return __float2half(x);
}
inline float ToFloat(__nv_bfloat16 x) { return __bfloat162float(x); }
inline float ToFloat(__half x) { return __half2float(x); }

// Rounds x to T in place; returns the T copy for the device.
template <typename T>
std::vector<T> RoundTo(std::vector<float>& x) {
  std::vector<T> h(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    h[i] = ToHalf<T>(x[i]);
    x[i] = ToFloat(h[i]);
  }
  return h;
}

// A device buffer; Poison() fills it with 0xFF bytes (NaN in fp32, bf16 and fp16).
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    STARATTN_CUDA_CHECK(cudaMalloc(&p_, std::max<size_t>(n, 1) * sizeof(T)));
  }
  explicit DeviceBuffer(const std::vector<T>& h) : DeviceBuffer(h.size()) {
    STARATTN_CUDA_CHECK(cudaMemcpy(p_, h.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { STARATTN_CUDA_CHECK(cudaFree(p_)); }
  T* get() const { return p_; }
  void Poison() { STARATTN_CUDA_CHECK(cudaMemset(p_, 0xFF, std::max<size_t>(n_, 1) * sizeof(T))); }
  std::vector<T> Download() const {
    std::vector<T> h(n_);
    STARATTN_CUDA_CHECK(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

template <typename T>
std::vector<float> ToFloats(const std::vector<T>& h) {
  std::vector<float> f(h.size());
  for (size_t i = 0; i < h.size(); ++i) f[i] = ToFloat(h[i]);
  return f;
}

// Random inputs rounded to T (the float copies hold the rounded values) and the CPU oracle.
template <typename T>
struct AttentionProblem {
  DeviceAttentionShape shape;
  DeviceAttentionMask mask;
  float scale = 0.f;
  std::vector<float> q, k, v;   // rounded to T
  std::vector<T> hq, hk, hv;    // the same values in T
  std::vector<float> want_out;  // [n_q, n_heads, head_dim]
  std::vector<float> want_lse;  // [n_q, n_heads]

  AttentionProblem(const DeviceAttentionShape& s, const DeviceAttentionMask& m, uint64_t seed)
      : shape(s), mask(m), scale(1.f / std::sqrt(static_cast<float>(s.head_dim))) {
    starattn::testing::Rng rng(seed);
    // q in [-2, 2] so that softmax rows are far from uniform; k, v in [-1, 1].
    q = rng.UniformVector(s.n_q * s.n_heads * s.head_dim, -2.f, 2.f);
    k = rng.UniformVector(s.n_kv * s.n_kv_heads * s.head_dim, -1.f, 1.f);
    v = rng.UniformVector(s.n_kv * s.n_kv_heads * s.head_dim, -1.f, 1.f);
    hq = RoundTo<T>(q);
    hk = RoundTo<T>(k);
    hv = RoundTo<T>(v);
    want_out.resize(q.size());
    want_lse.resize(s.n_q * s.n_heads);
    cpu::Attention(q.data(), k.data(), v.data(),
                   cpu::AttentionShape{s.n_q, s.n_kv, s.n_heads, s.n_kv_heads, s.head_dim},
                   cpu::AttentionMask{m.causal, m.q_offset, m.k_offset}, scale, want_out.data(),
                   want_lse.data());
  }
};

// Checks a device result against the oracle: no NaN, out and lse within the 16-bit policy.
inline void ExpectMatches(const std::vector<float>& got_out, const std::vector<float>& got_lse,
                          const std::vector<float>& want_out, const std::vector<float>& want_lse,
                          const std::string& what) {
  for (size_t i = 0; i < got_out.size(); ++i) {
    if (std::isnan(got_out[i])) {
      ADD_FAILURE() << what << ": NaN in out at " << i;
      return;
    }
  }
  starattn::testing::AllClose(got_out, want_out, k16BitOut, what + " out");
  starattn::testing::AllClose(got_lse, want_lse, kLse, what + " lse");
}

}  // namespace starattn::cuda::testing
