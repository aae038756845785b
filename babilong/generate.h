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
//
// The reference profile (profile.h) sizes as the reference does instead (Sizing::kContext): the
// context, facts + background, is (length - 300) tokens whatever the prompt around it; the
// question, the prompt and the chat template come on top. The reference counts its context as
// token lists (each fact and sentence encoded with a leading space with GPT-2's tokenizer, the
// last sentence cut), which the models read decoded; here the count is that of the context text
// itself with the model's tokenizer (stripped, without BOS), fitted as above to the target or at
// most 0.1% below it, so that it holds for tokenizers that encode a leading space as a token of
// its own (SentencePiece style) as well. No background when the facts fill the budget ("0k"
// included). Samples with more than (length - 300) / 8 - 1 facts are skipped (the reference's
// max_n_facts, for lengths above 300).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "babilong/babi.h"
#include "babilong/books.h"
#include "babilong/profile.h"
#include "babilong/prompts.h"
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
  int question_index = -1;         // index of the question in its bAbI file (-1: the generator)
  std::vector<std::string> facts;  // the facts as inserted (for tests)
  // Sizing::kContext: tokens of the context (facts + background, stripped, no BOS); else -1.
  int64_t context_tokens = -1;
  // Fields written after "question" (the profile's, set by the caller); empty for the default
  // profile, whose lines stay as they were before profiles existed.
  nlohmann::ordered_json tags = nlohmann::ordered_json::object();
};
nlohmann::ordered_json RecordToJson(const Record& r);

// The full prompt texts of one sample with the given context.
std::string ContextPart(const PromptFrame& frame, std::string_view task, std::string_view context);
std::string QueryPart(const PromptFrame& frame, std::string_view question);

// How samples are worded and sized (the profile's part of it).
struct BuildOptions {
  // The prompts file's prompts and template (filled as the reference fills them); null: the
  // project's (PromptFor, ContextPart / QueryPart).
  const PromptsFile* prompts = nullptr;
  Sizing sizing = Sizing::kPrompt;
};

class SampleBuilder {
 public:
  // `books` (and options.prompts) must outlive the builder.
  SampleBuilder(const Tokenizer& tok, PromptFrame frame, const std::vector<Book>& books,
                BuildOptions options = {});

  // One sample at `limit`; nullopt when the facts do not fit. `rng` draws the background start
  // and the fact slots.
  std::optional<Record> Build(const BabiSample& sample, const std::string& task,
                              const Length& limit, Rng& rng) const;

  // Tokens of a full model input (with BOS when the tokenizer adds one by default).
  int64_t CountTokens(std::string_view text) const;

 private:
  // input_context and input_query of `r` around `context`, and r.length.
  void Assemble(Record& r, const std::string& context) const;

  const Tokenizer& tok_;
  PromptFrame frame_;
  const std::vector<Book>& books_;
  BuildOptions options_;
};

// Where the bAbI samples come from: the official file of the task (when `babi_dir` is set) or the
// built-in generator (qa1-qa5).
class SamplePool {
 public:
  // The file's questions in a shuffled order (seeded), or, given `subset` (indices into the
  // file's questions), those questions in that order followed by the others in file order. Throws
  // Error when a subset index is past the file's questions.
  SamplePool(const std::string& task, const std::string& babi_dir, uint64_t seed,
             const std::vector<int>* subset = nullptr);
  // The i-th sample in the pool's (seeded) order; nullopt past the end.
  std::optional<BabiSample> Get(int i) const;
  // The index in the file's questions of the i-th sample (-1 for the generator).
  int FileIndex(int i) const;
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
