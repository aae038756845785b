// The top-k KV kernels (engine/cpu/topk_kv.h) against their definitions (engine/cpu/sparse_ref.h):
// block summaries, the Quest search (GQA groups, several queries, ties), attention over sink +
// chosen blocks + recency on decode steps whose layout evolves as rows move from recency into
// context blocks, full budgets against cpu::Attention, K/V types, bytes read, bad layouts.
#include "engine/cpu/topk_kv.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/common/testing.h"
#include "engine/cpu/attention_testing.h"
#include "engine/cpu/sparse_ref.h"

namespace starattn::cpu {
namespace {

using attn_testing::KvName;
using attn_testing::StoredKv;
using testing::AllClose;
using testing::kFp32Reduction;
using testing::Rng;
using testing::SeedTrace;

TEST(BlockMinMaxTest, IsChannelWise) {
  const int64_t D = 64, kvh = 3, rows = 37;
  Rng rng(18001);
  SCOPED_TRACE(SeedTrace(18001));
  const auto x = rng.UniformVector(rows * kvh * D, -3, 3);
  for (KvType kv : {KvType::kF32, KvType::kF16, KvType::kBf16}) {
    SCOPED_TRACE(KvName(kv));
    const StoredKv k(x, kv);
    for (int64_t h = 0; h < kvh; ++h) {
      std::vector<float> lo(D), hi(D);
      BlockMinMax(k.at(5 * kvh * D + h * D), kv, kvh * D, rows - 5, D, lo.data(), hi.data());
      for (int64_t d = 0; d < D; ++d) {
        float want_lo = INFINITY, want_hi = -INFINITY;
        for (int64_t r = 5; r < rows; ++r) {
          want_lo = std::min(want_lo, k.values[(r * kvh + h) * D + d]);
          want_hi = std::max(want_hi, k.values[(r * kvh + h) * D + d]);
        }
        EXPECT_EQ(lo[d], want_lo) << "head " << h << " dim " << d;
        EXPECT_EQ(hi[d], want_hi) << "head " << h << " dim " << d;
      }
    }
  }
}

// The summaries of every context block of a layout: [n_context_blocks, n_kv_heads, head_dim].
void Summaries(const StoredKv& k, const AttnShape& s, const TopkKvLayout& layout,
               std::vector<float>* kmin, std::vector<float>* kmax) {
  const int64_t D = s.head_dim;
  kmin->resize(layout.n_context_blocks * s.n_kv_heads * D);
  kmax->resize(kmin->size());
  for (int64_t b = 0; b < layout.n_context_blocks; ++b) {
    for (int64_t h = 0; h < s.n_kv_heads; ++h) {
      const int64_t first = layout.sink + b * layout.block;
      BlockMinMax(k.at((first * s.n_kv_heads + h) * D), k.kv, s.n_kv_heads * D, layout.block, D,
                  kmin->data() + (b * s.n_kv_heads + h) * D,
                  kmax->data() + (b * s.n_kv_heads + h) * D);
    }
  }
}

TEST(SelectTopkTest, MatchesDefinitionAndBreaksTiesLow) {
  const AttnShape s{2, 700, 6, 2, 64};  // two queries, groups of 3 heads
  const TopkKvLayout layout{4, 32, 20};
  const uint64_t seed = 18002;
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  const auto q = rng.UniformVector(s.n_q * s.n_heads * s.head_dim, -1, 1);
  const StoredKv k(rng.UniformVector(s.n_kv * s.n_kv_heads * s.head_dim, -1, 1), KvType::kF32);
  std::vector<float> kmin, kmax;
  Summaries(k, s, layout, &kmin, &kmax);
  for (int64_t top_k : {0, 1, 5, 19, 20, 25}) {
    const int64_t k_eff = std::min<int64_t>(top_k, 20);
    std::vector<int64_t> chosen(s.n_kv_heads * k_eff);
    SelectTopkBlocks(q.data(), s, kmin.data(), kmax.data(), 20, top_k, chosen.data());
    for (int64_t h = 0; h < s.n_kv_heads; ++h) {
      std::vector<int64_t> want;
      ref::TopkKvRows(q.data(), k.values.data(), s, layout, top_k, h, &want);
      EXPECT_EQ(std::vector<int64_t>(chosen.begin() + h * k_eff, chosen.begin() + (h + 1) * k_eff),
                want)
          << "top_k " << top_k << " kv head " << h;
    }
  }
  // Equal summaries: the lowest blocks win.
  std::fill(kmin.begin(), kmin.end(), -1.0f);
  std::fill(kmax.begin(), kmax.end(), 1.0f);
  std::vector<int64_t> chosen(s.n_kv_heads * 3);
  SelectTopkBlocks(q.data(), s, kmin.data(), kmax.data(), 20, 3, chosen.data());
  EXPECT_EQ(chosen, (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
}

// Decode steps from a 300-token context: sink 8, blocks of 32, at least 24 recent rows. Each
// step appends a row; when recency holds a full block beyond its minimum, that block moves into
// the context and gets its summary. Each step: top-k 3 against the oracle (attended rows and
// bytes exact), and a full budget against cpu::Attention.
TEST(TopkKvDecodeTest, FollowsTheEvolvingLayout) {
  const int64_t sink = 8, block = 32, min_recency = 24, L0 = 300, steps = 70;
  const AttnShape full{1, L0 + steps, 6, 2, 64};
  const uint64_t seed = 18003;
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  const auto kx = rng.UniformVector(full.n_kv * full.n_kv_heads * full.head_dim, -2, 2);
  const auto vx = rng.UniformVector(full.n_kv * full.n_kv_heads * full.head_dim, -1, 1);
  const auto qs = rng.UniformVector(steps * full.n_heads * full.head_dim, -2, 2);
  const float scale = 0.125f;
  const int saved_threads = omp_get_max_threads();
  for (KvType kv : {KvType::kF32, KvType::kF16, KvType::kBf16}) {
    const StoredKv k(kx, kv), v(vx, kv);
    TopkKvLayout layout{sink, block, 0};
    std::vector<float> kmin, kmax;  // grown block by block, as a cache would
    int64_t moves = 0;
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t n_kv = L0 + t + 1;
      while (n_kv - layout.recency_start() >= min_recency + block) {
        ++layout.n_context_blocks;
        ++moves;
        const int64_t b = layout.n_context_blocks - 1;
        kmin.resize(layout.n_context_blocks * full.n_kv_heads * full.head_dim);
        kmax.resize(kmin.size());
        for (int64_t h = 0; h < full.n_kv_heads; ++h) {
          const int64_t off = (b * full.n_kv_heads + h) * full.head_dim;
          BlockMinMax(k.at(((sink + b * block) * full.n_kv_heads + h) * full.head_dim), kv,
                      full.n_kv_heads * full.head_dim, block, full.head_dim, kmin.data() + off,
                      kmax.data() + off);
        }
      }
      const AttnShape s{1, n_kv, full.n_heads, full.n_kv_heads, full.head_dim};
      const AttnMask am{true, n_kv - 1, 0};
      const float* q = qs.data() + t * s.n_heads * s.head_dim;
      const int64_t n_blocks = layout.n_context_blocks;
      for (int64_t top_k : {int64_t{3}, n_blocks, n_blocks + 2}) {
        SCOPED_TRACE(std::string("kv ") + KvName(kv) + ", step " + std::to_string(t) +
                     ", context blocks " + std::to_string(n_blocks) + ", top_k " +
                     std::to_string(top_k));
        std::vector<float> out_ref(s.n_heads * s.head_dim), lse_ref(s.n_heads);
        if (top_k >= n_blocks) {  // full budget: dense attention over every row
          Attention(q, k.data(), v.data(), kv, s, am, scale, Compute::kF32, out_ref.data(),
                    lse_ref.data());
        } else {
          ref::TopkKvAttention(q, k.values.data(), v.values.data(), s, am, layout, top_k, scale,
                               out_ref.data(), lse_ref.data());
        }
        const int64_t k_eff = std::min(top_k, n_blocks);
        for (int threads : {1, 4}) {
          SCOPED_TRACE("threads " + std::to_string(threads));
          omp_set_num_threads(threads);
          std::vector<float> out(out_ref.size(), std::nanf("")), lse(s.n_heads, std::nanf(""));
          TopkKvTraffic traffic;
          std::vector<int64_t> chosen(s.n_kv_heads * k_eff);
          TopkKvAttention(q, k.data(), v.data(), kv, s, am, layout, kmin.data(), kmax.data(), top_k,
                          scale, out.data(), lse.data(), &traffic, chosen.data());
          AllClose(out, out_ref, kFp32Reduction, "top-k KV out");
          AllClose(lse, lse_ref, kFp32Reduction, "top-k KV lse");
          for (int64_t h = 0; h < s.n_kv_heads; ++h) {
            std::vector<int64_t> want;
            ref::TopkKvRows(q, k.values.data(), s, layout, top_k, h, &want);
            EXPECT_EQ(
                std::vector<int64_t>(chosen.begin() + h * k_eff, chosen.begin() + (h + 1) * k_eff),
                want)
                << "kv head " << h;
          }
          const int64_t rows = sink + k_eff * block + (n_kv - layout.recency_start());
          const int64_t eb = kv == KvType::kF32 ? 4 : 2;
          EXPECT_EQ(traffic.kv_bytes, rows * s.head_dim * eb * 2 * s.n_kv_heads);
          EXPECT_EQ(traffic.summary_bytes, n_blocks * s.n_kv_heads * s.head_dim * 4 * 2);
        }
      }
    }
    EXPECT_EQ(moves, (L0 + steps - sink - min_recency) / block) << "blocks moved into context";
  }
  omp_set_num_threads(saved_threads);
}

// Several queries at once (causal among themselves: the last recency rows are hidden from the
// earlier queries) and absolute offsets (a cache whose first row is at position 1000).
TEST(TopkKvDecodeTest, MultiTokenQueriesAndOffsets) {
  const AttnShape s{4, 500, 8, 2, 128};
  const AttnMask am{true, 1496, 1000};   // queries at 1496..1499 = rows 496..499
  const TopkKvLayout layout{16, 64, 7};  // context rows [16, 464), recency [464, 500)
  const uint64_t seed = 18004;
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  const auto q = rng.UniformVector(s.n_q * s.n_heads * s.head_dim, -2, 2);
  const StoredKv k(rng.UniformVector(s.n_kv * s.n_kv_heads * s.head_dim, -2, 2), KvType::kBf16);
  const StoredKv v(rng.UniformVector(s.n_kv * s.n_kv_heads * s.head_dim, -1, 1), KvType::kBf16);
  std::vector<float> kmin, kmax;
  Summaries(k, s, layout, &kmin, &kmax);
  for (int64_t top_k : {0, 2, 7}) {
    SCOPED_TRACE("top_k " + std::to_string(top_k));
    std::vector<float> out_ref(q.size()), lse_ref(s.n_q * s.n_heads);
    ref::TopkKvAttention(q.data(), k.values.data(), v.values.data(), s, am, layout, top_k, 0.1f,
                         out_ref.data(), lse_ref.data());
    std::vector<float> out(q.size()), lse(s.n_q * s.n_heads);
    TopkKvTraffic traffic;
    TopkKvAttention(q.data(), k.data(), v.data(), KvType::kBf16, s, am, layout, kmin.data(),
                    kmax.data(), top_k, 0.1f, out.data(), lse.data(), &traffic, nullptr);
    AllClose(out, out_ref, kFp32Reduction, "out");
    AllClose(lse, lse_ref, kFp32Reduction, "lse");
    EXPECT_EQ(traffic.kv_bytes, (16 + top_k * 64 + 36) * 128 * 2 * 2 * 2);
    if (top_k == 7) {  // full budget
      std::vector<float> dense(q.size());
      Attention(q.data(), k.data(), v.data(), KvType::kBf16, s, am, 0.1f, Compute::kF32,
                dense.data(), nullptr);
      AllClose(out, dense, kFp32Reduction, "full budget vs dense");
    }
  }
}

TEST(TopkKvErrorsTest, NamesTheField) {
  const AttnShape s{1, 100, 2, 1, 64};
  const AttnMask am{true, 99, 0};
  const std::vector<float> q(2 * 64, 0.1f), k(100 * 64, 0.1f), kmin(64 * 4), kmax(64 * 4);
  std::vector<float> out(q.size()), lse(2);
  auto run = [&](TopkKvLayout layout, int64_t top_k, const float* lo) {
    TopkKvAttention(q.data(), k.data(), k.data(), KvType::kF32, s, am, layout, lo, kmax.data(),
                    top_k, 0.125f, out.data(), lse.data(), nullptr, nullptr);
  };
  using testing::ThrowsOneLineError;
  EXPECT_THAT(
      [&] {
        run({4, 32, 4}, 1, kmin.data());
      },
      ThrowsOneLineError("sink + context rows must be <= n_kv = 100", "got 132"));
  EXPECT_THAT(
      [&] {
        run({4, 32, 2}, -1, kmin.data());
      },
      ThrowsOneLineError("top_k must be >= 0", "got -1"));
  EXPECT_THAT(
      [&] {
        run({4, 0, 2}, 1, kmin.data());
      },
      ThrowsOneLineError("block must be > 0", "got 0"));
  EXPECT_THAT(
      [&] {
        run({-1, 32, 2}, 1, kmin.data());
      },
      ThrowsOneLineError("sink and n_context_blocks must be >= 0", "got -1"));
  EXPECT_THAT(
      [&] {
        run({4, 32, 2}, 1, nullptr);
      },
      ThrowsOneLineError("2 context blocks but no summaries"));
}

}  // namespace
}  // namespace starattn::cpu
