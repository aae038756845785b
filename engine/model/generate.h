// Greedy generation with stop tokens and stop strings, on any backend.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/model/forward.h"

namespace starattn {

struct GenerateOptions {
  int64_t max_new_tokens = 128;
  std::vector<std::string> stop_strings;  // generation ends when the text contains one
  bool stop_at_eog = true;                // end-of-generation tokens end generation
  int64_t ubatch = 512;                   // prefill chunk (bounds activation memory)
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (the stop token excluded)
  std::string text;             // decoded, cut before a stop string
  std::string stop_reason;      // "eog", "stop_string", "max_tokens"
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

// The index of the largest value of x (the first on ties).
int32_t ArgmaxHost(std::span<const float> x);

// Greedy decoding from `first`, the argmax after the prompt. Each chosen token passes through
// `agree` (identity on one host; a broadcast from the query host across hosts) and, unless
// generation stops, through `step(token, index)`, which runs it (the index-th generated token,
// from 0) and returns the next argmax. `tokenizer` may be null (no stop strings, no EOG).
GenerateResult DecodeGreedy(int32_t first, const Tokenizer* tokenizer, const GenerateOptions& opts,
                            const std::function<int32_t(int32_t)>& agree,
                            const std::function<int32_t(int32_t, int64_t)>& step);

// Runs tokens [n] at positions [n] into `attn` in chunks of `ubatch` (bounding activation
// memory); returns the argmax after the last token when `greedy`, else -1.
int32_t Prefill(Transformer& t, std::span<const int32_t> tokens, std::span<const int32_t> positions,
                LayerAttention& attn, int64_t ubatch, bool greedy);

// One host: prefill the prompt in chunks of opts.ubatch, then greedy decoding. `tokenizer` may be
// null.
GenerateResult GenerateGreedy(Transformer& t, const Tokenizer* tokenizer,
                              std::span<const int32_t> prompt, const GenerateOptions& opts);

// Positions [from, from + n).
std::vector<int32_t> Range(int64_t from, int64_t n);

}  // namespace starattn
