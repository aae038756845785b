// The CPU attention kernel against the float64 oracle (engine/cpu/ops_ref.h): fp32, K/V in fp16
// and bf16, and bf16 arithmetic through the AVX512-BF16 kernels and through their fallback.
#include "engine/cpu/attention.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/common/testing.h"
#include "engine/cpu/attention_testing.h"
#include "engine/cpu/ops_ref.h"

namespace starattn::cpu {
namespace {

using attn_testing::ForEachPrecision;
using attn_testing::NoAvx512Bf16;
using attn_testing::Precision;
using testing::AllClose;
using testing::kFp32Reduction;
using testing::Rng;
using testing::SeedTrace;

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
        AttnCase{1, 1, 1, 1, 64, true, 0, 0}, AttnCase{7, 7, 4, 4, 64, true, 0, 0},
        AttnCase{33, 300, 9, 3, 64, true, 267, 0},   // prefill continuing a cache
        AttnCase{1, 700, 8, 2, 128, true, 699, 0},   // decode
        AttnCase{100, 100, 4, 1, 128, false, 0, 0},  // non-causal, MQA
        AttnCase{65, 513, 6, 2, 64, false, 0, 0},
        AttnCase{40, 90, 4, 2, 64, true, 1000, 950},  // absolute offsets
        AttnCase{50, 50, 2, 2, 64, true, 0, 20},      // first 20 queries see nothing
        AttnCase{5, 64, 2, 1, 64, true, 0, 100},      // every row empty
        AttnCase{257, 600, 4, 4, 64, true, 343, 0},
        AttnCase{1024, 1024, 4, 1, 128, true, 0, 0},    // long causal, MQA
        AttnCase{512, 2048, 8, 2, 64, false, 0, 0},     // long non-causal
        AttnCase{300, 2000, 4, 2, 128, true, 1700, 0},  // a query block after 1700 cached keys
        AttnCase{64, 1500, 6, 3, 64, true, 3000, 1600},
        AttnCase{1, 2048, 9, 3, 64, true, 1000, 0},    // decode, later key chunks invisible
        AttnCase{2, 1600, 4, 4, 64, true, 5000, 100},  // two queries after every key
        AttnCase{1, 1024, 2, 1, 64, true, 0, 100},     // decode, every key hidden
        AttnCase{3, 4096, 8, 1, 128, false, 0, 0}));   // non-causal, 4K keys, MQA

// K/V in f32, f16 or bf16, fp32 or bf16 arithmetic, the AVX512-BF16 kernels on or forced off:
// against the oracle on the operands as the kernel sees them (K/V as stored; where the bf16
// kernels run, q, K, V rounded to bf16). They also round the softmax probabilities:
// kBf16Attention.
class MixedAttentionTest : public ::testing::TestWithParam<AttnCase> {};

TEST_P(MixedAttentionTest, MatchesOracle) {
  const AttnCase c = GetParam();
  const uint64_t seed = 9000 + c.n_q * 31 + c.n_kv * 7 + c.n_heads + c.head_dim + c.q_offset;
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  AttnShape s{c.n_q, c.n_kv, c.n_heads, c.n_kv_heads, c.head_dim};
  AttnMask m{c.causal, c.q_offset, c.k_offset};
  const auto q = rng.UniformVector(c.n_q * c.n_heads * c.head_dim, -2, 2);
  const auto k = rng.UniformVector(c.n_kv * c.n_kv_heads * c.head_dim, -2, 2);
  const auto v = rng.UniformVector(c.n_kv * c.n_kv_heads * c.head_dim, -1, 1);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const int saved_threads = omp_get_max_threads();
  ForEachPrecision(s, q, k, v, [&](const Precision& p) {
    std::vector<float> out_ref(q.size()), lse_ref(c.n_q * c.n_heads);
    ref::Attention(p.q_ref.data(), p.k_ref.data(), p.v_ref.data(), s, m, scale, out_ref.data(),
                   lse_ref.data());
    for (int threads : {1, 4}) {
      SCOPED_TRACE(p.name + ", threads " + std::to_string(threads));
      omp_set_num_threads(threads);
      std::vector<float> out(q.size(), std::nanf("")), lse(c.n_q * c.n_heads, std::nanf(""));
      Attention(q.data(), p.k.data(), p.v.data(), p.kv, s, m, scale, p.compute, out.data(),
                lse.data());
      AllClose(out, out_ref, p.tol, "attention out");
      AllClose(lse, lse_ref, p.tol, "attention lse");
    }
  });
  omp_set_num_threads(saved_threads);
}

// Rows of 1-8 queries x G heads take the fp32 kernel on converted tiles; 24 rows and more the
// AVX512-BF16 kernels (head_dim 64 and 128), with ragged last tiles, split key chunks (decode),
// empty rows and absolute offsets.
INSTANTIATE_TEST_SUITE_P(
    Grid, MixedAttentionTest,
    ::testing::Values(
        //      n_q  n_kv heads kvh  hd  causal q_off k_off
        AttnCase{1, 1, 1, 1, 64, true, 0, 0},
        AttnCase{33, 300, 9, 3, 64, true, 267, 0},   // prefill continuing a cache
        AttnCase{1, 700, 8, 2, 128, true, 699, 0},   // decode
        AttnCase{100, 100, 4, 1, 128, false, 0, 0},  // non-causal, MQA
        AttnCase{65, 513, 6, 2, 64, false, 0, 0},
        AttnCase{40, 90, 4, 2, 64, true, 1000, 950},  // absolute offsets
        AttnCase{50, 50, 2, 2, 64, true, 0, 20},      // first 20 queries see nothing
        AttnCase{5, 64, 2, 1, 64, true, 0, 100},      // every row empty
        AttnCase{257, 600, 4, 4, 64, true, 343, 0}, AttnCase{64, 1500, 6, 3, 64, true, 3000, 1600},
        AttnCase{1, 2048, 9, 3, 64, true, 1000, 0}));  // decode, later key chunks invisible

TEST(Avx512Bf16Test, EnvironmentForcesTheFallback) {
  const bool cpu_has = HaveAvx512Bf16();
  {
    NoAvx512Bf16 guard(true);
    EXPECT_FALSE(HaveAvx512Bf16());
  }
  EXPECT_EQ(HaveAvx512Bf16(), cpu_has);
  std::printf("this CPU %s AVX512-BF16\n", cpu_has ? "has" : "lacks");
}

TEST(ConversionTest, HalfAndBf16RoundToNearestEven) {
  // f16 keeps 11 significant bits, bf16 8: exact values, ties to even, and the f16 maximum.
  const std::vector<float> x = {1.0f + 1.0f / 1024, 1.0f + 1.0f / 2048, 65504.0f, 1.0f + 1.0f / 128,
                                1.0f + 1.0f / 256,  1.0f + 3.0f / 256,  -2.5f};
  std::vector<uint16_t> h(x.size()), b(x.size());
  std::vector<float> hx(x.size()), bx(x.size());
  FloatToHalf(x.data(), x.size(), h.data());
  HalfToFloat(h.data(), x.size(), hx.data());
  FloatToBf16(x.data(), x.size(), b.data());
  Bf16ToFloat(b.data(), x.size(), bx.data());
  EXPECT_EQ(hx[0], 1.0f + 1.0f / 1024);
  EXPECT_EQ(hx[1], 1.0f);  // tie: to even
  EXPECT_EQ(hx[2], 65504.0f);
  EXPECT_EQ(bx[3], 1.0f + 1.0f / 128);
  EXPECT_EQ(bx[4], 1.0f);              // tie: to even
  EXPECT_EQ(bx[5], 1.0f + 1.0f / 64);  // tie: to even (up)
  EXPECT_EQ(bx[6], -2.5f);
}

}  // namespace
}  // namespace starattn::cpu
