// Benchmark profiles as the harness takes them (ruler/profile.h, babilong/profile.h): a profile
// name per benchmark and settings over it, from a sweep config or from generate-* --profile and
// --set; the hash that identifies a prompts file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "babilong/profile.h"
#include "ruler/profile.h"

namespace starattn::cli {

// "ruler" or "babilong" for a profile name of that benchmark, "" for none.
std::string BenchmarkOfProfile(std::string_view name);

// The profile `name` with `settings` (an object: setting -> value) applied. Throws Error with one
// line naming the problem: an unknown profile, a profile of the other benchmark, a setting the
// benchmark does not have, or a bad value (prefixed by the setting).
ruler::Profile MakeRulerProfile(const std::string& name, const nlohmann::json& settings);
babilong::Profile MakeBabilongProfile(const std::string& name, const nlohmann::json& settings);

// Settings from repeated --set KEY=VALUE: VALUE is taken as JSON when it parses as JSON (numbers,
// objects), else as a string; KEY a.b sets b inside the object a (tokens_to_generate.fwe=120).
// Throws Error for an item without '=' or with an empty key.
nlohmann::json ParseSetOptions(const std::vector<std::string>& items);

// The SHA-256 of a file's bytes, lower-case hex. Throws Error when it cannot be read.
std::string FileSha256(const std::string& path);

}  // namespace starattn::cli
