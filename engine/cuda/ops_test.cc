// The model's device ops (embedding, RMSNorm, RoPE, SwiGLU, adds, argmax, casts) against the
// CPU scalar oracles of engine/cpu/ops_ref.h (label: gpu; skipped without a device).
#include "engine/cpu/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/common/testing.h"
#include "engine/cpu/ops_ref.h"
#include "engine/cuda/add.cuh"
#include "engine/cuda/argmax.cuh"
#include "engine/cuda/attention_testing.h"
#include "engine/cuda/cast.cuh"
#include "engine/cuda/check.cuh"
#include "engine/cuda/embedding.cuh"
#include "engine/cuda/gpu_tolerances.h"
#include "engine/cuda/rmsnorm.cuh"
#include "engine/cuda/rope.cuh"
#include "engine/cuda/swiglu.cuh"
#include "engine/model/rope.h"

namespace starattn::cuda {
namespace {

using starattn::testing::AllClose;
using starattn::testing::Rng;
using starattn::testing::SeedTrace;
using testing::DeviceBuffer;
using testing::RoundTo;
using testing::ToFloats;

void ExpectNoNan(const std::vector<float>& x, const std::string& what) {
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) {
      ADD_FAILURE() << what << ": NaN at " << i;
      return;
    }
  }
}

TEST(CudaOpsTest, EmbeddingGathersRowsAndPoisonsBadIds) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  const int64_t vocab = 1000, d = 576, n = 37;
  Rng rng(21);
  SCOPED_TRACE(SeedTrace(21));
  auto table = rng.UniformVector(vocab * d, -1, 1);
  const auto h_table = RoundTo<__nv_bfloat16>(table);  // table now holds the rounded values
  std::vector<int32_t> ids(n);
  for (int64_t t = 0; t < n; ++t) ids[t] = static_cast<int32_t>(rng.NextU64() % vocab);
  ids[3] = 0;
  ids[4] = static_cast<int32_t>(vocab - 1);
  ids[5] = static_cast<int32_t>(vocab);  // out of range: a NaN row
  DeviceBuffer<__nv_bfloat16> d_table(h_table);
  DeviceBuffer<int32_t> d_ids(ids);
  DeviceBuffer<float> d_out(n * d);
  d_out.Poison();
  STARATTN_CUDA_CHECK(Embedding(d_table.get(), vocab, d, d_ids.get(), n, d_out.get(), nullptr));
  const auto got = d_out.Download();
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < d; ++i) {
      const float g = got[t * d + i];
      if (t == 5) {
        ASSERT_TRUE(std::isnan(g)) << "token " << t << " dim " << i;
      } else {
        ASSERT_EQ(g, table[ids[t] * d + i]) << "token " << t << " dim " << i;
      }
    }
  }
}

template <typename T>
void CheckRmsNorm(int64_t n, int64_t d, uint64_t seed, starattn::testing::Tolerance tol,
                  const std::string& what) {
  Rng rng(seed);
  SCOPED_TRACE(SeedTrace(seed));
  const auto x = rng.UniformVector(n * d, -3, 3);
  const auto w = rng.UniformVector(d, 0.5f, 1.5f);
  std::vector<float> want(n * d);
  cpu::ref::RmsNorm(x.data(), w.data(), n, d, 1e-5f, want.data());
  DeviceBuffer<float> d_x(x), d_w(w);
  DeviceBuffer<T> d_y(n * d);
  d_y.Poison();
  STARATTN_CUDA_CHECK(RmsNorm<T>(d_x.get(), d_w.get(), n, d, 1e-5f, d_y.get(), nullptr));
  std::vector<float> got;
  if constexpr (std::is_same_v<T, float>) {
    got = d_y.Download();
  } else {
    got = ToFloats(d_y.Download());
  }
  ExpectNoNan(got, what);
  AllClose(got, want, tol, what);
}

TEST(CudaOpsTest, RmsNormMatchesOracleInEveryOutputType) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  CheckRmsNorm<float>(13, 576, 31, testing::kOpFp32, "rmsnorm fp32 d=576");
  CheckRmsNorm<float>(5, 4096, 32, testing::kOpFp32, "rmsnorm fp32 d=4096");
  CheckRmsNorm<float>(3, 100, 33, testing::kOpFp32, "rmsnorm fp32 d=100 (ragged)");
  CheckRmsNorm<__nv_bfloat16>(13, 4096, 34, testing::kOpBf16Out, "rmsnorm bf16");
  CheckRmsNorm<__half>(13, 4096, 35, testing::kOpFp16Out, "rmsnorm fp16");
}

TEST(CudaOpsTest, RmsNormInPlace) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  const int64_t n = 4, d = 2048;
  Rng rng(36);
  SCOPED_TRACE(SeedTrace(36));
  const auto x = rng.UniformVector(n * d, -1, 1);
  const auto w = rng.UniformVector(d, -1, 1);
  std::vector<float> want(n * d);
  cpu::ref::RmsNorm(x.data(), w.data(), n, d, 1e-6f, want.data());
  DeviceBuffer<float> d_x(x), d_w(w);
  STARATTN_CUDA_CHECK(RmsNorm<float>(d_x.get(), d_w.get(), n, d, 1e-6f, d_x.get(), nullptr));
  AllClose(d_x.Download(), want, testing::kOpFp32, "rmsnorm in place");
}

struct RopeCase {
  cpu::RopeLayout layout;
  bool llama3_scaled;
  int64_t head_dim;
  int64_t rot;
  int32_t max_pos;
};

DeviceRopeLayout ToDevice(cpu::RopeLayout l) {
  switch (l) {
    case cpu::RopeLayout::kAdjacentPairs:
      return DeviceRopeLayout::kAdjacentPairs;
    case cpu::RopeLayout::kSplitHalf:
      return DeviceRopeLayout::kSplitHalf;
  }
  return DeviceRopeLayout::kSplitHalf;
}

TEST(CudaOpsTest, RopeMatchesCpuAndOracleBothLayoutsAndScaling) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  // clang-format off
  const RopeCase cases[] = {
      // layout                         llama3  head_dim  rot  max_pos
      {cpu::RopeLayout::kAdjacentPairs, false,  64,       64,  64},
      {cpu::RopeLayout::kSplitHalf,     false,  64,       64,  64},
      {cpu::RopeLayout::kAdjacentPairs, true,   128,      128, 131072},
      {cpu::RopeLayout::kSplitHalf,     true,   128,      128, 131072},
      {cpu::RopeLayout::kAdjacentPairs, false,  64,       32,  4096},  // partial rotation
      {cpu::RopeLayout::kSplitHalf,     false,  64,       32,  4096},
  };
  // clang-format on
  const int64_t n = 23, heads = 5;
  uint64_t seed = 400;
  for (const RopeCase& rc : cases) {
    ++seed;
    const std::string what =
        std::string("rope ") +
        (rc.layout == cpu::RopeLayout::kSplitHalf ? "split-half" : "adjacent") +
        (rc.llama3_scaled ? " llama3" : "") + " d=" + std::to_string(rc.head_dim) +
        " rot=" + std::to_string(rc.rot);
    SCOPED_TRACE(what);
    SCOPED_TRACE(SeedTrace(seed));
    Rng rng(seed);
    const float theta = rc.llama3_scaled ? 500000.f : 10000.f;
    auto x = rng.UniformVector(n * heads * rc.head_dim, -1, 1);
    std::vector<int32_t> pos(n);
    for (int64_t t = 0; t < n; ++t) pos[t] = static_cast<int32_t>(rng.NextU64() % rc.max_pos);
    pos[0] = 0;
    std::vector<float> factors;
    if (rc.llama3_scaled) factors = Llama3FreqFactors(rc.rot, theta, 8.f, 1.f, 4.f, 8192);
    const auto inv = RopeInvFreq(rc.rot, theta, factors);
    // The CPU fast path computes the same angles (fp32 table, double product): tight.
    auto want_cpu = x;
    cpu::Rope(want_cpu.data(), n, heads, rc.head_dim, pos.data(), inv, rc.layout);
    // The oracle from the definition (double frequencies).
    auto want_ref = x;
    cpu::ref::Rope(want_ref.data(), n, heads, rc.head_dim, pos.data(), rc.rot, theta, factors,
                   rc.layout);
    DeviceBuffer<float> d_x(x), d_inv(inv);
    DeviceBuffer<int32_t> d_pos(pos);
    STARATTN_CUDA_CHECK(Rope(d_x.get(), n, heads, rc.head_dim, d_pos.get(), d_inv.get(),
                             static_cast<int64_t>(inv.size()), ToDevice(rc.layout), nullptr));
    const auto got = d_x.Download();
    ExpectNoNan(got, what);
    AllClose(got, want_cpu, testing::kOpFp32, what + " vs cpu::Rope");
    // Against the oracle: positions up to 131072 shift the angle by up to ~8e-3 rad through
    // the fp32 inverse-frequency table (as for cpu::Rope in engine/cpu/ops_test.cc); small
    // positions are tight.
    AllClose(got, want_ref,
             rc.max_pos <= 64 ? starattn::testing::kFp32 : starattn::testing::Tolerance{1e-2, 0},
             what + " vs oracle");
    // Dims past rot stay untouched.
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t i = rc.rot; i < rc.head_dim; ++i) {
          const int64_t at = (t * heads + h) * rc.head_dim + i;
          ASSERT_EQ(got[at], x[at]) << "unrotated dim " << i << " changed";
        }
      }
    }
  }
}

TEST(CudaOpsTest, RopeRejectsTooManyFrequencies) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  DeviceBuffer<float> d_x(64), d_inv(33);
  DeviceBuffer<int32_t> d_pos(1);
  EXPECT_EQ(Rope(d_x.get(), 1, 1, 64, d_pos.get(), d_inv.get(), 33, DeviceRopeLayout::kSplitHalf,
                 nullptr),
            cudaErrorInvalidValue);
}

template <typename T>
void CheckSwiGlu(int64_t n, uint64_t seed, starattn::testing::Tolerance tol,
                 const std::string& what) {
  Rng rng(seed);
  SCOPED_TRACE(SeedTrace(seed));
  auto gate = rng.UniformVector(n, -12, 12);
  const auto up = rng.UniformVector(n, -3, 3);
  gate[0] = -100.f;  // e^100 overflows fp32: silu -> -0
  gate[1] = 100.f;
  std::vector<float> want(n);
  cpu::ref::SwiGlu(gate.data(), up.data(), n, want.data());
  DeviceBuffer<float> d_gate(gate), d_up(up);
  DeviceBuffer<T> d_out(n);
  d_out.Poison();
  STARATTN_CUDA_CHECK(SwiGlu<T>(d_gate.get(), d_up.get(), n, d_out.get(), nullptr));
  std::vector<float> got;
  if constexpr (std::is_same_v<T, float>) {
    got = d_out.Download();
  } else {
    got = ToFloats(d_out.Download());
  }
  ExpectNoNan(got, what);
  AllClose(got, want, tol, what);
}

TEST(CudaOpsTest, SwiGluMatchesOracle) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  CheckSwiGlu<float>(100003, 51, testing::kOpFp32, "swiglu fp32");
  CheckSwiGlu<__nv_bfloat16>(14336 * 3, 52, testing::kOpBf16Out, "swiglu bf16");
  CheckSwiGlu<__half>(14336 * 3, 53, testing::kOpFp16Out, "swiglu fp16");
}

TEST(CudaOpsTest, AddInPlaceAndBias) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  const int64_t n = 7, d = 1001;
  Rng rng(61);
  SCOPED_TRACE(SeedTrace(61));
  const auto x = rng.UniformVector(n * d, -1, 1), y = rng.UniformVector(n * d, -1, 1);
  const auto b = rng.UniformVector(d, -1, 1);
  std::vector<float> want(n * d);
  for (int64_t i = 0; i < n * d; ++i) want[i] = x[i] + y[i] + b[i % d];
  DeviceBuffer<float> d_x(x), d_y(y), d_b(b);
  STARATTN_CUDA_CHECK(AddInPlace(d_x.get(), d_y.get(), n * d, nullptr));
  STARATTN_CUDA_CHECK(AddBias(d_x.get(), d_b.get(), n, d, nullptr));
  AllClose(d_x.Download(), want, testing::kOpFp32, "add + bias");
}

TEST(CudaOpsTest, ArgmaxFirstMaxPerRowLikeCpu) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  const int64_t rows = 6, n = 128256;  // Llama 3 vocabulary
  Rng rng(71);
  SCOPED_TRACE(SeedTrace(71));
  auto x = rng.UniformVector(rows * n, -20, 20);
  const float inf = std::numeric_limits<float>::infinity();
  float* r1 = x.data() + 1 * n;  // row 1: ties, the first wins
  r1[5000] = 30.f;
  r1[70000] = 30.f;
  r1[127000] = 30.f;
  float* r2 = x.data() + 2 * n;  // row 2: NaNs never win
  r2[10] = std::nanf("");
  r2[n - 1] = 25.f;
  float* r3 = x.data() + 3 * n;  // row 3: all -inf -> 0
  for (int64_t i = 0; i < n; ++i) r3[i] = -inf;
  float* r4 = x.data() + 4 * n;  // row 4: the maximum at the last index
  r4[n - 1] = 1e30f;
  float* r5 = x.data() + 5 * n;  // row 5: +inf wins
  r5[777] = inf;
  std::vector<int32_t> want(rows);
  for (int64_t r = 0; r < rows; ++r)
    want[r] = static_cast<int32_t>(cpu::Argmax(x.data() + r * n, n));
  ASSERT_EQ(want[1], 5000);
  ASSERT_EQ(want[3], 0);
  DeviceBuffer<float> d_x(x);
  DeviceBuffer<int32_t> d_out(rows);
  d_out.Poison();
  STARATTN_CUDA_CHECK(Argmax(d_x.get(), rows, n, d_out.get(), nullptr));
  const auto got = d_out.Download();
  for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(got[r], want[r]) << "row " << r;
}

template <typename T>
void CheckCastRoundTrip(uint64_t seed, const std::string& what) {
  Rng rng(seed);
  SCOPED_TRACE(SeedTrace(seed));
  const int64_t n = 70001;
  const auto x = rng.UniformVector(n, -1000, 1000);
  auto rounded = x;
  const auto want_h = RoundTo<T>(rounded);  // host round-to-nearest-even reference
  DeviceBuffer<float> d_x(x), d_back(n);
  DeviceBuffer<T> d_h(n);
  d_h.Poison();
  d_back.Poison();
  STARATTN_CUDA_CHECK(CastFromFp32<T>(d_x.get(), n, d_h.get(), nullptr));
  STARATTN_CUDA_CHECK(CastToFp32<T>(d_h.get(), n, d_back.get(), nullptr));
  const auto got_h = ToFloats(d_h.Download());
  const auto back = d_back.Download();
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(got_h[i], rounded[i]) << what << " at " << i << " (x = " << x[i] << ")";
    ASSERT_EQ(back[i], rounded[i]) << what << " back at " << i;
  }
}

TEST(CudaOpsTest, CastsRoundToNearestEvenAndBackExactly) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  CheckCastRoundTrip<__nv_bfloat16>(81, "bf16");
  CheckCastRoundTrip<__half>(82, "fp16");
}

}  // namespace
}  // namespace starattn::cuda
