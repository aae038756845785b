// BABILong profiles: the settings that decide what a BABILong number means, chosen together so
// that a run is comparable with one reference.
//
//   project    (the default; works offline): the project's prompts (prompts.h), the whole model
//              input sized to the nominal length (generate.h), labels matched as whole words
//              (metric.h), questions of the bAbI files in a seeded shuffled order, the runner's
//              generation budget (128 tokens).
//   reference  booydar/babilong @7a6efee: prompts and template from a prompts file (prompts.h;
//              tools/babilong_prompts.py writes it from a clone of the reference), filled as
//              prompts.py get_formatted_input fills it; the context (facts + background) sized
//              to the nominal length minus 300 tokens as data/create_tasks.py sizes it, samples
//              with too many facts dropped as its max_n_facts does; compare_answers' substring
//              matching; the questions of the bAbI test files in the order of the reference's
//              100-sample subset (data/test_100_idxs.json); 20 new tokens (max_new_tokens of
//              scripts/run_model_on_babilong.py).
//
// Every setting can be overridden (SetProfileValue); an override is recorded (Profile::overrides)
// and written with the data (ProfileJson).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "babilong/metric.h"

namespace starattn::babilong {

// What a nominal length ("4k" = 4000 tokens) sizes.
enum class Sizing {
  kPrompt,   // the whole model input, at most the length (the project's)
  kContext,  // facts + background: the length minus 300 tokens (the reference's)
};
// The order of the questions of a bAbI file (the built-in generator has its own order).
enum class SampleOrder {
  kShuffled,  // a shuffle seeded by the run's seed (the project's)
  kSubset,    // the subset file's indices first, then the other questions in file order
};

// The reference's allowance for the prompt around the context (data/create_tasks.py).
inline constexpr int64_t kReferencePromptTokens = 300;

struct Profile {
  std::string name;     // "project" or "reference"
  std::string prompts;  // "built-in" or the path of a prompts file
  std::string subset;   // subset file; "": test_100_idxs.json beside the prompts file
  Sizing sizing = Sizing::kPrompt;
  MatchMode match = MatchMode::kWord;
  SampleOrder sample_order = SampleOrder::kShuffled;
  int64_t tokens_to_generate = 0;  // 0: not in the data (the runner's default applies)
  // The settings given over the profile's own, key -> value as given.
  std::map<std::string, nlohmann::json> overrides;

  bool BuiltInPrompts() const { return prompts == "built-in"; }
  // The subset file to read: `subset`, else test_100_idxs.json beside the prompts file.
  std::string SubsetPath() const;
};

// "project", "reference".
const std::vector<std::string>& ProfileNames();
inline constexpr std::string_view kDefaultProfile = "project";
// The named profile. Throws Error for an unknown name.
Profile ProfileNamed(std::string_view name);

// Sets one setting: prompts ("built-in" or a path), subset (a path), sizing (prompt | context),
// match (word | substring), sample_order (shuffled | subset), tokens_to_generate (a positive
// integer). Throws Error naming the key and the expected values. A key the profile has its own
// value for, set to a different value, is recorded as an override; the reference's prompts and
// subset paths are inputs, not overrides.
void SetProfileValue(Profile& p, std::string_view key, const nlohmann::json& value);
// The keys SetProfileValue takes.
const std::vector<std::string>& ProfileKeys();

// Throws Error when the settings cannot work: no prompts file for the reference profile, or the
// subset order without a subset file.
void CheckProfile(const Profile& p);

// {"profile", "settings": {every key}, "overrides": {...}} as recorded with the data.
nlohmann::ordered_json ProfileJson(const Profile& p);

// True when `p` is the default profile without overrides: its data carries no profile fields,
// so that it stays byte-identical to data generated before profiles existed.
bool IsPlainDefault(const Profile& p);

std::string_view SizingName(Sizing s);
std::string_view SampleOrderName(SampleOrder o);

}  // namespace starattn::babilong
