#include "harness/lib/sweep_config.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/parse.h"
#include "harness/lib/attn_options.h"
#include "harness/lib/profiles.h"

namespace fs = std::filesystem;

namespace starattn::cli {
namespace {

bool IsNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// "L/4" -> 4 via *div; a positive integer -> its value via *tokens.
void ParseSize(const nlohmann::json& v, const std::string& where, int64_t* tokens, int64_t* div) {
  if (v.is_number()) {
    *tokens = JsonInt(v, where, 1);
    return;
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.size() > 2 && s.rfind("L/", 0) == 0) {
      *div = ParseInt(s.substr(2), where + " (L/k)", 1);
      return;
    }
  }
  Fail("{}: expected a token count or \"L/k\", got {}", where, JsonSnippet(v));
}

}  // namespace

DistConfig SweepAttention::At(int64_t length_tokens) const {
  DistConfig c = sparse;
  c.mode = mode;
  c.hosts = hosts;
  c.anchor_positions = anchor_positions;
  c.anchor_source = anchor_source;
  if (mode == AttnMode::kStar) {
    c.block_size = block_div > 0 ? length_tokens / block_div : block_tokens;
    c.anchor_size = anchor_div > 0 ? length_tokens / anchor_div : anchor_tokens;
  }
  return c;
}

int64_t LengthTokens(const std::string& benchmark, const std::string& length) {
  return ParseLength(length, "length",
                     benchmark == "babilong" ? LengthRule::kBabilong : LengthRule::kRuler);
}

std::string LengthLabel(const std::string& length) {
  if (IsNumber(length)) {
    const int64_t n = ParseInt(length, "length", 1);
    return n % 1024 == 0 ? std::to_string(n / 1024) + "k" : length;
  }
  std::string s = length;
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

namespace {

// o[key] as a non-empty string; `where` prefixes the key in the error ("models[0].").
std::string NonEmptyString(const nlohmann::json& o, const char* key, const std::string& src,
                           const std::string& where) {
  if (!o.contains(key) || !o[key].is_string() || o[key].get<std::string>().empty()) {
    Fail("{}: {}'{}' must be a non-empty string", src, where, key);
  }
  return o[key].get<std::string>();
}

// o[key] as a label that names one directory of the results tree (OUT/<model>/<attention>/...):
// non-empty, not "." or "..", no '/' or NUL.
std::string DirLabel(const nlohmann::json& o, const char* key, const std::string& src,
                     const std::string& where) {
  const std::string label = NonEmptyString(o, key, src, where);
  if (label == "." || label == ".." ||
      label.find_first_of(std::string("/\0", 2)) != std::string::npos) {
    Fail("{}: {}'{}' must name one directory (no '/', not '.' or '..'), got '{}'", src, where, key,
         Printable(label, 40));
  }
  return label;
}

void RejectUnknownKeys(const nlohmann::json& o, const std::set<std::string>& known,
                       const std::string& src, const std::string& where) {
  for (const auto& [k, v] : o.items()) {
    if (!known.count(k)) Fail("{}: {}unknown key '{}'", src, where, k);
  }
}

std::vector<SweepModel> ParseModels(const nlohmann::json& j, const std::string& src) {
  if (!j.contains("models") || !j["models"].is_array() || j["models"].empty()) {
    Fail("{}: 'models' must be a non-empty list", src);
  }
  std::vector<SweepModel> models;
  std::set<std::string> labels;
  for (size_t i = 0; i < j["models"].size(); ++i) {
    const auto& m = j["models"][i];
    const std::string where = "models[" + std::to_string(i) + "].";
    if (!m.is_object()) Fail("{}: models[{}] must be an object", src, i);
    SweepModel sm{DirLabel(m, "label", src, where), NonEmptyString(m, "path", src, where)};
    if (!labels.insert(sm.label).second) Fail("{}: duplicate model label '{}'", src, sm.label);
    models.push_back(sm);
  }
  return models;
}

// The data options each generator takes (datagen.h), by benchmark.
const std::set<std::string>& DataKeys(const std::string& bench) {
  static const std::set<std::string> ruler = {"essays", "books", "wordlists", "squad", "hotpotqa"};
  static const std::set<std::string> babilong = {"babi", "books"};
  return bench == "ruler" ? ruler : babilong;
}

// The profile settings each benchmark takes (ruler/profile.h, babilong/profile.h).
const std::vector<std::string>& SettingKeys(const std::string& bench) {
  return bench == "ruler" ? ruler::ProfileKeys() : babilong::ProfileKeys();
}

// The benchmark's profile with its settings: one-line errors naming the key.
void ParseProfile(SweepBenchmark& sb, const std::string& src) {
  try {
    if (sb.name == "ruler") {
      MakeRulerProfile(sb.profile, sb.settings);
    } else {
      babilong::CheckProfile(MakeBabilongProfile(sb.profile, sb.settings));
    }
  } catch (const Error& e) {
    Fail("{}: {}: {}", src, sb.name, e.what());
  }
}

SweepBenchmark ParseBenchmark(const nlohmann::json& b, const std::string& bench,
                              const std::string& src) {
  if (!b.is_object()) Fail("{}: '{}' must be an object", src, bench);
  SweepBenchmark sb;
  sb.name = bench;
  sb.profile = std::string(bench == "ruler" ? ruler::kDefaultProfile : babilong::kDefaultProfile);
  const std::vector<std::string>& settings = SettingKeys(bench);
  for (const auto& [k, v] : b.items()) {
    if (k == "profile") {
      if (!v.is_string() || v.get<std::string>().empty()) {
        Fail("{}: {}.profile must be a non-empty string", src, bench);
      }
      sb.profile = v.get<std::string>();
      continue;
    }
    if (std::find(settings.begin(), settings.end(), k) != settings.end()) {
      sb.settings[k] = v;
      continue;
    }
    if (k == "tasks") {
      if (!v.is_array() || v.empty()) Fail("{}: {}.tasks must be a non-empty list", src, bench);
      for (const auto& t : v) {
        if (!t.is_string()) Fail("{}: {}.tasks: {} is not a string", src, bench, JsonSnippet(t));
        sb.tasks.push_back(t.get<std::string>());
      }
    } else if (k == "lengths") {
      if (!v.is_array() || v.empty()) Fail("{}: {}.lengths must be a non-empty list", src, bench);
      for (const auto& l : v) {
        if (!l.is_number_integer() && !l.is_string()) {
          Fail("{}: {}.lengths: {} is not a length (a token count like 4096, or \"4k\")", src,
               bench, JsonSnippet(l));
        }
        const std::string s = l.is_string() ? l.get<std::string>() : l.dump();
        int64_t tokens = 0;
        try {
          tokens = LengthTokens(bench, s);
        } catch (const Error& e) {
          Fail("{}: {}.lengths: {}", src, bench, e.what());
        }
        if (tokens <= 0) Fail("{}: {}.lengths: {} is not positive", src, bench, s);
        sb.lengths.push_back(s);
      }
    } else if (!DataKeys(bench).count(k)) {
      Fail("{}: {}: unknown key '{}' (tasks, lengths, profile, data: {}; profile settings: {})",
           src, bench, k, fmt::join(DataKeys(bench), ", "), fmt::join(settings, ", "));
    } else if (v.is_string()) {
      sb.data.emplace_back(k, v.get<std::string>());
    } else if (!v.is_null()) {
      Fail("{}: {}.{} must be a path string", src, bench, k);
    }
  }
  if (sb.tasks.empty() || sb.lengths.empty()) {
    Fail("{}: {} needs 'tasks' and 'lengths'", src, bench);
  }
  ParseProfile(sb, src);
  return sb;
}

// Hosts of one attention entry: more than any cluster (a count that would not fit an int).
constexpr int64_t kMaxSweepHosts = 1 << 20;

// samples, seed, template, tokens_to_generate.
void ParseRunSettings(const nlohmann::json& j, const std::string& src, SweepConfig& c) {
  // A positive integer up to `max`, else one error naming the key and the value.
  auto positive = [&](const nlohmann::json& v, const char* key, int64_t max) {
    try {
      return JsonInt(v, key, 1, max);
    } catch (const Error&) {
      Fail("{}: '{}' must be a positive integer (at most {}), got {}", src, key, max,
           JsonSnippet(v));
    }
  };
  if (!j.contains("samples")) Fail("{}: 'samples' must be a positive integer", src);
  c.samples = positive(j["samples"], "samples", int64_t{1} << 40);
  if (j.contains("seed")) {
    if (!j["seed"].is_number_unsigned()) Fail("{}: 'seed' must be a non-negative integer", src);
    c.seed = j["seed"].get<uint64_t>();
  }
  if (j.contains("template")) c.chat_template = NonEmptyString(j, "template", src, "");
  if (j.contains("tokens_to_generate") && !j["tokens_to_generate"].is_null()) {
    c.tokens_to_generate =
        positive(j["tokens_to_generate"], "tokens_to_generate", int64_t{1} << 20);
  }
}

SweepAttention ParseAttention(const nlohmann::json& a, const std::string& src,
                              const std::string& where) {
  if (!a.is_object()) Fail("{}: {} must be an object", src, where);
  std::set<std::string> keys = {
      "label", "mode", "hosts", "block", "anchor", "anchor_positions", "anchor_source"};
  keys.insert(kSparseJsonKeys.begin(), kSparseJsonKeys.end());
  RejectUnknownKeys(a, keys, src, where + ": ");
  SweepAttention sa;
  sa.label = DirLabel(a, "label", src, where + ".");
  try {
    sa.mode = ParseAttnMode(NonEmptyString(a, "mode", src, where + "."));
    if (a.contains("anchor_positions")) {
      sa.anchor_positions =
          ParseAnchorPositions(NonEmptyString(a, "anchor_positions", src, where + "."));
    }
    if (a.contains("anchor_source")) {
      sa.anchor_source = ParseAnchorSource(NonEmptyString(a, "anchor_source", src, where + "."));
    }
  } catch (const Error& e) {
    Fail("{}: {}: {}", src, where, e.what());
  }
  if (a.contains("hosts")) {
    try {
      sa.hosts = static_cast<int>(JsonInt(a["hosts"], "hosts", 1, kMaxSweepHosts));
    } catch (const Error&) {
      Fail("{}: {}.hosts must be a positive integer (at most {}), got {}", src, where,
           kMaxSweepHosts, JsonSnippet(a["hosts"]));
    }
  }
  if (sa.mode == AttnMode::kDense && sa.hosts != 1) {
    Fail("{}: {}: dense attention runs on one host, got hosts {}", src, where, sa.hosts);
  }
  if (sa.mode == AttnMode::kStar) {
    if (!a.contains("block")) Fail("{}: {}: star needs 'block' (tokens or \"L/k\")", src, where);
    ParseSize(a["block"], src + ": " + where + ".block", &sa.block_tokens, &sa.block_div);
    if (a.contains("anchor") && !(a["anchor"].is_string() && a["anchor"] == "block")) {
      ParseSize(a["anchor"], src + ": " + where + ".anchor", &sa.anchor_tokens, &sa.anchor_div);
    }
  } else if (a.contains("block") || a.contains("anchor")) {
    Fail("{}: {}: 'block' and 'anchor' apply to star only", src, where);
  }
  SparseSettings s = SparseSettingsFromJson(a, src + ": " + where);
  if (!s.mask_file.empty() && fs::path(s.mask_file).is_relative()) {
    s.mask_file = (fs::path(src).parent_path() / s.mask_file).string();
  }
  try {
    sa.sparse.mode = sa.mode;
    ApplySparseSettings(s, &sa.sparse);
  } catch (const Error& e) {
    Fail("{}: {}: {}", src, where, e.what());
  }
  return sa;
}

}  // namespace

SweepConfig ParseSweepConfigJson(const nlohmann::json& j, const std::string& src) {
  if (!j.is_object()) Fail("{}: the sweep config must be a JSON object", src);
  RejectUnknownKeys(j,
                    {"name", "description", "models", "ruler", "babilong", "attention", "samples",
                     "seed", "template", "tokens_to_generate"},
                    src, "");
  SweepConfig c;
  c.source = src;
  c.raw = j;
  c.name = DirLabel(j, "name", src, "");
  c.models = ParseModels(j, src);
  for (const char* bench : {"ruler", "babilong"}) {
    if (j.contains(bench)) c.benchmarks.push_back(ParseBenchmark(j[bench], bench, src));
  }
  if (c.benchmarks.empty()) Fail("{}: name at least one benchmark ('ruler', 'babilong')", src);
  ParseRunSettings(j, src, c);
  if (!j.contains("attention") || !j["attention"].is_array() || j["attention"].empty()) {
    Fail("{}: 'attention' must be a non-empty list", src);
  }
  std::set<std::string> labels;
  for (size_t i = 0; i < j["attention"].size(); ++i) {
    c.attention.push_back(
        ParseAttention(j["attention"][i], src, "attention[" + std::to_string(i) + "]"));
    if (!labels.insert(c.attention.back().label).second) {
      Fail("{}: duplicate attention label '{}'", src, c.attention.back().label);
    }
  }
  return c;
}

SweepConfig ParseSweepConfig(const std::string& path) {
  return ParseSweepConfigJson(ParseJson(ReadFileToString(path), path), path);
}

}  // namespace starattn::cli
