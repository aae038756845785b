// The report's tables on a hand-made results tree (tests/fixtures/report/results, written by
// make_fixture.py from tables of intended per-sample scores and timings) against numbers
// computed by hand from those tables; reference-format summary.csv; error cases; plots.
#include "harness/lib/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/common/error.h"
#include "harness/lib/report_data.h"
#include "harness/lib/report_plots.h"
#include "harness/lib/report_test_support.h"

namespace fs = std::filesystem;

namespace starattn::report {
namespace {

using testing::ReportFixture;
using testing::TestMetrics;
using starattn::testing::ThrowsOneLineError;

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
  static void SetUpTestSuite() {
    metrics_ = new ruler::MetricRegistry(TestMetrics());
    tree_ = new ResultsTree(ReadResultsTree(ReportFixture("results"), *metrics_));
    report_ = new Report(BuildReport(*tree_, {}, {}, {}));
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
  const Report again = BuildReport(*tree_, {}, {}, {});
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

TEST_F(ReportTest, MarkdownAndCsvShowTheNumbers) {
  const std::string md = RenderMarkdown(*report_);
  for (const char* line : {
           "| 2k | niah_single_1 | 100.00 (4) | 75.00 (4) | 100.00 (4) |",
           "| 4k | **RULER avg** | **87.50 (2)** | **62.50 (2)** | **87.50 (2)** |",
           "| 2k | niah_single_1 | -25.00 [-75.00, +0.00] n=4 | +0.00 [+0.00, +0.00] n=4 |",
           "| 2k | star-h2-b4 | star | 2 | 12 | 2.00 | 2.00x | 2.50x | 1.50 | 1.00 / 1.50 | "
           "0.250 | 0.500 |",
           "commit 0123456789ab",
           "seed 20241127",
       }) {
    EXPECT_NE(md.find(line), std::string::npos) << "missing: " << line << "\n" << md;
  }
  const std::string scores = ScoresCsv(*report_);
  EXPECT_EQ(scores.substr(0, scores.find('\n')), "model,length,task,config,mode,reference,score,n");
  EXPECT_NE(scores.find("m,2k,RULER avg,star-h2-b4,star,0,68.75,2\n"), std::string::npos);
  const std::string deltas = DeltasCsv(*report_);
  EXPECT_NE(deltas.find("m,2k,niah_single_1,star-h2-b4,dense,4,0,100.0000,75.0000,-25.0000,"
                        "-75.0000,0.0000,0.95,2000,20241127\n"),
            std::string::npos)
      << deltas;
  const std::string timing = TimingCsv(*report_);
  EXPECT_NE(timing.find("m,4k,star-h2-b4,star,2,12,4.000000,dense,2.5000,ring-h2,2.0000,"
                        "1.500000,0.250000,0.500000,1.000000;1.500000\n"),
            std::string::npos)
      << timing;
}

TEST_F(ReportTest, NamedBaselineAndMissingBaseline) {
  ReportOptions o;
  o.baseline_attn = kRing;
  const Report r = BuildReport(*tree_, {}, {}, o);
  EXPECT_EQ(r.models[0].baseline, kRing);
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

  const Report r = BuildReport(*tree_, refs, {ReportFixture("reference")}, {});
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

}  // namespace
}  // namespace starattn::report
