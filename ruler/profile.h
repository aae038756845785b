// RULER profiles: the task parameters, generation budgets and prompt split that decide what a
// RULER number means, chosen together so that a run is comparable with one reference.
//
//   ruler           (the default) NVIDIA/RULER's settings (tasks.h: CWE freq_cw 30 / freq_ucw 3,
//                   tokens_to_generate niah 128, vt 30, cwe 120, fwe 50, qa 32); the prompt split
//                   for Star Attention right after {context}.
//   star-attention  NVIDIA/Star-Attention @c61059f's copy of RULER, which produced the paper's
//                   numbers: CWE freq_cw 300 / freq_ucw 30 (ruler/synthetic_task_config.yaml),
//                   FWE 120 new tokens (synthetic_inference_config.yaml), and the context part
//                   ending with the newline(s) after {context} (its context templates end with
//                   "{context}\n", qa's with "{context}\n\n"; the query part, e.g. qa's repeated
//                   instruction, starts after them), so that newline is encoded in phase 1.
//
// In both, the budget of a task counts against the length limit (length + tokens_to_generate <=
// limit, the project's sizing rule; the Star-Attention copy fills FWE's context part alone up to
// the limit and then generates 120 tokens past it), and the in-context examples of VT and CWE are
// built from the task template alone (both references build them from the chat-wrapped template,
// a second chat header inside the prompt; see vt.cc and words.cc). The copy's VT answer prefix
// misspells "assigned" ("assgined"); the project keeps NVIDIA's spelling in both profiles.
//
// Every setting can be overridden (SetProfileValue); an override is recorded (Profile::overrides)
// and written with the data (ProfileJson).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ruler/tasks.h"

namespace starattn::ruler {

struct Profile {
  std::string name;  // "ruler" or "star-attention"
  int cwe_freq_cw = 30;
  int cwe_freq_ucw = 3;
  std::map<std::string, int, std::less<>> tokens_to_generate;  // task -> new tokens
  ContextSplit split = ContextSplit::kAfterContext;
  // The settings given over the profile's own, key -> value as given.
  std::map<std::string, nlohmann::json> overrides;

  // `spec` with the profile's parameters.
  TaskSpec Apply(const TaskSpec& spec) const;
};

// "ruler", "star-attention".
const std::vector<std::string>& ProfileNames();
inline constexpr std::string_view kDefaultProfile = "ruler";
// The named profile. Throws Error for an unknown name.
Profile ProfileNamed(std::string_view name);

// Sets one setting: cwe_freq_cw, cwe_freq_ucw (positive integers), tokens_to_generate (an object
// task -> positive integer; the tasks named are set, the others keep theirs), split (context |
// context-line). Throws Error naming the key and the expected values. A value that differs from
// the profile's own is recorded as an override.
void SetProfileValue(Profile& p, std::string_view key, const nlohmann::json& value);
const std::vector<std::string>& ProfileKeys();

// {"profile", "settings": {every key}, "overrides": {...}} as recorded with the data.
nlohmann::ordered_json ProfileJson(const Profile& p);

// True for the default profile without overrides: its data carries no profile fields, so that it
// stays byte-identical to data generated before profiles existed.
bool IsPlainDefault(const Profile& p);

std::string_view ContextSplitName(ContextSplit s);

}  // namespace starattn::ruler
