// The regression gate: an identical run passes with a zero delta, a zero-width interval and full
// agreement; a candidate with correct predictions broken is flagged; pairing counts what is
// unmatched; run folders in all three forms are read.
#include "harness/lib/compare.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/common/error.h"
#include "harness/lib/report_test_support.h"

namespace fs = std::filesystem;

namespace starattn::report {
namespace {

using testing::ReportFixture;
using testing::TestMetrics;

fs::path TempDir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() /
                     ("starattn_compare_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Copies <attn>/<length>/pred.jsonl of the fixture's dense run into `to`, replacing the
// prediction of the first `breaks` correct niah_single_1 / qa1 samples of each length by a wrong
// one.
void WriteBrokenCopy(const fs::path& to, int breaks, int* broken) {
  *broken = 0;
  for (const char* length : {"2k", "4k"}) {
    std::ifstream in(ReportFixture(std::string("results/m/dense/") + length + "/pred.jsonl"));
    fs::create_directories(to / length);
    std::ofstream out(to / length / "pred.jsonl");
    std::string line;
    int here = 0;
    while (std::getline(in, line)) {
      nlohmann::json j = nlohmann::json::parse(line);
      const std::string pred = j["pred"];
      const bool correct = pred == " 8675309." || pred == " hallway.";
      if (correct && here < breaks) {
        j["pred"] = j["task"] == "qa1" ? " garden." : " 5551212.";
        ++here;
        ++*broken;
      }
      out << j.dump() << "\n";
    }
  }
}

TEST(CompareTest, IdenticalRunPasses) {
  const auto metrics = TestMetrics();
  const auto base = ReadRunSamples(ReportFixture("results/m/dense"), metrics);
  ASSERT_EQ(base.size(), 24u);
  const CompareResult r = Compare(base, base, {});
  EXPECT_FALSE(r.regression);
  EXPECT_EQ(r.overall.delta.n, 24);
  EXPECT_EQ(r.overall.delta.estimate, 0);
  EXPECT_EQ(r.overall.delta.lo, 0);
  EXPECT_EQ(r.overall.delta.hi, 0);
  EXPECT_EQ(r.overall.same_pred, 1.0);
  EXPECT_EQ(r.overall.same_correct, 1.0);
  EXPECT_EQ(r.only_baseline, 0);
  EXPECT_EQ(r.only_candidate, 0);
  ASSERT_EQ(r.rows.size(), 6u);  // 2 lengths x 3 tasks
  EXPECT_EQ(r.rows[0].length, "2k");
  EXPECT_EQ(r.rows[0].task, "niah_single_1");
  EXPECT_EQ(r.rows[5].length, "4k");
  EXPECT_EQ(r.rows[5].task, "qa1");
  // Dense accuracy over all 24 samples: (4 + 3 + 3 + 3 + 4 + 2) / 24 (make_fixture.py's SCORES).
  EXPECT_DOUBLE_EQ(r.overall.baseline, 100.0 * 19 / 24);
  const std::string text = RenderCompare(r, {}, "a", "b");
  EXPECT_NE(text.find("result: PASS"), std::string::npos) << text;
  EXPECT_EQ(CompareJson(r, {}, "a", "b")["result"], "pass");
}

TEST(CompareTest, InjectedDropIsARegression) {
  const auto metrics = TestMetrics();
  const fs::path d = TempDir("drop");
  int broken = 0;
  WriteBrokenCopy(d, 4, &broken);
  ASSERT_EQ(broken, 8);
  const auto base = ReadRunSamples(ReportFixture("results/m/dense"), metrics);
  const auto cand = ReadRunSamples(d.string(), metrics);
  CompareOptions o;
  const CompareResult r = Compare(base, cand, o);
  // 8 of 24 samples go from 1 to 0: -33.33 points.
  EXPECT_DOUBLE_EQ(r.overall.delta.estimate, -100.0 * 8 / 24);
  EXPECT_LT(r.overall.delta.hi, 0);
  EXPECT_LE(r.overall.delta.lo, r.overall.delta.estimate);
  EXPECT_TRUE(r.regression);
  EXPECT_DOUBLE_EQ(r.overall.same_pred, 16.0 / 24);
  EXPECT_DOUBLE_EQ(r.overall.same_correct, 16.0 / 24);
  EXPECT_NE(RenderCompare(r, o, "a", "b").find("result: REGRESSION"), std::string::npos);
  const auto j = CompareJson(r, o, "a", "b");
  EXPECT_EQ(j["result"], "regression");
  EXPECT_EQ(j["paired"], 24);
  EXPECT_EQ(j["rows"].size(), 6u);
  // A tolerated drop larger than the whole interval passes.
  o.max_drop = 80;
  EXPECT_FALSE(Compare(base, cand, o).regression);
  // One broken sample of 24 is not significant.
  WriteBrokenCopy(d, 1, &broken);
  ASSERT_EQ(broken, 2);
  const CompareResult small = Compare(base, ReadRunSamples(d.string(), metrics), {});
  EXPECT_LT(small.overall.delta.estimate, 0);
  EXPECT_FALSE(small.regression);
  fs::remove_all(d);
}

TEST(CompareTest, PairsOnlyCommonSamplesInEveryRunForm) {
  const auto metrics = TestMetrics();
  // A <length> folder and a pred.jsonl file.
  const auto two_k = ReadRunSamples(ReportFixture("results/m/star-h2-b4/2k"), metrics);
  const auto file = ReadRunSamples(ReportFixture("results/m/star-h2-b4/2k/pred.jsonl"), metrics);
  ASSERT_EQ(two_k.size(), 12u);
  ASSERT_EQ(file.size(), 12u);
  EXPECT_EQ(two_k[0].PairKey(), file[0].PairKey());
  const auto dense = ReadRunSamples(ReportFixture("results/m/dense"), metrics);
  const CompareResult r = Compare(dense, two_k, {});
  EXPECT_EQ(r.overall.delta.n, 12);
  EXPECT_EQ(r.only_baseline, 12);  // dense's 4k samples
  EXPECT_EQ(r.only_candidate, 0);
  // star - dense at 2k: (-25 - 12.5 - 25) / 3 per task, 12 samples equally weighted.
  EXPECT_DOUBLE_EQ(r.overall.delta.estimate, (-100.0 - 50 - 100) / 12);
  EXPECT_THROW(ReadRunSamples("/nonexistent/run", metrics), Error);
  EXPECT_THROW(ReadRunSamples(ReportFixture("results"), metrics), Error);  // a results root
  // Nothing in common.
  std::vector<ScoredSample> other = two_k;
  for (auto& s : other) s.key += "x";
  EXPECT_THROW(Compare(dense, other, {}), Error);
}

// Both sides' profiles are reported; when they differ (here the candidate's BABILong records say
// they come from the reference profile) the comparison says its delta includes the profiles'.
TEST(CompareTest, DifferentProfilesAreWarned) {
  const auto metrics = TestMetrics();
  const auto base = ReadRunSamples(ReportFixture("results/m/dense"), metrics);
  const CompareResult same = Compare(base, base, {});
  EXPECT_TRUE(same.warnings.empty());
  EXPECT_EQ(ProfilesText(same.baseline_profiles), "babilong: project; ruler: ruler");
  EXPECT_EQ(RenderCompare(same, {}, "a", "b").find("warning:"), std::string::npos);

  const fs::path dir = TempDir("profiles");
  for (const char* length : {"2k", "4k"}) {
    std::ifstream in(ReportFixture(std::string("results/m/dense/") + length + "/pred.jsonl"));
    fs::create_directories(dir / length);
    std::ofstream out(dir / length / "pred.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      nlohmann::json j = nlohmann::json::parse(line);
      if (j["task"] == "qa1") {
        j["profile"] = "reference";
        j["match"] = "substring";
        j["prompts_sha256"] = "16729bf81ae862915d2abd04ae19120282e179ed775d01a75370514918b1a857";
      }
      out << j.dump() << "\n";
    }
  }
  const auto cand = ReadRunSamples(dir.string(), metrics);
  const CompareResult r = Compare(base, cand, {});
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("baseline babilong: project; ruler: ruler; candidate babilong: "
                               "reference; ruler: ruler"),
            std::string::npos)
      << r.warnings[0];
  const std::string text = RenderCompare(r, {}, "a", "b");
  EXPECT_NE(text.find("warning: the runs come from different profiles"), std::string::npos);
  EXPECT_NE(text.find("profiles: baseline babilong: project; ruler: ruler; candidate babilong: "
                      "reference; ruler: ruler"),
            std::string::npos)
      << text;
  const auto j = CompareJson(r, {}, "a", "b");
  EXPECT_EQ(j["profiles"]["candidate"]["babilong"], nlohmann::ordered_json({"reference"}));
  EXPECT_EQ(j["prompts"]["candidate"]["babilong"], nlohmann::ordered_json({"16729bf81ae8"}));
  EXPECT_EQ(j["warnings"].size(), 1u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace starattn::report
