// The kernels of a heterogeneous KV cache for decoding (issue 14, section 2): the rows of one
// layer's K/V are split into sink (the first rows), context (the middle, in blocks, each with a
// channel-wise min/max summary of its keys per kv head) and recency (the last rows, generated
// tokens included). At every decode step a Quest-style search picks, per kv head, the top-k
// context blocks for the current queries, and attention runs exactly over sink + chosen blocks
// + recency. The caller owns the layout: as decoding goes on, rows move from recency into a new
// context block, whose summary the caller adds with BlockMinMax.
//
// Rows are the rows of the call's K/V (row j at absolute position k_offset + j); layouts and
// visibility as cpu::Attention (engine/cpu/attention.h, engine/common/attention_shape.h); the
// result is the attention state {out, lse} over the attended rows, so that states of several
// calls merge (engine/cpu/attention_state.h). Arithmetic: fp32 (as cpu::Attention at decode).
#pragma once

#include <cstdint>

#include "engine/common/attention_shape.h"
#include "engine/cpu/attention.h"

namespace starattn::cpu {

struct TopkKvLayout {
  int64_t sink = 0;              // rows [0, sink): always attended
  int64_t block = 128;           // rows per context block
  int64_t n_context_blocks = 0;  // block b: rows [sink + b * block, sink + (b + 1) * block)
  // Recency: rows [sink + n_context_blocks * block, n_kv), always attended.
  int64_t recency_start() const { return sink + n_context_blocks * block; }
};

// What one call read.
struct TopkKvTraffic {
  // K and V bytes of the attended rows (rows after the last query's position under a causal
  // mask are not read): sum over kv heads of rows x head_dim x element size x 2.
  int64_t kv_bytes = 0;
  // Summary bytes the search read: n_context_blocks x n_kv_heads x head_dim x 4 x 2 (kmin, kmax).
  int64_t summary_bytes = 0;
};

// Channel-wise min and max of one kv head's keys over n_rows rows (n_rows >= 1):
//   k: n_rows rows of head_dim of type kv, row r at element r * row_pitch_elems
//   kmin, kmax: [head_dim] fp32 (exact: every K/V type converts exactly to fp32)
void BlockMinMax(const void* k, KvType kv, int64_t row_pitch_elems, int64_t n_rows,
                 int64_t head_dim, float* kmin, float* kmax);

// The Quest upper bound of block b for kv head kvh: the max over the queries and the query
// heads of its group of sum_d max(q_d * kmin_d, q_d * kmax_d) (>= every unscaled score q . k of
// the block's keys), computed in double. Per kv head, the min(top_k, n_blocks) blocks with the
// largest bounds (ties: the lower block), ascending.
//   q: [n_q, n_heads, head_dim]   kmin, kmax: [n_blocks, n_kv_heads, head_dim]
//   chosen: [n_kv_heads, min(top_k, n_blocks)]
// top_k >= 0 (else Error).
void SelectTopkBlocks(const float* q, const AttnShape& shape, const float* kmin, const float* kmax,
                      int64_t n_blocks, int64_t top_k, int64_t* chosen);

// Attention of the queries over sink + the chosen context blocks + recency:
//   q: [n_q, n_heads, head_dim] fp32     k, v: [n_kv, n_kv_heads, head_dim] (kv)
//   kmin, kmax: [n_context_blocks, n_kv_heads, head_dim] (BlockMinMax of each context block)
//   out: [n_q, n_heads, head_dim] fp32   lse: [n_q, n_heads] fp32 or null
//   traffic: null or what was read      chosen: null or SelectTopkBlocks' choice
// With top_k >= n_context_blocks this is cpu::Attention over all rows. Error (one line) for a
// layout that does not fit: block <= 0, sink < 0, n_context_blocks < 0, sink + context > n_kv,
// top_k < 0, null summaries with context blocks.
void TopkKvAttention(const float* q, const void* k, const void* v, KvType kv,
                     const AttnShape& shape, const AttnMask& mask, const TopkKvLayout& layout,
                     const float* kmin, const float* kmax, int64_t top_k, float scale, float* out,
                     float* lse, TopkKvTraffic* traffic, int64_t* chosen);

}  // namespace starattn::cpu
