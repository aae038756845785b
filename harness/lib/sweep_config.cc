#include "harness/lib/sweep_config.h"

#include <cctype>
#include <set>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"

namespace starattn::cli {
namespace {

bool IsNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// "L/4" -> 4; a positive integer -> its value via *tokens.
void ParseSize(const nlohmann::json& v, const std::string& where, int64_t* tokens, int64_t* div) {
  if (v.is_number_integer()) {
    *tokens = v.get<int64_t>();
    if (*tokens <= 0) Fail("{}: must be positive, got {}", where, *tokens);
    return;
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.size() > 2 && s.rfind("L/", 0) == 0 && IsNumber(s.substr(2))) {
      *div = std::stoll(s.substr(2));
      if (*div <= 0) Fail("{}: 'L/{}' must divide by a positive number", where, *div);
      return;
    }
  }
  Fail("{}: expected a token count or \"L/k\", got {}", where, v.dump());
}

}  // namespace

DistConfig SweepAttention::At(int64_t length_tokens) const {
  DistConfig c;
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
  if (IsNumber(length)) return std::stoll(length);
  if (length.size() > 1 && (length.back() == 'k' || length.back() == 'K') &&
      IsNumber(length.substr(0, length.size() - 1))) {
    const int64_t k = std::stoll(length.substr(0, length.size() - 1));
    return benchmark == "babilong" ? k * 1000 : k * 1024;
  }
  Fail("'{}' is not a length (e.g. 4096 or 4k)", length);
}

std::string LengthLabel(const std::string& length) {
  if (IsNumber(length)) {
    const int64_t n = std::stoll(length);
    return n % 1024 == 0 ? std::to_string(n / 1024) + "k" : length;
  }
  std::string s = length;
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

SweepConfig ParseSweepConfigJson(const nlohmann::json& j, const std::string& src) {
  if (!j.is_object()) Fail("{}: the sweep config must be a JSON object", src);
  static const std::set<std::string> known = {"name",    "description", "models",
                                              "ruler",   "babilong",    "attention",
                                              "samples", "seed",        "template",
                                              "tokens_to_generate"};
  for (const auto& [k, v] : j.items()) {
    if (!known.count(k)) Fail("{}: unknown key '{}'", src, k);
  }
  SweepConfig c;
  c.source = src;
  c.raw = j;
  auto str = [&](const nlohmann::json& o, const char* key, const std::string& where) {
    if (!o.contains(key) || !o[key].is_string() || o[key].get<std::string>().empty()) {
      Fail("{}: {}'{}' must be a non-empty string", src, where, key);
    }
    return o[key].get<std::string>();
  };
  c.name = str(j, "name", "");
  if (c.name.find('/') != std::string::npos) Fail("{}: 'name' must not contain '/'", src);
  if (!j.contains("models") || !j["models"].is_array() || j["models"].empty()) {
    Fail("{}: 'models' must be a non-empty list", src);
  }
  std::set<std::string> labels;
  for (size_t i = 0; i < j["models"].size(); ++i) {
    const auto& m = j["models"][i];
    const std::string where = "models[" + std::to_string(i) + "].";
    if (!m.is_object()) Fail("{}: models[{}] must be an object", src, i);
    SweepModel sm{str(m, "label", where), str(m, "path", where)};
    if (!labels.insert(sm.label).second) Fail("{}: duplicate model label '{}'", src, sm.label);
    c.models.push_back(sm);
  }
  for (const char* bench : {"ruler", "babilong"}) {
    if (!j.contains(bench)) continue;
    const auto& b = j[bench];
    const std::string where = std::string(bench);
    if (!b.is_object()) Fail("{}: '{}' must be an object", src, bench);
    SweepBenchmark sb;
    sb.name = bench;
    for (const auto& [k, v] : b.items()) {
      if (k == "tasks") {
        if (!v.is_array() || v.empty()) Fail("{}: {}.tasks must be a non-empty list", src, where);
        for (const auto& t : v) {
          if (!t.is_string()) Fail("{}: {}.tasks: {} is not a string", src, where, t.dump());
          sb.tasks.push_back(t.get<std::string>());
        }
      } else if (k == "lengths") {
        if (!v.is_array() || v.empty()) Fail("{}: {}.lengths must be a non-empty list", src, where);
        for (const auto& l : v) {
          const std::string s = l.is_number_integer() ? std::to_string(l.get<int64_t>())
                                : l.is_string()       ? l.get<std::string>()
                                                      : std::string("?");
          int64_t tokens = 0;
          try {
            tokens = LengthTokens(bench, s);
          } catch (const Error& e) {
            Fail("{}: {}.lengths: {}", src, where, e.what());
          }
          if (tokens <= 0) Fail("{}: {}.lengths: {} is not positive", src, where, s);
          sb.lengths.push_back(s);
        }
      } else if (v.is_string()) {
        sb.data.emplace_back(k, v.get<std::string>());
      } else if (!v.is_null()) {
        Fail("{}: {}.{} must be a path string", src, where, k);
      }
    }
    if (sb.tasks.empty() || sb.lengths.empty()) {
      Fail("{}: {} needs 'tasks' and 'lengths'", src, where);
    }
    c.benchmarks.push_back(sb);
  }
  if (c.benchmarks.empty()) Fail("{}: name at least one benchmark ('ruler', 'babilong')", src);
  if (!j.contains("samples") || !j["samples"].is_number_integer() ||
      j["samples"].get<int64_t>() <= 0) {
    Fail("{}: 'samples' must be a positive integer", src);
  }
  c.samples = j["samples"].get<int64_t>();
  if (j.contains("seed")) {
    if (!j["seed"].is_number_unsigned()) Fail("{}: 'seed' must be a non-negative integer", src);
    c.seed = j["seed"].get<uint64_t>();
  }
  if (j.contains("template")) c.chat_template = str(j, "template", "");
  if (j.contains("tokens_to_generate") && !j["tokens_to_generate"].is_null()) {
    if (!j["tokens_to_generate"].is_number_integer() || j["tokens_to_generate"].get<int64_t>() <= 0) {
      Fail("{}: 'tokens_to_generate' must be a positive integer", src);
    }
    c.tokens_to_generate = j["tokens_to_generate"].get<int64_t>();
  }
  if (!j.contains("attention") || !j["attention"].is_array() || j["attention"].empty()) {
    Fail("{}: 'attention' must be a non-empty list", src);
  }
  std::set<std::string> attn_labels;
  for (size_t i = 0; i < j["attention"].size(); ++i) {
    const auto& a = j["attention"][i];
    const std::string where = "attention[" + std::to_string(i) + "]";
    if (!a.is_object()) Fail("{}: {} must be an object", src, where);
    static const std::set<std::string> akeys = {"label",       "mode",   "hosts",
                                                "block",       "anchor", "anchor_positions",
                                                "anchor_source"};
    for (const auto& [k, v] : a.items()) {
      if (!akeys.count(k)) Fail("{}: {}: unknown key '{}'", src, where, k);
    }
    SweepAttention sa;
    sa.label = str(a, "label", where + ".");
    if (sa.label.find('/') != std::string::npos) Fail("{}: {}.label must not contain '/'", src, where);
    if (!attn_labels.insert(sa.label).second) Fail("{}: duplicate attention label '{}'", src, sa.label);
    try {
      sa.mode = ParseAttnMode(str(a, "mode", where + "."));
      if (a.contains("anchor_positions")) {
        sa.anchor_positions = ParseAnchorPositions(str(a, "anchor_positions", where + "."));
      }
      if (a.contains("anchor_source")) {
        sa.anchor_source = ParseAnchorSource(str(a, "anchor_source", where + "."));
      }
    } catch (const Error& e) {
      Fail("{}: {}: {}", src, where, e.what());
    }
    if (a.contains("hosts")) {
      if (!a["hosts"].is_number_integer() || a["hosts"].get<int64_t>() < 1) {
        Fail("{}: {}.hosts must be a positive integer", src, where);
      }
      sa.hosts = a["hosts"].get<int>();
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
    c.attention.push_back(sa);
  }
  return c;
}

SweepConfig ParseSweepConfig(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ReadFileToString(path));
  } catch (const nlohmann::json::exception& e) {
    Fail("{}: invalid JSON: {}", path, e.what());
  }
  return ParseSweepConfigJson(j, path);
}

}  // namespace starattn::cli
