#include "ruler/generate.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

#include "engine/common/error.h"
#include "engine/common/utf8.h"
#include "ruler/rng.h"
#include "ruler/text.h"

namespace starattn::ruler {
namespace {

constexpr std::string_view kMarker = "\x01RULER_TASK\x01";

}  // namespace

PromptFrame PromptFrame::Base() { return PromptFrame{}; }

PromptFrame PromptFrame::Chat(ChatTemplate t, const std::optional<std::string>& default_system) {
  std::string marked = " ";
  marked.append(kMarker);
  marked += ' ';
  const std::string rendered =
      RenderChat(t, {{"user", marked}}, /*add_generation_prompt=*/true, default_system);
  PromptFrame f;
  size_t at = rendered.find(kMarker);
  if (at == std::string::npos || rendered.find(kMarker, at + 1) != std::string::npos) {
    Fail("chat template {} does not hold the user message once", ChatTemplateName(t));
  }
  size_t end = at + kMarker.size();
  f.strips_leading = !(at > 0 && rendered[at - 1] == ' ');
  f.strips_trailing = !(end < rendered.size() && rendered[end] == ' ');
  if (!f.strips_leading) --at;
  if (!f.strips_trailing) ++end;
  f.head = rendered.substr(0, at);
  f.tail = rendered.substr(end);
  return f;
}

std::pair<std::string, std::string> PromptFrame::Assemble(const TaskPrompt& p) const {
  std::string context = p.context_part;
  std::string query = p.query_part;
  if (strips_leading) {
    const std::string s(utf8::PyStrip(context + "\x01"));  // strip the front only
    context = s.substr(0, s.size() - 1);
  }
  if (strips_trailing) query = std::string(utf8::PyRstrip(query));
  return {head + context, query + tail + p.answer_prefix};
}

int64_t CountTokens(const Tokenizer& tok, std::string_view text) {
  return static_cast<int64_t>(
      tok.Encode(text, tok.add_bos_default(), /*parse_special=*/true).size());
}

nlohmann::ordered_json SampleJson(const TaskSpec& spec, int64_t length_limit, const Sample& s,
                                  const nlohmann::ordered_json& tags) {
  nlohmann::ordered_json j;
  j["index"] = s.index;
  j["task"] = spec.name;
  j["length_limit"] = length_limit;
  j["tokens_to_generate"] = spec.tokens_to_generate;
  j["length"] = s.length;
  j["outputs"] = s.outputs;
  if (tags.is_object()) {
    for (const auto& [key, value] : tags.items()) j[key] = value;
  }
  j["input_context"] = s.input_context;
  j["input_query"] = s.input_query;
  j["input"] = s.input_context + s.input_query;
  return j;
}

std::optional<SizePoint> SearchSize(const std::function<int64_t(int64_t)>& tokens_of, int64_t lo,
                                    int64_t hi, int64_t start, double slope, int64_t target,
                                    int64_t accept, int64_t* evaluations) {
  // Aim a little above the accept level so that interpolation lands inside the window.
  const double aim = target - 0.25 * static_cast<double>(target - accept);
  std::optional<SizePoint> fit, over, last;
  int64_t s = std::clamp(start, lo, hi);
  int64_t prev_width = hi - lo + 1;
  int stalls = 0;
  for (int iter = 0; iter < 100; ++iter) {
    const int64_t n = tokens_of(s);
    if (evaluations != nullptr) ++*evaluations;
    if (last.has_value() && last->size != s && n != last->tokens) {
      const double sl = static_cast<double>(n - last->tokens) / static_cast<double>(s - last->size);
      if (sl > 0) slope = sl;
    }
    last = SizePoint{s, n};
    if (n <= target) {
      if (!fit || s > fit->size) fit = SizePoint{s, n};
      if (n >= accept || s == hi) return fit;
    } else {
      if (!over || s < over->size) over = SizePoint{s, n};
      if (s == lo) return std::nullopt;
    }
    if (fit && over) {
      const int64_t width = over->size - fit->size;
      if (width <= 1) return fit;
      int64_t guess;
      if (stalls >= 2) {
        guess = fit->size + width / 2;  // interpolation is not closing the bracket: bisect
        stalls = 0;
      } else {
        const double t = (aim - static_cast<double>(fit->tokens)) /
                         static_cast<double>(over->tokens - fit->tokens);
        guess = fit->size + static_cast<int64_t>(std::llround(t * static_cast<double>(width)));
      }
      s = std::clamp(guess, fit->size + 1, over->size - 1);
      stalls = width * 2 > prev_width ? stalls + 1 : 0;
      prev_width = width;
    } else if (fit) {
      const double step = (aim - static_cast<double>(fit->tokens)) / std::max(slope, 1e-6);
      s = std::clamp(fit->size + std::max<int64_t>(1, std::llround(step)), fit->size + 1, hi);
    } else {
      const double step = (static_cast<double>(over->tokens) - aim) / std::max(slope, 1e-6);
      s = std::clamp(over->size - std::max<int64_t>(1, std::llround(step)), lo, over->size - 1);
    }
  }
  return fit;
}

TaskStats GenerateTask(const TaskSpec& spec, const Generator& gen, const Tokenizer& tok,
                       const GenerateOptions& opt, const std::function<void(Sample&&)>& sink) {
  const auto t0 = std::chrono::steady_clock::now();
  TaskStats stats;
  const int64_t limit = opt.length_limit;
  const int64_t target = limit - spec.tokens_to_generate;  // tokens of the input, at most
  const int64_t accept =
      static_cast<int64_t>(std::ceil(opt.min_fill * static_cast<double>(limit))) -
      spec.tokens_to_generate;
  if (target <= 0) Fail("{}: length {} leaves no room for the input", spec.name, limit);
  int64_t num_samples = opt.num_samples;
  if (gen.MaxSamples() >= 0 && num_samples > gen.MaxSamples()) {
    Fail("{}: {} samples asked but the data set has {} questions", spec.name, num_samples,
         gen.MaxSamples());
  }
  std::atomic<int64_t> tokenizations{0};
  auto tokens_for = [&](int64_t size, uint64_t seed, int64_t index) {
    const auto [ctx, query] = opt.frame.Assemble(gen.Build(size, seed, index));
    ++tokenizations;
    return CountTokens(tok, ctx + query);
  };

  // Sizing. v1 grows the haystack by fixed increments, NV binary-searches it; both then shrink
  // a sample by one increment while it is over. Here (NV-like, fewer tokenizations): an
  // interpolation search over the haystack size for sample 0, aimed slightly below the limit
  // (0.25%) so that most samples fit that size as it is; then each sample is tokenized once at
  // that size and searched again only when it is over the limit or under 98% of it. A pilot pair
  // of small sizes gives the tokens per unit.
  const uint64_t seed0 = SampleSeed(opt.seed, spec.name, limit, 0);
  const int64_t lo = gen.MinSize(), hi = std::max(gen.MaxSize(), lo);
  const int64_t margin = std::max<int64_t>(1, limit / 400);
  const int64_t n_lo = tokens_for(lo, seed0, 0);
  if (n_lo > target) {
    Fail("{}: even the smallest haystack ({} {}) gives {} tokens, over the {} allowed at length {}",
         spec.name, lo, gen.SizeUnit(), n_lo, target, limit);
  }
  const int64_t pilot = std::min(hi, lo + std::max<int64_t>(32, (hi - lo) / 64));
  double slope = 1.0;
  if (pilot > lo) {
    const int64_t n_pilot = tokens_for(pilot, seed0, 0);
    if (n_pilot > n_lo)
      slope = static_cast<double>(n_pilot - n_lo) / static_cast<double>(pilot - lo);
  }
  const int64_t start =
      lo + static_cast<int64_t>(static_cast<double>(target - margin - n_lo) / slope);
  const auto probe = SearchSize([&](int64_t s) { return tokens_for(s, seed0, 0); }, lo, hi, start,
                                slope, target - margin, target - 2 * margin);
  stats.probe_size = probe ? probe->size : lo;

  // Per sample: the probe size when it lands in [accept, target], else a search from it.
  const int threads = std::max(1, opt.threads);
  const int64_t chunk = std::max<int64_t>(16, 4 * threads);
  std::vector<Sample> batch;
  std::vector<std::string> errors;
  for (int64_t first = 0; first < num_samples; first += chunk) {
    const int64_t count = std::min(chunk, num_samples - first);
    batch.assign(static_cast<size_t>(count), Sample{});
    errors.assign(static_cast<size_t>(count), std::string());
    // Samples are independent (each draws from its own seed) and land in their own slot, so the
    // output does not depend on the thread count or the schedule.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t k = 0; k < count; ++k) {
      const int64_t index = first + k;
      try {
        const uint64_t seed = SampleSeed(opt.seed, spec.name, limit, index);
        const auto found = SearchSize([&](int64_t s) { return tokens_for(s, seed, index); }, lo, hi,
                                      stats.probe_size, slope, target, accept);
        if (!found) {
          Fail("{}: sample {} does not fit length {} even with the smallest haystack", spec.name,
               index, limit);
        }
        Sample& out = batch[static_cast<size_t>(k)];
        TaskPrompt p = gen.Build(found->size, seed, index);
        std::tie(out.input_context, out.input_query) = opt.frame.Assemble(p);
        out.outputs = std::move(p.outputs);
        out.index = index;
        out.length = found->tokens;
        out.size = found->size;
      } catch (const std::exception& e) {
        // Rethrown below, in index order: an exception must not leave an OpenMP region.
        errors[static_cast<size_t>(k)] = e.what();
      }
    }
    for (int64_t k = 0; k < count; ++k) {
      if (!errors[static_cast<size_t>(k)].empty()) throw Error(errors[static_cast<size_t>(k)]);
      Sample& s = batch[static_cast<size_t>(k)];
      const double fill =
          static_cast<double>(s.length + spec.tokens_to_generate) / static_cast<double>(limit);
      stats.fill.push_back(fill);
      if (s.length < accept) ++stats.under_filled;
      sink(std::move(s));
    }
  }
  stats.tokenizations = tokenizations.load();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace starattn::ruler
