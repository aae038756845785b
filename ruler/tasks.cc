#include "ruler/tasks.h"

#include "engine/common/error.h"
#include "ruler/generators.h"
#include "ruler/text.h"

namespace starattn::ruler {
namespace {

TaskSpec Niah(std::string_view name, HaystackKind h, NeedleType k, NeedleType v, int num_k,
              int num_v, int num_q) {
  TaskSpec s{name, TaskKind::kNiah, 128};
  s.haystack = h;
  s.key_type = k;
  s.value_type = v;
  // The reference forces num_needle_k = max(num_needle_k, num_needle_q).
  s.num_k = std::max(num_k, num_q);
  s.num_v = num_v;
  s.num_q = num_q;
  return s;
}

std::vector<TaskSpec> MakeTasks() {
  using H = HaystackKind;
  using N = NeedleType;
  std::vector<TaskSpec> t;
  t.push_back(Niah("niah_single_1", H::kNoise, N::kWords, N::kNumbers, 1, 1, 1));
  t.push_back(Niah("niah_single_2", H::kEssay, N::kWords, N::kNumbers, 1, 1, 1));
  t.push_back(Niah("niah_single_3", H::kEssay, N::kWords, N::kUuids, 1, 1, 1));
  t.push_back(Niah("niah_multikey_1", H::kEssay, N::kWords, N::kNumbers, 4, 1, 1));
  t.push_back(Niah("niah_multikey_2", H::kNeedle, N::kWords, N::kNumbers, 1, 1, 1));
  t.push_back(Niah("niah_multikey_3", H::kNeedle, N::kUuids, N::kUuids, 1, 1, 1));
  t.push_back(Niah("niah_multivalue", H::kEssay, N::kWords, N::kNumbers, 1, 4, 1));
  t.push_back(Niah("niah_multiquery", H::kEssay, N::kWords, N::kNumbers, 1, 1, 4));
  TaskSpec vt{"vt", TaskKind::kVariableTracking, 30};
  vt.num_chains = 1;
  vt.num_hops = 4;
  t.push_back(vt);
  // The reference's freq_cw=30, freq_ucw=3 and its tokens_to_generate 120 (cwe) / 50 (fwe); the
  // star-attention profile (profile.h) has the Star-Attention copy's 300/30 and fwe 120.
  TaskSpec cwe{"cwe", TaskKind::kCommonWords, 120};
  t.push_back(cwe);
  TaskSpec fwe{"fwe", TaskKind::kFreqWords, 50};
  t.push_back(fwe);
  TaskSpec qa1{"qa_1", TaskKind::kQa, 32};
  qa1.qa_set = QaSet::kSquad;
  t.push_back(qa1);
  TaskSpec qa2{"qa_2", TaskKind::kQa, 32};
  qa2.qa_set = QaSet::kHotpotQa;
  t.push_back(qa2);
  return t;
}

}  // namespace

const std::vector<TaskSpec>& AllTasks() {
  static const std::vector<TaskSpec> tasks = MakeTasks();
  return tasks;
}

const TaskSpec* FindTask(std::string_view name) {
  for (const TaskSpec& t : AllTasks()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TaskNeeds NeedsOf(const TaskSpec& spec) {
  TaskNeeds n;
  switch (spec.kind) {
    case TaskKind::kNiah:
      n.wordlists = spec.key_type == NeedleType::kWords || spec.value_type == NeedleType::kWords;
      n.essays = spec.haystack == HaystackKind::kEssay;
      break;
    case TaskKind::kVariableTracking:
    case TaskKind::kFreqWords:
      break;
    case TaskKind::kCommonWords:
      n.wordlists = true;
      break;
    case TaskKind::kQa:
      n.squad = spec.qa_set == QaSet::kSquad;
      n.hotpotqa = spec.qa_set == QaSet::kHotpotQa;
      break;
  }
  return n;
}

const std::vector<int>& NeedleDepths() {
  static const std::vector<int> depths = {0,  3,  5,  8,  10, 13, 15, 18, 21, 23, 26, 28, 31, 33,
                                          36, 38, 41, 44, 46, 49, 51, 54, 56, 59, 62, 64, 67, 69,
                                          72, 74, 77, 79, 82, 85, 87, 90, 92, 95, 97, 100};
  return depths;
}

std::unique_ptr<Generator> MakeGenerator(const TaskSpec& spec, const TaskData& data,
                                         int64_t length_limit, const TokenCounter& count_tokens,
                                         uint64_t seed) {
  const TaskNeeds needs = NeedsOf(spec);
  if (needs.wordlists && data.words == nullptr) Fail("{} needs the word lists", spec.name);
  if (needs.essays && data.essays == nullptr) Fail("{} needs the essay haystack", spec.name);
  if (needs.squad && data.squad == nullptr) Fail("{} needs SQuAD", spec.name);
  if (needs.hotpotqa && data.hotpotqa == nullptr) Fail("{} needs HotpotQA", spec.name);
  switch (spec.kind) {
    case TaskKind::kNiah:
      return internal::MakeNiah(spec, data, length_limit);
    case TaskKind::kVariableTracking:
      return internal::MakeVariableTracking(spec, length_limit, count_tokens, seed);
    case TaskKind::kCommonWords:
      return internal::MakeCommonWords(spec, data, length_limit);
    case TaskKind::kFreqWords:
      return internal::MakeFreqWords(spec, length_limit);
    case TaskKind::kQa:
      return internal::MakeQa(spec, data, length_limit, count_tokens);
  }
  Fail("unknown task kind");
}

namespace internal {

void SplitAtContext(std::string_view tmpl,
                    const std::vector<std::pair<std::string_view, std::string_view>>& fields,
                    ContextSplit split, std::string* context_part, std::string* query_part) {
  constexpr std::string_view kField = "{context}";
  const size_t at = tmpl.find(kField);
  if (at == std::string_view::npos) Fail("template has no {{context}}");
  size_t cut = at + kField.size();
  if (split == ContextSplit::kAfterContextLine) {
    while (cut < tmpl.size() && tmpl[cut] == '\n') ++cut;
  }
  *context_part = FormatTemplate(tmpl.substr(0, cut), fields);
  *query_part = FormatTemplate(tmpl.substr(cut), fields);
}

}  // namespace internal
}  // namespace starattn::ruler
