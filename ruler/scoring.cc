#include "ruler/scoring.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "engine/common/error.h"
#include "engine/common/utf8.h"
#include "ruler/tasks.h"
#include "ruler/text.h"

namespace starattn::ruler {
namespace {

std::vector<std::string> Cleaned(const std::vector<Prediction>& ps) {
  std::vector<std::string> out;
  out.reserve(ps.size());
  for (const Prediction& p : ps) out.push_back(CleanPrediction(p.pred));
  return out;
}

std::vector<std::vector<std::string>> References(const std::vector<Prediction>& ps) {
  std::vector<std::vector<std::string>> out;
  out.reserve(ps.size());
  for (const Prediction& p : ps) out.push_back(p.references);
  return out;
}

// r.lower() in pred.lower(), with pred already lowered.
bool Contains(const std::string& pred_lower, const std::string& ref) {
  return pred_lower.find(utf8::PyLower(ref)) != std::string::npos;
}

void CheckShapes(const std::vector<std::string>& preds,
                 const std::vector<std::vector<std::string>>& refs) {
  if (preds.size() != refs.size())
    Fail("{} predictions but {} references", preds.size(), refs.size());
  if (preds.empty()) Fail("no predictions to score");
  for (size_t i = 0; i < refs.size(); ++i) {
    if (refs[i].empty()) Fail("prediction {} has no references", i);
  }
}

bool IsBabilongTask(std::string_view task) {
  if (!task.starts_with("qa") || task.size() < 3 || task.size() > 4) return false;
  int n = 0;
  for (const char c : task.substr(2)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return task[2] != '0' && n >= 1 && n <= 20;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  return fmt::format("\"{}\"", ReplaceAll(s, "\"", "\"\""));
}

}  // namespace

void MetricRegistry::Add(std::string name, MetricFn fn) {
  metrics_[std::move(name)] = std::move(fn);
}

const MetricFn* MetricRegistry::Find(std::string_view name) const {
  auto it = metrics_.find(name);
  return it == metrics_.end() ? nullptr : &it->second;
}

std::vector<std::string> MetricRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, fn] : metrics_) names.push_back(name);
  return names;
}

MetricRegistry RulerMetrics() {
  MetricRegistry r;
  r.Add(std::string(kStringMatchAll), [](const std::vector<Prediction>& ps) {
    return StringMatchAll(Cleaned(ps), References(ps));
  });
  r.Add(std::string(kStringMatchPart), [](const std::vector<Prediction>& ps) {
    return StringMatchPart(Cleaned(ps), References(ps));
  });
  return r;
}

MetricRegistry& GlobalMetrics() {
  static MetricRegistry registry = RulerMetrics();
  return registry;
}

std::string DefaultMetricForTask(std::string_view task) {
  if (const TaskSpec* spec = FindTask(task); spec != nullptr) {
    return std::string(spec->kind == TaskKind::kQa ? kStringMatchPart : kStringMatchAll);
  }
  if (IsBabilongTask(task)) return std::string(kBabilongMetric);
  return "";
}

std::string CleanPrediction(std::string_view pred) {
  std::string s(utf8::PyStrip(pred));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = '\n';
  }
  return std::string(utf8::PyStrip(s));
}

double StringMatchAll(const std::vector<std::string>& preds,
                      const std::vector<std::vector<std::string>>& refs) {
  CheckShapes(preds, refs);
  // Same operation order as the reference: sum(sum(hits) / len(ref)) / len(preds) * 100.
  double total = 0;
  for (size_t i = 0; i < preds.size(); ++i) {
    const std::string lower = utf8::PyLower(preds[i]);
    double hits = 0;
    for (const std::string& r : refs[i]) hits += Contains(lower, r) ? 1.0 : 0.0;
    total += hits / static_cast<double>(refs[i].size());
  }
  return Round2(total / static_cast<double>(preds.size()) * 100);
}

double StringMatchPart(const std::vector<std::string>& preds,
                       const std::vector<std::vector<std::string>>& refs) {
  CheckShapes(preds, refs);
  double total = 0;
  for (size_t i = 0; i < preds.size(); ++i) {
    const std::string lower = utf8::PyLower(preds[i]);
    double best = 0;
    for (const std::string& r : refs[i]) best = std::max(best, Contains(lower, r) ? 1.0 : 0.0);
    total += best;
  }
  return Round2(total / static_cast<double>(preds.size()) * 100);
}

double Round2(double x) {
  // fmt rounds the exact binary value correctly, as Python's round(x, 2) does.
  return std::stod(fmt::format("{:.2f}", x));
}

std::string PyFloatRepr(double x) {
  std::string s = fmt::format("{}", x);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::vector<TaskScore> ScorePredictions(const std::vector<Prediction>& predictions,
                                        const MetricRegistry& metrics,
                                        const std::map<std::string, std::string>& metric_for_task) {
  // Task order: RULER's 13 in the reference's order, then the others as they first appear.
  std::vector<std::string> order;
  for (const TaskSpec& t : AllTasks()) order.emplace_back(t.name);
  for (const Prediction& p : predictions) {
    if (std::find(order.begin(), order.end(), p.task) == order.end()) order.push_back(p.task);
  }
  std::vector<TaskScore> scores;
  for (const std::string& task : order) {
    std::vector<Prediction> group;
    std::set<int64_t> lengths;
    for (const Prediction& p : predictions) {
      if (p.task == task) {
        group.push_back(p);
        lengths.insert(p.length_limit);
      }
    }
    if (group.empty()) continue;
    if (lengths.size() > 1) {
      Fail("task {} has predictions of several lengths ({}): score each length on its own", task,
           fmt::join(lengths, ", "));
    }
    TaskScore s;
    s.task = task;
    if (auto it = metric_for_task.find(task); it != metric_for_task.end()) {
      s.metric = it->second;
    } else if (auto all = metric_for_task.find("*"); all != metric_for_task.end()) {
      s.metric = all->second;
    } else {
      s.metric = DefaultMetricForTask(task);
    }
    if (s.metric.empty()) {
      Fail("task '{}' has no default metric: choose one with --metric (known: {})", task,
           fmt::join(metrics.Names(), ", "));
    }
    const MetricFn* fn = metrics.Find(s.metric);
    if (fn == nullptr) {
      Fail("task '{}': metric '{}' is not available (known: {})", task, s.metric,
           fmt::join(metrics.Names(), ", "));
    }
    s.score = (*fn)(group);
    s.total = static_cast<int64_t>(group.size());
    for (const Prediction& p : group) s.nulls += CleanPrediction(p.pred).empty() ? 1 : 0;
    s.length_limit = *lengths.begin();
    scores.push_back(std::move(s));
  }
  return scores;
}

std::string SummaryCsv(const std::vector<TaskScore>& scores) {
  std::string header = "0", tasks = "Tasks", score = "Score", nulls = "Nulls";
  for (size_t i = 0; i < scores.size(); ++i) {
    header += fmt::format(",{}", i + 1);
    tasks += fmt::format(",{}", CsvField(scores[i].task));
    score += fmt::format(",{}", PyFloatRepr(scores[i].score));
    nulls += fmt::format(",{}/{}", scores[i].nulls, scores[i].total);
  }
  return header + "\n" + tasks + "\n" + score + "\n" + nulls + "\n";
}

nlohmann::ordered_json SummaryJson(const std::vector<TaskScore>& scores) {
  nlohmann::ordered_json j;
  nlohmann::ordered_json tasks = nlohmann::ordered_json::array();
  double sum = 0;
  bool any_ruler = false;
  for (const TaskScore& s : scores) {
    nlohmann::ordered_json t;
    t["task"] = s.task;
    t["metric"] = s.metric;
    t["score"] = s.score;
    t["nulls"] = s.nulls;
    t["total"] = s.total;
    if (s.length_limit >= 0) t["length_limit"] = s.length_limit;
    tasks.push_back(std::move(t));
    sum += s.score;
    any_ruler = any_ruler || FindTask(s.task) != nullptr;
  }
  j["tasks"] = std::move(tasks);
  j["num_tasks"] = scores.size();
  j["average"] = scores.empty() ? 0.0 : Round2(sum / static_cast<double>(scores.size()));
  if (any_ruler) {
    nlohmann::ordered_json missing = nlohmann::ordered_json::array();
    for (const TaskSpec& t : AllTasks()) {
      const bool present = std::any_of(scores.begin(), scores.end(),
                                       [&](const TaskScore& s) { return s.task == t.name; });
      if (!present) missing.push_back(t.name);
    }
    j["ruler_tasks_missing"] = std::move(missing);
  }
  return j;
}

}  // namespace starattn::ruler
