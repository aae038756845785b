// The sparse and streaming attention kernel (engine/cpu/sparse_attention.h) against the
// brute-force per-(query, key) visibility and the float64 oracle (engine/cpu/sparse_ref.h):
// every pattern kind, GQA groups whose heads mix kinds, ragged last blocks, decode and prefill,
// absolute offsets; the attended set itself (zero queries: lse = log of the visible count), the
// count of computed scores, full budgets against cpu::Attention, K/V types and bf16 arithmetic,
// the block-mask estimator, and bad patterns.
#include "engine/cpu/sparse_attention.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/common/testing.h"
#include "engine/cpu/attention_testing.h"
#include "engine/cpu/sparse_ref.h"

namespace starattn::cpu {
namespace {

using attn_testing::ForEachPrecision;
using attn_testing::KvName;
using attn_testing::Precision;
using attn_testing::StoredKv;
using testing::AllClose;
using testing::kBf16Attention;
using testing::kFp32;
using testing::kFp32Reduction;
using testing::Rng;
using testing::SeedTrace;

struct SparseCase {
  int64_t n_q, n_kv, n_heads, n_kv_heads, head_dim;
  bool causal;
  int64_t q_offset, k_offset, block;
};

void PrintTo(const SparseCase& c, std::ostream* os) {
  *os << "n_q=" << c.n_q << " n_kv=" << c.n_kv << " heads=" << c.n_heads << "/" << c.n_kv_heads
      << " head_dim=" << c.head_dim << (c.causal ? " causal" : " non-causal")
      << " q_offset=" << c.q_offset << " k_offset=" << c.k_offset << " block=" << c.block;
}

HeadPattern Dense() { return HeadPattern{}; }
HeadPattern Tokens(int64_t sink, int64_t local) {
  HeadPattern p;
  p.kind = HeadPatternKind::kStreamingTokens;
  p.sink = sink;
  p.local = local;
  return p;
}
HeadPattern Blocks(int64_t sink, int64_t local) {
  HeadPattern p = Tokens(sink, local);
  p.kind = HeadPatternKind::kStreamingBlocks;
  return p;
}
HeadPattern Estimated(double density) {
  HeadPattern p;
  p.kind = HeadPatternKind::kBlockEstimated;
  p.density = density;
  return p;
}

// Per-head patterns of a case, with the storage of their block masks.
struct Mix {
  std::vector<HeadPattern> heads;
  std::vector<BlockMask> masks;  // reserved up front: patterns point into it
};

// Random block masks cover every query block of the call (rows) and every key block (cols).
BlockMask RandomMask(const SparseCase& c, Rng& rng) {
  BlockMask m;
  m.rows = (c.q_offset + c.n_q - 1) / c.block + 1;
  m.cols = (c.k_offset + std::max<int64_t>(c.n_kv, 1) - 1) / c.block + 1;
  m.bits.resize(m.rows * m.cols);
  for (auto& b : m.bits) b = rng.Uniform() < 0.45 ? 1 : 0;
  return m;
}

// Mixes over 6 query heads (kv groups of 3 with 2 kv heads, of 2 with 3):
//   0: every kind (tokens twice);
//   1: equal patterns inside a group (tokens, one mask shared);
//   2: edges: empty windows (local 0), no sink, density 1.0 and 0.1.
Mix MakeMix(int mix, const SparseCase& c, Rng& rng) {
  Mix m;
  m.masks.reserve(2);
  switch (mix) {
    case 0:
      m.masks.push_back(RandomMask(c, rng));
      m.heads = {Dense(),        Tokens(4, 20), Blocks(1, 2), m.masks[0].Pattern(),
                 Estimated(0.4), Tokens(4, 20)};
      break;
    case 1:
      m.masks.push_back(RandomMask(c, rng));
      m.heads = {Tokens(2, 9),         Dense(),     Tokens(2, 9), m.masks[0].Pattern(),
                 m.masks[0].Pattern(), Blocks(0, 1)};
      break;
    default:
      m.heads = {Tokens(3, 0), Tokens(0, 1),   Blocks(0, 1),
                 Blocks(2, 0), Estimated(1.0), Estimated(0.1)};
      break;
  }
  return m;
}

// The estimated masks the oracle uses (ref::EstimateBlockMask), per head.
std::vector<BlockMask> RefEstimates(const std::vector<float>& q, const std::vector<float>& k,
                                    const SparseCase& c, const Mix& m) {
  const int64_t G = c.n_heads / c.n_kv_heads, D = c.head_dim;
  std::vector<BlockMask> est(c.n_heads);
  for (int64_t h = 0; h < c.n_heads; ++h) {
    if (m.heads[h].kind != HeadPatternKind::kBlockEstimated) continue;
    est[h] = ref::EstimateBlockMask(q.data() + h * D, c.n_heads * D, c.n_q, k.data() + (h / G) * D,
                                    c.n_kv_heads * D, c.n_kv, D, {c.causal, c.q_offset, c.k_offset},
                                    c.block, m.heads[h].density);
  }
  return est;
}

// Whether two heads' patterns put them in one group (sparse_attention.h).
bool SameGroup(const HeadPattern& a, const HeadPattern& b) {
  if (a.kind != b.kind || a.kind == HeadPatternKind::kBlockEstimated) return false;
  return a.sink == b.sink && a.local == b.local && a.mask == b.mask;
}

// scores_computed from its definition (sparse_attention.h) over the brute-force visibility.
int64_t ExpectedScores(const SparseCase& c, const Mix& m, const std::vector<BlockMask>& est) {
  const int64_t G = c.n_heads / c.n_kv_heads;
  int64_t total = 0;
  for (int64_t h = 0; h < c.n_heads; ++h) {
    int64_t group = 1;  // h itself
    for (int64_t h2 = h / G * G; h2 < (h / G + 1) * G; ++h2) {
      group += h2 != h && SameGroup(m.heads[h], m.heads[h2]);
    }
    const int64_t tile_len = kSparseQueryTile * std::max<int64_t>(1, G / group);
    int64_t i = 0;
    while (i < c.n_q) {  // query tiles: cut at block boundaries, then tile_len
      const int64_t block_end = ((c.q_offset + i) / c.block + 1) * c.block - c.q_offset;
      const int64_t nq = std::min({tile_len, c.n_q - i, block_end - i});
      for (int64_t g0 = 0; g0 < c.n_kv; g0 += kSparseKeyGranule) {
        const int64_t g1 = std::min(c.n_kv, g0 + kSparseKeyGranule);
        bool needed = false;
        for (int64_t ii = i; ii < i + nq && !needed; ++ii) {
          for (int64_t j = g0; j < g1 && !needed; ++j) {
            needed = ref::SparseVisible(m.heads[h], c.block, c.causal, c.q_offset + ii,
                                        c.k_offset + j, &est[h]);
          }
        }
        if (needed) total += nq * (g1 - g0);
      }
      i += nq;
    }
  }
  return total;
}

class SparseAttentionTest : public ::testing::TestWithParam<SparseCase> {};

// Random queries against the oracle; zero queries expose the attended set: every visible key
// weighs 1, so lse = log(visible count) and out = the mean of the visible values.
TEST_P(SparseAttentionTest, MatchesBruteForce) {
  const SparseCase c = GetParam();
  const int saved_threads = omp_get_max_threads();
  for (int mix = 0; mix < 3; ++mix) {
    const uint64_t seed = 14000 + 97 * mix + c.n_q * 31 + c.n_kv * 7 + c.q_offset + c.block;
    SCOPED_TRACE(SeedTrace(seed));
    SCOPED_TRACE("mix " + std::to_string(mix));
    Rng rng(seed);
    const Mix m = MakeMix(mix, c, rng);
    AttnShape s{c.n_q, c.n_kv, c.n_heads, c.n_kv_heads, c.head_dim};
    AttnMask am{c.causal, c.q_offset, c.k_offset};
    SparseMask sm{c.block, m.heads.data()};
    const auto k = rng.UniformVector(c.n_kv * c.n_kv_heads * c.head_dim, -2, 2);
    const auto v = rng.UniformVector(c.n_kv * c.n_kv_heads * c.head_dim, -1, 1);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    for (bool zero_q : {false, true}) {
      SCOPED_TRACE(zero_q ? "zero queries" : "random queries");
      auto q = rng.UniformVector(c.n_q * c.n_heads * c.head_dim, -2, 2);
      if (zero_q) std::fill(q.begin(), q.end(), 0.0f);
      std::vector<float> out_ref(q.size()), lse_ref(c.n_q * c.n_heads);
      ref::SparseAttention(q.data(), k.data(), v.data(), s, am, sm, scale, out_ref.data(),
                           lse_ref.data());
      const auto est = RefEstimates(q, k, c, m);
      if (zero_q) {  // the visible count, from the brute-force mask
        std::vector<float> log_count(c.n_q * c.n_heads);
        for (int64_t i = 0; i < c.n_q; ++i) {
          for (int64_t h = 0; h < c.n_heads; ++h) {
            int64_t n = 0;
            for (int64_t j = 0; j < c.n_kv; ++j) {
              n += ref::SparseVisible(m.heads[h], c.block, c.causal, c.q_offset + i, c.k_offset + j,
                                      &est[h]);
            }
            log_count[i * c.n_heads + h] = n > 0 ? std::log(static_cast<float>(n)) : -INFINITY;
          }
        }
        AllClose(lse_ref, log_count, kFp32, "oracle lse vs log(visible count)");
      }
      const int64_t expected_scores = ExpectedScores(c, m, est);
      for (int threads : {1, 4, 7}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        omp_set_num_threads(threads);
        std::vector<float> out(q.size(), std::nanf("")), lse(c.n_q * c.n_heads, std::nanf(""));
        int64_t computed = -1;
        SparseAttention(q.data(), k.data(), v.data(), KvType::kF32, s, am, sm, scale, Compute::kF32,
                        out.data(), lse.data(), &computed);
        AllClose(out, out_ref, kFp32Reduction, "sparse attention out");
        AllClose(lse, lse_ref, kFp32Reduction, "sparse attention lse");
        EXPECT_EQ(computed, expected_scores) << "scores_computed";
        std::vector<float> out2(q.size(), std::nanf(""));
        SparseAttention(q.data(), k.data(), v.data(), KvType::kF32, s, am, sm, scale, Compute::kF32,
                        out2.data(), nullptr, nullptr);
        AllClose(out2, out_ref, kFp32Reduction, "sparse attention out (no lse)");
      }
    }
  }
  omp_set_num_threads(saved_threads);
}

INSTANTIATE_TEST_SUITE_P(
    Grid, SparseAttentionTest,
    ::testing::Values(
        //         n_q n_kv heads kvh  hd causal q_off k_off block
        SparseCase{1, 1, 6, 2, 64, true, 0, 0, 32},
        SparseCase{1, 300, 6, 2, 64, true, 299, 0, 32},       // decode
        SparseCase{1, 700, 6, 3, 64, true, 699, 0, 48},       // decode, blocks across granules
        SparseCase{3, 520, 6, 2, 128, true, 517, 0, 64},      // multi-token decode
        SparseCase{200, 200, 6, 2, 64, true, 0, 0, 32},       // prefill
        SparseCase{97, 333, 6, 2, 64, true, 236, 0, 48},      // prefill after a cache, ragged
        SparseCase{40, 150, 6, 3, 64, true, 1000, 890, 16},   // absolute offsets
        SparseCase{64, 100, 6, 2, 64, false, 0, 0, 32},       // non-causal
        SparseCase{5, 64, 6, 2, 64, true, 0, 100, 32},        // every row empty
        SparseCase{300, 300, 6, 3, 64, true, 0, 0, 128},      // one block and a ragged one
        SparseCase{130, 610, 6, 2, 64, true, 480, 0, 100}));  // ragged blocks of 100

// K/V in f32/f16/bf16, fp32 or bf16 arithmetic (the AVX512-BF16 kernels on or forced off)
// against the oracle on the operands as the kernel sees them (attention_testing.h). The
// oracle takes the kernel's own estimate for kBlockEstimated heads (estimated from the
// unrounded queries; EstimatorTest checks the estimator itself).
class MixedSparseTest : public ::testing::TestWithParam<SparseCase> {};

TEST_P(MixedSparseTest, MatchesOracle) {
  const SparseCase c = GetParam();
  const uint64_t seed = 15000 + c.n_q * 31 + c.n_kv * 7 + c.q_offset + c.block;
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  const Mix m = MakeMix(0, c, rng);
  AttnShape s{c.n_q, c.n_kv, c.n_heads, c.n_kv_heads, c.head_dim};
  AttnMask am{c.causal, c.q_offset, c.k_offset};
  SparseMask sm{c.block, m.heads.data()};
  const auto q = rng.UniformVector(c.n_q * c.n_heads * c.head_dim, -2, 2);
  const auto k = rng.UniformVector(c.n_kv * c.n_kv_heads * c.head_dim, -2, 2);
  const auto v = rng.UniformVector(c.n_kv * c.n_kv_heads * c.head_dim, -1, 1);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const int64_t G = c.n_heads / c.n_kv_heads, D = c.head_dim;
  const int saved_threads = omp_get_max_threads();
  ForEachPrecision(s, q, k, v, [&](const Precision& p) {
    // The oracle's patterns: estimated heads resolved with the kernel's estimator.
    std::vector<BlockMask> est(c.n_heads);
    std::vector<HeadPattern> resolved = m.heads;
    for (int64_t h = 0; h < c.n_heads; ++h) {
      if (resolved[h].kind != HeadPatternKind::kBlockEstimated) continue;
      est[h] = EstimateBlockMask(q.data() + h * D, c.n_heads * D, c.n_q, p.k.at((h / G) * D), p.kv,
                                 c.n_kv_heads * D, c.n_kv, D, am, c.block, resolved[h].density);
      resolved[h] = est[h].Pattern();
    }
    SparseMask sm_ref{c.block, resolved.data()};
    std::vector<float> out_ref(q.size()), lse_ref(c.n_q * c.n_heads);
    ref::SparseAttention(p.q_ref.data(), p.k_ref.data(), p.v_ref.data(), s, am, sm_ref, scale,
                         out_ref.data(), lse_ref.data());
    for (int threads : {1, 4}) {
      SCOPED_TRACE(p.name + ", threads " + std::to_string(threads));
      omp_set_num_threads(threads);
      std::vector<float> out(q.size(), std::nanf("")), lse(c.n_q * c.n_heads, std::nanf(""));
      SparseAttention(q.data(), p.k.data(), p.v.data(), p.kv, s, am, sm, scale, p.compute,
                      out.data(), lse.data(), nullptr);
      AllClose(out, out_ref, p.tol, "sparse attention out");
      AllClose(lse, lse_ref, p.tol, "sparse attention lse");
    }
  });
  omp_set_num_threads(saved_threads);
}

INSTANTIATE_TEST_SUITE_P(
    Grid, MixedSparseTest,
    ::testing::Values(
        //         n_q n_kv heads kvh  hd causal q_off k_off block
        SparseCase{1, 700, 6, 2, 64, true, 699, 0, 64},      // decode: fp32 kernel always
        SparseCase{97, 333, 6, 2, 64, true, 236, 0, 48},     // granules straddle blocks
        SparseCase{260, 260, 6, 3, 128, true, 0, 0, 64},     // head_dim 128
        SparseCase{40, 150, 6, 3, 64, true, 1000, 890, 16},  // absolute offsets
        SparseCase{64, 100, 6, 2, 64, false, 0, 0, 32}));    // non-causal

// Full budgets are dense attention: sink + local >= length, local blocks >= blocks, an all-ones
// mask, density 1.0, every head dense; against cpu::Attention (fp32: kFp32Reduction; bf16: the
// two kernels tile the keys differently, so their probabilities round against different
// running maxima: kBf16Attention).
TEST(SparseFullBudgetTest, EqualsDenseAttention) {
  const SparseCase c{300, 800, 9, 3, 64, true, 500, 0, 128};
  const uint64_t seed = 16001;
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  AttnShape s{c.n_q, c.n_kv, c.n_heads, c.n_kv_heads, c.head_dim};
  AttnMask am{c.causal, c.q_offset, c.k_offset};
  const auto q = rng.UniformVector(c.n_q * c.n_heads * c.head_dim, -2, 2);
  const auto k = rng.UniformVector(c.n_kv * c.n_kv_heads * c.head_dim, -2, 2);
  const auto v = rng.UniformVector(c.n_kv * c.n_kv_heads * c.head_dim, -1, 1);
  BlockMask ones;
  ones.rows = ones.cols = 7;
  ones.bits.assign(49, 1);
  const int64_t len = c.q_offset + c.n_q;
  const std::vector<std::pair<std::string, HeadPattern>> budgets = {
      {"dense", Dense()},
      {"tokens sink+local = length", Tokens(64, len - 64)},
      {"tokens local = length", Tokens(0, len)},
      {"blocks local = blocks", Blocks(0, 7)},
      {"blocks sink = blocks", Blocks(7, 0)},
      {"all-ones mask", ones.Pattern()},
      {"density 1.0", Estimated(1.0)}};
  for (const auto& [name, pattern] : budgets) {
    const std::vector<HeadPattern> heads(c.n_heads, pattern);
    SparseMask sm{c.block, heads.data()};
    for (KvType kv : {KvType::kF32, KvType::kBf16}) {
      const StoredKv ks(k, kv), vs(v, kv);
      const void* kp = ks.data();
      const void* vp = vs.data();
      for (Compute compute : {Compute::kF32, Compute::kBf16}) {
        SCOPED_TRACE(name + ", kv " + KvName(kv) + ", compute " +
                     std::string(ComputeName(compute)));
        std::vector<float> out(q.size()), lse(c.n_q * c.n_heads);
        std::vector<float> dense_out(q.size()), dense_lse(c.n_q * c.n_heads);
        int64_t computed = 0;
        SparseAttention(q.data(), kp, vp, kv, s, am, sm, 0.125f, compute, out.data(), lse.data(),
                        &computed);
        Attention(q.data(), kp, vp, kv, s, am, 0.125f, compute, dense_out.data(), dense_lse.data());
        const auto tol = UsesBf16Kernels(s, compute) ? kBf16Attention : kFp32Reduction;
        AllClose(out, dense_out, tol, "out vs dense");
        AllClose(lse, dense_lse, tol, "lse vs dense");
        // Every visible score once, and per query at most the tile's later queries' keys and a
        // granule more (tiles of up to 96 queries: estimated heads are groups of one).
        int64_t visible = 0;
        for (int64_t i = 0; i < c.n_q; ++i) visible += c.q_offset + i + 1;
        EXPECT_GE(computed, visible * c.n_heads);
        EXPECT_LE(computed,
                  (visible + c.n_q * (SparseQueryTile(3, 1) + kSparseKeyGranule)) * c.n_heads);
      }
    }
  }
}

// Exact counts on a hand-sized case: 64 queries at positions 0..63 over 64 keys, block 32, one
// head, non-GQA. Query tiles: [0, 32) and [32, 64); granules: keys [0, 32) and [32, 64).
TEST(SparseScoresTest, CountsComputedGranules) {
  AttnShape s{64, 64, 1, 1, 64};
  AttnMask am{true, 0, 0};
  Rng rng(16002);
  const auto q = rng.UniformVector(64 * 64, -1, 1);
  const auto k = rng.UniformVector(64 * 64, -1, 1);
  std::vector<float> out(q.size()), lse(64);
  auto count = [&](const HeadPattern& p) {
    SparseMask sm{32, &p};
    int64_t n = -1;
    SparseAttention(q.data(), k.data(), k.data(), KvType::kF32, s, am, sm, 0.125f, Compute::kF32,
                    out.data(), lse.data(), &n);
    return n;
  };
  // Dense causal: tile 0 sees granule 0, tile 1 both: 32 * 32 + 32 * 64.
  EXPECT_EQ(count(Dense()), 32 * 32 + 32 * 64);
  // Streaming 1 + 1 tokens: tile 1's windows lie in granule 1 and its sink in granule 0.
  EXPECT_EQ(count(Tokens(1, 1)), 32 * 32 + 32 * 64);
  // Streaming without sink, local 1: each tile its own granule.
  EXPECT_EQ(count(Tokens(0, 1)), 32 * 32 + 32 * 32);
  // Diagonal-only block mask.
  BlockMask diag;
  diag.rows = diag.cols = 2;
  diag.bits = {1, 0, 0, 1};
  EXPECT_EQ(count(diag.Pattern()), 32 * 32 + 32 * 32);
  // Streaming blocks with local 0 and no sink: nothing.
  EXPECT_EQ(count(Blocks(0, 0)), 0);
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(lse[i], -INFINITY);
}

// ---- The estimator ----------------------------------------------------------------------------

class EstimatorTest : public ::testing::TestWithParam<SparseCase> {};

TEST_P(EstimatorTest, MatchesDefinition) {
  const SparseCase c = GetParam();
  const int64_t D = c.head_dim;
  for (double density : {0.1, 0.25, 0.5, 0.9, 1.0}) {
    const uint64_t seed = 17000 + c.n_q + c.n_kv + c.block + static_cast<int>(density * 100);
    SCOPED_TRACE(SeedTrace(seed));
    SCOPED_TRACE("density " + std::to_string(density));
    Rng rng(seed);
    const auto q = rng.UniformVector(c.n_q * D, -1, 1);
    const auto k = rng.UniformVector(c.n_kv * D, -1, 1);
    AttnMask am{c.causal, c.q_offset, c.k_offset};
    for (KvType kv : {KvType::kF32, KvType::kF16, KvType::kBf16}) {
      SCOPED_TRACE(std::string("kv ") + KvName(kv));
      const StoredKv ks(k, kv);
      const BlockMask got =
          EstimateBlockMask(q.data(), D, c.n_q, ks.data(), kv, D, c.n_kv, D, am, c.block, density);
      const BlockMask want = ref::EstimateBlockMask(q.data(), D, c.n_q, ks.values.data(), D, c.n_kv,
                                                    D, am, c.block, density);
      ASSERT_EQ(got.rows, want.rows);
      ASSERT_EQ(got.cols, want.cols);
      EXPECT_EQ(got.bits, want.bits);
      // Properties: block 0 and the diagonal kept; ceil(density * candidates) kept per row.
      const int64_t kb_first = c.k_offset / c.block;
      for (int64_t qb = c.q_offset / c.block; qb < got.rows; ++qb) {
        const int64_t last = c.causal ? std::min(qb, got.cols - 1) : got.cols - 1;
        if (last < kb_first) continue;
        const int64_t cand = last - kb_first + 1;
        int64_t kept = 0;
        for (int64_t kb = 0; kb < got.cols; ++kb) kept += got.bits[qb * got.cols + kb];
        const bool diagonal = qb >= kb_first && qb <= last;
        const int64_t forced = (kb_first == 0 ? 1 : 0) + (diagonal && qb != 0 ? 1 : 0);
        EXPECT_EQ(kept, std::max<int64_t>(forced, std::ceil(density * cand - 1e-9)))
            << "query block " << qb;
        if (kb_first == 0) EXPECT_EQ(got.bits[qb * got.cols], 1) << "query block " << qb;
        if (diagonal) EXPECT_EQ(got.bits[qb * got.cols + qb], 1) << "query block " << qb;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Grid, EstimatorTest,
                         ::testing::Values(
                             //         n_q n_kv heads kvh hd causal q_off k_off block
                             SparseCase{512, 512, 1, 1, 64, true, 0, 0, 32},
                             SparseCase{100, 700, 1, 1, 64, true, 600, 0, 64},   // ragged
                             SparseCase{1, 900, 1, 1, 64, true, 899, 0, 128},    // decode
                             SparseCase{70, 300, 1, 1, 64, true, 900, 700, 50},  // offsets
                             SparseCase{96, 400, 1, 1, 64, false, 0, 0, 32}));   // non-causal

TEST(EstimatorTiesTest, LowerBlockWins) {
  // Every key equal: every candidate scores the same, so the lowest blocks after the forced
  // ones are kept.
  const int64_t D = 64, n = 10 * 32;
  std::vector<float> q(n * D, 0.5f), k(n * D, 0.25f);
  const BlockMask m =
      EstimateBlockMask(q.data(), D, n, k.data(), KvType::kF32, D, n, D, {true, 0, 0}, 32, 0.4);
  // Query block 9: 10 candidates, keep 4: blocks 0, 9 (forced), 1, 2.
  const std::vector<uint8_t> row9(m.bits.begin() + 9 * 10, m.bits.begin() + 10 * 10);
  EXPECT_EQ(row9, (std::vector<uint8_t>{1, 1, 1, 0, 0, 0, 0, 0, 0, 1}));
}

// ---- Bad patterns -----------------------------------------------------------------------------

TEST(SparseErrorsTest, NamesTheField) {
  AttnShape s{4, 300, 2, 1, 64};
  AttnMask am{true, 296, 0};
  const std::vector<float> q(4 * 2 * 64, 0.1f), k(300 * 64, 0.1f);
  std::vector<float> out(q.size()), lse(8);
  BlockMask small;
  small.rows = 3;  // the queries sit in block 2 of 128: rows 3 needed, cols 3
  small.cols = 2;
  small.bits.assign(6, 1);
  auto run = [&](std::vector<HeadPattern> heads, int64_t block) {
    SparseMask sm{block, heads.data()};
    SparseAttention(q.data(), k.data(), k.data(), KvType::kF32, s, am, sm, 0.125f, Compute::kF32,
                    out.data(), lse.data(), nullptr);
  };
  using testing::ThrowsOneLineError;
  EXPECT_THAT(
      [&] {
        run({Dense(), small.Pattern()}, 128);
      },
      ThrowsOneLineError("head 1", "mask_cols must be >= 3", "got 2"));
  small.rows = 2;
  small.cols = 3;
  EXPECT_THAT(
      [&] {
        run({Dense(), small.Pattern()}, 128);
      },
      ThrowsOneLineError("head 1", "mask_rows must be >= 3", "got 2"));
  HeadPattern null_mask;
  null_mask.kind = HeadPatternKind::kBlockSparse;
  EXPECT_THAT(
      [&] {
        run({null_mask, Dense()}, 128);
      },
      ThrowsOneLineError("head 0", "mask is null"));
  EXPECT_THAT(
      [&] {
        run({Dense(), Estimated(0.0)}, 128);
      },
      ThrowsOneLineError("head 1", "density must be in (0, 1]", "got 0"));
  EXPECT_THAT(
      [&] {
        run({Dense(), Estimated(1.5)}, 128);
      },
      ThrowsOneLineError("head 1", "density", "got 1.5"));
  EXPECT_THAT(
      [&] {
        run({Tokens(-1, 4), Dense()}, 128);
      },
      ThrowsOneLineError("head 0", "sink and local must be >= 0", "sink -1"));
  EXPECT_THAT(
      [&] {
        run({Dense(), Dense()}, 0);
      },
      ThrowsOneLineError("block must be > 0", "got 0"));
  HeadPattern bad_kind;
  bad_kind.kind = static_cast<HeadPatternKind>(9);
  EXPECT_THAT(
      [&] {
        run({Dense(), bad_kind}, 128);
      },
      ThrowsOneLineError("head 1", "unknown pattern kind 9"));
}

}  // namespace
}  // namespace starattn::cpu
