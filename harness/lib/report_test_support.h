// Test support for report_test.cc and compare_test.cc: the metrics (RULER's and BABILong's, as
// `starattn` registers them) and the fixture locations.
#pragma once

#include <string>
#include <vector>

#include "engine/common/testing.h"
#include "harness/lib/records.h"
#include "ruler/scoring.h"

namespace starattn::report::testing {

// RULER's metrics plus "babilong", as `starattn` registers them.
inline ruler::MetricRegistry TestMetrics() {
  ruler::MetricRegistry r = ruler::RulerMetrics();
  records::AddBabilongMetric(r);
  return r;
}

// tests/fixtures/report/<name>
inline std::string ReportFixture(const std::string& name) {
  return starattn::testing::FixturePath("report/" + name);
}

}  // namespace starattn::report::testing
