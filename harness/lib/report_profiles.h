// What data each unit of a report (and each side of a compare) was scored on: the benchmark
// profile its samples were generated with (ruler/profile.h, babilong/profile.h), the prompts
// file's hash and the haystack. Numbers of different profiles measure different things (other
// prompts, lengths, matching), so the report and compare warn when they put such units side by
// side.
//
// Sources, in order: the records (their "profile", "profile_overrides" and "prompts_sha256";
// records of a default profile carry none), the manifest's "data" (the sweep's profile.json per
// model and benchmark: the haystack), else the manifest's config (the data folders it names).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "harness/lib/report_data.h"

namespace starattn::report {

struct UnitData {
  std::string config;     // attention label
  std::string length;     // length label
  std::string benchmark;  // "ruler", "babilong"
  std::string profile;    // one label; several joined by " + " when the unit mixes them
  std::string prompts;    // prompts files' SHA-256 (first 12 hex digits), or "built-in"
  std::string haystack;   // from the manifest (or its config), else "not recorded"
  bool mixed = false;     // the unit's samples of this benchmark have several profiles
};

// Benchmark -> the profiles (ScoredSample::profile) of `samples`.
std::map<std::string, std::set<std::string>> ProfilesOf(const std::vector<ScoredSample>& samples);
// Benchmark -> the prompts hashes of `samples` ("built-in" for none).
std::map<std::string, std::set<std::string>> PromptsOf(const std::vector<ScoredSample>& samples);
// "babilong: project; ruler: ruler".
std::string ProfilesText(const std::map<std::string, std::set<std::string>>& profiles);

// The rows of one model's units (by config, then length, then benchmark). Appends a warning per
// unit that mixes profiles and per config whose profiles or prompts differ from the baseline's at
// a length (their deltas mix the profiles' effect with the attention's).
std::vector<UnitData> DescribeUnits(const std::string& model,
                                    const std::vector<const ConfigRun*>& runs,
                                    const std::string& baseline, const nlohmann::json& manifest,
                                    std::vector<std::string>& warnings);

// The report's "Data" table of one model.
std::string DataMarkdown(const std::vector<UnitData>& rows);

}  // namespace starattn::report
