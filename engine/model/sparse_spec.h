// The sparse and streaming attention modes' settings: which pattern each query head of each layer
// prefills with (engine/common/sparse_mask.h), and the top-k KV cache of decoding.
//
// A pattern spec comes from flags (`--attn streaming --sink 64 --local 256`, `--attn block-sparse
// --density 0.25`) or from a JSON mask file in the format of Block-Sparse-Attention's
// head_mask_type:
//   {
//     "block_size": 128,
//     "head_mask_type": [0, -1, 1, ...],   // per query head for every layer, or [[...], ...]
//                                          // per layer: 0 dense, -1 streaming, k > 0 base mask k
//     "streaming": {"sink": 1, "local": 3, "unit": "blocks"},  // for -1 ("tokens" or "blocks")
//     "base_masks": [[[1, 0], [1, 1]], ...],  // mask k: [query blocks][key blocks] of 0/1
//     "density": 0.25,                      // optional: heads of type -2 use the estimator
//     "description": "..."                  // optional, free text
//   }
// Other keys are errors (a misspelt key would otherwise be ignored).
// (-2 selects the built-in estimator at "density"). Errors name the file, the field, the
// expected and the actual value.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/sparse_mask.h"
#include "engine/model/config.h"

namespace starattn {

struct SparseSpec {
  int64_t block = 128;
  // Per layer, per query head: 0 dense, -1 streaming, -2 estimated, k > 0 base mask k.
  // One row for every layer when the file gives one list.
  std::vector<std::vector<int32_t>> head_types;
  bool per_layer = false;       // one row per layer (the file's [[...], ...] form)
  int64_t sink = 0, local = 0;  // streaming
  bool streaming_in_blocks = false;
  double density = 0;                            // estimated
  std::vector<std::vector<uint8_t>> base_masks;  // [k-1]: [rows * cols]
  std::vector<int64_t> base_rows, base_cols;
  std::string source;  // the file, or "flags"

  // The patterns of one layer's query heads (pointers into this spec). `patterns` must outlive
  // the returned mask's use.
  SparseMask LayerMask(int64_t layer, std::vector<HeadPattern>* patterns) const;
  // Checks the spec against the model and the longest sequence it will mask (context + query):
  // head counts, layer counts, base masks covering every block. Throws Error naming the field.
  void Validate(const ModelConfig& c, int64_t max_tokens) const;
};

// From a mask file.
std::shared_ptr<const SparseSpec> LoadSparseSpec(const std::string& path);
// From the flags' values: every head of every layer streaming (`sink`/`local` in tokens, or in
// blocks of `block`) or estimated at `density`.
std::shared_ptr<const SparseSpec> StreamingSpec(int64_t sink, int64_t local, bool in_blocks,
                                                int64_t block);
std::shared_ptr<const SparseSpec> EstimatedSpec(double density, int64_t block);

}  // namespace starattn
