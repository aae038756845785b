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
  auto x = rng.UniformVector(n * in, -1, 1);     // [n, in]
  auto w = rng.UniformVector(out * in, -1, 1);   // [out, in]
  auto b = rng.UniformVector(out, -1, 1);        // [out]
  std::vector<float> got(n * out), want(n * out);
  MatMul(x.data(), n, in, w.data(), out, with_bias ? b.data() : nullptr, got.data());
  ref::MatMul(x.data(), n, in, w.data(), out, with_bias ? b.data() : nullptr, want.data());
  // K-term fp32 dot products vs double: reduction tolerance.
  AllClose(got, want, kFp32Reduction, "MatMul");
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatMulTest,
                         ::testing::Values(std::make_tuple(1, 576, 192, false),
                                           std::make_tuple(3, 64, 1000, true),
                                           std::make_tuple(15, 576, 1536, false),
                                           std::make_tuple(16, 1536, 576, false),
                                           std::make_tuple(67, 576, 576, true),
                                           std::make_tuple(130, 100, 7, false)));

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
        Rope(x.data(), n, heads, head_dim, pos.data(), RopeInvFreq(rot, 500000.f, factors),
             layout);
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

struct AttnCase {
  int64_t n_q, n_kv, n_heads, n_kv_heads, head_dim;
  bool causal;
  int64_t q_offset, k_offset;
};

void PrintTo(const AttnCase& c, std::ostream* os) {
  *os << "n_q=" << c.n_q << " n_kv=" << c.n_kv << " heads=" << c.n_heads << "/" << c.n_kv_heads
      << " head_dim=" << c.head_dim << (c.causal ? " causal" : " non-causal")
      << " q_offset=" << c.q_offset << " k_offset=" << c.k_offset;
}

class AttentionTest : public ::testing::TestWithParam<AttnCase> {};

TEST_P(AttentionTest, MatchesOracle) {
  const AttnCase c = GetParam();
  const uint64_t seed = 4000 + c.n_q * 31 + c.n_kv * 7 + c.n_heads + c.head_dim + c.q_offset;
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  AttentionShape s{c.n_q, c.n_kv, c.n_heads, c.n_kv_heads, c.head_dim};
  AttentionMask m{c.causal, c.q_offset, c.k_offset};
  // Scores of a few units: exercises the running max across tiles.
  auto q = rng.UniformVector(c.n_q * c.n_heads * c.head_dim, -2, 2);
  auto k = rng.UniformVector(c.n_kv * c.n_kv_heads * c.head_dim, -2, 2);
  auto v = rng.UniformVector(c.n_kv * c.n_kv_heads * c.head_dim, -1, 1);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  std::vector<float> out_ref(q.size()), lse_ref(c.n_q * c.n_heads);
  ref::Attention(q.data(), k.data(), v.data(), s, m, scale, out_ref.data(), lse_ref.data());
  // Thread counts matter: with fewer (kv head, query tile) items than 2x threads the keys are
  // split into chunks whose states are merged; 1, 4 and 7 threads cover unsplit and split runs.
  const int saved_threads = omp_get_max_threads();
  for (int threads : {1, 4, 7}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    omp_set_num_threads(threads);
    std::vector<float> out(q.size(), std::nanf("")), lse(c.n_q * c.n_heads, std::nanf(""));
    Attention(q.data(), k.data(), v.data(), s, m, scale, out.data(), lse.data());
    AllClose(out, out_ref, kFp32Reduction, "attention out");
    AllClose(lse, lse_ref, kFp32Reduction, "attention lse");
    // Relative error over the whole output against the float64 oracle.
    double num = 0, den = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      num += (double(out[i]) - out_ref[i]) * (double(out[i]) - out_ref[i]);
      den += double(out_ref[i]) * out_ref[i];
    }
    if (den > 0) {
      EXPECT_LT(std::sqrt(num / den), 1e-5) << "relative error of out";
    }
    // Without lse the output is the same.
    std::vector<float> out2(q.size(), std::nanf(""));
    Attention(q.data(), k.data(), v.data(), s, m, scale, out2.data(), nullptr);
    AllClose(out2, out_ref, kFp32Reduction, "attention out (no lse)");
  }
  omp_set_num_threads(saved_threads);
}

INSTANTIATE_TEST_SUITE_P(
    Grid, AttentionTest,
    ::testing::Values(
        //      n_q  n_kv heads kvh  hd  causal q_off k_off
        AttnCase{1, 1, 1, 1, 64, true, 0, 0},
        AttnCase{7, 7, 4, 4, 64, true, 0, 0},
        AttnCase{33, 300, 9, 3, 64, true, 267, 0},   // prefill continuing a cache
        AttnCase{1, 700, 8, 2, 128, true, 699, 0},   // decode
        AttnCase{100, 100, 4, 1, 128, false, 0, 0},  // non-causal, MQA
        AttnCase{65, 513, 6, 2, 64, false, 0, 0},
        AttnCase{40, 90, 4, 2, 64, true, 1000, 950},  // absolute offsets
        AttnCase{50, 50, 2, 2, 64, true, 0, 20},      // first 20 queries see nothing
        AttnCase{5, 64, 2, 1, 64, true, 0, 100},      // every row empty
        AttnCase{257, 600, 4, 4, 64, true, 343, 0},
        AttnCase{1024, 1024, 4, 1, 128, true, 0, 0},   // long causal, MQA
        AttnCase{512, 2048, 8, 2, 64, false, 0, 0},    // long non-causal
        AttnCase{300, 2000, 4, 2, 128, true, 1700, 0}, // a query block after 1700 cached keys
        AttnCase{64, 1500, 6, 3, 64, true, 3000, 1600},
        AttnCase{1, 2048, 9, 3, 64, true, 1000, 0},    // decode, later key chunks invisible
        AttnCase{2, 1600, 4, 4, 64, true, 5000, 100},  // two queries after every key
        AttnCase{1, 1024, 2, 1, 64, true, 0, 100},     // decode, every key hidden
        AttnCase{3, 4096, 8, 1, 128, false, 0, 0}));   // non-causal, 4K keys, MQA

TEST(ArgmaxTest, FirstOnTies) {
  std::vector<float> x = {1, 5, 3, 5, -1};
  EXPECT_EQ(Argmax(x.data(), 5), 1);
}

}  // namespace
}  // namespace starattn::cpu
