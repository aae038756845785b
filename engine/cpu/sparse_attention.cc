#include "engine/cpu/sparse_attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "engine/common/error.h"
#include "engine/cpu/attention_tile.h"

namespace starattn::cpu {
namespace {

using tile::KeyRun;

constexpr HeadPatternKind kLastKind = HeadPatternKind::kBlockEstimated;
// Scratch holds tile::kTq queries per head; the bf16 kernels take keys 32 at a time and the
// packed tiles are kTk keys.
static_assert(kSparseQueryTile == tile::kTq);
static_assert(kSparseKeyGranule % 32 == 0 && tile::kTk % kSparseKeyGranule == 0);

const char* KindName(HeadPatternKind kind) {
  switch (kind) {
    case HeadPatternKind::kDense:
      return "dense";
    case HeadPatternKind::kStreamingTokens:
      return "streaming-tokens";
    case HeadPatternKind::kStreamingBlocks:
      return "streaming-blocks";
    case HeadPatternKind::kBlockSparse:
      return "block-sparse";
    case HeadPatternKind::kBlockEstimated:
      return "block-estimated";
  }
  return "unknown";
}

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The last query block of the call and the last key block its queries can see (-1: none).
std::pair<int64_t, int64_t> LastBlocks(const AttnShape& s, const AttnMask& mask, int64_t block) {
  const int64_t qb_last = (mask.q_offset + s.n_q - 1) / block;
  if (s.n_kv == 0) return {qb_last, -1};
  const int64_t kb_first = mask.k_offset / block, kb_last = (mask.k_offset + s.n_kv - 1) / block;
  const int64_t kb_max = mask.causal ? std::min(kb_last, qb_last) : kb_last;
  return {qb_last, kb_max >= kb_first ? kb_max : -1};
}

void Validate(const AttnShape& s, const AttnMask& mask, const SparseMask& sparse) {
  STARATTN_REQUIRE(sparse.block > 0, "sparse attention: block must be > 0, got {}", sparse.block);
  STARATTN_REQUIRE(sparse.heads != nullptr, "sparse attention: no head patterns (heads is null)");
  STARATTN_REQUIRE(mask.q_offset >= 0 && mask.k_offset >= 0,
                   "sparse attention: offsets must be >= 0, got q_offset {} k_offset {}",
                   mask.q_offset, mask.k_offset);
  const auto [qb_last, kb_max] = LastBlocks(s, mask, sparse.block);
  for (int64_t h = 0; h < s.n_heads; ++h) {
    const HeadPattern& p = sparse.heads[h];
    const auto kind_value = static_cast<int32_t>(p.kind);
    STARATTN_REQUIRE(kind_value >= 0 && kind_value <= static_cast<int32_t>(kLastKind),
                     "sparse attention: head {}: unknown pattern kind {}", h, kind_value);
    const char* kind = KindName(p.kind);
    switch (p.kind) {
      case HeadPatternKind::kDense:
        break;
      case HeadPatternKind::kStreamingTokens:
      case HeadPatternKind::kStreamingBlocks:
        STARATTN_REQUIRE(p.sink >= 0 && p.local >= 0,
                         "sparse attention: head {} ({}): sink and local must be >= 0, got sink "
                         "{} local {}",
                         h, kind, p.sink, p.local);
        break;
      case HeadPatternKind::kBlockSparse:
        STARATTN_REQUIRE(p.mask != nullptr, "sparse attention: head {} ({}): mask is null", h,
                         kind);
        STARATTN_REQUIRE(p.mask_rows > qb_last,
                         "sparse attention: head {} ({}): mask_rows must be >= {} (query blocks "
                         "of the call), got {}",
                         h, kind, qb_last + 1, p.mask_rows);
        STARATTN_REQUIRE(p.mask_cols > kb_max,
                         "sparse attention: head {} ({}): mask_cols must be >= {} (key blocks "
                         "the queries can see), got {}",
                         h, kind, kb_max + 1, p.mask_cols);
        break;
      case HeadPatternKind::kBlockEstimated:
        STARATTN_REQUIRE(p.density > 0.0 && p.density <= 1.0,
                         "sparse attention: head {} ({}): density must be in (0, 1], got {}", h,
                         kind, p.density);
        break;
    }
  }
}

bool SamePattern(const HeadPattern& a, const HeadPattern& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case HeadPatternKind::kDense:
      return true;
    case HeadPatternKind::kStreamingTokens:
    case HeadPatternKind::kStreamingBlocks:
      return a.sink == b.sink && a.local == b.local;
    case HeadPatternKind::kBlockSparse:
      return a.mask == b.mask && a.mask_rows == b.mask_rows && a.mask_cols == b.mask_cols;
    case HeadPatternKind::kBlockEstimated:
      return false;  // resolved to kBlockSparse before grouping
  }
  return false;
}

// Appends to spans the key positions in [lo, hi) that some query at positions [qf, ql] (one
// query block, qb) sees under pattern p and the causal flag; sorted by start.
void VisibleSpans(const HeadPattern& p, int64_t block, bool causal, int64_t qf, int64_t ql,
                  int64_t lo, int64_t hi, std::vector<std::pair<int64_t, int64_t>>* spans) {
  if (causal) hi = std::min(hi, ql + 1);  // nothing after the last query
  auto add = [&](int64_t a, int64_t b) {
    a = std::max(a, lo);
    b = std::min(b, hi);
    if (a < b) spans->emplace_back(a, b);
  };
  const int64_t qb = qf / block;
  switch (p.kind) {
    case HeadPatternKind::kDense:
      add(lo, hi);
      return;
    case HeadPatternKind::kStreamingTokens:
      add(lo, p.sink);
      // Query i sees (pos_i - local, pos_i] under a causal mask, (pos_i - local, inf) without.
      if (!causal || p.local > 0) add(qf - p.local + 1, hi);
      return;
    case HeadPatternKind::kStreamingBlocks:
      add(lo, p.sink * block);
      add((qb - p.local + 1) * block, hi);
      return;
    case HeadPatternKind::kBlockSparse:
      if (hi <= lo) return;
      for (int64_t kb = lo / block; kb <= (hi - 1) / block && kb < p.mask_cols; ++kb) {
        if (p.mask[qb * p.mask_cols + kb] != 0) add(kb * block, (kb + 1) * block);
      }
      return;
    case HeadPatternKind::kBlockEstimated:
      return;  // resolved to kBlockSparse before
  }
}

// Hides from query ii (position qpos) the keys of a segment (at column col) its pattern drops.
void HidePattern(const HeadPattern& p, int64_t block, int64_t qpos, const KeyRun& seg, int64_t col,
                 int64_t k_offset, const tile::Rows& rows, int64_t ii, tile::Scratch& w) {
  const int64_t nk = seg.nk, kpos0 = k_offset + seg.j0;
  switch (p.kind) {
    case HeadPatternKind::kDense:
    case HeadPatternKind::kBlockEstimated:
      return;
    case HeadPatternKind::kStreamingTokens:  // hidden: sink <= kpos <= qpos - local
      tile::HideKeys(w, rows, ii, col, nk, p.sink - kpos0, qpos - p.local + 1 - kpos0);
      return;
    case HeadPatternKind::kStreamingBlocks: {  // hidden: sink <= key block <= qb - local
      const int64_t qb = qpos / block;
      tile::HideKeys(w, rows, ii, col, nk, p.sink * block - kpos0,
                     (qb - p.local + 1) * block - kpos0);
      return;
    }
    case HeadPatternKind::kBlockSparse: {
      const uint8_t* row = p.mask + qpos / block * p.mask_cols;
      for (int64_t kb = kpos0 / block; kb * block < kpos0 + nk; ++kb) {
        if (kb < p.mask_cols && row[kb] != 0) continue;
        tile::HideKeys(w, rows, ii, col, nk, kb * block - kpos0, (kb + 1) * block - kpos0);
      }
      return;
    }
  }
}

// Query tiles: [i0, i0 + nq) cut at absolute block boundaries, then into at most tile_len.
std::vector<std::pair<int64_t, int64_t>> QueryTiles(int64_t n_q, int64_t q_offset, int64_t block,
                                                    int64_t tile_len) {
  std::vector<std::pair<int64_t, int64_t>> tiles;
  int64_t i = 0;
  while (i < n_q) {
    const int64_t block_end = ((q_offset + i) / block + 1) * block - q_offset;
    for (int64_t e = std::min(n_q, block_end); i < e;) {
      const int64_t nq = std::min(tile_len, e - i);
      tiles.emplace_back(i, nq);
      i += nq;
    }
  }
  return tiles;
}

// One work item: a query tile of the heads of one pattern group over its granule runs.
struct Item {
  int64_t kvh = 0, group = 0, i0 = 0, nq = 0;
  std::vector<KeyRun> runs;
  std::vector<std::vector<tile::KeyTile>> chunks;  // [n_chunks] the runs as tiles
};

// The mean of the call's keys in each key block: [kb_first, kb_last] x [D], in double.
struct PooledKeys {
  int64_t kb_first = 0, kb_last = -1;
  std::vector<double> mean;  // [kb_last - kb_first + 1, D]
};

PooledKeys PoolKeys(const void* k, KvType kv, int64_t k_pitch, int64_t n_kv, int64_t D,
                    int64_t k_offset, int64_t block) {
  PooledKeys pk;
  if (n_kv == 0) return pk;
  pk.kb_first = k_offset / block;
  pk.kb_last = (k_offset + n_kv - 1) / block;
  const int64_t n_kb = pk.kb_last - pk.kb_first + 1;
  pk.mean.assign(n_kb * D, 0.0);
  std::vector<int64_t> count(n_kb, 0);
  std::vector<float> row(D);
  const int64_t eb = tile::KvBytes(kv);
  for (int64_t j = 0; j < n_kv; ++j) {
    tile::LoadRow(static_cast<const char*>(k) + j * k_pitch * eb, kv, D, row.data());
    const int64_t b = (k_offset + j) / block - pk.kb_first;
    for (int64_t d = 0; d < D; ++d) pk.mean[b * D + d] += row[d];
    ++count[b];
  }
  for (int64_t b = 0; b < n_kb; ++b) {
    for (int64_t d = 0; d < D; ++d) pk.mean[b * D + d] /= static_cast<double>(count[b]);
  }
  return pk;
}

// EstimateBlockMask over keys already pooled (arguments checked).
BlockMask EstimatePooled(const float* q, int64_t q_pitch, int64_t n_q, const PooledKeys& pk,
                         int64_t D, const AttnMask& mask, int64_t block, double density) {
  BlockMask bm;
  if (n_q == 0) return bm;
  const int64_t qb_first = mask.q_offset / block, qb_last = (mask.q_offset + n_q - 1) / block;
  bm.rows = qb_last + 1;
  if (pk.kb_last < pk.kb_first) return bm;
  const int64_t kb_first = pk.kb_first, kb_last = pk.kb_last, n_kb = kb_last - kb_first + 1;
  const std::vector<double>& kmean = pk.mean;
  bm.cols = kb_last + 1;
  bm.bits.assign(bm.rows * bm.cols, 0);
  std::vector<double> qmean(D), score(n_kb);
  std::vector<int64_t> order;
  for (int64_t qb = qb_first; qb <= qb_last; ++qb) {
    const int64_t i_begin = std::max<int64_t>(0, qb * block - mask.q_offset);
    const int64_t i_end = std::min(n_q, (qb + 1) * block - mask.q_offset);
    std::fill(qmean.begin(), qmean.end(), 0.0);
    for (int64_t i = i_begin; i < i_end; ++i) {
      for (int64_t d = 0; d < D; ++d) qmean[d] += q[i * q_pitch + d];
    }
    for (int64_t d = 0; d < D; ++d) qmean[d] /= static_cast<double>(i_end - i_begin);
    const int64_t kb_end = mask.causal ? std::min(kb_last, qb) : kb_last;  // last candidate
    if (kb_end < kb_first) continue;
    const int64_t n_cand = kb_end - kb_first + 1;
    // ceil(density * n), with slack for density's binary rounding (0.1 * 30 = 3.0000000000000004).
    const int64_t n_keep = std::clamp<int64_t>(
        static_cast<int64_t>(std::ceil(density * static_cast<double>(n_cand) - 1e-9)), 1, n_cand);
    uint8_t* bits = bm.bits.data() + qb * bm.cols;
    int64_t kept = 0;
    for (int64_t forced : {int64_t{0}, qb}) {
      if (forced >= kb_first && forced <= kb_end && bits[forced] == 0) {
        bits[forced] = 1;
        ++kept;
      }
    }
    order.clear();
    for (int64_t kb = kb_first; kb <= kb_end; ++kb) {
      const int64_t b = kb - kb_first;
      score[b] = 0.0;
      for (int64_t d = 0; d < D; ++d) score[b] += qmean[d] * kmean[b * D + d];
      if (bits[kb] == 0) order.push_back(kb);
    }
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return score[a - kb_first] > score[b - kb_first];
    });
    for (size_t t = 0; t < order.size() && kept < n_keep; ++t, ++kept) bits[order[t]] = 1;
  }
  return bm;
}

}  // namespace

int64_t SparseQueryTile(int64_t heads_per_kv_head, int64_t group_heads) {
  return kSparseQueryTile * std::max<int64_t>(1, heads_per_kv_head / group_heads);
}

HeadPattern BlockMask::Pattern() const {
  HeadPattern p;
  p.kind = HeadPatternKind::kBlockSparse;
  p.mask = bits.data();
  p.mask_rows = rows;
  p.mask_cols = cols;
  return p;
}

BlockMask EstimateBlockMask(const float* q, int64_t q_pitch, int64_t n_q, const void* k, KvType kv,
                            int64_t k_pitch, int64_t n_kv, int64_t head_dim, const AttnMask& mask,
                            int64_t block, double density) {
  STARATTN_REQUIRE(block > 0, "block mask estimator: block must be > 0, got {}", block);
  STARATTN_REQUIRE(density > 0.0 && density <= 1.0,
                   "block mask estimator: density must be in (0, 1], got {}", density);
  STARATTN_REQUIRE(mask.q_offset >= 0 && mask.k_offset >= 0,
                   "block mask estimator: offsets must be >= 0, got q_offset {} k_offset {}",
                   mask.q_offset, mask.k_offset);
  return EstimatePooled(q, q_pitch, n_q,
                        PoolKeys(k, kv, k_pitch, n_kv, head_dim, mask.k_offset, block), head_dim,
                        mask, block, density);
}

void SparseAttention(const float* q, const void* k, const void* v, KvType kv, const AttnShape& s,
                     const AttnMask& mask, const SparseMask& sparse, float scale, Compute compute,
                     float* out, float* lse, int64_t* scores_computed) {
  if (scores_computed != nullptr) *scores_computed = 0;
  if (s.n_q == 0) return;
  Validate(s, mask, sparse);
  const int64_t block = sparse.block, G = s.n_heads / s.n_kv_heads, D = s.head_dim;
  const int64_t eb = tile::KvBytes(kv);

  // Patterns with the estimated heads resolved to their block masks.
  std::vector<HeadPattern> pats(sparse.heads, sparse.heads + s.n_heads);
  std::vector<BlockMask> estimated(s.n_heads);
  std::vector<PooledKeys> pooled(s.n_kv_heads);  // of kv heads with estimated heads
#pragma omp parallel for schedule(dynamic)
  for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
    for (int64_t h = kvh * G; h < (kvh + 1) * G; ++h) {
      if (pats[h].kind != HeadPatternKind::kBlockEstimated) continue;
      pooled[kvh] = PoolKeys(static_cast<const char*>(k) + kvh * D * eb, kv, s.n_kv_heads * D,
                             s.n_kv, D, mask.k_offset, block);
      break;
    }
  }
#pragma omp parallel for schedule(dynamic)
  for (int64_t h = 0; h < s.n_heads; ++h) {
    if (pats[h].kind != HeadPatternKind::kBlockEstimated) continue;
    estimated[h] = EstimatePooled(q + h * D, s.n_heads * D, s.n_q, pooled[h / G], D, mask, block,
                                  pats[h].density);
    pats[h] = estimated[h].Pattern();
  }

  // Pattern groups: the heads of one kv head with the same pattern, in head order.
  std::vector<int64_t> group_heads;                      // heads, group by group
  std::vector<std::pair<int64_t, int64_t>> group_range;  // [first, count) into group_heads
  std::vector<int64_t> kv_groups(s.n_kv_heads + 1, 0);   // groups of kv head h: [kv_groups[h],
                                                         // kv_groups[h + 1])
  for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
    std::vector<bool> taken(G, false);
    for (int64_t g = 0; g < G; ++g) {
      if (taken[g]) continue;
      const int64_t first = group_heads.size();
      for (int64_t g2 = g; g2 < G; ++g2) {
        if (!taken[g2] && SamePattern(pats[kvh * G + g], pats[kvh * G + g2])) {
          taken[g2] = true;
          group_heads.push_back(kvh * G + g2);
        }
      }
      group_range.emplace_back(first, static_cast<int64_t>(group_heads.size()) - first);
    }
    kv_groups[kvh + 1] = group_range.size();
  }

  // Items and their granule runs.
  std::vector<Item> items;
  std::vector<std::pair<int64_t, int64_t>> spans;
  int64_t max_keys = 0;
  for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
    for (int64_t grp = kv_groups[kvh]; grp < kv_groups[kvh + 1]; ++grp) {
      const HeadPattern& p = pats[group_heads[group_range[grp].first]];
      const int64_t nh = group_range[grp].second;
      for (const auto& [i0, nq] : QueryTiles(s.n_q, mask.q_offset, block, SparseQueryTile(G, nh))) {
        Item it{kvh, grp, i0, nq, {}};
        spans.clear();
        VisibleSpans(p, block, mask.causal, mask.q_offset + i0, mask.q_offset + i0 + nq - 1,
                     mask.k_offset, mask.k_offset + s.n_kv, &spans);
        int64_t covered = 0, keys = 0;
        for (const auto& [a, b] : spans) {
          const int64_t ga =
              std::max(covered, FloorDiv(a - mask.k_offset, kSparseKeyGranule) * kSparseKeyGranule);
          const int64_t gb = std::min(s.n_kv, (b - mask.k_offset + kSparseKeyGranule - 1) /
                                                  kSparseKeyGranule * kSparseKeyGranule);
          if (ga >= gb) continue;
          tile::AppendRun(&it.runs, ga, gb);
          keys += gb - ga;
          covered = gb;
        }
        max_keys = std::max(max_keys, keys);
        if (scores_computed != nullptr) *scores_computed += nq * nh * keys;
        items.push_back(std::move(it));
      }
    }
  }

  tile::Operands P = tile::MakeOperands(q, k, v, kv, s, mask, scale, UsesBf16Kernels(s, compute));
  tile::PackedKv packed;
  if (P.bf16_simd) {  // only the key tiles some item reads
    std::vector<uint8_t> need(s.n_kv_heads * P.n_tiles, 0);
    for (const Item& it : items) {
      for (const KeyRun& r : it.runs) {
        for (int64_t t = r.j0 / tile::kTk; t <= (r.j0 + r.nk - 1) / tile::kTk; ++t) {
          need[it.kvh * P.n_tiles + t] = 1;
        }
      }
    }
    tile::PackKv(&P, &packed, &need);
  }
  const int64_t n_items = items.size();
  const int64_t n_chunks = tile::ChunkCount(n_items, max_keys);
  for (Item& it : items) {
    if (n_chunks == 1) {
      it.chunks.push_back(tile::MakeTiles(it.runs));
      continue;
    }
    for (const auto& part : tile::SplitRuns(it.runs, n_chunks, kSparseKeyGranule)) {
      it.chunks.push_back(tile::MakeTiles(part));
    }
  }
  tile::ChunkStates states(s, n_chunks, out, lse);

#pragma omp parallel
  {
    tile::Scratch w(P);
#pragma omp for schedule(dynamic)
    for (int64_t work = 0; work < n_items * n_chunks; ++work) {
      const Item& it = items[work / n_chunks];
      const int64_t chunk = work % n_chunks;
      tile::Rows rows;
      rows.kvh = it.kvh;
      rows.i0 = it.i0;
      rows.nq = it.nq;
      rows.heads = group_heads.data() + group_range[it.group].first;
      rows.nh = group_range[it.group].second;
      const HeadPattern& p = pats[rows.heads[0]];
      auto hide = [&](int64_t ii, const KeyRun& seg, int64_t col) {
        HidePattern(p, block, mask.q_offset + it.i0 + ii, seg, col, mask.k_offset, rows, ii, w);
      };
      tile::RunItem(P, tile::ChoosePath(P, rows.count()), rows, it.chunks[chunk], w, hide,
                    states.out(chunk), states.lse(chunk));
    }
  }
  states.Merge();
}

}  // namespace starattn::cpu
