// BABILong sample construction: a bAbI sample's facts hidden in book prose, sized to a token
// budget with the model's own tokenizer, wrapped in the task prompt and the chat template.
//
// Length semantics. The reference names lengths by thousands of tokens ("4k" = 4000 tokens,
// booydar/babilong data/create_tasks.py: message_lengths 0, 1000, 2000, 4000, ..., 1M) and fills
// facts + background to (length - 300), the 300 being its estimate of the prompt around the
// context, so that the whole prompt comes to about the named length. Here that estimate is made
// exact: `length` is the number of tokens of the whole model input (chat template, instruction,
// examples, post-prompt, context and question, with BOS when the tokenizer adds it), and the
// background is filled so that length <= limit and length is within 2% (in practice a few
// tokens) below it. "0k" means no background at all: the prompt around the facts only. A number
// without suffix ("4096") is taken as an exact token count; "1M" is 1,000,000. The tokens to be
// generated are not counted (the reference does not count them either).
//
// Background: consecutive sentences of one book from a random sentence on (continuing into the
// next book at the end), skipping sentences of fewer than 10 tokens (the reference's
// min_sentence_len); the last sentence is cut at a token boundary to hit the budget (as the
// reference does). Facts are inserted between sentences at sorted uniform random slots (several
// may share a slot; they keep their story order), pieces joined with single spaces. The question
// is not in the context. A sample whose facts alone exceed the limit is skipped, and the next
// question in the sample order is used instead (the reference drops such samples through
// max_n_facts).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "babilong/babi.h"
#include "babilong/books.h"
#include "babilong/rng.h"

namespace starattn {
class Tokenizer;
}

namespace starattn::babilong {

// A named length: "4k" -> {"4k", 4000}.
struct Length {
  std::string name;
  int64_t tokens = 0;
};
// Parses "0k", "1k", "16k", "1M", "4096". Throws Error otherwise.
Length ParseLength(std::string_view s);

// The chat template split around the user message: prefix + task + suffix.
struct PromptFrame {
  std::string prefix;  // before the user message ("" for base)
  std::string suffix;  // after it, up to and including the assistant header ("" for base)
  std::string name;    // "base", "chatml", ...
};
// `template_name`: "base"; "chat" (the tokenizer's chat template, which must exist); "auto"
// (chat when the tokenizer has a template, else base); or a family name (chatml, llama3, llama2).
// The model's default system prompt is included where its template inserts one.
PromptFrame MakePromptFrame(const Tokenizer& tok, std::string_view template_name);

struct Record {
  int index = 0;
  std::string task;
  Length length_limit;
  int64_t length = 0;         // tokens of `input`
  std::string input_context;  // ... </context>\n\n
  std::string input_query;    // Question: ... + chat suffix
  std::vector<std::string> outputs;
  std::string question;
  int source = 0;                  // index of the sample in its pool (question order in the file)
  std::vector<std::string> facts;  // the facts as inserted (for tests)
};
nlohmann::ordered_json RecordToJson(const Record& r);

// The full prompt texts of one sample with the given context.
std::string ContextPart(const PromptFrame& frame, std::string_view task, std::string_view context);
std::string QueryPart(const PromptFrame& frame, std::string_view question);

class SampleBuilder {
 public:
  // `books` must outlive the builder.
  SampleBuilder(const Tokenizer& tok, PromptFrame frame, const std::vector<Book>& books);

  // One sample at `limit`; nullopt when the facts do not fit. `rng` draws the background start
  // and the fact slots.
  std::optional<Record> Build(const BabiSample& sample, const std::string& task,
                              const Length& limit, Rng& rng) const;

  // Tokens of a full model input (with BOS when the tokenizer adds one by default).
  int64_t CountTokens(std::string_view text) const;

 private:
  const Tokenizer& tok_;
  PromptFrame frame_;
  const std::vector<Book>& books_;
};

// Where the bAbI samples come from: the official file of the task (when `babi_dir` is set) or the
// built-in generator (qa1-qa5).
class SamplePool {
 public:
  SamplePool(const std::string& task, const std::string& babi_dir, uint64_t seed);
  // The i-th sample in the pool's (seeded) order; nullopt past the end.
  std::optional<BabiSample> Get(int i) const;
  int64_t size() const;  // -1 for the (unbounded) generator

 private:
  int task_ = 0;
  uint64_t seed_ = 0;
  std::vector<BabiSample> file_samples_;
  std::vector<int> order_;
  bool from_file_ = false;
};

// `n` samples of one task at one length; sample k of the output is the k-th pool sample that fits.
// Throws Error when fewer than n fit.
std::vector<Record> GenerateTaskLength(const SampleBuilder& builder, const SamplePool& pool,
                                       const std::string& task, const Length& limit, int n,
                                       uint64_t seed);

}  // namespace starattn::babilong
