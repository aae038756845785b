// `starattn compare`: the regression gate. Pairs the samples of a baseline and a candidate run
// (same length, task and sample key; samples in only one side are counted, not used) and reports,
// per length x task and overall: both accuracies, the delta with a paired bootstrap confidence
// interval, and how often the two agree (identical cleaned predictions; identical per-sample
// scores). The candidate regresses when the upper bound of the overall CI of
// (candidate - baseline) is below -max_drop points. The benchmark profiles of both sides' paired
// samples are reported (report_profiles.h), with a warning when they differ: the delta then
// measures the profiles (prompts, lengths, matching) as well as the runs.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "harness/lib/report_data.h"
#include "harness/lib/report_profiles.h"
#include "harness/lib/stats.h"

namespace starattn::report {

// Exit codes of `starattn compare`.
inline constexpr int kComparePass = 0;
inline constexpr int kCompareRegression = 1;
inline constexpr int kCompareUsageError = 2;

// The samples of a run: a pred.jsonl file, a <length> folder holding pred.jsonl, or a
// <model>/<attn> folder with <length>/pred.jsonl below it. Throws Error when there is none.
// Notes (e.g. a torn last line that was skipped) are appended to `notes` when given.
std::vector<ScoredSample> ReadRunSamples(const std::string& path,
                                         const ruler::MetricRegistry& metrics,
                                         std::vector<std::string>* notes = nullptr);

struct CompareOptions {
  double max_drop = 0;  // points (0-100)
  stats::BootstrapOptions bootstrap;
};

struct CompareRow {
  std::string length;   // "all" for the overall row
  std::string task;     // "overall" for the overall row
  double baseline = 0;  // accuracy (0-100) on the paired samples
  double candidate = 0;
  stats::Interval delta;          // points; n = paired samples
  double same_pred = 0;           // fraction of pairs with identical cleaned predictions
  double same_correct = 0;        // fraction of pairs with identical per-sample scores
  bool significant_drop = false;  // delta.hi < -max_drop
};

struct CompareResult {
  std::vector<CompareRow> rows;  // by length, then task
  CompareRow overall;            // over all pairs (each sample weighs the same)
  int64_t baseline_samples = 0;
  int64_t candidate_samples = 0;
  int64_t only_baseline = 0;
  int64_t only_candidate = 0;
  bool regression = false;  // overall.delta.hi < -max_drop
  // Benchmark -> profiles (and prompts hashes) of the paired samples of each side.
  std::map<std::string, std::set<std::string>> baseline_profiles, candidate_profiles;
  std::map<std::string, std::set<std::string>> baseline_prompts, candidate_prompts;
  std::vector<std::string> warnings;  // profiles or prompts that differ between the sides
};

// Throws Error when no sample is in both.
CompareResult Compare(const std::vector<ScoredSample>& baseline,
                      const std::vector<ScoredSample>& candidate, const CompareOptions& options);

// The table and the verdict line, as printed.
std::string RenderCompare(const CompareResult& r, const CompareOptions& options,
                          const std::string& baseline_name, const std::string& candidate_name);
nlohmann::ordered_json CompareJson(const CompareResult& r, const CompareOptions& options,
                                   const std::string& baseline_name,
                                   const std::string& candidate_name);

}  // namespace starattn::report
