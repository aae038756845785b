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

GenerateResult DecodeGreedy(std::vector<float> logits, const Tokenizer* tok,
                            const GenerateOptions& opts,
                            const std::function<int32_t(int32_t)>& agree,
                            const std::function<std::vector<float>(int32_t, int64_t)>& step) {
  GenerateResult r;
  r.stop_reason = "max_tokens";
  const int64_t vocab = static_cast<int64_t>(logits.size());
  while (static_cast<int64_t>(r.tokens.size()) < opts.max_new_tokens) {
    const int32_t next = agree(static_cast<int32_t>(cpu::Argmax(logits.data(), vocab)));
    if (opts.stop_at_eog && tok != nullptr && tok->IsEog(next)) {
      r.stop_reason = "eog";
      break;
    }
    r.tokens.push_back(next);
    if (tok != nullptr && !opts.stop_strings.empty()) {
      r.text = tok->Decode(r.tokens, /*skip_special=*/true);
      size_t cut = std::string::npos;
      for (const std::string& s : opts.stop_strings) {
        if (!s.empty()) cut = std::min(cut, r.text.find(s));
      }
      if (cut != std::string::npos) {
        r.text.resize(cut);
        r.stop_reason = "stop_string";
        return r;
      }
    }
    if (static_cast<int64_t>(r.tokens.size()) == opts.max_new_tokens) break;
    logits = step(next, static_cast<int64_t>(r.tokens.size()) - 1);
  }
  if (tok != nullptr) r.text = tok->Decode(r.tokens, /*skip_special=*/true);
  return r;
}

GenerateResult GenerateGreedy(const Model& model, std::span<const int32_t> prompt,
                              const GenerateOptions& opts) {
  const ModelConfig& c = model.config();
  const int64_t P = static_cast<int64_t>(prompt.size());
  if (P + opts.max_new_tokens > c.max_positions) {
    Fail("prompt ({} tokens) + tokens to generate ({}) exceeds the model's context length {}", P,
         opts.max_new_tokens, c.max_positions);
  }
  KvCache cache(c, P + opts.max_new_tokens);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = Prefill(model, prompt, cache, opts.ubatch);
  auto t1 = std::chrono::steady_clock::now();
  GenerateResult r = DecodeGreedy(
      std::move(logits), model.has_tokenizer() ? &model.tokenizer() : nullptr, opts,
      [](int32_t t) { return t; },
      [&](int32_t token, int64_t index) {
        const int32_t pos = static_cast<int32_t>(P + index);
        return model.Forward(std::span<const int32_t>(&token, 1),
                             std::span<const int32_t>(&pos, 1), cache, LogitsFor::kLast);
      });
  r.prefill_seconds = Seconds(t0, t1);
  r.decode_seconds = Seconds(t1, std::chrono::steady_clock::now());
  return r;
}

}  // namespace starattn
