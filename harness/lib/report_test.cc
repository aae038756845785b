// The report's tables on a hand-made results tree (tests/fixtures/report/results, written by
// make_fixture.py from tables of intended per-sample scores and timings) against numbers
// computed by hand from those tables; reference-format summary.csv; error cases; plots.
#include "harness/lib/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>

#include "engine/common/error.h"
#include "harness/lib/report_claims.h"
#include "harness/lib/report_data.h"
#include "harness/lib/report_plots.h"
#include "harness/lib/report_test_support.h"
#include "ruler/tasks.h"

namespace fs = std::filesystem;

namespace starattn::report {
namespace {

using starattn::testing::ThrowsOneLineError;
using testing::ReportFixture;
using testing::TestMetrics;

const char* kStar = "star-h2-b4";
const char* kRing = "ring-h2";

fs::path TempDir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() /
                     ("starattn_report_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

class ReportTest : public ::testing::Test {
 protected:
  // The fixture has 4 samples per task: intervals from 4 paired samples on (the default minimum
  // of 10 is tested in TooFewSamples*).
  static ReportOptions Options() {
    ReportOptions o;
    o.min_samples = 4;
    return o;
  }
  static void SetUpTestSuite() {
    metrics_ = new ruler::MetricRegistry(TestMetrics());
    tree_ = new ResultsTree(ReadResultsTree(ReportFixture("results"), *metrics_));
    report_ = new Report(BuildReport(*tree_, {}, {}, Options()));
  }
  static void TearDownTestSuite() {
    delete report_;
    delete tree_;
    delete metrics_;
  }
  static const ModelReport& M() { return report_->models.at(0); }
  static ScoreCell Score(const std::string& task, const std::string& length,
                         const std::string& config) {
    const auto it = M().scores.find({task, length, config});
    if (it == M().scores.end()) {
      ADD_FAILURE() << "no score for " << task << " " << length << " " << config;
      return {};
    }
    return it->second;
  }
  static DeltaCell Delta(const std::string& task, const std::string& length,
                         const std::string& config) {
    const auto it = M().deltas.find({task, length, config});
    if (it == M().deltas.end()) {
      ADD_FAILURE() << "no delta for " << task << " " << length << " " << config;
      return {};
    }
    return it->second;
  }
  static const TimingRow& Time(const std::string& length, const std::string& config) {
    for (const auto& t : M().timing) {
      if (t.length == length && t.config == config) return t;
    }
    ADD_FAILURE() << "no timing for " << length << " " << config;
    static TimingRow none;
    return none;
  }
  static ruler::MetricRegistry* metrics_;
  static ResultsTree* tree_;
  static Report* report_;
};
ruler::MetricRegistry* ReportTest::metrics_ = nullptr;
ResultsTree* ReportTest::tree_ = nullptr;
Report* ReportTest::report_ = nullptr;

TEST_F(ReportTest, ReadsTheTreeInManifestOrder) {
  EXPECT_EQ(tree_->name, "fixture");
  ASSERT_EQ(tree_->runs.size(), 6u);
  ASSERT_EQ(report_->models.size(), 1u);
  EXPECT_EQ(M().model, "m");
  ASSERT_EQ(M().configs.size(), 3u);
  EXPECT_EQ(M().configs[0].label, "dense");
  EXPECT_EQ(M().configs[1].label, kStar);
  EXPECT_EQ(M().configs[2].label, kRing);
  EXPECT_EQ(M().configs[1].mode, "star");
  EXPECT_EQ(M().configs[1].hosts, 2);
  EXPECT_EQ(M().baseline, "dense");
  EXPECT_EQ(M().ring, kRing);
  EXPECT_EQ(M().lengths, (std::vector<std::string>{"2k", "4k"}));
  EXPECT_EQ(M().tasks, (std::vector<std::string>{"niah_single_1", "vt", "qa1"}));
}

// Per-sample scores from make_fixture.py's SCORES, x100, averaged.
TEST_F(ReportTest, TaskScoresMatchHandComputed) {
  struct Row {
    const char* task;
    const char* length;
    double dense, star;
  };
  // clang-format off
  const Row rows[] = {
      // task            length  dense   star
      {"niah_single_1",  "2k",   100.0,  75.0},   // [1,1,1,1]      [1,1,0,1]
      {"vt",             "2k",   75.0,   62.5},   // [1,1,.5,.5]    [1,.5,.5,.5]
      {"qa1",            "2k",   75.0,   50.0},   // [1,1,1,0]      [1,0,1,0]
      {"niah_single_1",  "4k",   75.0,   50.0},   // [1,1,1,0]      [1,0,0,1]
      {"vt",             "4k",   100.0,  75.0},   // [1,1,1,1]      [1,.75,1,.25]
      {"qa1",            "4k",   50.0,   50.0},   // [1,0,1,0]      [0,1,1,0]
  };
  // clang-format on
  for (const Row& r : rows) {
    SCOPED_TRACE(std::string(r.task) + " " + r.length);
    EXPECT_DOUBLE_EQ(Score(r.task, r.length, "dense").score, r.dense);
    EXPECT_EQ(Score(r.task, r.length, "dense").n, 4);
    EXPECT_DOUBLE_EQ(Score(r.task, r.length, kStar).score, r.star);
    EXPECT_DOUBLE_EQ(Score(r.task, r.length, kRing).score, r.dense);  // ring = dense
  }
}

TEST_F(ReportTest, AveragesMatchHandComputed) {
  // RULER average over niah_single_1 and vt; BABILong qa1-qa5 over qa1 alone.
  EXPECT_DOUBLE_EQ(Score(kRulerAverage, "2k", "dense").score, 87.5);  // (100 + 75) / 2
  EXPECT_DOUBLE_EQ(Score(kRulerAverage, "2k", kStar).score, 68.75);   // (75 + 62.5) / 2
  EXPECT_DOUBLE_EQ(Score(kRulerAverage, "4k", "dense").score, 87.5);  // (75 + 100) / 2
  EXPECT_DOUBLE_EQ(Score(kRulerAverage, "4k", kStar).score, 62.5);    // (50 + 75) / 2
  EXPECT_EQ(Score(kRulerAverage, "4k", kStar).n, 2);
  EXPECT_DOUBLE_EQ(Score(kBabilongAverage, "2k", kStar).score, 50.0);
  EXPECT_EQ(Score(kBabilongAverage, "2k", kStar).n, 1);
}

TEST_F(ReportTest, DeltasMatchHandComputedAndTheirIntervalsContainThem) {
  struct Row {
    const char* task;
    const char* length;
    double base, cand, delta;
  };
  // clang-format off
  const Row rows[] = {
      // task            length  dense  star   star - dense (per-sample diffs x100)
      {"niah_single_1",  "2k",   100,   75,    -25},     // [0,0,-100,0]
      {"vt",             "2k",   75,    62.5,  -12.5},   // [0,-50,0,0]
      {"qa1",            "2k",   75,    50,    -25},     // [0,-100,0,0]
      {"niah_single_1",  "4k",   75,    50,    -25},     // [0,-100,-100,100]
      {"vt",             "4k",   100,   75,    -25},     // [0,-25,0,-75]
      {"qa1",            "4k",   50,    50,    0},       // [-100,100,0,0]
      {kRulerAverage,    "2k",   87.5,  68.75, -18.75},  // (-25 - 12.5) / 2
      {kRulerAverage,    "4k",   87.5,  62.5,  -25},     // (-25 - 25) / 2
      {kBabilongAverage, "2k",   75,    50,    -25},
  };
  // clang-format on
  for (const Row& r : rows) {
    SCOPED_TRACE(std::string(r.task) + " " + r.length);
    const DeltaCell d = Delta(r.task, r.length, kStar);
    EXPECT_DOUBLE_EQ(d.baseline, r.base);
    EXPECT_DOUBLE_EQ(d.candidate, r.cand);
    EXPECT_DOUBLE_EQ(d.delta.estimate, r.delta);
    EXPECT_LE(d.delta.lo, d.delta.estimate);
    EXPECT_GE(d.delta.hi, d.delta.estimate);
    EXPECT_EQ(d.unpaired, 0);
    // Ring is exact: identical answers, so a zero delta with a zero-width interval.
    const DeltaCell z = Delta(r.task, r.length, kRing);
    EXPECT_EQ(z.delta.estimate, 0);
    EXPECT_EQ(z.delta.lo, 0);
    EXPECT_EQ(z.delta.hi, 0);
  }
  EXPECT_EQ(Delta("niah_single_1", "2k", kStar).delta.n, 4);
  EXPECT_EQ(Delta(kRulerAverage, "2k", kStar).delta.n, 8);
  // [0,0,-100,0]: a resample's mean is 0, -25, ..., -100; P(mean <= -75) = P(>= 3 of 4 draws hit
  // the -100) = 4 (1/4)^3 (3/4) + (1/4)^4 = 0.051 > 0.025 > P(mean = -100) = 0.004, and
  // P(mean = 0) = (3/4)^4 = 0.32 > 0.025: the 95% interval is [-75, 0].
  EXPECT_DOUBLE_EQ(Delta("niah_single_1", "2k", kStar).delta.lo, -75);
  EXPECT_DOUBLE_EQ(Delta("niah_single_1", "2k", kStar).delta.hi, 0);
  // [0,-50,0,0]: the same shape at half the size: [-37.5, 0].
  EXPECT_DOUBLE_EQ(Delta("vt", "2k", kStar).delta.lo, -37.5);
  EXPECT_DOUBLE_EQ(Delta("vt", "2k", kStar).delta.hi, 0);
  // Deterministic: the same seed gives the same bounds.
  const Report again = BuildReport(*tree_, {}, {}, Options());
  for (const auto& [key, cell] : M().deltas) {
    const DeltaCell& other = again.models.at(0).deltas.at(key);
    EXPECT_EQ(cell.delta.lo, other.delta.lo);
    EXPECT_EQ(cell.delta.hi, other.delta.hi);
  }
}

// Times from make_fixture.py's TIMES and PHASE1.
TEST_F(ReportTest, TimingAndSpeedupsMatchHandComputed) {
  const TimingRow& d2 = Time("2k", "dense");
  EXPECT_EQ(d2.n, 12);
  EXPECT_DOUBLE_EQ(d2.seconds_per_sample, 4.0);
  EXPECT_DOUBLE_EQ(d2.speedup_vs_baseline, 1.0);
  EXPECT_DOUBLE_EQ(d2.speedup_vs_ring, 5.0 / 4.0);
  EXPECT_DOUBLE_EQ(d2.phase1_critical_s, 3.0);
  EXPECT_EQ(d2.host_phase1_s, (std::vector<double>{3.0}));

  const TimingRow& s2 = Time("2k", kStar);
  EXPECT_DOUBLE_EQ(s2.seconds_per_sample, 2.0);  // (4 x 1.5 + 4 x 2.5 + 4 x 2.0) / 12
  EXPECT_DOUBLE_EQ(s2.speedup_vs_baseline, 2.0);
  EXPECT_DOUBLE_EQ(s2.speedup_vs_ring, 2.5);
  EXPECT_DOUBLE_EQ(s2.phase1_critical_s, 1.5);
  EXPECT_EQ(s2.host_phase1_s, (std::vector<double>{1.0, 1.5}));
  EXPECT_DOUBLE_EQ(s2.phase2_critical_s, 0.25);
  EXPECT_DOUBLE_EQ(s2.decode_critical_s, 0.5);
  EXPECT_EQ(s2.hosts, 2);

  EXPECT_DOUBLE_EQ(Time("2k", kRing).speedup_vs_baseline, 0.8);
  EXPECT_DOUBLE_EQ(Time("4k", kStar).speedup_vs_baseline, 2.5);  // 10 / 4
  EXPECT_DOUBLE_EQ(Time("4k", kStar).speedup_vs_ring, 2.0);      // 8 / 4
  EXPECT_DOUBLE_EQ(Time("4k", kRing).speedup_vs_baseline, 1.25);
  EXPECT_DOUBLE_EQ(Time("4k", kRing).speedup_vs_ring, 1.0);
}

// The attention work columns: sums over samples of what each config computed and read, over
// dense's for the same samples.
TEST(ReportAttentionWork, FractionsOfDenseFromTheRecords) {
  const fs::path dir = TempDir("work");
  auto write = [&](const std::string& config, const std::string& mode,
                   const std::vector<std::array<double, 4>>& work) {
    fs::create_directories(dir / "m" / config / "4k");
    std::ofstream f(dir / "m" / config / "4k" / "pred.jsonl");
    for (size_t i = 0; i < work.size(); ++i) {
      nlohmann::json r = {{"index", i},
                          {"task", "niah_single_1"},
                          {"length_limit", 4096},
                          {"outputs", {"1"}},
                          {"pred", "1"},
                          {"attn", {{"mode", mode}, {"hosts", 1}}},
                          {"timing", {{"total_s", 1.0}}},
                          {"attention_work",
                           {{"prefill_scores", work[i][0]},
                            {"dense_prefill_scores", work[i][1]},
                            {"decode_kv_bytes", work[i][2]},
                            {"dense_decode_kv_bytes", work[i][3]}}}};
      f << r.dump() << "\n";
    }
  };
  write("dense", "dense", {{100, 100, 50, 50}, {300, 300, 150, 150}});
  // 0.1 and 0.3 of the scores: 40 / 400 = 0.1 over both; K/V 30 / 200 = 0.15.
  write("streaming", "streaming", {{10, 100, 10, 50}, {30, 300, 20, 150}});
  const auto metrics = TestMetrics();
  const ResultsTree tree = ReadResultsTree(dir.string(), metrics);
  const Report report = BuildReport(tree, {}, {}, {});
  std::map<std::string, TimingRow> rows;
  for (const TimingRow& t : report.models.at(0).timing) rows[t.config] = t;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows["dense"].prefill_scores_vs_dense, 1.0);
  EXPECT_DOUBLE_EQ(rows["dense"].decode_kv_read_vs_dense, 1.0);
  EXPECT_DOUBLE_EQ(rows["streaming"].prefill_scores_vs_dense, 0.1);
  EXPECT_DOUBLE_EQ(rows["streaming"].decode_kv_read_vs_dense, 0.15);
  const std::string md = RenderMarkdown(report);
  EXPECT_NE(md.find("| 0.100 | 0.150 |"), std::string::npos) << md;
  EXPECT_NE(TimingCsv(report).find(",0.1000,0.1500\n"), std::string::npos) << TimingCsv(report);
  fs::remove_all(dir);
}

// A sweep resumed by another binary: the line names every commit its runs record and the span
// from the first invocation's start; runs from before runs recorded a commit are counted.
TEST(ManifestLineTest, NamesEveryRunsCommitAndTheFirstStart) {
  auto manifest = nlohmann::json::parse(R"({
    "git_commit": "bbbbbbbbbbbbbbbb", "git_dirty": false, "version": "0.1.0",
    "machine": {"cpu": "AMD EPYC", "cores": 2},
    "first_started": "2026-12-06T21:42:01Z", "started": "2026-12-07T01:26:00Z",
    "finished": "2026-12-07T03:10:00Z",
    "runs": [{"attn": "dense", "git_commit": "aaaaaaaaaaaaaaaa", "git_dirty": false},
             {"attn": "star", "git_commit": "aaaaaaaaaaaaaaaa", "git_dirty": true},
             {"attn": "dense", "git_commit": "bbbbbbbbbbbbbbbb", "git_dirty": false}]})");
  EXPECT_EQ(ManifestLine(manifest),
            "commits aaaaaaaaaaaa (dirty tree), bbbbbbbbbbbb; version 0.1.0; machine: AMD EPYC, 2 "
            "cores; ran 2026-12-06T21:42:01Z to 2026-12-07T03:10:00Z over several invocations");
  // Older manifests: runs without a commit; the latest invocation's is named, with a count.
  manifest["runs"].push_back({{"attn", "star"}});
  manifest["git_commit"] = "cccccccccccccccc";
  EXPECT_NE(ManifestLine(manifest).find("commits aaaaaaaaaaaa (dirty tree), bbbbbbbbbbbb, "
                                        "cccccccccccc (1 runs record no commit: an earlier "
                                        "invocation's may have run them); "),
            std::string::npos)
      << ManifestLine(manifest);
  // One invocation, no per-run commits: its commit, its start.
  const auto single = nlohmann::json::parse(R"({"git_commit": "dddddddddddddddd",
    "git_dirty": true, "started": "2026-01-01T00:00:00Z", "runs": [{"attn": "dense"}]})");
  EXPECT_EQ(ManifestLine(single),
            "commit dddddddddddd (dirty tree); ran 2026-01-01T00:00:00Z to (unfinished)");
  EXPECT_EQ(ManifestLine(nlohmann::json()), "no manifest.json");
}

TEST_F(ReportTest, MarkdownAndCsvShowTheNumbers) {
  const std::string md = RenderMarkdown(*report_);
  for (const char* line : {
           "| 2k | niah_single_1 | 100.00 (4) | 75.00 (4) | 100.00 (4) |",
           "| 4k | **RULER avg of niah_single_1, vt** | **87.50 (2)** | **62.50 (2)** | **87.50 "
           "(2)** |",
           "| 2k | niah_single_1 | -25.00 [-75.00, +0.00] n=4 | +0.00 [+0.00, +0.00] n=4 |",
           "| 2k | **BABILong avg of qa1** | **-25.00 [-75.00, +0.00] n=4**, resampling samples "
           "within tasks |",
           "| 2k | star-h2-b4 | star | 2 | 12 | 2.00 | 2.00x | 2.50x | 1.50 | 1.00 / 1.50 | "
           "0.250 | 0.500 | - | - |",
           "commit 0123456789ab",
           "seed 20241127",
       }) {
    EXPECT_NE(md.find(line), std::string::npos) << "missing: " << line << "\n" << md;
  }
  const std::string scores = ScoresCsv(*report_);
  EXPECT_EQ(scores.substr(0, scores.find('\n')), "model,length,task,config,mode,reference,score,n");
  EXPECT_NE(scores.find("m,2k,\"RULER avg of niah_single_1, vt\",star-h2-b4,star,0,68.75,2\n"),
            std::string::npos)
      << scores;
  const std::string deltas = DeltasCsv(*report_);
  EXPECT_NE(deltas.find("m,2k,niah_single_1,star-h2-b4,dense,4,0,100.0000,75.0000,-25.0000,"
                        "-75.0000,0.0000,0.95,2000,20241127,1,ok,\n"),
            std::string::npos)
      << deltas;
  EXPECT_NE(deltas.find("m,2k,BABILong avg of qa1,star-h2-b4,dense,4,0,75.0000,50.0000,-25.0000,"
                        "-75.0000,0.0000,0.95,2000,20241127,1,ok,samples within tasks\n"),
            std::string::npos)
      << deltas;
  const std::string timing = TimingCsv(*report_);
  EXPECT_NE(timing.find("m,4k,star-h2-b4,star,2,12,4.000000,dense,2.5000,ring-h2,2.0000,"
                        "1.500000,0.250000,0.500000,1.000000;1.500000,,\n"),
            std::string::npos)
      << timing;
}

TEST_F(ReportTest, NamedBaselineAndMissingBaseline) {
  ReportOptions o;
  o.baseline_attn = kRing;
  const Report r = BuildReport(*tree_, {}, {}, o);
  EXPECT_EQ(r.models[0].baseline, kRing);
  EXPECT_EQ(o.min_samples, 10);  // the default
  EXPECT_EQ(r.models[0].configs[0].label, kRing);
  EXPECT_DOUBLE_EQ(r.models[0].deltas.at({"vt", "4k", kStar}).delta.estimate, -25);
  o.baseline_attn = "nope";
  EXPECT_THROW(BuildReport(*tree_, {}, {}, o), Error);
}

TEST_F(ReportTest, ReferenceColumnsSitBesideOurs) {
  const std::vector<ReferenceRun> refs = ReadReferenceDir(ReportFixture("reference"));
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].label, "paper-llama/dense");
  EXPECT_EQ(refs[1].label, "paper-llama/star");
  EXPECT_EQ(refs[1].length, "4k");
  ASSERT_EQ(refs[1].scores.size(), 3u);
  EXPECT_EQ(refs[1].scores[1].task, "vt");
  EXPECT_DOUBLE_EQ(refs[1].scores[1].score, 91.96);
  EXPECT_EQ(refs[1].scores[1].nulls, 1);
  EXPECT_EQ(refs[1].scores[1].total, 200);

  const Report r = BuildReport(*tree_, refs, {ReportFixture("reference")}, Options());
  const ModelReport& m = r.models[0];
  ASSERT_EQ(m.configs.size(), 5u);
  EXPECT_TRUE(m.configs[4].reference);
  EXPECT_EQ(m.configs[4].label, "ref: paper-llama/star");
  EXPECT_DOUBLE_EQ(m.scores.at({"vt", "4k", "ref: paper-llama/star"}).score, 91.96);
  // The reference's RULER average is over its own tasks: (99.5 + 91.96 + 80.0) / 3 = 90.4866...
  EXPECT_DOUBLE_EQ(m.scores.at({kRulerAverage, "4k", "ref: paper-llama/star"}).score, 90.49);
  EXPECT_EQ(m.scores.at({kRulerAverage, "4k", "ref: paper-llama/star"}).n, 3);
  // Ours are unchanged, and no delta is computed for a reference.
  EXPECT_DOUBLE_EQ(m.scores.at({kRulerAverage, "4k", kStar}).score, 62.5);
  for (const auto& [key, cell] : m.deltas) EXPECT_NE(std::get<2>(key).rfind("ref:", 0), 0u);
  const std::string md = RenderMarkdown(r);
  EXPECT_NE(md.find("| 4k | vt | 100.00 (4) | 75.00 (4) | 100.00 (4) | 99.56 (200) | "
                    "91.96 (200) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 4k | qa_1 | - | - | - | - | 80.00 (200) |"), std::string::npos) << md;
}

TEST(ReferenceCsvTest, ReadsWhatSummaryCsvWrites) {
  std::vector<ruler::TaskScore> scores(2);
  scores[0] = {"niah_single_1", "string_match_all", 97.25, 0, 40, 4096};
  scores[1] = {"qa_2", "string_match_part", 40.0, 3, 40, 4096};
  const std::vector<ReferenceScore> back =
      ParseReferenceSummaryCsv(ruler::SummaryCsv(scores), "x.csv");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].task, "qa_2");
  EXPECT_DOUBLE_EQ(back[0].score, 97.25);
  EXPECT_EQ(back[1].nulls, 3);
  EXPECT_EQ(back[1].total, 40);
  // Without a Nulls row, and with quoted fields.
  const auto q = ParseReferenceSummaryCsv("0,1\r\nTasks,\"a,b\"\r\nScore,12.5\r\n", "q.csv");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].task, "a,b");
  EXPECT_EQ(q[0].total, -1);
  for (const char* bad : {"0,1\nTasks,a\n", "0,1\nTasks,a\nScore,x\n", "Tasks,a,b\nScore,1\n",
                          "Tasks,a\nScore,1\nNulls,3\n"}) {
    EXPECT_THROW(ParseReferenceSummaryCsv(bad, "bad.csv"), Error) << bad;
  }
}

TEST(ReferenceCsvTest, LengthAndLabelFromThePath) {
  const fs::path d = TempDir("refpath");
  fs::create_directories(d / "4k");
  std::ofstream(d / "4k" / "summary.csv") << "0,1\nTasks,vt\nScore,50.0\nNulls,0/2\n";
  const auto runs = ReadReferenceDir(d.string(), "pre");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].length, "4k");
  EXPECT_EQ(runs[0].label, "pre/" + d.filename().string());  // nothing left: the folder's name
  fs::create_directories(d / "nolength");
  std::ofstream(d / "nolength" / "summary.csv") << "0,1\nTasks,vt\nScore,50.0\n";
  EXPECT_THROW(ReadReferenceDir(d.string()), Error);
  EXPECT_THROW(ReadReferenceDir((d / "missing").string()), Error);
  fs::remove_all(d);
}

TEST(ReportErrorsTest, MissingEmptyAndMalformedResults) {
  const ruler::MetricRegistry metrics = TestMetrics();
  EXPECT_THAT([&] { ReadResultsTree("/nonexistent/results/x", metrics); },
              ThrowsOneLineError("no such results directory"));
  const fs::path empty = TempDir("empty");
  EXPECT_THAT([&] { ReadResultsTree(empty.string(), metrics); },
              ThrowsOneLineError("no predictions found"));
  // An empty pred.jsonl (a sweep that has not finished a sample) is skipped, not an error.
  fs::create_directories(empty / "m" / "dense" / "2k");
  std::ofstream(empty / "m" / "dense" / "2k" / "pred.jsonl").close();
  EXPECT_THAT([&] { ReadResultsTree(empty.string(), metrics); },
              ThrowsOneLineError("no predictions found"));
  fs::remove_all(empty);
  EXPECT_THAT([&] { ReadResultsTree(ReportFixture("malformed"), metrics); },
              ThrowsOneLineError("pred.jsonl:3: invalid JSON"));
  // A task without a registered metric.
  EXPECT_THAT([&] { ReadResultsTree(ReportFixture("results"), ruler::RulerMetrics()); },
              ThrowsOneLineError("metric 'babilong' is not registered"));
}

TEST(ReportErrorsTest, TornLastLineIsSkippedAndDuplicatesRejected) {
  const fs::path d = TempDir("torn");
  const std::string src = ReportFixture("results/m/dense/2k/pred.jsonl");
  std::ifstream in(src);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  std::ofstream(d / "pred.jsonl") << first << "\n" << second.substr(0, 40);
  const ruler::MetricRegistry metrics = TestMetrics();
  const PredictionFile torn = ReadPredictionFile((d / "pred.jsonl").string(), metrics);
  EXPECT_EQ(torn.samples.size(), 1u);
  EXPECT_TRUE(torn.torn_last_line);
  std::ofstream(d / "dup.jsonl") << first << "\n" << first << "\n";
  EXPECT_THAT([&] { ReadPredictionFile((d / "dup.jsonl").string(), metrics); },
              ThrowsOneLineError("appears twice"));
  fs::remove_all(d);
}

// A record's attention sizes are checked integers: converting 5.8e43 to int64 was undefined
// behaviour (records_fuzz, results/fuzz/README.md F9).
TEST(ReportErrorsTest, AttentionSizesOutOfRangeNameTheField) {
  const fs::path d = TempDir("attn");
  const ruler::MetricRegistry metrics = TestMetrics();
  const std::string line =
      R"({"task": "niah_single_1", "pred": "1", "outputs": ["1"], "sample_key": "a", "attn": )";
  for (const auto& [attn, error] : std::vector<std::pair<std::string, std::string>>{
           {R"({"anchor_size": 5.7777e43})",
            "pred.jsonl:1: attn.anchor_size: 5.7777e+43 is not an integer"},
           {R"({"hosts": 4294967296})", "pred.jsonl:1: attn.hosts: 4294967296 is out of range"},
           {R"({"block_size": -1})", "pred.jsonl:1: attn.block_size: -1 must not be negative"},
           {R"({"block_size": "512"})", "pred.jsonl:1: attn.block_size: expected an integer"}}) {
    std::ofstream(d / "pred.jsonl") << line << attn << "}\n";
    EXPECT_THAT([&] { ReadPredictionFile((d / "pred.jsonl").string(), metrics); },
                ThrowsOneLineError(error))
        << attn;
  }
  std::ofstream(d / "pred.jsonl") << line << R"({"mode": "star", "hosts": 4, "block_size": 1024})"
                                  << "}\n";
  const PredictionFile ok = ReadPredictionFile((d / "pred.jsonl").string(), metrics);
  EXPECT_EQ(ok.attn.hosts, 4);
  EXPECT_EQ(ok.attn.block_size, 1024);
  fs::remove_all(d);
}

TEST(LengthLabelTest, ParsesSortsAndNames) {
  EXPECT_EQ(LengthTokens("4k"), 4096);
  EXPECT_EQ(LengthTokens("128K"), 131072);
  EXPECT_EQ(LengthTokens("4096"), 4096);
  EXPECT_EQ(LengthTokens("8b"), -1);
  EXPECT_EQ(LengthLabelOf(16384), "16k");
  EXPECT_EQ(LengthLabelOf(4000), "4k");
  EXPECT_EQ(LengthLabelOf(1500), "1500");
  std::vector<std::string> l = {"16k", "128k", "2k", "4096", "other"};
  SortLengths(l);
  EXPECT_EQ(l, (std::vector<std::string>{"2k", "4096", "16k", "128k", "other"}));
}

TEST_F(ReportTest, PlotDataAndScripts) {
  const std::vector<Plot> plots = MakePlots(M(), 0.95);
  std::vector<std::string> stems;
  for (const auto& p : plots) stems.push_back(p.stem);
  EXPECT_EQ(stems,
            (std::vector<std::string>{"accuracy_ruler", "accuracy_babilong", "delta_star-h2-b4",
                                      "delta_ring-h2", "time_per_sample"}));
  EXPECT_NE(plots[0].dat.find("2048\t2k\t87.5000\t68.7500\t87.5000\n"), std::string::npos)
      << plots[0].dat;
  EXPECT_NE(plots[2].dat.find("niah_single_1\t-25.0000\t-75.0000\t0.0000\t-25.0000\t"),
            std::string::npos)
      << plots[2].dat;
  EXPECT_NE(plots[4].dat.find("4096\t4k\t10.000000\t4.000000\t8.000000\n"), std::string::npos)
      << plots[4].dat;
  for (const auto& p : plots) {
    EXPECT_NE(p.gp.find("set output \"" + p.stem + ".png\""), std::string::npos);
    EXPECT_NE(p.gp.find("set output \"" + p.stem + ".svg\""), std::string::npos);
    EXPECT_NE(p.gp.find("set title"), std::string::npos);
    EXPECT_NE(p.gp.find("set xlabel"), std::string::npos);
    EXPECT_NE(p.gp.find("set ylabel"), std::string::npos);
  }
}

TEST_F(ReportTest, MissingGnuplotWritesDataAndWarnsOnce) {
  const fs::path d = TempDir("nognuplot");
  const PlotSet set = WritePlots(*report_, d.string(), "/nonexistent/gnuplot");
  ASSERT_EQ(set.warnings.size(), 1u);
  EXPECT_NE(set.warnings[0].find("gnuplot not found"), std::string::npos);
  EXPECT_NE(set.warnings[0].find("gnuplot-nox"), std::string::npos);
  EXPECT_TRUE(set.images.empty());
  EXPECT_TRUE(set.links.empty());
  EXPECT_TRUE(fs::is_regular_file(d / "plots" / "m" / "accuracy_ruler.dat"));
  EXPECT_TRUE(fs::is_regular_file(d / "plots" / "m" / "accuracy_ruler.gp"));
  fs::remove_all(d);
}

TEST_F(ReportTest, GnuplotRendersPngAndSvg) {
  if (FindExecutable("gnuplot").empty()) {
    GTEST_SKIP() << "gnuplot is not installed (Debian: gnuplot-nox); rendering not tested";
  }
  const fs::path d = TempDir("gnuplot");
  const PlotSet set = WritePlots(*report_, d.string(), "gnuplot");
  EXPECT_TRUE(set.warnings.empty()) << set.warnings.at(0);
  EXPECT_EQ(set.images.size(), 10u);
  for (const auto& img : set.images) EXPECT_GT(fs::file_size(img), 1000u) << img;
  ASSERT_EQ(set.links.at("m").size(), 5u);
  EXPECT_EQ(set.links.at("m")[0].second, "plots/m/accuracy_ruler.png");
  const std::string md = RenderMarkdown(*report_, set.links);
  EXPECT_NE(md.find("](plots/m/delta_star-h2-b4.png)"), std::string::npos);
  fs::remove_all(d);
}

// ---- Honest intervals --------------------------------------------------------------------------

const DeltaCell& DeltaOf(const Report& r, const std::string& task, const std::string& length,
                         const std::string& config) {
  return r.models.at(0).deltas.at({task, length, config});
}

TEST_F(ReportTest, TooFewSamplesPrintNoIntervalAndPlotNone) {
  const Report r = BuildReport(*tree_, {}, {}, {});  // default minimum: 10 paired samples
  for (const auto& [key, cell] : r.models[0].deltas) {
    EXPECT_FALSE(cell.has_interval) << std::get<0>(key);
  }
  EXPECT_EQ(DeltaOf(r, "niah_single_1", "2k", kStar).too_few, "4 paired samples < 10");
  EXPECT_EQ(DeltaOf(r, kRulerAverage, "2k", kStar).too_few,
            "2 of 2 tasks with < 10 paired samples");
  EXPECT_DOUBLE_EQ(DeltaOf(r, kRulerAverage, "2k", kStar).delta.estimate, -18.75);
  const std::string md = RenderMarkdown(r);
  for (const char* line :
       {"| 2k | niah_single_1 | -25.00 (too few samples) n=4 | +0.00 (too few samples) n=4 |",
        "**-18.75 (too few samples) n=8**, resampling samples within tasks (2 of 2 tasks with "
        "< 10 paired samples)",
        "A task's interval needs at least 10 paired samples"}) {
    EXPECT_NE(md.find(line), std::string::npos) << "missing: " << line << "\n" << md;
  }
  EXPECT_EQ(md.find("[-75.00, +0.00]"), std::string::npos) << md;
  const std::string deltas = DeltasCsv(r);
  EXPECT_NE(deltas.find("m,2k,niah_single_1,star-h2-b4,dense,4,0,100.0000,75.0000,-25.0000,,,"
                        "0.95,2000,20241127,1,too few samples: 4 paired samples < 10,\n"),
            std::string::npos)
      << deltas;
  // The delta plot: bars, no error bars, and a note.
  const std::vector<Plot> plots = MakePlots(r.models[0], 0.95);
  const Plot& delta = plots.at(2);
  ASSERT_EQ(delta.stem, "delta_star-h2-b4");
  EXPECT_NE(delta.dat.find("niah_single_1\t-25.0000\t?\t?\t-25.0000\t?\t?\n"), std::string::npos)
      << delta.dat;
  EXPECT_EQ(delta.gp.find("yerrorbars"), std::string::npos) << delta.gp;
  EXPECT_NE(delta.gp.find("too few paired samples"), std::string::npos);
  // With enough samples (the fixture's 4 when the minimum is 4) the error bars are there.
  const std::vector<Plot> with = MakePlots(M(), 0.95);
  EXPECT_NE(with.at(2).gp.find("with yerrorbars"), std::string::npos) << with.at(2).gp;
  EXPECT_EQ(with.at(2).gp.find("too few paired samples"), std::string::npos);
}

TEST_F(ReportTest, AveragesSayHowTheyResample) {
  ReportOptions o = Options();
  o.average_resampling = stats::Resampling::kTasks;
  o.min_tasks = 2;
  const Report tasks = BuildReport(*tree_, {}, {}, o);
  const DeltaCell& avg = DeltaOf(tasks, kRulerAverage, "2k", kStar);
  EXPECT_TRUE(avg.has_interval);
  EXPECT_EQ(avg.resampling, "tasks");
  EXPECT_EQ(avg.tasks, 2);
  // Task means -25 (niah_single_1) and -12.5 (vt): two draws average to -25, -18.75 or -12.5
  // with probabilities 1/4, 1/2, 1/4.
  EXPECT_DOUBLE_EQ(avg.delta.lo, -25);
  EXPECT_DOUBLE_EQ(avg.delta.hi, -12.5);
  EXPECT_NE(RenderMarkdown(tasks).find("**-18.75 [-25.00, -12.50] n=8**, resampling tasks |"),
            std::string::npos)
      << RenderMarkdown(tasks);
  o.min_tasks = 5;
  const Report few_tasks = BuildReport(*tree_, {}, {}, o);  // outlives the reference below
  const DeltaCell& few = DeltaOf(few_tasks, kRulerAverage, "2k", kStar);
  EXPECT_FALSE(few.has_interval);
  EXPECT_EQ(few.too_few, "2 tasks < 5");
  o.average_resampling = stats::Resampling::kBoth;
  o.min_tasks = 2;
  EXPECT_EQ(DeltaOf(BuildReport(*tree_, {}, {}, o), kRulerAverage, "2k", kStar).resampling,
            "tasks, then samples within them");
  // A task's own interval always resamples its samples and carries no resampling label.
  EXPECT_EQ(DeltaOf(tasks, "vt", "2k", kStar).resampling, "");
}

TEST_F(ReportTest, AveragesNameWhatTheyAverage) {
  EXPECT_EQ(M().RowLabel(kRulerAverage), "RULER avg of niah_single_1, vt");
  EXPECT_EQ(M().RowLabel(kBabilongAverage), "BABILong avg of qa1");
  EXPECT_EQ(M().RowLabel("vt"), "vt");
  std::vector<std::string> all;
  for (const auto& t : ruler::AllTasks()) all.emplace_back(t.name);
  EXPECT_EQ(AverageRowLabel("RULER", all, all), "RULER avg of all 13 tasks");
  const std::vector<std::string> eleven(all.begin(), all.begin() + 11);
  EXPECT_EQ(AverageRowLabel("RULER", eleven, all), "RULER avg of 11 tasks (all but qa_1, qa_2)");
  EXPECT_EQ(AverageRowLabel("RULER", std::vector<std::string>(all.begin(), all.begin() + 7), all),
            "RULER avg of 7 of 13 tasks");
  EXPECT_EQ(AverageRowLabel("BABILong", {"qa1", "qa2"}, {"qa1", "qa2", "qa3", "qa4", "qa5"}),
            "BABILong avg of qa1, qa2");
  EXPECT_NE(ScoresCsv(*report_).find("m,4k,BABILong avg of qa1,dense,dense,0,50.00,1\n"),
            std::string::npos);
  const std::vector<Plot> plots = MakePlots(M(), 0.95);
  EXPECT_NE(plots.at(0).title.find("RULER avg of niah_single_1, vt"), std::string::npos);
}

// ---- Claims ------------------------------------------------------------------------------------

class ClaimsTest : public ::testing::Test {
 protected:
  static Report Build(const ReportOptions& o = {}) {
    const ruler::MetricRegistry metrics = TestMetrics();
    return BuildReport(ReadResultsTree(ReportFixture("claims"), metrics), {}, {}, o);
  }
  // The claim's verdict row at a length.
  static const ClaimRow& Summary(const Report& r, int claim, const std::string& length) {
    for (const ClaimRow& row : r.models.at(0).claims) {
      if (row.claim == claim && row.length == length && row.summary) return row;
    }
    ADD_FAILURE() << "no verdict for claim " << claim << " at " << length;
    static const ClaimRow none;
    return none;
  }
};

// tests/fixtures/report/make_fixture.py (write_claims) states the known answers.
TEST_F(ClaimsTest, VerdictsPerLengthOnKnownAnswers) {
  const Report r = Build();
  const ModelReport& m = r.models.at(0);
  struct Expect {
    const char* length;
    Verdict claim1, claim2;
  };
  // clang-format off
  const Expect expect[] = {
      {"2k",  Verdict::kInconclusive, Verdict::kInconclusive},  // 3 samples per task
      {"4k",  Verdict::kReproduced,   Verdict::kReproduced},    // star = dense, none all wrong
      {"8k",  Verdict::kContradicted, Verdict::kContradicted},  // star all wrong, none right
      {"16k", Verdict::kInconclusive, Verdict::kInconclusive},  // CI crosses -5; first = none
  };
  // clang-format on
  for (const Expect& e : expect) {
    SCOPED_TRACE(e.length);
    EXPECT_EQ(Summary(r, 1, e.length).verdict, e.claim1) << Summary(r, 1, e.length).reason;
    EXPECT_EQ(Summary(r, 2, e.length).verdict, e.claim2) << Summary(r, 2, e.length).reason;
  }
  EXPECT_EQ(Summary(r, 1, "2k").reason, "too few samples: 3 of 3 tasks with < 10 paired samples");
  EXPECT_EQ(Summary(r, 1, "4k").reason, "CI [+0.00, +0.00] within +-5.00");
  EXPECT_EQ(Summary(r, 1, "8k").reason, "CI [-100.00, -100.00] below -5.00");
  const ClaimRow& c16 = Summary(r, 1, "16k");
  EXPECT_DOUBLE_EQ(c16.delta.delta.estimate, -100.0 / 12);  // (-100 - 100 + 100) / 12 in every task
  EXPECT_LT(c16.delta.delta.lo, -5);
  EXPECT_GT(c16.delta.delta.hi, -5);
  EXPECT_EQ(c16.row, "RULER avg of niah_single_1, niah_multikey_1, vt");
  EXPECT_EQ(c16.candidate, "star-b4");
  EXPECT_EQ(c16.reference, "dense");
  // The configs were identified by their fields.
  const std::string notes = [&] {
    std::string s;
    for (const auto& n : m.claim_notes) s += n + "\n";
    return s;
  }();
  EXPECT_NE(notes.find("Claim (1): star-b4 minus dense."), std::string::npos) << notes;
  EXPECT_NE(notes.find("first star-b4, previous star-prev, none star-none (block L/4"),
            std::string::npos)
      << notes;
  EXPECT_NE(notes.find("Claim (2) averages NIAH: niah_single_1, niah_multikey_1."),
            std::string::npos)
      << notes;
  // Claim (2)'s comparisons at 8k: first - previous holds, previous - none and first - none fail.
  std::vector<std::string> at8;
  for (const ClaimRow& row : m.claims) {
    if (row.claim == 2 && row.length == "8k" && !row.summary && !row.informative) {
      at8.push_back(row.row.substr(0, row.row.find(" (")) + ": " +
                    std::string(VerdictName(row.verdict)));
    }
  }
  EXPECT_EQ(at8, (std::vector<std::string>{"first - previous: reproduced",
                                           "previous - none: contradicted",
                                           "first - none: contradicted"}));
  // A wider margin makes the 16k difference "within a few points".
  ReportOptions wide;
  wide.margin = 50;
  EXPECT_EQ(Summary(Build(wide), 1, "16k").verdict, Verdict::kReproduced);
}

// A sweep config with a mask file (relative to the config file): the claims parse the manifest's
// copy of the config with the mask resolved against the config file the manifest records, not
// against the results directory (tasks/sparse-smollm2.json, whose masks/ sit beside it).
TEST_F(ClaimsTest, MaskFilesResolveAgainstTheRecordedConfigFile) {
  const std::string config_file = std::string(STARATTN_SOURCE_DIR) + "/tasks/sparse-smollm2.json";
  std::ifstream in(config_file);
  nlohmann::json manifest;
  manifest["config"] = nlohmann::json::parse(in);
  manifest["config_file"] = config_file;
  ModelReport m;
  AddClaims(m, {}, manifest, {});
  for (const std::string& note : m.claim_notes) {
    EXPECT_EQ(note.find("does not parse"), std::string::npos) << note;
  }
  manifest["config_file"] = "elsewhere/sparse-smollm2.json";  // the mask is not there
  ModelReport missing;
  AddClaims(missing, {}, manifest, {});
  ASSERT_FALSE(missing.claim_notes.empty());
  EXPECT_NE(missing.claim_notes[0].find("elsewhere/masks/smollm2-half-dense-streaming.json"),
            std::string::npos)
      << missing.claim_notes[0];
}

TEST_F(ClaimsTest, MarkdownAndCsv) {
  const Report r = Build();
  const std::string md = RenderMarkdown(r);
  for (const char* line : {
           "### Claims (margin 5.00 points, paired bootstrap 95% CI)",
           "| 4k | **RULER avg of niah_single_1, niah_multikey_1, vt** | +0.00 [+0.00, +0.00] "
           "n=36, resampling samples within tasks | **reproduced** (CI [+0.00, +0.00] within "
           "+-5.00) |",
           "| 8k | **claim (2): first >= previous >= none, first > none** |  | **contradicted** "
           "(a comparison fails) |",
           "| 8k | previous - none (NIAH avg of niah_single_1, niah_multikey_1) | -100.00 "
           "[-100.00, -100.00] n=24, resampling samples within tasks | fails (CI [-100.00, "
           "-100.00] below -5.00) |",
       }) {
    EXPECT_NE(md.find(line), std::string::npos) << "missing: " << line << "\n" << md;
  }
  const std::string csv = ClaimsCsv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "model,claim,length,row,candidate,reference,n_paired,estimate,ci_lo,ci_hi,interval,"
            "resampling,verdict,summary,reason");
  EXPECT_NE(csv.find("m,1,8k,vt,star-b4,dense,12,-100.0000,-100.0000,-100.0000,ok,,contradicted,"
                     "0,\"CI [-100.00, -100.00] below -5.00\"\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("m,2,4k,\"claim (2): first >= previous >= none, first > none\",,,,,,,,,"
                     "reproduced,1,all three comparisons hold\n"),
            std::string::npos)
      << csv;
}

TEST_F(ReportTest, ClaimsNeedTheSweepConfig) {
  // The main fixture's manifest lists labels and modes only: the claims say why they are not run.
  ASSERT_EQ(M().claim_notes.size(), 1u);
  EXPECT_NE(M().claim_notes[0].find("Claims not checked"), std::string::npos);
  EXPECT_TRUE(M().claims.empty());
}

// Every unit names its profile, prompts and haystack; a config whose data came from another
// profile than the baseline's, and a unit whose samples mix profiles, are warned about.
TEST_F(ReportTest, DataOfEveryUnitAndProfileWarnings) {
  // The fixture: default profiles (no profile fields), no recorded haystack.
  ASSERT_FALSE(M().data.empty());
  for (const UnitData& u : M().data) {
    EXPECT_EQ(u.profile, u.benchmark == "ruler" ? "ruler" : "project") << u.config << u.length;
    EXPECT_FALSE(u.mixed);
  }
  for (const std::string& w : report_->warnings) {
    EXPECT_EQ(w.find("profile"), std::string::npos) << w;
  }
  // (Its manifest's config names no benchmark: the haystack is not recorded anywhere.)
  EXPECT_NE(RenderMarkdown(*report_).find("| 2k | dense | babilong | project | built-in | not "
                                          "recorded |"),
            std::string::npos);

  // A copy whose star config ran on reference-profile data, and whose ring 4k unit mixes them.
  const fs::path dir = TempDir("profiles");
  fs::copy(ReportFixture("results"), dir, fs::copy_options::recursive);
  nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "manifest.json"));
  manifest["data"]["m"]["babilong"] = {{"profile", "reference"},
                                       {"haystack", "books data/books: emma (1 .txt files)"}};
  std::ofstream(dir / "manifest.json") << manifest.dump();
  for (const auto& [unit, every] : std::vector<std::pair<std::string, bool>>{
           {"m/star-h2-b4/2k", true}, {"m/star-h2-b4/4k", true}, {"m/ring-h2/4k", false}}) {
    const fs::path file = dir / unit / "pred.jsonl";
    std::vector<nlohmann::json> lines;
    for (std::ifstream in(file); !in.eof();) {
      std::string line;
      if (std::getline(in, line) && !line.empty()) lines.push_back(nlohmann::json::parse(line));
    }
    int qa = 0;
    std::ofstream out(file);
    for (nlohmann::json& j : lines) {
      if (j["task"] == "qa1" && (every || qa++ % 2 == 0)) {
        j["profile"] = "reference";
        j["prompts_sha256"] = "16729bf81ae862915d2abd04ae19120282e179ed775d01a75370514918b1a857";
      }
      out << j.dump() << "\n";
    }
  }
  const ResultsTree tree = ReadResultsTree(dir.string(), *metrics_);
  const Report r = BuildReport(tree, {}, {}, Options());
  const std::string md = RenderMarkdown(r);
  EXPECT_NE(md.find("| 2k | star-h2-b4 | babilong | reference | 16729bf81ae8 | books data/books: "
                    "emma (1 .txt files) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 4k | ring-h2 | babilong | project + reference (mixed) | 16729bf81ae8 + "
                    "built-in |"),
            std::string::npos)
      << md;
  int mixed = 0, compared = 0;
  for (const std::string& w : r.warnings) {
    mixed += w.find("m/ring-h2/4k: the babilong samples come from different profiles") == 0;
    compared +=
        w.find("m: star-h2-b4 at ") == 0 && w.find("different profiles") != std::string::npos;
  }
  EXPECT_EQ(mixed, 1);
  EXPECT_EQ(compared, 2);  // 2k and 4k
  EXPECT_NE(md.find("## Notes"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace starattn::report
