#include "engine/model/generate.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "engine/common/error.h"
#include "engine/cpu/ops.h"

namespace starattn {
namespace {
double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

std::vector<float> Prefill(const Model& model, std::span<const int32_t> tokens, KvCache& cache,
                           int64_t ubatch) {
  if (tokens.empty()) Fail("prefill: empty prompt");
  if (ubatch <= 0) Fail("prefill: ubatch must be positive");
  std::vector<float> logits;
  for (size_t i = 0; i < tokens.size(); i += ubatch) {
    const size_t n = std::min<size_t>(ubatch, tokens.size() - i);
    std::vector<int32_t> pos(n);
    std::iota(pos.begin(), pos.end(), static_cast<int32_t>(cache.size()));
    const bool last = i + n == tokens.size();
    logits = model.Forward(tokens.subspan(i, n), pos, cache, last ? LogitsFor::kLast : LogitsFor::kNone);
  }
  return logits;
}

GenerateResult GenerateGreedy(const Model& model, std::span<const int32_t> prompt,
                              const GenerateOptions& opts) {
  const ModelConfig& c = model.config();
  const int64_t limit = std::min<int64_t>(c.max_positions,
                                          static_cast<int64_t>(prompt.size()) + opts.max_new_tokens);
  if (static_cast<int64_t>(prompt.size()) > c.max_positions) {
    Fail("prompt of {} tokens exceeds the model's context length {}", prompt.size(),
         c.max_positions);
  }
  KvCache cache(c, limit);
  GenerateResult r;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = Prefill(model, prompt, cache, opts.ubatch);
  auto t1 = std::chrono::steady_clock::now();
  r.prefill_seconds = Seconds(t0, t1);
  r.stop_reason = "max_tokens";
  const Tokenizer* tok = model.has_tokenizer() ? &model.tokenizer() : nullptr;
  while (static_cast<int64_t>(r.tokens.size()) < opts.max_new_tokens) {
    const int32_t next = static_cast<int32_t>(cpu::Argmax(logits.data(), c.vocab_size));
    if (opts.stop_at_eog && tok != nullptr && tok->IsEog(next)) {
      r.stop_reason = "eog";
      break;
    }
    r.tokens.push_back(next);
    if (tok != nullptr && !opts.stop_strings.empty()) {
      r.text = tok->Decode(r.tokens, /*skip_special=*/true);
      bool stopped = false;
      for (const std::string& s : opts.stop_strings) {
        if (size_t at = r.text.find(s); !s.empty() && at != std::string::npos) {
          r.text.resize(at);
          stopped = true;
        }
      }
      if (stopped) {
        r.stop_reason = "stop_string";
        break;
      }
    }
    if (static_cast<int64_t>(r.tokens.size()) == opts.max_new_tokens) break;
    if (cache.size() >= cache.capacity()) {
      r.stop_reason = "context_full";
      break;
    }
    const int32_t pos = static_cast<int32_t>(cache.size());
    logits = model.Forward(std::span<const int32_t>(&next, 1), std::span<const int32_t>(&pos, 1),
                           cache, LogitsFor::kLast);
  }
  r.decode_seconds = Seconds(t1, std::chrono::steady_clock::now());
  if (r.stop_reason != "stop_string" && tok != nullptr) {
    r.text = tok->Decode(r.tokens, /*skip_special=*/true);
  }
  return r;
}

}  // namespace starattn
