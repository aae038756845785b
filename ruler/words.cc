// Common words extraction (common_words_extraction.py) and frequent words extraction
// (freq_words_extraction.py) of the reference.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <unordered_set>

#include "engine/common/error.h"
#include "ruler/generators.h"
#include "ruler/rng.h"
#include "ruler/text.h"

namespace starattn::ruler::internal {
namespace {

// ---- CWE -------------------------------------------------------------------------------------

class CweGenerator final : public Generator {
 public:
  CweGenerator(const TaskSpec& spec, const TaskData& data, int64_t length_limit)
      : spec_(spec), limit_(length_limit) {
    // words = sorted(set(nouns + adjs + verbs)); the reference then shuffles it with a fixed
    // seed, which changes nothing for random.sample.
    for (const auto* list : {&data.words->nouns, &data.words->adjectives, &data.words->verbs}) {
      vocab_.insert(vocab_.end(), list->begin(), list->end());
    }
    std::sort(vocab_.begin(), vocab_.end());
    vocab_.erase(std::unique(vocab_.begin(), vocab_.end()), vocab_.end());
    if (static_cast<int64_t>(vocab_.size()) < 40) Fail("cwe: the word lists hold too few words");
  }

  std::string_view SizeUnit() const override { return "list words"; }
  int64_t MinSize() const override { return spec_.num_cw + 1; }
  int64_t MaxSize() const override {
    return std::max(MinSize(), std::min<int64_t>(static_cast<int64_t>(vocab_.size()), limit_));
  }

  TaskPrompt Build(int64_t size, uint64_t seed, int64_t /*index*/) const override {
    Rng rng_example(seed, 5), rng_words(seed, 1);
    // Below 4096 tokens the reference uses a smaller example and fewer repeats.
    const bool small = limit_ < 4096;
    const auto [example_context, example_answer] =
        small ? List(20, 3, 1, rng_example) : List(40, 10, 3, rng_example);
    const auto [context, answer] =
        small ? List(size, 6, 1, rng_words) : List(size, spec_.freq_cw, spec_.freq_ucw, rng_words);
    TaskPrompt p;
    SplitAtContext(kCweTemplate, {{"context", context}}, spec_.split, &p.context_part,
                   &p.query_part);
    p.answer_prefix = std::string(kCweAnswerPrefix);
    p.outputs = answer;
    // The worked example, then "\n", then the task, all in the user message. The reference glues
    // the example's answer to its prefix ("are:1. w"); here a space separates them.
    std::string example_answer_text;
    for (size_t i = 0; i < example_answer.size(); ++i) {
      example_answer_text += fmt::format("{}{}. {}", i ? " " : "", i + 1, example_answer[i]);
    }
    p.context_part = FormatTemplate(kCweTemplate, {{"context", example_context}}) +
                     std::string(kCweAnswerPrefix) + " " + example_answer_text + "\n" +
                     p.context_part;
    return p;
  }

 private:
  // n distinct words; the first num_cw repeated common_repeats times, the others
  // uncommon_repeats times; shuffled; rendered "1. w 2. w ...". Returns (text, common words).
  std::pair<std::string, std::vector<std::string>> List(int64_t n, int common_repeats,
                                                        int uncommon_repeats, Rng& rng) const {
    n = std::clamp<int64_t>(n, spec_.num_cw, static_cast<int64_t>(vocab_.size()));
    const std::vector<int64_t> picked = rng.SampleDistinct(static_cast<int64_t>(vocab_.size()), n);
    std::vector<int64_t> list;
    for (int r = 0; r < common_repeats; ++r) {
      list.insert(list.end(), picked.begin(), picked.begin() + spec_.num_cw);
    }
    for (int r = 0; r < uncommon_repeats; ++r) {
      list.insert(list.end(), picked.begin() + spec_.num_cw, picked.end());
    }
    rng.Shuffle(list);
    std::string text;
    text.reserve(list.size() * 12);
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0) text += ' ';
      text += std::to_string(i + 1);
      text += ". ";
      text += vocab_[list[i]];
    }
    std::vector<std::string> common;
    for (int i = 0; i < spec_.num_cw; ++i) common.push_back(vocab_[picked[i]]);
    return {std::move(text), std::move(common)};
  }

  TaskSpec spec_;
  int64_t limit_;
  std::vector<std::string> vocab_;
};

// ---- FWE -------------------------------------------------------------------------------------

// Riemann zeta for s > 1 (Euler-Maclaurin after 64 terms; exact to double precision for s >= 1.5).
double Zeta(double s) {
  if (s == 2.0) return std::numbers::pi * std::numbers::pi / 6.0;
  constexpr int kN = 64;
  double sum = 0;
  for (int k = 1; k < kN; ++k) sum += std::pow(k, -s);
  const double n = kN;
  sum += std::pow(n, 1 - s) / (s - 1) + 0.5 * std::pow(n, -s) + s * std::pow(n, -s - 1) / 12.0 -
         s * (s + 1) * (s + 2) * std::pow(n, -s - 3) / 720.0;
  return sum;
}

class FweGenerator final : public Generator {
 public:
  FweGenerator(const TaskSpec& spec, int64_t length_limit)
      : spec_(spec),
        limit_(length_limit),
        vocab_size_(std::max<int64_t>(length_limit / 50, 5)),
        zeta_(Zeta(spec.alpha)) {}

  std::string_view SizeUnit() const override { return "coded words"; }
  // Enough words for ranks 1..5 to have distinct counts (a well-defined top 3).
  int64_t MinSize() const override { return 100; }
  int64_t MaxSize() const override { return std::max<int64_t>(2 * limit_, MinSize()); }

  TaskPrompt Build(int64_t size, uint64_t seed, int64_t /*index*/) const override {
    Rng rng(seed, 1);
    // vocab_size distinct random lowercase words in random order; rank 1 is replaced by "...".
    std::vector<std::string> vocab;
    std::unordered_set<std::string> seen;
    while (static_cast<int64_t>(vocab.size()) < vocab_size_) {
      std::string w = rng.Letters(spec_.coded_wordlen, /*upper=*/false);
      if (seen.insert(w).second) vocab.push_back(std::move(w));
    }
    vocab[0] = "...";
    // count of rank k = int(num_words * k^-alpha / zeta(alpha))
    std::vector<int32_t> words;
    for (int64_t k = 1; k <= vocab_size_; ++k) {
      const auto count = static_cast<int64_t>(
          static_cast<double>(size) * std::pow(static_cast<double>(k), -spec_.alpha) / zeta_);
      words.insert(words.end(), static_cast<size_t>(count), static_cast<int32_t>(k - 1));
    }
    rng.Shuffle(words);
    std::string context;
    context.reserve(words.size() * (spec_.coded_wordlen + 1));
    for (size_t i = 0; i < words.size(); ++i) {
      if (i > 0) context += ' ';
      context += vocab[words[i]];
    }
    TaskPrompt p;
    SplitAtContext(kFweTemplate, {{"context", context}}, spec_.split, &p.context_part,
                   &p.query_part);
    p.answer_prefix = std::string(kFweAnswerPrefix);
    p.outputs = {vocab[1], vocab[2], vocab[3]};
    return p;
  }

 private:
  TaskSpec spec_;
  int64_t limit_;
  int64_t vocab_size_;  // the reference's max_seq_length // 50
  double zeta_;
};

}  // namespace

std::unique_ptr<Generator> MakeCommonWords(const TaskSpec& spec, const TaskData& data,
                                           int64_t length_limit) {
  return std::make_unique<CweGenerator>(spec, data, length_limit);
}

std::unique_ptr<Generator> MakeFreqWords(const TaskSpec& spec, int64_t length_limit) {
  return std::make_unique<FweGenerator>(spec, length_limit);
}

}  // namespace starattn::ruler::internal
