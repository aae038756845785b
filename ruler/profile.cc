#include "ruler/profile.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/common/error.h"

namespace starattn::ruler {
namespace {

int PositiveInt(std::string_view key, const nlohmann::json& v) {
  if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > 1'000'000) {
    Fail("{}: expected a positive integer, got {}", key, v.dump());
  }
  return v.get<int>();
}

// The profile's value of a key as a setting gives it.
nlohmann::json OwnValue(const Profile& p, std::string_view key) {
  if (key == "cwe_freq_cw") return p.cwe_freq_cw;
  if (key == "cwe_freq_ucw") return p.cwe_freq_ucw;
  if (key == "split") return ContextSplitName(p.split);
  if (key == "tokens_to_generate") {
    nlohmann::json t = nlohmann::json::object();
    for (const auto& [task, n] : p.tokens_to_generate) t[task] = n;
    return t;
  }
  return nullptr;
}

}  // namespace

TaskSpec Profile::Apply(const TaskSpec& spec) const {
  TaskSpec s = spec;
  if (s.kind == TaskKind::kCommonWords) {
    s.freq_cw = cwe_freq_cw;
    s.freq_ucw = cwe_freq_ucw;
  }
  if (const auto it = tokens_to_generate.find(spec.name); it != tokens_to_generate.end()) {
    s.tokens_to_generate = it->second;
  }
  s.split = split;
  return s;
}

const std::vector<std::string>& ProfileNames() {
  static const std::vector<std::string> names = {"ruler", "star-attention"};
  return names;
}

Profile ProfileNamed(std::string_view name) {
  Profile p;
  p.name = std::string(name);
  for (const TaskSpec& t : AllTasks())
    p.tokens_to_generate[std::string(t.name)] = t.tokens_to_generate;
  if (name == "ruler") return p;
  if (name == "star-attention") {
    p.cwe_freq_cw = 300;
    p.cwe_freq_ucw = 30;
    p.tokens_to_generate["fwe"] = 120;
    p.split = ContextSplit::kAfterContextLine;
    return p;
  }
  Fail("unknown RULER profile '{}' (RULER profiles: {})", name, fmt::join(ProfileNames(), ", "));
}

const std::vector<std::string>& ProfileKeys() {
  static const std::vector<std::string> keys = {"cwe_freq_cw", "cwe_freq_ucw", "tokens_to_generate",
                                                "split"};
  return keys;
}

void SetProfileValue(Profile& p, std::string_view key, const nlohmann::json& value) {
  // The named profile's own value: a setting that differs from it is an override.
  const Profile named = ProfileNamed(p.name);
  const nlohmann::json own = OwnValue(named, key);
  if (own.is_null()) {
    Fail("'{}' is not a RULER profile setting (settings: {})", key, fmt::join(ProfileKeys(), ", "));
  }
  if (key == "cwe_freq_cw") {
    p.cwe_freq_cw = PositiveInt(key, value);
  } else if (key == "cwe_freq_ucw") {
    p.cwe_freq_ucw = PositiveInt(key, value);
  } else if (key == "split") {
    const std::string s = value.is_string() ? value.get<std::string>() : value.dump();
    if (s == "context") {
      p.split = ContextSplit::kAfterContext;
    } else if (s == "context-line") {
      p.split = ContextSplit::kAfterContextLine;
    } else {
      Fail(
          "split: '{}' is not a split (context: right after {{context}}; context-line: after "
          "the newlines that follow it)",
          s);
    }
  } else {  // tokens_to_generate
    if (!value.is_object() || value.empty()) {
      Fail("tokens_to_generate: expected an object task -> tokens, e.g. {{\"fwe\": 120}}, got {}",
           value.dump());
    }
    for (const auto& [task, n] : value.items()) {
      if (FindTask(task) == nullptr) {
        Fail("tokens_to_generate: '{}' is not a RULER task", Printable(task));
      }
      const int tokens = PositiveInt("tokens_to_generate." + task, n);
      p.tokens_to_generate[task] = tokens;
      nlohmann::json& o = p.overrides[std::string(key)];
      if (tokens != named.tokens_to_generate.at(task)) {
        o[task] = tokens;
      } else if (o.is_object()) {
        o.erase(task);
      }
      if (o.empty()) p.overrides.erase(std::string(key));
    }
    return;
  }
  if (OwnValue(p, key) != own) {
    p.overrides[std::string(key)] = value;
  } else {
    p.overrides.erase(std::string(key));
  }
}

nlohmann::ordered_json ProfileJson(const Profile& p) {
  nlohmann::ordered_json settings;
  for (const std::string& key : ProfileKeys()) settings[key] = OwnValue(p, key);
  nlohmann::ordered_json overrides = nlohmann::ordered_json::object();
  for (const auto& [k, v] : p.overrides) overrides[k] = v;
  return {{"profile", p.name}, {"settings", settings}, {"overrides", overrides}};
}

bool IsPlainDefault(const Profile& p) { return p.name == kDefaultProfile && p.overrides.empty(); }

std::string_view ContextSplitName(ContextSplit s) {
  switch (s) {
    case ContextSplit::kAfterContext:
      return "context";
    case ContextSplit::kAfterContextLine:
      return "context-line";
  }
  return "context";
}

}  // namespace starattn::ruler
