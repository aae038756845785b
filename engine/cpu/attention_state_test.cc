// MergeStates: merging the states of any partition of the keys equals attention over all keys,
// in any order; empty states and all-empty rows give no NaN.
#include "engine/cpu/attention_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/common/testing.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/ops_ref.h"

namespace starattn::cpu {
namespace {

using testing::AllClose;
using testing::kFp32Reduction;
using testing::Rng;
using testing::SeedTrace;

constexpr float kInf = std::numeric_limits<float>::infinity();

struct State {
  std::vector<float> out;  // [n_q, n_heads, head_dim]
  std::vector<float> lse;  // [n_q, n_heads]
};

// Attention of q over keys [k0, k1) of k/v (non-causal), as a state.
State PartialAttention(const std::vector<float>& q, const std::vector<float>& k,
                       const std::vector<float>& v, const AttentionShape& full, int64_t k0,
                       int64_t k1) {
  AttentionShape s = full;
  s.n_kv = k1 - k0;
  const int64_t row = full.n_kv_heads * full.head_dim;
  State st{std::vector<float>(q.size()), std::vector<float>(full.n_q * full.n_heads)};
  Attention(q.data(), k.data() + k0 * row, v.data() + k0 * row, s, {false, 0, 0},
            1.0f / std::sqrt(float(full.head_dim)), st.out.data(), st.lse.data());
  return st;
}

State Merge(const std::vector<State>& states, int64_t rows, int64_t dim) {
  std::vector<float> outs, lses;
  for (const auto& s : states) {
    outs.insert(outs.end(), s.out.begin(), s.out.end());
    lses.insert(lses.end(), s.lse.begin(), s.lse.end());
  }
  State m{std::vector<float>(rows * dim), std::vector<float>(rows)};
  MergeStates(outs.data(), lses.data(), static_cast<int64_t>(states.size()), rows, dim,
              m.out.data(), m.lse.data());
  return m;
}

TEST(MergeStatesTest, AnyPartitionInAnyOrderEqualsFullAttention) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(SeedTrace(seed));
    Rng rng(seed);
    const int64_t n_kv = 50 + static_cast<int64_t>(rng.NextU64() % 400);
    AttentionShape shape{7, n_kv, 4, 2, 64};
    auto q = rng.UniformVector(shape.n_q * 4 * 64, -3, 3);
    auto k = rng.UniformVector(n_kv * 2 * 64, -3, 3);
    auto v = rng.UniformVector(n_kv * 2 * 64, -1, 1);
    const State full = PartialAttention(q, k, v, shape, 0, n_kv);
    // Random cut points, empty parts included (repeated cuts).
    const int64_t n_parts = 1 + static_cast<int64_t>(rng.NextU64() % 8);
    std::vector<int64_t> cuts = {0, n_kv};
    for (int64_t i = 0; i + 1 < n_parts; ++i) cuts.push_back(rng.NextU64() % (n_kv + 1));
    if (seed % 3 == 0) cuts.push_back(cuts.back());  // an empty part
    std::sort(cuts.begin(), cuts.end());
    std::vector<State> parts;
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      parts.push_back(PartialAttention(q, k, v, shape, cuts[i], cuts[i + 1]));
    }
    const int64_t rows = shape.n_q * shape.n_heads;
    // Shuffled order.
    for (size_t i = parts.size(); i > 1; --i) std::swap(parts[i - 1], parts[rng.NextU64() % i]);
    State merged = Merge(parts, rows, 64);
    AllClose(merged.out, full.out, kFp32Reduction, "merged out");
    AllClose(merged.lse, full.lse, kFp32Reduction, "merged lse");
    // Pairwise, left fold, with MergeStateInto.
    State fold = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) {
      MergeStateInto(fold.out.data(), fold.lse.data(), parts[i].out.data(), parts[i].lse.data(),
                     rows, 64);
    }
    AllClose(fold.out, full.out, kFp32Reduction, "folded out");
    AllClose(fold.lse, full.lse, kFp32Reduction, "folded lse");
  }
}

TEST(MergeStatesTest, CommutativeAndAssociative) {
  Rng rng(31);
  SCOPED_TRACE(SeedTrace(31));
  const int64_t rows = 16, dim = 128;
  std::vector<State> s(3);
  for (auto& st : s) {
    st.out = rng.UniformVector(rows * dim, -1, 1);
    st.lse = rng.UniformVector(rows, -30, 30);
  }
  s[1].lse[3] = -kInf;  // an empty row in one state
  auto ab = Merge({s[0], s[1]}, rows, dim), ba = Merge({s[1], s[0]}, rows, dim);
  AllClose(ab.out, ba.out, testing::kFp32, "commutative out");
  AllClose(ab.lse, ba.lse, testing::kFp32, "commutative lse");
  auto ab_c = Merge({ab, s[2]}, rows, dim);
  auto bc = Merge({s[1], s[2]}, rows, dim);
  auto a_bc = Merge({s[0], bc}, rows, dim);
  AllClose(ab_c.out, a_bc.out, testing::kFp32, "associative out");
  AllClose(ab_c.lse, a_bc.lse, testing::kFp32, "associative lse");
}

TEST(MergeStatesTest, EmptyAndInfiniteStates) {
  const int64_t dim = 4;
  // Row 0: live + empty(-inf). Row 1: all empty. Row 2: live + flash-attn's +inf marker.
  // Row 3: huge lse differences (no overflow). Row 4: NaN lse ignored.
  State a{{1, 2, 3, 4, /**/ 9, 9, 9, 9, /**/ 1, 1, 1, 1, /**/ 1, 0, 0, 0, /**/ 5, 5, 5, 5},
          {0.5f, -kInf, 2.0f, 1000.0f, 1.0f}};
  State b{{7, 7, 7, 7, /**/ 8, 8, 8, 8, /**/ 5, 5, 5, 5, /**/ 0, 1, 0, 0, /**/ 6, 6, 6, 6},
          {-kInf, -kInf, kInf, -1000.0f, std::nanf("")}};
  for (const auto& order : {std::vector<State>{a, b}, std::vector<State>{b, a}}) {
    State m = Merge(order, 5, dim);
    for (float x : m.out) EXPECT_FALSE(std::isnan(x));
    EXPECT_EQ(std::vector<float>(m.out.begin(), m.out.begin() + 4),
              (std::vector<float>{1, 2, 3, 4}));
    EXPECT_FLOAT_EQ(m.lse[0], 0.5f);
    EXPECT_EQ(std::vector<float>(m.out.begin() + 4, m.out.begin() + 8),
              std::vector<float>(4, 0.0f));
    EXPECT_EQ(m.lse[1], -kInf);
    EXPECT_EQ(std::vector<float>(m.out.begin() + 8, m.out.begin() + 12),
              std::vector<float>(4, 1.0f));
    EXPECT_FLOAT_EQ(m.lse[2], 2.0f);
    EXPECT_FLOAT_EQ(m.out[12], 1.0f);
    EXPECT_FLOAT_EQ(m.out[13], 0.0f);
    EXPECT_FLOAT_EQ(m.lse[3], 1000.0f);
    EXPECT_FLOAT_EQ(m.out[16], 5.0f);
    EXPECT_FLOAT_EQ(m.lse[4], 1.0f);
    // The in-place pairwise form agrees.
    State f = order[0];
    MergeStateInto(f.out.data(), f.lse.data(), order[1].out.data(), order[1].lse.data(), 5, dim);
    AllClose(f.out, m.out, testing::kFp32, "pairwise out");
    for (int r = 0; r < 5; ++r) EXPECT_EQ(f.lse[r], m.lse[r]) << r;
  }
}

}  // namespace
}  // namespace starattn::cpu
