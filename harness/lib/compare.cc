#include "harness/lib/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "engine/common/error.h"
#include "harness/lib/report.h"

namespace fs = std::filesystem;

namespace starattn::report {
namespace {

struct Pair {
  const ScoredSample* base;
  const ScoredSample* cand;
};

CompareRow RowOf(const std::vector<std::vector<Pair>>& groups, const CompareOptions& options) {
  CompareRow row;
  std::vector<std::vector<double>> diffs;
  int64_t n = 0;
  double base = 0, cand = 0, same_pred = 0, same_correct = 0;
  for (const auto& g : groups) {
    diffs.emplace_back();
    for (const Pair& p : g) {
      diffs.back().push_back(100 * (p.cand->score - p.base->score));
      base += p.base->score;
      cand += p.cand->score;
      same_pred += p.base->pred_clean == p.cand->pred_clean ? 1 : 0;
      same_correct += p.base->score == p.cand->score ? 1 : 0;
      ++n;
    }
  }
  const double dn = static_cast<double>(n);
  row.baseline = 100 * base / dn;
  row.candidate = 100 * cand / dn;
  row.same_pred = same_pred / dn;
  row.same_correct = same_correct / dn;
  row.delta = stats::PairedBootstrap(diffs, stats::Pooling::kSamples, options.bootstrap);
  row.significant_drop = row.delta.hi < -options.max_drop;
  return row;
}

std::string Pct(double fraction) { return fmt::format("{:.1f}%", 100 * fraction); }

nlohmann::ordered_json RowJson(const CompareRow& r) {
  nlohmann::ordered_json j;
  j["length"] = r.length;
  j["task"] = r.task;
  j["n"] = r.delta.n;
  j["baseline"] = r.baseline;
  j["candidate"] = r.candidate;
  j["delta"] = r.delta.estimate;
  j["ci_lo"] = r.delta.lo;
  j["ci_hi"] = r.delta.hi;
  j["same_pred"] = r.same_pred;
  j["same_correct"] = r.same_correct;
  j["significant_drop"] = r.significant_drop;
  return j;
}

}  // namespace

std::vector<ScoredSample> ReadRunSamples(const std::string& path,
                                         const ruler::MetricRegistry& metrics,
                                         std::vector<std::string>* notes) {
  auto read = [&](const std::string& file, const std::string& length) {
    PredictionFile f = ReadPredictionFile(file, metrics, length);
    if (f.torn_last_line && notes != nullptr) {
      notes->push_back(fmt::format(
          "{}: the last line is incomplete (a run in progress or killed): skipped", file));
    }
    return std::move(f.samples);
  };
  const fs::path p(path);
  if (fs::is_regular_file(p)) {
    const std::string fallback = p.parent_path().filename().string();
    return read(path, LengthTokens(fallback) > 0 ? fallback : "");
  }
  if (!fs::is_directory(p)) Fail("{}: no such file or directory", path);
  if (fs::is_regular_file(p / "pred.jsonl")) {
    return read((p / "pred.jsonl").string(), p.filename().string());
  }
  std::vector<std::string> lengths;
  for (const auto& e : fs::directory_iterator(p)) {
    if (e.is_directory() && fs::is_regular_file(e.path() / "pred.jsonl")) {
      lengths.push_back(e.path().filename().string());
    }
  }
  if (lengths.empty()) {
    Fail(
        "{}: no predictions (expected a pred.jsonl file, a <length> folder holding one, or a "
        "<model>/<attn> folder with <length>/pred.jsonl below it)",
        path);
  }
  SortLengths(lengths);
  std::vector<ScoredSample> out;
  std::map<std::string, std::string> seen;  // pair key -> file
  for (const std::string& l : lengths) {
    const std::string file = (p / l / "pred.jsonl").string();
    for (ScoredSample& s : read(file, l)) {
      if (const auto [it, fresh] = seen.emplace(s.PairKey(), file); !fresh) {
        Fail("{}: sample {} (length {}) is also in {}", file, s.key, s.length, it->second);
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

CompareResult Compare(const std::vector<ScoredSample>& baseline,
                      const std::vector<ScoredSample>& candidate, const CompareOptions& options) {
  CompareResult r;
  r.baseline_samples = static_cast<int64_t>(baseline.size());
  r.candidate_samples = static_cast<int64_t>(candidate.size());
  std::unordered_map<std::string, const ScoredSample*> by_key;
  for (const auto& s : baseline) by_key[s.PairKey()] = &s;
  // (length, task) -> pairs, ordered by length then task.
  auto less = [](const std::pair<std::string, std::string>& a,
                 const std::pair<std::string, std::string>& b) {
    if (a.first != b.first) return LengthLess(a.first, b.first);
    return TaskLess(a.second, b.second);
  };
  std::map<std::pair<std::string, std::string>, std::vector<Pair>, decltype(less)> groups(less);
  int64_t paired = 0;
  for (const auto& s : candidate) {
    const auto it = by_key.find(s.PairKey());
    if (it == by_key.end()) {
      ++r.only_candidate;
      continue;
    }
    groups[{s.length, s.task}].push_back({it->second, &s});
    ++paired;
  }
  r.only_baseline = r.baseline_samples - paired;
  if (paired == 0) {
    Fail(
        "no sample is in both runs ({} baseline, {} candidate samples): compare runs of the "
        "same task files",
        r.baseline_samples, r.candidate_samples);
  }
  std::vector<std::vector<Pair>> all;
  for (const auto& [key, pairs] : groups) {
    CompareRow row = RowOf({pairs}, options);
    row.length = key.first;
    row.task = key.second;
    r.rows.push_back(std::move(row));
    all.push_back(pairs);
  }
  r.overall = RowOf(all, options);
  r.overall.length = "all";
  r.overall.task = "overall";
  r.regression = r.overall.significant_drop;
  std::vector<ScoredSample> base_paired, cand_paired;
  for (const auto& pairs : all) {
    for (const Pair& p : pairs) {
      base_paired.push_back(*p.base);
      cand_paired.push_back(*p.cand);
    }
  }
  r.baseline_profiles = ProfilesOf(base_paired);
  r.candidate_profiles = ProfilesOf(cand_paired);
  r.baseline_prompts = PromptsOf(base_paired);
  r.candidate_prompts = PromptsOf(cand_paired);
  if (r.baseline_profiles != r.candidate_profiles) {
    r.warnings.push_back(fmt::format(
        "the runs come from different profiles (baseline {}; candidate {}): the delta includes "
        "the profiles' differences (prompts, lengths, matching), not only the runs'",
        ProfilesText(r.baseline_profiles), ProfilesText(r.candidate_profiles)));
  } else if (r.baseline_prompts != r.candidate_prompts) {
    r.warnings.push_back(fmt::format(
        "the runs use different prompts files (baseline {}; candidate {}): the delta includes "
        "the prompts' differences",
        ProfilesText(r.baseline_prompts), ProfilesText(r.candidate_prompts)));
  }
  return r;
}

std::string RenderCompare(const CompareResult& r, const CompareOptions& options,
                          const std::string& baseline_name, const std::string& candidate_name) {
  const auto& boot = options.bootstrap;
  const int ci = static_cast<int>(std::lround(boot.confidence * 100));
  std::string out = fmt::format(
      "baseline:  {} ({} samples)\ncandidate: {} ({} samples)\n"
      "paired: {} samples; unmatched: {} only in baseline, {} only in candidate\n"
      "paired bootstrap: {}% CI, {} resamples, seed {}\n\n",
      baseline_name, r.baseline_samples, candidate_name, r.candidate_samples, r.overall.delta.n,
      r.only_baseline, r.only_candidate, ci, boot.resamples, boot.seed);
  out.insert(out.size() - 1,
             fmt::format("profiles: baseline {}; candidate {}\n", ProfilesText(r.baseline_profiles),
                         ProfilesText(r.candidate_profiles)));
  for (const std::string& w : r.warnings) out.insert(out.size() - 1, "warning: " + w + "\n");
  out += fmt::format(
      "| length | task | n | baseline | candidate | delta | {}% CI | same pred | "
      "same correct | |\n",
      ci);
  out += "|---|---|---:|---:|---:|---:|---|---:|---:|---|\n";
  auto line = [&](const CompareRow& row, bool bold) {
    const std::string b = bold ? "**" : "";
    return fmt::format("| {} | {}{}{} | {} | {} | {} | {}{}{} | [{}, {}] | {} | {} | {} |\n",
                       row.length, b, row.task, b, row.delta.n, Fixed2(row.baseline),
                       Fixed2(row.candidate), b, Signed2(row.delta.estimate), b,
                       Signed2(row.delta.lo), Signed2(row.delta.hi), Pct(row.same_pred),
                       Pct(row.same_correct), row.significant_drop ? "drop" : "");
  };
  for (const CompareRow& row : r.rows) out += line(row, false);
  out += line(r.overall, true);
  out += fmt::format(
      "\nresult: {}: overall delta {} points, {}% CI [{}, {}]; a regression is an upper bound "
      "below {} (--max-drop {})\n",
      r.regression ? "REGRESSION" : "PASS", Signed2(r.overall.delta.estimate), ci,
      Signed2(r.overall.delta.lo), Signed2(r.overall.delta.hi), Fixed2(-options.max_drop),
      Fixed2(options.max_drop));
  return out;
}

nlohmann::ordered_json CompareJson(const CompareResult& r, const CompareOptions& options,
                                   const std::string& baseline_name,
                                   const std::string& candidate_name) {
  nlohmann::ordered_json j;
  j["baseline"] = baseline_name;
  j["candidate"] = candidate_name;
  j["result"] = r.regression ? "regression" : "pass";
  j["max_drop"] = options.max_drop;
  j["confidence"] = options.bootstrap.confidence;
  j["resamples"] = options.bootstrap.resamples;
  j["seed"] = options.bootstrap.seed;
  j["baseline_samples"] = r.baseline_samples;
  j["candidate_samples"] = r.candidate_samples;
  j["paired"] = r.overall.delta.n;
  j["only_baseline"] = r.only_baseline;
  j["only_candidate"] = r.only_candidate;
  auto sets = [](const std::map<std::string, std::set<std::string>>& m) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (const auto& [bench, names] : m) o[bench] = names;
    return o;
  };
  j["profiles"] = {{"baseline", sets(r.baseline_profiles)},
                   {"candidate", sets(r.candidate_profiles)}};
  j["prompts"] = {{"baseline", sets(r.baseline_prompts)}, {"candidate", sets(r.candidate_prompts)}};
  j["warnings"] = r.warnings;
  j["overall"] = RowJson(r.overall);
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& row : r.rows) rows.push_back(RowJson(row));
  j["rows"] = std::move(rows);
  return j;
}

}  // namespace starattn::report
