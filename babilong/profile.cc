#include "babilong/profile.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "engine/common/error.h"

namespace starattn::babilong {
namespace {

std::string StringValue(std::string_view key, const nlohmann::json& v) {
  if (!v.is_string() || v.get<std::string>().empty()) {
    Fail("{}: expected a non-empty string, got {}", key, v.dump());
  }
  return v.get<std::string>();
}

Sizing ParseSizing(std::string_view key, const std::string& s) {
  if (s == "prompt") return Sizing::kPrompt;
  if (s == "context") return Sizing::kContext;
  Fail(
      "{}: '{}' is not a sizing (prompt: the whole input is the length; context: the context "
      "is the length minus {} tokens)",
      key, s, kReferencePromptTokens);
}

SampleOrder ParseSampleOrder(std::string_view key, const std::string& s) {
  if (s == "shuffled") return SampleOrder::kShuffled;
  if (s == "subset") return SampleOrder::kSubset;
  Fail("{}: '{}' is not a sample order (shuffled or subset)", key, s);
}

// The profile's own value of a key, as a setting would give it ("" when it has none).
nlohmann::json OwnValue(const Profile& p, std::string_view key) {
  if (key == "prompts") return p.prompts;
  if (key == "subset") return p.subset;
  if (key == "sizing") return SizingName(p.sizing);
  if (key == "match") return MatchModeName(p.match);
  if (key == "sample_order") return SampleOrderName(p.sample_order);
  if (key == "tokens_to_generate") return p.tokens_to_generate;
  return nullptr;
}

}  // namespace

std::string Profile::SubsetPath() const {
  if (!subset.empty()) return subset;
  if (BuiltInPrompts() || prompts.empty()) return "";
  return (std::filesystem::path(prompts).parent_path() / "test_100_idxs.json").string();
}

const std::vector<std::string>& ProfileNames() {
  static const std::vector<std::string> names = {"project", "reference"};
  return names;
}

Profile ProfileNamed(std::string_view name) {
  Profile p;
  p.name = std::string(name);
  if (name == "project") {
    p.prompts = "built-in";
    return p;
  }
  if (name == "reference") {
    p.sizing = Sizing::kContext;
    p.match = MatchMode::kSubstring;
    p.sample_order = SampleOrder::kSubset;
    p.tokens_to_generate = 20;
    return p;
  }
  Fail("unknown BABILong profile '{}' (BABILong profiles: {})", name,
       fmt::join(ProfileNames(), ", "));
}

const std::vector<std::string>& ProfileKeys() {
  static const std::vector<std::string> keys = {"prompts", "subset",       "sizing",
                                                "match",   "sample_order", "tokens_to_generate"};
  return keys;
}

void SetProfileValue(Profile& p, std::string_view key, const nlohmann::json& value) {
  // The named profile's own value: a setting that differs from it is an override.
  const nlohmann::json own = OwnValue(ProfileNamed(p.name), key);
  if (own.is_null()) {
    Fail("'{}' is not a BABILong profile setting (settings: {})", key,
         fmt::join(ProfileKeys(), ", "));
  }
  if (key == "prompts") {
    p.prompts = StringValue(key, value);
  } else if (key == "subset") {
    p.subset = StringValue(key, value);
  } else if (key == "sizing") {
    p.sizing = ParseSizing(key, StringValue(key, value));
  } else if (key == "match") {
    try {
      p.match = ParseMatchMode(StringValue(key, value));
    } catch (const Error& e) {
      Fail("{}: {}", key, e.what());
    }
  } else if (key == "sample_order") {
    p.sample_order = ParseSampleOrder(key, StringValue(key, value));
  } else {  // tokens_to_generate
    if (!value.is_number_integer() || value.get<int64_t>() <= 0) {
      Fail("{}: expected a positive integer, got {}", key, value.dump());
    }
    p.tokens_to_generate = value.get<int64_t>();
  }
  const bool has_own = !(own.is_string() && own.get<std::string>().empty());
  if (has_own && OwnValue(p, key) != own) {
    p.overrides[std::string(key)] = value;
  } else {
    p.overrides.erase(std::string(key));
  }
}

void CheckProfile(const Profile& p) {
  if (p.prompts.empty()) {
    Fail(
        "profile {} needs a prompts file: set 'prompts' (the reference's default_prompts.json; "
        "tools/babilong_prompts.py writes it from a clone of booydar/babilong)",
        p.name);
  }
  if (p.sample_order == SampleOrder::kSubset && p.SubsetPath().empty()) {
    Fail("profile {}: sample_order subset needs a subset file: set 'subset'", p.name);
  }
}

nlohmann::ordered_json ProfileJson(const Profile& p) {
  nlohmann::ordered_json settings;
  for (const std::string& key : ProfileKeys()) settings[key] = OwnValue(p, key);
  settings["subset"] = p.SubsetPath();
  nlohmann::ordered_json overrides = nlohmann::ordered_json::object();
  for (const auto& [k, v] : p.overrides) overrides[k] = v;
  return {{"profile", p.name}, {"settings", settings}, {"overrides", overrides}};
}

bool IsPlainDefault(const Profile& p) { return p.name == kDefaultProfile && p.overrides.empty(); }

std::string_view SizingName(Sizing s) {
  switch (s) {
    case Sizing::kPrompt:
      return "prompt";
    case Sizing::kContext:
      return "context";
  }
  return "prompt";
}

std::string_view SampleOrderName(SampleOrder o) {
  switch (o) {
    case SampleOrder::kShuffled:
      return "shuffled";
    case SampleOrder::kSubset:
      return "subset";
  }
  return "shuffled";
}

}  // namespace starattn::babilong
