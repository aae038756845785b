// Test support for report_test.cc and compare_test.cc: the metrics (RULER's and BABILong's, as
// `starattn` registers them) and the fixture locations.
#pragma once

#include <string>
#include <vector>

#include "babilong/metric.h"
#include "engine/common/testing.h"
#include "ruler/scoring.h"

namespace starattn::report::testing {

// RULER's metrics plus "babilong" (the same adapter as harness/babilong_commands.cc).
inline ruler::MetricRegistry TestMetrics() {
  ruler::MetricRegistry r = ruler::RulerMetrics();
  r.Add(std::string(ruler::kBabilongMetric), [](const std::vector<ruler::Prediction>& preds) {
    std::vector<babilong::Prediction> out;
    for (const ruler::Prediction& p : preds) {
      babilong::Prediction b;
      b.task = p.task;
      b.pred = p.pred;
      b.target = p.references.at(0);
      if (p.record.contains("question")) b.question = p.record["question"].get<std::string>();
      out.push_back(std::move(b));
    }
    return babilong::Accuracy(out, babilong::MatchMode::kWord);
  });
  return r;
}

// tests/fixtures/report/<name>
inline std::string ReportFixture(const std::string& name) {
  return starattn::testing::FixturePath("report/" + name);
}

}  // namespace starattn::report::testing
