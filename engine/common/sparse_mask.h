// Sparse attention patterns per query head, beside the causal mask: the vocabulary of the sparse
// attention kernels (engine/cpu/sparse_attention.h) and of the Backend interface. Plain structs,
// includable from CUDA files.
//
// Positions are absolute: query i of a call is at q_offset + i, key j at k_offset + j
// (engine/common/attention_shape.h); blocks are position / block. A key is visible to a query
// when it is causally visible AND the head's pattern keeps it:
//   kDense            every causally visible key
//   kStreamingTokens  key position < sink, or query position - key position < local
//                     (StreamingLLM: the first `sink` tokens and the last `local` tokens,
//                     the query's own included)
//   kStreamingBlocks  key block < sink, or query block - key block < local (`sink`, `local` in
//                     blocks; Block-Sparse-Attention's block streaming)
//   kBlockSparse      mask[query block * mask_cols + key block] != 0 (key blocks past the
//                     mask's columns or query blocks past its rows: an error of the caller);
//                     inside the diagonal block the causal mask applies
//   kBlockEstimated   per query block, the key blocks with the largest score of the block's
//                     mean-pooled queries against the key block's mean-pooled keys, enough to
//                     keep `density` of the causally visible key blocks (rounded up), always
//                     including key block 0 and the diagonal block; estimated by the kernel from
//                     the call's own q and k
#pragma once

#include <cstdint>

namespace starattn {

enum class HeadPatternKind : int32_t {
  kDense,
  kStreamingTokens,
  kStreamingBlocks,
  kBlockSparse,
  kBlockEstimated,
};

struct HeadPattern {
  HeadPatternKind kind = HeadPatternKind::kDense;
  int64_t sink = 0;               // streaming: tokens or blocks
  int64_t local = 0;              // streaming: tokens or blocks
  const uint8_t* mask = nullptr;  // kBlockSparse: [mask_rows, mask_cols], 1 = visible
  int64_t mask_rows = 0, mask_cols = 0;
  double density = 1.0;  // kBlockEstimated: fraction of causally visible key blocks kept
};

struct SparseMask {
  int64_t block = 128;                 // tokens per block
  const HeadPattern* heads = nullptr;  // [n_heads] (query heads)
};

}  // namespace starattn
