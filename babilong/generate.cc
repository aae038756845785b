#include "babilong/generate.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <span>

#include "babilong/prompts.h"
#include "babilong/world.h"
#include "engine/common/error.h"
#include "engine/common/hash.h"
#include "engine/common/utf8.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"

namespace starattn::babilong {
namespace {

// The reference's min_sentence_len: background sentences shorter than this are skipped.
constexpr int64_t kMinSentenceTokens = 10;
// Rebuild rounds when the joined text tokenizes differently from the sum of its pieces.
constexpr int kMaxFitRounds = 12;

std::string JoinSpace(const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces) {
    if (!out.empty()) out += ' ';
    out += p;
  }
  return out;
}

// Consecutive background sentences from a start position, with their token counts, extended on
// demand; wraps into the next book at the end of one.
class SentenceStream {
 public:
  SentenceStream(const Tokenizer& tok, const std::vector<Book>& books, size_t book, size_t sentence)
      : tok_(tok), books_(books), book_(book), sentence_(sentence) {
    for (const Book& b : books) total_sentences_ += b.sentences.size();
  }

  // The i-th kept sentence (fetching more as needed).
  const std::string& Text(size_t i) {
    Fill(i);
    return texts_[i];
  }
  const std::vector<int32_t>& Ids(size_t i) {
    Fill(i);
    return ids_[i];
  }

 private:
  void Fill(size_t i) {
    size_t skipped = 0;  // in a row; a whole pass over the books without a kept one is an error
    while (texts_.size() <= i) {
      const Book& b = books_[book_];
      const std::string& s = b.sentences[sentence_];
      if (++sentence_ == b.sentences.size()) {
        sentence_ = 0;
        book_ = (book_ + 1) % books_.size();
      }
      // Tokens as the sentence appears inside the joined text: after a space.
      std::vector<int32_t> ids = tok_.Encode(" " + s, /*add_bos=*/false, /*parse_special=*/false);
      if (static_cast<int64_t>(ids.size()) >= kMinSentenceTokens) {
        texts_.push_back(s);
        ids_.push_back(std::move(ids));
        skipped = 0;
      } else if (++skipped > total_sentences_) {
        Fail("the books have no sentence of {} tokens or more", kMinSentenceTokens);
      }
    }
  }

  const Tokenizer& tok_;
  const std::vector<Book>& books_;
  size_t book_, sentence_;
  size_t total_sentences_ = 0;
  std::vector<std::string> texts_;
  std::vector<std::vector<int32_t>> ids_;
};

}  // namespace

Length ParseLength(std::string_view s) {
  auto bad = [&]() -> Length {
    Fail("bad length '{}' (expected e.g. 0k, 1k, 4k, 128k, 1M or a token count like 4096)", s);
  };
  if (s.empty()) return bad();
  int64_t mult = 1;
  std::string_view digits = s;
  if (s.back() == 'k' || s.back() == 'K') {
    mult = 1000;
    digits.remove_suffix(1);
  } else if (s.back() == 'M' || s.back() == 'm') {
    mult = 1000000;
    digits.remove_suffix(1);
  }
  int64_t n = 0;
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size() || n < 0 ||
      n > 100'000'000 / mult) {
    return bad();
  }
  std::string name(s);
  if (mult == 1000) name.back() = 'k';
  if (mult == 1000000) name.back() = 'M';
  return {name, n * mult};
}

PromptFrame MakePromptFrame(const Tokenizer& tok, std::string_view template_name) {
  const auto& source = tok.chat_template_source();
  ChatTemplate family = ChatTemplate::kBase;
  if (template_name == "auto") {
    family = DetectChatTemplate(source);
  } else if (template_name == "chat") {
    family = DetectChatTemplate(source);
    if (family == ChatTemplate::kBase) {
      Fail(
          "--template chat: the tokenizer has no chat template of a known family; pass "
          "--template base or a family (chatml, llama3, llama2)");
    }
  } else {
    family = ParseChatTemplate(template_name);
  }
  PromptFrame frame;
  frame.name = std::string(ChatTemplateName(family));
  if (family == ChatTemplate::kBase) return frame;
  static const std::string kMarker = "\x01\x02TASK\x02\x01";
  const std::string rendered = RenderChat(
      family, {{"user", kMarker}}, /*add_generation_prompt=*/true, DefaultSystemPrompt(source));
  const size_t at = rendered.find(kMarker);
  if (at == std::string::npos) Fail("chat template {} lost the user message", frame.name);
  frame.prefix = rendered.substr(0, at);
  frame.suffix = rendered.substr(at + kMarker.size());
  return frame;
}

std::string ContextPart(const PromptFrame& frame, std::string_view task, std::string_view context) {
  const TaskPrompt& p = PromptFor(task);
  std::string out = frame.prefix;
  out += p.instruction;
  out += "\n\n";
  out += p.examples;
  out += "\n\n";
  out += p.post_prompt;
  out += "\n\n<context>\n";
  out += context;
  out += "\n</context>\n\n";
  return out;
}

std::string QueryPart(const PromptFrame& frame, std::string_view question) {
  return "Question: " + std::string(question) + frame.suffix;
}

nlohmann::ordered_json RecordToJson(const Record& r) {
  nlohmann::ordered_json j;
  j["index"] = r.index;
  j["task"] = r.task;
  j["length_limit"] = r.length_limit.tokens;
  j["length_name"] = r.length_limit.name;
  j["length"] = r.length;
  j["outputs"] = r.outputs;
  j["question"] = r.question;
  for (const auto& [key, value] : r.tags.items()) j[key] = value;
  j["input_context"] = r.input_context;
  j["input_query"] = r.input_query;
  j["input"] = r.input_context + r.input_query;
  return j;
}

SampleBuilder::SampleBuilder(const Tokenizer& tok, PromptFrame frame,
                             const std::vector<Book>& books, BuildOptions options)
    : tok_(tok), frame_(std::move(frame)), books_(books), options_(options) {
  if (books_.empty()) Fail("no background books");
}

int64_t SampleBuilder::CountTokens(std::string_view text) const {
  return static_cast<int64_t>(
      tok_.Encode(text, tok_.add_bos_default(), /*parse_special=*/true).size());
}

void SampleBuilder::Assemble(Record& r, const std::string& context) const {
  if (options_.prompts != nullptr) {
    const FilledPrompt f = FillReferencePrompt(*options_.prompts, r.task, context, r.question);
    r.input_context = frame_.prefix + f.context_part;
    r.input_query = f.query_part + frame_.suffix;
  } else {
    r.input_context = ContextPart(frame_, r.task, context);
    r.input_query = QueryPart(frame_, r.question);
  }
  r.length = CountTokens(r.input_context + r.input_query);
}

std::optional<Record> SampleBuilder::Build(const BabiSample& sample, const std::string& task,
                                           const Length& limit, Rng& rng) const {
  Record r;
  r.task = task;
  r.length_limit = limit;
  r.outputs = {sample.answer};
  r.question = sample.question;
  r.facts = sample.facts;

  const bool context_sizing = options_.sizing == Sizing::kContext;
  // The reference's context budget (facts + background) and its max_n_facts.
  const int64_t context_target = limit.tokens - kReferencePromptTokens;
  // Tokens of a context as the model reads it inside the template (stripped, no BOS).
  auto context_tokens = [&](const std::string& context) {
    return static_cast<int64_t>(
        tok_.Encode(utf8::PyStrip(context), /*add_bos=*/false, /*parse_special=*/false).size());
  };
  if (context_sizing && context_target > 0 &&
      static_cast<int64_t>(sample.facts.size()) + 1 > context_target / 8) {
    return std::nullopt;
  }
  const std::string facts_only = JoinSpace(sample.facts);
  Assemble(r, facts_only);
  if (context_sizing) r.context_tokens = context_tokens(facts_only);
  if (limit.tokens == 0) return r;
  if (context_sizing ? r.context_tokens >= context_target : r.length > limit.tokens) {
    // The reference keeps such a sample with the facts alone; the project's sizing cannot fit it.
    if (context_sizing) return r;
    return std::nullopt;
  }

  // Background start and fact slots, drawn once: the fitting rounds below only move the cut.
  const size_t book = rng.Below(books_.size());
  SentenceStream stream(tok_, books_, book, rng.Below(books_[book].sentences.size()));
  std::vector<double> slots(sample.facts.size());
  for (double& u : slots) u = rng.Uniform();
  std::sort(slots.begin(), slots.end());

  auto build_context = [&](int64_t budget) {
    std::vector<std::string> background;
    int64_t total = 0;
    for (size_t i = 0; total < budget; ++i) {
      const std::vector<int32_t>& ids = stream.Ids(i);
      const int64_t n = static_cast<int64_t>(ids.size());
      if (total + n <= budget) {
        background.push_back(stream.Text(i));
        total += n;
        continue;
      }
      const int64_t keep = budget - total;  // cut the last sentence at a token boundary
      const std::string decoded = tok_.Decode(std::span<const int32_t>(ids.data(), keep), false);
      // A byte-level token boundary can split a character: drop it.
      const std::string cut(utf8::WithoutCutLastChar(decoded));
      const size_t first = cut.find_first_not_of(' ');
      if (first != std::string::npos) background.push_back(cut.substr(first));
      total = budget;
    }
    const size_t n_bg = background.size();
    std::vector<std::string> pieces;
    pieces.reserve(n_bg + sample.facts.size());
    size_t f = 0;
    for (size_t i = 0; i <= n_bg; ++i) {
      while (f < slots.size() &&
             std::min<size_t>(static_cast<size_t>(slots[f] * (n_bg + 1)), n_bg) == i) {
        pieces.push_back(sample.facts[f++]);
      }
      if (i < n_bg) pieces.push_back(std::move(background[i]));
    }
    return JoinSpace(pieces);
  };

  // Fit: the budget is what the facts leave (of the context, or of the whole prompt); joining
  // pieces can merge or split a token at each boundary (SentencePiece-style tokenizers count a
  // leading space as a token of its own), so re-measure and correct the budget until the count is
  // at the target or just below it. Keep the longest candidate that is within the target.
  const int64_t target = context_sizing ? context_target : limit.tokens;
  auto measure = [&](const std::string& context) {
    Assemble(r, context);
    return context_sizing ? context_tokens(context) : r.length;
  };
  int64_t budget = target - (context_sizing ? r.context_tokens : r.length);
  std::optional<Record> best;  // the longest candidate within the target
  auto count = [&](const Record& c) { return context_sizing ? c.context_tokens : c.length; };
  for (int round = 0; round < kMaxFitRounds && budget >= 0; ++round) {
    const int64_t n = measure(build_context(budget));
    if (context_sizing) r.context_tokens = n;
    if (n <= target && (!best || n > count(*best))) best = r;
    if (n == target) break;
    budget += target - n;
    if (best && target - count(*best) <= target / 1000) break;
  }
  if (!best) {
    Fail("{} at {}: could not fit the sample within {} tokens", task, limit.name, target);
  }
  return best;
}

SamplePool::SamplePool(const std::string& task, const std::string& babi_dir, uint64_t seed,
                       const std::vector<int>* subset)
    : task_(TaskNumber(task)), seed_(seed), from_file_(!babi_dir.empty()) {
  if (!from_file_) {
    if (!HasBuiltinGenerator(task_)) {
      Fail("{}: the built-in generator covers qa1-qa5 only; pass the bAbI files with --babi DIR",
           task);
    }
    return;
  }
  const std::string file = FindBabiTestFile(babi_dir, task);
  file_samples_ = ReadBabiFile(file);
  if (subset != nullptr) {
    std::vector<bool> taken(file_samples_.size(), false);
    for (const int i : *subset) {
      if (i < 0 || i >= static_cast<int>(file_samples_.size())) {
        Fail("{}: subset index {} is past the {} questions of {}", task, i, file_samples_.size(),
             file);
      }
      if (!taken[i]) order_.push_back(i);
      taken[i] = true;
    }
    for (size_t i = 0; i < taken.size(); ++i) {
      if (!taken[i]) order_.push_back(static_cast<int>(i));
    }
    return;
  }
  order_.resize(file_samples_.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<int>(i);
  Rng rng(StreamSeed({seed, Fnv1a64(task), Fnv1a64("order")}));
  rng.Shuffle(order_);
}

std::optional<BabiSample> SamplePool::Get(int i) const {
  if (!from_file_) return GenerateSample(task_, seed_, i);
  if (i < 0 || i >= static_cast<int>(order_.size())) return std::nullopt;
  return file_samples_[order_[i]];
}

int SamplePool::FileIndex(int i) const { return from_file_ ? order_.at(i) : -1; }

int64_t SamplePool::size() const { return from_file_ ? static_cast<int64_t>(order_.size()) : -1; }

std::vector<Record> GenerateTaskLength(const SampleBuilder& builder, const SamplePool& pool,
                                       const std::string& task, const Length& limit, int n,
                                       uint64_t seed) {
  std::vector<Record> out;
  // The generator never runs dry; give up on it when samples keep failing to fit.
  const int64_t max_tries = pool.size() >= 0 ? pool.size() : 20LL * n + 100;
  int skipped = 0;
  for (int i = 0; static_cast<int>(out.size()) < n && i < max_tries; ++i) {
    const std::optional<BabiSample> s = pool.Get(i);
    if (!s) break;
    Rng rng(StreamSeed(
        {seed, Fnv1a64(task), static_cast<uint64_t>(limit.tokens), static_cast<uint64_t>(i)}));
    std::optional<Record> r = builder.Build(*s, task, limit, rng);
    if (!r) {
      ++skipped;
      continue;
    }
    r->index = static_cast<int>(out.size());
    r->source = i;
    r->question_index = pool.FileIndex(i);
    out.push_back(std::move(*r));
  }
  if (static_cast<int>(out.size()) < n) {
    Fail(
        "{} at {} ({} tokens): only {} samples fit ({} questions had too many facts); ask for "
        "fewer samples or a longer length",
        task, limit.name, limit.tokens, out.size(), skipped);
  }
  return out;
}

}  // namespace starattn::babilong
