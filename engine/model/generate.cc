#include "engine/model/generate.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "engine/common/error.h"

namespace starattn {
namespace {
double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

std::vector<int32_t> Range(int64_t from, int64_t n) {
  std::vector<int32_t> v(std::max<int64_t>(n, 0));
  std::iota(v.begin(), v.end(), static_cast<int32_t>(from));
  return v;
}

int32_t ArgmaxHost(std::span<const float> x) {
  if (x.empty()) Fail("argmax of an empty array");
  return static_cast<int32_t>(std::max_element(x.begin(), x.end()) - x.begin());
}

GenerateResult DecodeGreedy(int32_t first, const Tokenizer* tok, const GenerateOptions& opts,
                            const std::function<int32_t(int32_t)>& agree,
                            const std::function<int32_t(int32_t, int64_t)>& step) {
  GenerateResult r;
  r.stop_reason = "max_tokens";
  int32_t candidate = first;
  while (static_cast<int64_t>(r.tokens.size()) < opts.max_new_tokens) {
    const int32_t next = agree(candidate);
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
    candidate = step(next, static_cast<int64_t>(r.tokens.size()) - 1);
  }
  if (tok != nullptr) r.text = tok->Decode(r.tokens, /*skip_special=*/true);
  return r;
}

int32_t Prefill(Transformer& t, std::span<const int32_t> tokens, std::span<const int32_t> positions,
                LayerAttention& attn, int64_t ubatch, bool greedy) {
  if (ubatch <= 0) Fail("prefill: ubatch must be positive, got {}", ubatch);
  if (positions.size() != tokens.size()) {
    Fail("prefill: {} tokens but {} positions", tokens.size(), positions.size());
  }
  const int64_t n_tokens = static_cast<int64_t>(tokens.size());
  int32_t next = -1;
  for (int64_t i = 0; i < n_tokens; i += ubatch) {
    const int64_t n = std::min(ubatch, n_tokens - i);
    const auto chunk = tokens.subspan(i, n);
    const auto pos = positions.subspan(i, n);
    if (greedy && i + n == n_tokens) {
      next = t.ForwardGreedy(chunk, pos, attn);
    } else {
      t.Forward(chunk, pos, attn, LogitsFor::kNone);
    }
  }
  return next;
}

GenerateResult GenerateGreedy(Transformer& t, const Tokenizer* tokenizer,
                              std::span<const int32_t> prompt, const GenerateOptions& opts) {
  const ModelConfig& c = t.config();
  const int64_t P = static_cast<int64_t>(prompt.size());
  if (P == 0) Fail("prefill: empty prompt");
  if (opts.max_new_tokens < 0) Fail("tokens to generate must be >= 0, got {}", opts.max_new_tokens);
  if (P + opts.max_new_tokens > c.max_positions) {
    Fail("prompt ({} tokens) + tokens to generate ({}) exceeds the model's context length {}", P,
         opts.max_new_tokens, c.max_positions);
  }
  KvCache cache(t.backend(), P + opts.max_new_tokens);
  CacheAttention attn(t.backend(), cache);
  const auto t0 = std::chrono::steady_clock::now();
  const int32_t first = Prefill(t, prompt, Range(0, P), attn, opts.ubatch, /*greedy=*/true);
  const auto t1 = std::chrono::steady_clock::now();
  GenerateResult r = DecodeGreedy(
      first, tokenizer, opts, [](int32_t token) { return token; },
      [&](int32_t token, int64_t index) {
        const int32_t pos = static_cast<int32_t>(P + index);
        return t.ForwardGreedy(std::span<const int32_t>(&token, 1),
                               std::span<const int32_t>(&pos, 1), attn);
      });
  r.prefill_seconds = Seconds(t0, t1);
  r.decode_seconds = Seconds(t1, std::chrono::steady_clock::now());
  return r;
}

}  // namespace starattn
