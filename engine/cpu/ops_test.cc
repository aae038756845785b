// Every fast CPU op against its scalar oracle on random inputs with fixed, printed seeds.
#include "engine/cpu/ops.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <tuple>

#include "engine/common/testing.h"
#include "engine/cpu/ops_ref.h"
#include "engine/model/rope.h"

namespace starattn::cpu {
namespace {

using testing::AllClose;
using testing::kFp32;
using testing::kFp32Reduction;
using testing::Rng;
using testing::SeedTrace;

class MatMulTest : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, bool>> {};

TEST_P(MatMulTest, MatchesOracle) {
  const auto [n, in, out, with_bias] = GetParam();
  const uint64_t seed = 1000 + n * 7 + in * 13 + out;
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  auto x = rng.UniformVector(n * in, -1, 1);    // [n, in]
  auto w = rng.UniformVector(out * in, -1, 1);  // [out, in]
  auto b = rng.UniformVector(out, -1, 1);       // [out]
  std::vector<float> got(n * out), want(n * out);
  MatMul(x.data(), n, in, w.data(), out, with_bias ? b.data() : nullptr, got.data());
  ref::MatMul(x.data(), n, in, w.data(), out, with_bias ? b.data() : nullptr, want.data());
  // K-term fp32 dot products vs double: reduction tolerance.
  AllClose(got, want, kFp32Reduction, "MatMul");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MatMulTest,
    ::testing::Values(std::make_tuple(1, 576, 192, false), std::make_tuple(3, 64, 1000, true),
                      std::make_tuple(15, 576, 1536, false), std::make_tuple(16, 1536, 576, false),
                      std::make_tuple(67, 576, 576, true), std::make_tuple(130, 100, 7, false)));

TEST(RmsNormTest, MatchesOracle) {
  for (int64_t d : {1, 64, 576, 4096}) {
    const uint64_t seed = 20 + d;
    SCOPED_TRACE(SeedTrace(seed));
    Rng rng(seed);
    const int64_t n = 5;
    auto x = rng.UniformVector(n * d, -3, 3);
    auto w = rng.UniformVector(d, 0.5, 1.5);
    std::vector<float> got(n * d), want(n * d);
    RmsNorm(x.data(), w.data(), n, d, 1e-5f, got.data());
    ref::RmsNorm(x.data(), w.data(), n, d, 1e-5f, want.data());
    AllClose(got, want, kFp32, "RmsNorm");
    // In place gives the same result.
    RmsNorm(x.data(), w.data(), n, d, 1e-5f, x.data());
    AllClose(x, want, kFp32, "RmsNorm in place");
  }
}

TEST(RopeTest, MatchesOracleBothLayoutsAndScaling) {
  const int64_t n = 9, heads = 3, head_dim = 64;
  for (RopeLayout layout : {RopeLayout::kAdjacentPairs, RopeLayout::kSplitHalf}) {
    for (bool scaled : {false, true}) {
      for (int64_t rot : {64, 32}) {
        const uint64_t seed = 300 + rot + (scaled ? 1 : 0) + 2 * static_cast<int>(layout);
        SCOPED_TRACE(SeedTrace(seed));
        Rng rng(seed);
        auto x = rng.UniformVector(n * heads * head_dim, -1, 1);
        std::vector<int32_t> pos(n);
        for (int64_t t = 0; t < n; ++t) pos[t] = static_cast<int32_t>(rng.NextU64() % 131072);
        std::vector<float> factors;
        if (scaled) factors = Llama3FreqFactors(rot, 500000.f, 8.f, 1.f, 4.f, 8192);
        auto want = x;
        Rope(x.data(), n, heads, head_dim, pos.data(), RopeInvFreq(rot, 500000.f, factors), layout);
        ref::Rope(want.data(), n, heads, head_dim, pos.data(), rot, 500000.f, factors, layout);
        // Positions up to 131072: the fast path rounds each inverse frequency to fp32
        // (relative error <= 6e-8), which shifts the angle by up to 131072 * 6e-8 ~ 8e-3 rad;
        // the oracle keeps it in double. Small positions are checked at kFp32 below.
        AllClose(x, want, {1e-2, 0}, "Rope");
      }
    }
  }
}

TEST(RopeTest, SmallPositionsAreTight) {
  const int64_t n = 40, heads = 2, head_dim = 128;
  Rng rng(77);
  SCOPED_TRACE(SeedTrace(77));
  auto x = rng.UniformVector(n * heads * head_dim, -1, 1);
  std::vector<int32_t> pos(n);
  for (int64_t t = 0; t < n; ++t) pos[t] = static_cast<int32_t>(t);
  auto want = x;
  Rope(x.data(), n, heads, head_dim, pos.data(), RopeInvFreq(head_dim, 10000.f, {}),
       RopeLayout::kSplitHalf);
  ref::Rope(want.data(), n, heads, head_dim, pos.data(), head_dim, 10000.f, {},
            RopeLayout::kSplitHalf);
  AllClose(x, want, kFp32, "Rope small positions");
}

TEST(RopeTest, LayoutsAgreeUnderPermutation) {
  // Adjacent-pair rotation of permuted dims equals split-half rotation of the original dims:
  // the identity GGUF's Q/K permutation relies on.
  const int64_t head_dim = 16;
  Rng rng(5);
  auto x = rng.UniformVector(head_dim, -1, 1);
  std::vector<float> permuted(head_dim);
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    permuted[2 * i] = x[i];
    permuted[2 * i + 1] = x[i + head_dim / 2];
  }
  const int32_t pos = 17;
  const auto inv = RopeInvFreq(head_dim, 10000.f, {});
  Rope(x.data(), 1, 1, head_dim, &pos, inv, RopeLayout::kSplitHalf);
  Rope(permuted.data(), 1, 1, head_dim, &pos, inv, RopeLayout::kAdjacentPairs);
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    EXPECT_FLOAT_EQ(permuted[2 * i], x[i]);
    EXPECT_FLOAT_EQ(permuted[2 * i + 1], x[i + head_dim / 2]);
  }
}

TEST(SwiGluTest, MatchesOracle) {
  Rng rng(9);
  SCOPED_TRACE(SeedTrace(9));
  auto g = rng.UniformVector(100000, -20, 20);
  auto u = rng.UniformVector(100000, -2, 2);
  std::vector<float> got(g.size()), want(g.size());
  SwiGlu(g.data(), u.data(), static_cast<int64_t>(g.size()), got.data());
  ref::SwiGlu(g.data(), u.data(), static_cast<int64_t>(g.size()), want.data());
  AllClose(got, want, kFp32, "SwiGlu");
}

TEST(ArgmaxTest, FirstOnTies) {
  std::vector<float> x = {1, 5, 3, 5, -1};
  EXPECT_EQ(Argmax(x.data(), 5), 1);
}

}  // namespace
}  // namespace starattn::cpu
