// Generating a RULER task at one length: prompt assembly with the model template, sizing to the
// length limit with the model's own tokenizer, and the JSONL records.
//
// Output record (one JSON line per sample):
//   index, task, length_limit, tokens_to_generate,
//   length        tokens of `input` (BOS included when the tokenizer adds one); the reference's
//                 `length` is this plus tokens_to_generate,
//   outputs       the expected answers,
//   input_context everything up to and including the context: model-template head, instruction,
//                 in-context example (vt, cwe), context -- Star Attention's phase 1,
//   input_query   the rest: question, model-template tail, answer prefix -- phase 2,
//   input         input_context + input_query.
// Sizing guarantees length + tokens_to_generate <= length_limit, and aims at >= 98% of it.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "ruler/tasks.h"

namespace starattn::ruler {

// The model template around the task: input = head + user message + tail + answer prefix.
struct PromptFrame {
  std::string head;
  std::string tail;
  // The template strips the user message (llama3, llama2): leading / trailing whitespace of the
  // task text is dropped as the real template would.
  bool strips_leading = false;
  bool strips_trailing = false;

  // No template: the reference's `base` ({task_template}).
  static PromptFrame Base();
  // The task text as the single user message of `t`, with the model's default system prompt
  // (inserted as the model's own template does), and the assistant header.
  static PromptFrame Chat(ChatTemplate t, const std::optional<std::string>& default_system);

  // (input_context, input_query) of a task prompt.
  std::pair<std::string, std::string> Assemble(const TaskPrompt& p) const;
};

// Tokens of `text` as the model sees it: BOS per the tokenizer's default, special tokens parsed.
int64_t CountTokens(const Tokenizer& tok, std::string_view text);

struct GenerateOptions {
  int64_t length_limit = 4096;
  int64_t num_samples = 500;
  uint64_t seed = 42;
  PromptFrame frame;
  int threads = 1;
  // Lower end of the window every sample aims at: (length + tokens_to_generate) / limit.
  double min_fill = 0.98;
};

struct Sample {
  int64_t index = 0;
  std::string input_context;
  std::string input_query;
  std::vector<std::string> outputs;
  int64_t length = 0;  // tokens of input_context + input_query
  int64_t size = 0;    // the haystack size, in the generator's unit
};

struct TaskStats {
  int64_t probe_size = 0;     // the task-level haystack size
  std::vector<double> fill;   // per sample: (length + tokens_to_generate) / length_limit
  int64_t under_filled = 0;   // samples below min_fill (data too small to fill the limit)
  int64_t tokenizations = 0;  // full-prompt tokenizations used by the sizing
  double seconds = 0;
};

// The JSON record of a sample (fields as listed at the top of this file); `tags` (a profile's
// fields, profile.h) come after `outputs` when given.
nlohmann::ordered_json SampleJson(const TaskSpec& spec, int64_t length_limit, const Sample& s,
                                  const nlohmann::ordered_json& tags = nullptr);

// Generates the samples of one task at one length and hands them to `sink` in index order.
// Throws Error when even the smallest haystack does not fit the limit.
TaskStats GenerateTask(const TaskSpec& spec, const Generator& gen, const Tokenizer& tok,
                       const GenerateOptions& opt, const std::function<void(Sample&&)>& sink);

// ---- Sizing (exposed for tests) ------------------------------------------------------------

struct SizePoint {
  int64_t size;
  int64_t tokens;
};
// Searches [lo, hi] for a size whose token count is <= target, preferring larger ones: returns
// the first evaluated size with accept <= tokens <= target, else the largest fitting size found
// once the bracket is closed (or hi, if it fits). nullopt when even lo is over the target.
// `start` is the first size tried; `slope` (tokens per unit, > 0) guides the first steps.
// tokens_of is assumed near-linear and non-decreasing; results are always verified fits.
std::optional<SizePoint> SearchSize(const std::function<int64_t(int64_t)>& tokens_of, int64_t lo,
                                    int64_t hi, int64_t start, double slope, int64_t target,
                                    int64_t accept, int64_t* evaluations = nullptr);

}  // namespace starattn::ruler
