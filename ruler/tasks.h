// The 13 RULER tasks: their parameters (scripts/synthetic.yaml of the reference), templates
// (scripts/data/synthetic/constants.py) and generators.
//
// Reference versions: hsiehjackson/RULER @e40fae1 ("v1") and NVIDIA/RULER @c3f5e3b ("NV"). Where
// they differ, the choice is named at the place it is made ("v1:" / "NV:").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ruler/data.h"

namespace starattn::ruler {

enum class TaskKind { kNiah, kVariableTracking, kCommonWords, kFreqWords, kQa };
// noise: the reference's `repeat` (v1) / `noise` (NV) haystack.
enum class HaystackKind { kNoise, kEssay, kNeedle };
enum class NeedleType { kWords, kNumbers, kUuids };
enum class QaSet { kSquad, kHotpotQa };
// Where the task text is cut into Star Attention's context part (phase 1) and query part.
enum class ContextSplit {
  kAfterContext,      // right after {context} (the project's)
  kAfterContextLine,  // after {context} and the newlines that follow it (Star-Attention's copy of
                      // RULER: its context templates end with "{context}\n", qa's with "\n\n")
};

struct TaskSpec {
  std::string_view name;
  TaskKind kind;
  int tokens_to_generate;
  // niah
  HaystackKind haystack = HaystackKind::kEssay;
  NeedleType key_type = NeedleType::kWords;
  NeedleType value_type = NeedleType::kNumbers;
  int num_k = 1, num_v = 1, num_q = 1;
  // vt
  int num_chains = 1, num_hops = 4;
  // cwe
  int freq_cw = 30, freq_ucw = 3, num_cw = 10;
  // fwe
  double alpha = 2.0;
  int coded_wordlen = 6;
  // qa
  QaSet qa_set = QaSet::kSquad;
  ContextSplit split = ContextSplit::kAfterContext;
};

// The 13 tasks in the reference's order (niah_single_1 ... qa_2).
const std::vector<TaskSpec>& AllTasks();
// nullptr when the name is not a RULER task.
const TaskSpec* FindTask(std::string_view name);

// The data a task reads.
struct TaskNeeds {
  bool wordlists = false;
  bool essays = false;
  bool squad = false;
  bool hotpotqa = false;
};
TaskNeeds NeedsOf(const TaskSpec& spec);

// The data a generator may use (the ones a task needs must be set).
struct TaskData {
  const WordLists* words = nullptr;
  const EssayHaystack* essays = nullptr;
  const QaData* squad = nullptr;
  const QaData* hotpotqa = nullptr;
};

// A task prompt before the model template: the user message is context_part + query_part; the
// answer prefix follows the model template's tail.
struct TaskPrompt {
  std::string context_part;  // instruction (and in-context example) up to and including the context
  std::string query_part;    // the rest of the task text: the question
  std::string answer_prefix;
  std::vector<std::string> outputs;
};

// Counts the tokens of a text as the model would see it (BOS included when the tokenizer adds
// one). Generators use it only for their in-context examples (VT).
using TokenCounter = std::function<int64_t(std::string_view)>;

// Builds the samples of one task at one length. The haystack size is in the generator's unit
// (words, noise sentences, distractor needles, list words, coded words, or a document token
// budget); Build is deterministic in (size, seed, index) and is safe to call from several threads.
// `index` is the sample's index (QA takes its question from it); `seed` its SampleSeed.
class Generator {
 public:
  virtual ~Generator() = default;
  virtual std::string_view SizeUnit() const = 0;
  virtual int64_t MinSize() const = 0;
  virtual int64_t MaxSize() const = 0;
  virtual TaskPrompt Build(int64_t size, uint64_t seed, int64_t index) const = 0;
  // How many samples the generator can make (QA: one per question); -1 for no limit.
  virtual int64_t MaxSamples() const { return -1; }
};

// The generator of `spec` for prompts of `length_limit` tokens. Throws Error when data the task
// needs is missing from `data`.
std::unique_ptr<Generator> MakeGenerator(const TaskSpec& spec, const TaskData& data,
                                         int64_t length_limit, const TokenCounter& count_tokens,
                                         uint64_t seed);

// The 40 needle depths of the reference: np.round(np.linspace(0, 100, 40)).
const std::vector<int>& NeedleDepths();

}  // namespace starattn::ruler
