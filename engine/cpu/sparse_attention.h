// Sparse and streaming attention on the CPU: cpu::Attention (engine/cpu/attention.h) restricted
// per query head by a pattern (engine/common/sparse_mask.h): dense, streaming in tokens or
// blocks, block-sparse from a mask, block-sparse from the built-in estimator. Same layouts,
// visibility conventions, result (the attention state {out, lse}; a row with no visible key:
// out 0, lse -inf) and precision (Compute) as cpu::Attention.
//
// Work and what is skipped: the heads of a kv head with equal patterns (same kind and
// parameters, the same mask pointer; kBlockEstimated heads each alone) form a group and share
// their K/V tiles. A group's queries are cut at absolute block boundaries (multiples of
// sparse.block) and then, from each piece's start, into tiles of SparseQueryTile(G, group size)
// queries (the last one shorter); the keys are grouped in granules of 32 consecutive keys from the
// call's first key (key index 0, 32, ...). For each (query tile, head) the kernel computes the
// scores of every key of each granule in which some query of the tile sees some key under the
// head's pattern and the causal mask; every other granule is skipped. `scores_computed` counts
// exactly those (query, query head, key) pairs: sum over (tile, head) of |tile| x keys in the
// computed granules (hidden keys inside computed granules included; granules end at n_kv).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/common/attention_shape.h"
#include "engine/common/sparse_mask.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/gemm.h"

namespace starattn::cpu {

// Keys per granule (see above).
constexpr int64_t kSparseKeyGranule = 32;
// Queries per tile of a group of group_heads of the heads_per_kv_head (G) heads of a kv head:
// kSparseQueryTile x floor(G / group_heads), so that an item holds up to 32 x G rows as the
// dense kernel's do (G = 3: 96 queries for one head alone, 32 for two or three).
constexpr int64_t kSparseQueryTile = 32;
int64_t SparseQueryTile(int64_t heads_per_kv_head, int64_t group_heads);

//   q: [n_q, n_heads, head_dim] fp32     k, v: [n_kv, n_kv_heads, head_dim] (kv)
//   out: [n_q, n_heads, head_dim] fp32   lse: [n_q, n_heads] fp32 or null
//   sparse.heads: [n_heads]              scores_computed: null or the count above
// Throws Error (one line naming the head and field) for a pattern the call cannot use:
// block <= 0, a negative offset, sink or local < 0, a kBlockSparse mask that is null or does
// not cover the call's query blocks (rows) and the key blocks its queries can see (columns), a
// kBlockEstimated density outside (0, 1].
void SparseAttention(const float* q, const void* k, const void* v, KvType kv,
                     const AttnShape& shape, const AttnMask& mask, const SparseMask& sparse,
                     float scale, Compute compute, float* out, float* lse,
                     int64_t* scores_computed);

// A block mask in the layout of HeadPattern::mask: absolute blocks, row = query block, column =
// key block.
struct BlockMask {
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> bits;  // [rows, cols], 1 = visible
  // A kBlockSparse pattern over these bits (valid while this mask lives, unmoved).
  HeadPattern Pattern() const;
};

// The estimator of kBlockEstimated for one query head (sparse_mask.h):
//   q: n_q rows of head_dim fp32, row i at q + i * q_pitch (the head's queries)
//   k: n_kv rows of head_dim of type kv, row j at element j * k_pitch (its kv head's keys)
// at the positions of `mask` (q_offset + i, k_offset + j). For each query block of the call,
// the candidates are the key blocks holding a key of the call, under a causal mask only those
// <= the query block. Score of a candidate: dot(mean of the call's queries in the query block,
// mean of the call's keys in the key block), in double, on the values as given (fp16/bf16 keys
// converted exactly). Kept: key block 0 and the diagonal block where they are candidates, then
// the highest scores until ceil(density * candidates) blocks are kept (never fewer than the
// forced ones); ties: the lower key block wins.
// Returns rows = last query block + 1, cols = last key block + 1; rows of query blocks before
// the call's first are 0. density in (0, 1], block > 0, offsets >= 0 (else Error).
BlockMask EstimateBlockMask(const float* q, int64_t q_pitch, int64_t n_q, const void* k, KvType kv,
                            int64_t k_pitch, int64_t n_kv, int64_t head_dim, const AttnMask& mask,
                            int64_t block, double density);

}  // namespace starattn::cpu
