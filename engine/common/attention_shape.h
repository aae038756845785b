// The shape and visibility of one attention call: the vocabulary of every attention kernel (CPU
// and CUDA) and of the Backend interface. Plain structs, includable from CUDA files.
//   q:   [n_q, n_heads, head_dim]        k, v: [n_kv, n_kv_heads, head_dim]   (GQA:
//   out: [n_q, n_heads, head_dim]        lse:  [n_q, n_heads]                  n_heads % n_kv_heads
//   == 0)
// lse is the natural-log log-sum-exp of the scaled scores, fp32; a row with no visible key has
// out 0 and lse -inf.
// Visibility: non-causal: every key. Causal: key j is visible to query i iff
// k_offset + j <= q_offset + i (absolute positions of the first query / key).
#pragma once

#include <cstdint>

namespace starattn {

struct AttnShape {
  int64_t n_q = 0;
  int64_t n_kv = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
};

struct AttnMask {
  bool causal = true;
  int64_t q_offset = 0;
  int64_t k_offset = 0;
};

}  // namespace starattn
