#include "harness/lib/report_profiles.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace starattn::report {
namespace {

std::string Join(const std::set<std::string>& s, const char* sep) {
  return fmt::format("{}", fmt::join(s, sep));
}

// The haystack of a model's benchmark: the manifest's "data" (profile.json), else the data
// folder its config names (RULER: essays, else books), else "not recorded".
std::string HaystackOf(const nlohmann::json& manifest, const std::string& model,
                       const std::string& benchmark) {
  if (!manifest.is_object()) return "not recorded (no manifest.json)";
  if (const auto d = manifest.find("data"); d != manifest.end() && d->is_object()) {
    const auto m = d->find(model);
    if (m != d->end() && m->is_object() && m->contains(benchmark)) {
      const auto& info = (*m)[benchmark];
      if (info.is_object() && info.contains("haystack") && info["haystack"].is_string()) {
        return info["haystack"].get<std::string>();
      }
    }
  }
  if (const auto c = manifest.find("config"); c != manifest.end() && c->is_object()) {
    const auto b = c->find(benchmark);
    if (b != c->end() && b->is_object()) {
      for (const char* key : {"essays", "books"}) {
        if (benchmark == "babilong" && std::string(key) == "essays") continue;
        if (b->contains(key) && (*b)[key].is_string()) {
          return fmt::format("{} {} (from the config)", key, (*b)[key].get<std::string>());
        }
      }
      return "books data/books (the default; from the config)";
    }
  }
  return "not recorded";
}

}  // namespace

std::map<std::string, std::set<std::string>> ProfilesOf(const std::vector<ScoredSample>& samples) {
  std::map<std::string, std::set<std::string>> out;
  for (const ScoredSample& s : samples) {
    if (const std::string b = BenchmarkOfTask(s.task); !b.empty()) out[b].insert(s.profile);
  }
  return out;
}

std::map<std::string, std::set<std::string>> PromptsOf(const std::vector<ScoredSample>& samples) {
  std::map<std::string, std::set<std::string>> out;
  for (const ScoredSample& s : samples) {
    if (const std::string b = BenchmarkOfTask(s.task); b == "babilong") {
      out[b].insert(s.prompts_sha256.empty() ? "built-in" : s.prompts_sha256.substr(0, 12));
    }
  }
  return out;
}

std::string ProfilesText(const std::map<std::string, std::set<std::string>>& profiles) {
  std::string out;
  for (const auto& [bench, names] : profiles) {
    out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", bench, Join(names, " + "));
  }
  return out.empty() ? "none" : out;
}

std::vector<UnitData> DescribeUnits(const std::string& model,
                                    const std::vector<const ConfigRun*>& runs,
                                    const std::string& baseline, const nlohmann::json& manifest,
                                    std::vector<std::string>& warnings) {
  std::vector<UnitData> rows;
  // (length, benchmark) -> the baseline's profiles and prompts.
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> base;
  for (const ConfigRun* run : runs) {
    const auto profiles = ProfilesOf(run->file.samples);
    const auto prompts = PromptsOf(run->file.samples);
    for (const auto& [bench, names] : profiles) {
      UnitData u;
      u.config = run->attn;
      u.length = run->length;
      u.benchmark = bench;
      u.profile = Join(names, " + ");
      u.mixed = names.size() > 1;
      const auto p = prompts.find(bench);
      u.prompts = p == prompts.end() ? "-" : Join(p->second, " + ");
      u.haystack = HaystackOf(manifest, model, bench);
      if (u.mixed) {
        warnings.push_back(fmt::format(
            "{}/{}/{}: the {} samples come from different profiles ({}): the data changed "
            "between runs of this unit; its scores mix them",
            model, run->attn, run->length, bench, u.profile));
      }
      if (run->attn == baseline) base[{run->length, bench}] = {u.profile, u.prompts};
      rows.push_back(std::move(u));
    }
  }
  for (const UnitData& u : rows) {
    if (u.config == baseline) continue;
    const auto b = base.find({u.length, u.benchmark});
    if (b == base.end()) continue;
    if (b->second.first != u.profile || b->second.second != u.prompts) {
      warnings.push_back(fmt::format(
          "{}: {} at {} ({} profile {}, prompts {}) is compared with {} ({} profile {}, prompts "
          "{}): different profiles, so the deltas include the profiles' differences (prompts, "
          "lengths, matching), not only the attention's",
          model, u.config, u.length, u.benchmark, u.profile, u.prompts, baseline, u.benchmark,
          b->second.first, b->second.second));
    }
  }
  return rows;
}

std::string DataMarkdown(const std::vector<UnitData>& rows) {
  std::string md =
      "### Data\n\nThe benchmark profile, prompts file (SHA-256) and haystack of every unit.\n\n"
      "| length | config | benchmark | profile | prompts | haystack |\n"
      "|---|---|---|---|---|---|\n";
  for (const UnitData& u : rows) {
    md += fmt::format("| {} | {} | {} | {}{} | {} | {} |\n", u.length, u.config, u.benchmark,
                      u.profile, u.mixed ? " (mixed)" : "", u.prompts, u.haystack);
  }
  return md;
}

}  // namespace starattn::report
