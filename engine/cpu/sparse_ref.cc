#include "engine/cpu/sparse_ref.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "engine/cpu/ops_ref.h"

namespace starattn::cpu::ref {

bool SparseVisible(const HeadPattern& p, int64_t block, bool causal, int64_t q_pos, int64_t k_pos,
                   const BlockMask* estimated) {
  if (causal && k_pos > q_pos) return false;
  const int64_t qb = q_pos / block, kb = k_pos / block;
  auto cell = [&](const uint8_t* bits, int64_t rows, int64_t cols) {
    return qb < rows && kb < cols && bits[qb * cols + kb] != 0;
  };
  switch (p.kind) {
    case HeadPatternKind::kDense:
      return true;
    case HeadPatternKind::kStreamingTokens:
      return k_pos < p.sink || q_pos - k_pos < p.local;
    case HeadPatternKind::kStreamingBlocks:
      return kb < p.sink || qb - kb < p.local;
    case HeadPatternKind::kBlockSparse:
      return cell(p.mask, p.mask_rows, p.mask_cols);
    case HeadPatternKind::kBlockEstimated:
      return estimated != nullptr && cell(estimated->bits.data(), estimated->rows, estimated->cols);
  }
  return false;
}

BlockMask EstimateBlockMask(const float* q, int64_t q_pitch, int64_t n_q, const float* k,
                            int64_t k_pitch, int64_t n_kv, int64_t head_dim, const AttnMask& mask,
                            int64_t block, double density) {
  BlockMask bm;
  if (n_q == 0) return bm;
  bm.rows = (mask.q_offset + n_q - 1) / block + 1;
  if (n_kv == 0) return bm;
  bm.cols = (mask.k_offset + n_kv - 1) / block + 1;
  bm.bits.assign(bm.rows * bm.cols, 0);
  // Mean of the vectors of rows whose position falls in block b.
  auto pooled = [&](const float* x, int64_t pitch, int64_t n, int64_t offset, int64_t b) {
    std::vector<double> mean(head_dim, 0.0);
    int64_t count = 0;
    for (int64_t r = 0; r < n; ++r) {
      if ((offset + r) / block != b) continue;
      ++count;
      for (int64_t d = 0; d < head_dim; ++d) mean[d] += x[r * pitch + d];
    }
    for (double& m : mean) m /= count;
    return std::make_pair(mean, count);
  };
  for (int64_t qb = mask.q_offset / block; qb < bm.rows; ++qb) {
    const auto qm = pooled(q, q_pitch, n_q, mask.q_offset, qb).first;
    std::vector<std::pair<double, int64_t>> ranked;  // (-score, key block): ascending = best first
    std::vector<int64_t> forced;
    for (int64_t kb = 0; kb < bm.cols; ++kb) {
      const auto [km, count] = pooled(k, k_pitch, n_kv, mask.k_offset, kb);
      if (count == 0 || (mask.causal && kb > qb)) continue;  // not a candidate
      if (kb == 0 || kb == qb) {
        forced.push_back(kb);
        continue;
      }
      double score = 0.0;
      for (int64_t d = 0; d < head_dim; ++d) score += qm[d] * km[d];
      ranked.emplace_back(-score, kb);
    }
    const int64_t n_cand = forced.size() + ranked.size();
    if (n_cand == 0) continue;
    const auto n_keep = static_cast<int64_t>(std::ceil(density * n_cand - 1e-9));
    std::sort(ranked.begin(), ranked.end());
    for (int64_t kb : forced) bm.bits[qb * bm.cols + kb] = 1;
    for (int64_t t = 0; t < n_keep - static_cast<int64_t>(forced.size()); ++t) {
      bm.bits[qb * bm.cols + ranked[t].second] = 1;
    }
  }
  return bm;
}

void SparseAttention(const float* q, const float* k, const float* v, const AttnShape& s,
                     const AttnMask& mask, const SparseMask& sparse, float scale, float* out,
                     float* lse) {
  const int64_t G = s.n_heads / s.n_kv_heads, D = s.head_dim;
  std::vector<BlockMask> estimated(s.n_heads);
  for (int64_t h = 0; h < s.n_heads; ++h) {
    if (sparse.heads[h].kind != HeadPatternKind::kBlockEstimated) continue;
    estimated[h] =
        EstimateBlockMask(q + h * D, s.n_heads * D, s.n_q, k + (h / G) * D, s.n_kv_heads * D,
                          s.n_kv, D, mask, sparse.block, sparse.heads[h].density);
  }
  MaskedAttention(
      q, k, v, s,
      [&](int64_t i, int64_t h, int64_t j) {
        return SparseVisible(sparse.heads[h], sparse.block, mask.causal, mask.q_offset + i,
                             mask.k_offset + j, &estimated[h]);
      },
      scale, out, lse);
}

std::vector<bool> TopkKvRows(const float* q, const float* k, const AttnShape& s,
                             const TopkKvLayout& layout, int64_t top_k, int64_t kvh,
                             std::vector<int64_t>* chosen) {
  const int64_t G = s.n_heads / s.n_kv_heads, D = s.head_dim;
  std::vector<std::pair<double, int64_t>> ranked;  // (-bound, block)
  for (int64_t b = 0; b < layout.n_context_blocks; ++b) {
    std::vector<double> lo(D, std::numeric_limits<double>::infinity());
    std::vector<double> hi(D, -std::numeric_limits<double>::infinity());
    for (int64_t j = layout.sink + b * layout.block; j < layout.sink + (b + 1) * layout.block;
         ++j) {
      for (int64_t d = 0; d < D; ++d) {
        lo[d] = std::min<double>(lo[d], k[(j * s.n_kv_heads + kvh) * D + d]);
        hi[d] = std::max<double>(hi[d], k[(j * s.n_kv_heads + kvh) * D + d]);
      }
    }
    double bound = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < s.n_q; ++i) {
      for (int64_t h = kvh * G; h < (kvh + 1) * G; ++h) {
        double sum = 0.0;
        for (int64_t d = 0; d < D; ++d) {
          const double qd = q[(i * s.n_heads + h) * D + d];
          sum += std::max(qd * lo[d], qd * hi[d]);
        }
        bound = std::max(bound, sum);
      }
    }
    ranked.emplace_back(-bound, b);
  }
  std::sort(ranked.begin(), ranked.end());
  if (static_cast<int64_t>(ranked.size()) > top_k) ranked.resize(top_k);
  std::vector<bool> rows(s.n_kv, false);
  for (int64_t j = 0; j < s.n_kv; ++j) rows[j] = j < layout.sink || j >= layout.recency_start();
  if (chosen != nullptr) chosen->clear();
  for (const auto& [neg_bound, b] : ranked) {
    for (int64_t j = layout.sink + b * layout.block; j < layout.sink + (b + 1) * layout.block;
         ++j) {
      rows[j] = true;
    }
    if (chosen != nullptr) chosen->push_back(b);
  }
  if (chosen != nullptr) std::sort(chosen->begin(), chosen->end());
  return rows;
}

void TopkKvAttention(const float* q, const float* k, const float* v, const AttnShape& s,
                     const AttnMask& mask, const TopkKvLayout& layout, int64_t top_k, float scale,
                     float* out, float* lse) {
  const int64_t G = s.n_heads / s.n_kv_heads;
  std::vector<std::vector<bool>> rows(s.n_kv_heads);
  for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
    rows[kvh] = TopkKvRows(q, k, s, layout, top_k, kvh, nullptr);
  }
  MaskedAttention(
      q, k, v, s,
      [&](int64_t i, int64_t h, int64_t j) {
        return rows[h / G][j] && (!mask.causal || mask.k_offset + j <= mask.q_offset + i);
      },
      scale, out, lse);
}

}  // namespace starattn::cpu::ref
