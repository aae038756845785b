// Scalar oracles of the sparse, streaming and top-k KV attention kernels
// (engine/cpu/sparse_attention.h, engine/cpu/topk_kv.h): visibility per (query, key) from the
// definitions in engine/common/sparse_mask.h, the estimator and the top-k search in double, and
// attention over the visible keys through ref::MaskedAttention. Used by tests only.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/common/attention_shape.h"
#include "engine/common/sparse_mask.h"
#include "engine/cpu/sparse_attention.h"
#include "engine/cpu/topk_kv.h"

namespace starattn::cpu::ref {

// Whether the key at absolute position k_pos is visible to the query at q_pos under pattern p
// (blocks of `block` tokens) and the causal flag. kBlockEstimated reads `estimated` (the head's
// estimated mask); other kinds ignore it. Mask cells outside a mask are invisible.
bool SparseVisible(const HeadPattern& p, int64_t block, bool causal, int64_t q_pos, int64_t k_pos,
                   const BlockMask* estimated = nullptr);

// cpu::EstimateBlockMask from its definition, keys in fp32:
//   q: n_q rows at pitch q_pitch   k: n_kv rows at pitch k_pitch
BlockMask EstimateBlockMask(const float* q, int64_t q_pitch, int64_t n_q, const float* k,
                            int64_t k_pitch, int64_t n_kv, int64_t head_dim, const AttnMask& mask,
                            int64_t block, double density);

// Attention over the keys SparseVisible keeps; kBlockEstimated heads use ref::EstimateBlockMask.
//   q: [n_q, n_heads, head_dim]   k, v: [n_kv, n_kv_heads, head_dim] fp32
void SparseAttention(const float* q, const float* k, const float* v, const AttnShape& shape,
                     const AttnMask& mask, const SparseMask& sparse, float scale, float* out,
                     float* lse);

// The rows of kv head kvh that top-k KV attention attends (sink, the chosen blocks, recency;
// before the causal mask): summaries and bounds from their definitions in double, ties to the
// lower block. chosen (may be null): the blocks, ascending.
std::vector<bool> TopkKvRows(const float* q, const float* k, const AttnShape& shape,
                             const TopkKvLayout& layout, int64_t top_k, int64_t kvh,
                             std::vector<int64_t>* chosen);

// Attention over TopkKvRows under the causal mask, in double.
void TopkKvAttention(const float* q, const float* k, const float* v, const AttnShape& shape,
                     const AttnMask& mask, const TopkKvLayout& layout, int64_t top_k, float scale,
                     float* out, float* lse);

}  // namespace starattn::cpu::ref
