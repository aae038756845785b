// Greedy generation with stop tokens and stop strings.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/model/model.h"

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

// Prefills `cache` with tokens at positions [cache.size(), ...) in chunks of opts.ubatch and
// returns the logits of the last token.
std::vector<float> Prefill(const Model& model, std::span<const int32_t> tokens, KvCache& cache,
                           int64_t ubatch);

// Greedy decoding from the logits of the last prompt token. Each chosen token passes through
// `agree` (identity on one host; a broadcast from the query host across hosts) and, unless
// generation stops, through `step(token, index)`, which runs it (the index-th generated token,
// from 0) and returns the next logits. `tokenizer` may be null (no stop strings, no EOG).
GenerateResult DecodeGreedy(std::vector<float> logits, const Tokenizer* tokenizer,
                            const GenerateOptions& opts,
                            const std::function<int32_t(int32_t)>& agree,
                            const std::function<std::vector<float>(int32_t, int64_t)>& step);

GenerateResult GenerateGreedy(const Model& model, std::span<const int32_t> prompt,
                              const GenerateOptions& opts);

}  // namespace starattn
