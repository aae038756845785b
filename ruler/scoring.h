// Scoring predictions: RULER's metrics (scripts/eval/synthetic/constants.py and evaluate.py of
// the reference) behind a benchmark-agnostic registry, so that `starattn eval` and the harness
// sweep can score any benchmark whose metric is registered.
//
// Metric per task: `DefaultMetricForTask` (RULER's names -> string_match_all / string_match_part,
// BABILong's qa1..qa20 -> "babilong"), or chosen explicitly (eval --metric).
//
// Hook for other benchmarks: a metric is a MetricFn registered by name in the process-wide
// registry GlobalMetrics(), which `starattn eval` scores with. RULER's two metrics are in it from
// the start. BABILong registers its scorer as "babilong" (kBabilongMetric) before eval runs, e.g.
// from BabilongCommands() in harness/babilong_commands.cc:
//     ruler::GlobalMetrics().Add(std::string(ruler::kBabilongMetric), &babilong::ScorePredictions);
// where babilong::ScorePredictions is a MetricFn (each Prediction carries the whole JSON line in
// `record`, e.g. for the question).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace starattn::ruler {

// One scored line of a prediction file (read by harness/lib/records.h).
struct Prediction {
  std::string task;
  int64_t index = 0;
  std::string pred;                     // as generated (not yet cleaned)
  std::vector<std::string> references;  // `outputs`, or [`output`]
  int64_t length_limit = -1;            // from the record when present
  nlohmann::json record;                // the whole line, for metrics that need more fields
};

// A metric: the task score (0..100) of a task's predictions.
using MetricFn = std::function<double(const std::vector<Prediction>& predictions)>;

inline constexpr std::string_view kStringMatchAll = "string_match_all";
inline constexpr std::string_view kStringMatchPart = "string_match_part";
inline constexpr std::string_view kBabilongMetric = "babilong";

class MetricRegistry {
 public:
  // Replaces a metric of the same name.
  void Add(std::string name, MetricFn fn);
  // nullptr when absent.
  const MetricFn* Find(std::string_view name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, MetricFn, std::less<>> metrics_;
};

// string_match_all and string_match_part.
MetricRegistry RulerMetrics();
// The registry `starattn eval` uses: RulerMetrics() plus whatever other benchmarks add.
MetricRegistry& GlobalMetrics();

// The metric a task is scored with by default; "" when the task name is not known.
std::string DefaultMetricForTask(std::string_view task);

// The reference's prediction clean-up: strip, every control character [\x00-\x1f] -> "\n", strip.
std::string CleanPrediction(std::string_view pred);

// RULER's metrics over cleaned predictions, rounded as the reference: round(x, 2).
//  string_match_all: mean over samples of the fraction of references r with
//                    r.lower() in pred.lower(), x100.
//  string_match_part: mean over samples of 1 if any reference matches, x100.
double StringMatchAll(const std::vector<std::string>& preds,
                      const std::vector<std::vector<std::string>>& refs);
double StringMatchPart(const std::vector<std::string>& preds,
                       const std::vector<std::vector<std::string>>& refs);

// Python's round(x, 2).
double Round2(double x);
// Python's repr of a float (shortest round-trip form, "100.0" for integers).
std::string PyFloatRepr(double x);

struct TaskScore {
  std::string task;
  std::string metric;
  double score = 0;
  int64_t nulls = 0;  // empty predictions after clean-up
  int64_t total = 0;
  int64_t length_limit = -1;  // when every record agrees, else -1
};

// Scores predictions grouped by task (RULER's 13 in the reference's order first, then the others
// in order of appearance). metric_for_task overrides the default metric of a task ("*" for all).
// Throws Error when a task has no metric or its metric is not registered.
std::vector<TaskScore> ScorePredictions(const std::vector<Prediction>& predictions,
                                        const MetricRegistry& metrics,
                                        const std::map<std::string, std::string>& metric_for_task);

// summary.csv as the reference writes it (pandas: a header row of column numbers, then the rows
// Tasks, Score, Nulls ("empty/total")).
std::string SummaryCsv(const std::vector<TaskScore>& scores);
// summary.json: every task's score, metric, nulls, total and length; the average over the scored
// tasks; and the RULER tasks absent from the average, by name.
nlohmann::ordered_json SummaryJson(const std::vector<TaskScore>& scores);

}  // namespace starattn::ruler
