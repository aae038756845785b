// The cuBLASLt GEMM wrapper against cpu::ref::MatMul on the same 16-bit-rounded inputs
// (label: gpu; skipped without a device).
#include "engine/cuda/gemm.cuh"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "engine/common/testing.h"
#include "engine/cpu/ops_ref.h"
#include "engine/cuda/attention_testing.h"
#include "engine/cuda/cublas_check.cuh"
#include "engine/cuda/gpu_tolerances.h"

namespace starattn::cuda {
namespace {

using starattn::testing::AllClose;
using starattn::testing::Rng;
using starattn::testing::SeedTrace;
using testing::DeviceBuffer;
using testing::RoundTo;
using testing::ToFloats;

template <typename T>
constexpr GemmType TypeOf() {
  if constexpr (std::is_same_v<T, float>) {
    return GemmType::kF32;
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return GemmType::kBf16;
  } else {
    return GemmType::kF16;
  }
}

template <typename TIn, typename TOut>
void CheckGemm(Gemm& gemm, int64_t n, int64_t in, int64_t out, uint64_t seed,
               starattn::testing::Tolerance tol) {
  const std::string what =
      "gemm n=" + std::to_string(n) + " in=" + std::to_string(in) + " out=" + std::to_string(out);
  SCOPED_TRACE(what);
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  auto x = rng.UniformVector(n * in, -1, 1);
  auto w = rng.UniformVector(out * in, -1, 1);
  const auto hx = RoundTo<TIn>(x);
  const auto hw = RoundTo<TIn>(w);
  std::vector<float> want(n * out);
  cpu::ref::MatMul(x.data(), n, in, w.data(), out, nullptr, want.data());
  DeviceBuffer<TIn> d_x(hx), d_w(hw);
  DeviceBuffer<TOut> d_y(n * out);
  d_y.Poison();
  STARATTN_CUBLAS_CHECK(gemm.MatMul(d_x.get(), n, in, d_w.get(), out, TypeOf<TIn>(), d_y.get(),
                                    TypeOf<TOut>(), nullptr));
  STARATTN_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<float> got;
  if constexpr (std::is_same_v<TOut, float>) {
    got = d_y.Download();
  } else {
    got = ToFloats(d_y.Download());
  }
  AllClose(got, want, tol, what);
}

TEST(CudaGemmTest, Bf16InFp32OutMatchesOracle) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  Gemm gemm;
  // clang-format off
  struct Shape { int64_t n, in, out; };
  const Shape shapes[] = {
      {1,   576,  576},   // decode, SmolLM2 q
      {7,   576,  192},   // ragged n, SmolLM2 k
      {64,  576,  1536},  // SmolLM2 gate
      {33,  4096, 1024},  // Llama-3.1-8B k/v
      {1,   4096, 4096},  // Llama-3.1-8B decode q/o
      {130, 1536, 576},   // SmolLM2 down
  };
  // clang-format on
  uint64_t seed = 900;
  for (const Shape& s : shapes) {
    CheckGemm<__nv_bfloat16, float>(gemm, s.n, s.in, s.out, ++seed, testing::kGemmFp32Out);
  }
  // The cached plan of a shape seen before.
  CheckGemm<__nv_bfloat16, float>(gemm, 7, 576, 192, ++seed, testing::kGemmFp32Out);
}

TEST(CudaGemmTest, Fp16InAnd16BitOut) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  Gemm gemm;
  CheckGemm<__half, float>(gemm, 17, 1024, 512, 951, testing::kGemmFp32Out);
  // A 16-bit output is one rounding of the fp32 result (relative 2^-8 / 2^-11 on top).
  CheckGemm<__nv_bfloat16, __nv_bfloat16>(gemm, 17, 1024, 512, 952, {1e-3, 4e-3});
  CheckGemm<__half, __half>(gemm, 17, 1024, 512, 953, {1e-3, 6e-4});
}

TEST(CudaGemmTest, RejectsFp32Inputs) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  Gemm gemm;
  DeviceBuffer<float> d(64);
  EXPECT_EQ(
      gemm.MatMul(d.get(), 1, 8, d.get(), 8, GemmType::kF32, d.get(), GemmType::kF32, nullptr),
      CUBLAS_STATUS_INVALID_VALUE);
}

}  // namespace
}  // namespace starattn::cuda
