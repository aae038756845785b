#include "engine/cpu/topk_kv.h"

#include <omp.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "engine/common/error.h"
#include "engine/cpu/attention_tile.h"

namespace starattn::cpu {

void BlockMinMax(const void* k, KvType kv, int64_t row_pitch_elems, int64_t n_rows,
                 int64_t head_dim, float* kmin, float* kmax) {
  STARATTN_REQUIRE(n_rows >= 1, "block min/max: n_rows must be >= 1, got {}", n_rows);
  const int64_t eb = tile::KvBytes(kv);
  std::vector<float> row(head_dim);
  for (int64_t r = 0; r < n_rows; ++r) {
    tile::LoadRow(static_cast<const char*>(k) + r * row_pitch_elems * eb, kv, head_dim, row.data());
    for (int64_t d = 0; d < head_dim; ++d) {
      kmin[d] = r == 0 ? row[d] : std::min(kmin[d], row[d]);
      kmax[d] = r == 0 ? row[d] : std::max(kmax[d], row[d]);
    }
  }
}

void SelectTopkBlocks(const float* q, const AttnShape& s, const float* kmin, const float* kmax,
                      int64_t n_blocks, int64_t top_k, int64_t* chosen) {
  STARATTN_REQUIRE(top_k >= 0, "top-k block selection: top_k must be >= 0, got {}", top_k);
  const int64_t k_eff = std::min(top_k, n_blocks), G = s.n_heads / s.n_kv_heads, D = s.head_dim;
  if (k_eff == 0) return;
  std::vector<double> bound(n_blocks);
  std::vector<int64_t> order(n_blocks);
  for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
    for (int64_t b = 0; b < n_blocks; ++b) {
      const float* lo = kmin + (b * s.n_kv_heads + kvh) * D;
      const float* hi = kmax + (b * s.n_kv_heads + kvh) * D;
      double best = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < s.n_q; ++i) {
        for (int64_t g = 0; g < G; ++g) {
          const float* qi = q + (i * s.n_heads + kvh * G + g) * D;
          double ub = 0.0;
          for (int64_t d = 0; d < D; ++d) {
            ub += std::max(static_cast<double>(qi[d]) * lo[d], static_cast<double>(qi[d]) * hi[d]);
          }
          best = std::max(best, ub);
        }
      }
      bound[b] = best;
    }
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return bound[a] > bound[b]; });
    int64_t* dst = chosen + kvh * k_eff;
    std::copy_n(order.begin(), k_eff, dst);
    std::sort(dst, dst + k_eff);
  }
}

void TopkKvAttention(const float* q, const void* k, const void* v, KvType kv, const AttnShape& s,
                     const AttnMask& mask, const TopkKvLayout& layout, const float* kmin,
                     const float* kmax, int64_t top_k, float scale, float* out, float* lse,
                     TopkKvTraffic* traffic, int64_t* chosen) {
  STARATTN_REQUIRE(layout.block > 0, "top-k KV attention: block must be > 0, got {}", layout.block);
  STARATTN_REQUIRE(layout.sink >= 0 && layout.n_context_blocks >= 0,
                   "top-k KV attention: sink and n_context_blocks must be >= 0, got {} and {}",
                   layout.sink, layout.n_context_blocks);
  STARATTN_REQUIRE(layout.recency_start() <= s.n_kv,
                   "top-k KV attention: sink + context rows must be <= n_kv = {}, got {}", s.n_kv,
                   layout.recency_start());
  STARATTN_REQUIRE(top_k >= 0, "top-k KV attention: top_k must be >= 0, got {}", top_k);
  STARATTN_REQUIRE(layout.n_context_blocks == 0 || (kmin != nullptr && kmax != nullptr),
                   "top-k KV attention: {} context blocks but no summaries (kmin/kmax null)",
                   layout.n_context_blocks);
  const int64_t n_blocks = layout.n_context_blocks, k_eff = std::min(top_k, n_blocks);
  if (traffic != nullptr) {
    traffic->kv_bytes = 0;
    traffic->summary_bytes = n_blocks * s.n_kv_heads * s.head_dim * 4 * 2;
  }
  if (s.n_q == 0) return;
  std::vector<int64_t> picked(s.n_kv_heads * k_eff);
  if (k_eff < n_blocks) {
    SelectTopkBlocks(q, s, kmin, kmax, n_blocks, k_eff, picked.data());
  } else {
    for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
      std::iota(picked.begin() + kvh * k_eff, picked.begin() + (kvh + 1) * k_eff, 0);
    }
  }
  if (chosen != nullptr) std::copy(picked.begin(), picked.end(), chosen);

  // Rows after the last query are never read under a causal mask.
  int64_t j_end = s.n_kv;
  if (mask.causal) {
    j_end = std::clamp<int64_t>(mask.q_offset + s.n_q - mask.k_offset, 0, s.n_kv);
  }
  // Per kv head: the attended rows as runs.
  std::vector<std::vector<tile::KeyRun>> runs(s.n_kv_heads);
  int64_t max_rows = 0;
  for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
    auto add = [&](int64_t a, int64_t b) { tile::AppendRun(&runs[kvh], a, std::min(b, j_end)); };
    add(0, layout.sink);
    for (int64_t t = 0; t < k_eff; ++t) {
      const int64_t b = picked[kvh * k_eff + t];
      add(layout.sink + b * layout.block, layout.sink + (b + 1) * layout.block);
    }
    add(layout.recency_start(), s.n_kv);
    int64_t rows = 0;
    for (const tile::KeyRun& r : runs[kvh]) rows += r.nk;
    max_rows = std::max(max_rows, rows);
    if (traffic != nullptr) traffic->kv_bytes += rows * s.head_dim * tile::KvBytes(kv) * 2;
  }

  const tile::Operands P = tile::MakeOperands(q, k, v, kv, s, mask, scale, false);
  const int64_t n_qtiles = (s.n_q + tile::kTq - 1) / tile::kTq;
  const int64_t n_items = s.n_kv_heads * n_qtiles;
  const int64_t n_chunks = tile::ChunkCount(n_items, max_rows);
  // [n_kv_heads][n_chunks] tiles
  std::vector<std::vector<std::vector<tile::KeyTile>>> chunk_tiles(s.n_kv_heads);
  for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
    for (const auto& part : tile::SplitRuns(runs[kvh], n_chunks, 1)) {
      chunk_tiles[kvh].push_back(tile::MakeTiles(part));
    }
  }
  std::vector<int64_t> heads(s.n_heads);
  std::iota(heads.begin(), heads.end(), 0);
  tile::ChunkStates states(s, n_chunks, out, lse);

#pragma omp parallel
  {
    tile::Scratch w(P);
#pragma omp for schedule(dynamic)
    for (int64_t work = 0; work < n_items * n_chunks; ++work) {
      const int64_t chunk = work % n_chunks;
      tile::Rows rows;
      rows.kvh = work / n_chunks / n_qtiles;
      rows.i0 = (work / n_chunks % n_qtiles) * tile::kTq;
      rows.nq = std::min(tile::kTq, s.n_q - rows.i0);
      rows.heads = heads.data() + rows.kvh * P.G;
      rows.nh = P.G;
      tile::RunItem(
          P, tile::ChoosePath(P, rows.count()), rows, chunk_tiles[rows.kvh][chunk], w,
          [](int64_t, const tile::KeyRun&, int64_t) {}, states.out(chunk), states.lse(chunk));
    }
  }
  states.Merge();
}

}  // namespace starattn::cpu
