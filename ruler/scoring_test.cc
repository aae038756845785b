// RULER's scoring on hand-made predictions: clean-up, both metrics, rounding, the summary files
// and choosing metrics per task (prediction files are read by harness/lib/records.h).
#include "ruler/scoring.h"

#include <gtest/gtest.h>

#include "engine/common/error.h"

namespace starattn::ruler {
namespace {

TEST(RulerScoring, CleanPrediction) {
  EXPECT_EQ(CleanPrediction("  answer \n"), "answer");
  EXPECT_EQ(CleanPrediction("a\x01"
                            "b\x1f"
                            "c"),
            "a\nb\nc");
  EXPECT_EQ(CleanPrediction("\x01\x02 x \x03"),
            "x");                              // control characters become newlines, then strip
  EXPECT_EQ(CleanPrediction("a\tb"), "a\nb");  // tab is a control character too
  EXPECT_EQ(CleanPrediction("\x7f"), "\x7f");  // DEL is not in [\x00-\x1f]
  EXPECT_EQ(CleanPrediction(""), "");
  EXPECT_EQ(CleanPrediction(" \n\x05 "), "");
}

TEST(RulerScoring, StringMatchAll) {
  // Fraction of references found, case-insensitive, averaged over samples.
  EXPECT_EQ(StringMatchAll({"The numbers are 123 and 456."}, {{"123", "456"}}), 100.0);
  EXPECT_EQ(StringMatchAll({"only 123"}, {{"123", "456"}}), 50.0);
  EXPECT_EQ(StringMatchAll({"ABC-Def"}, {{"abc-def"}}), 100.0);
  EXPECT_EQ(StringMatchAll({"abc-def"}, {{"ABC-DEF"}}), 100.0);
  EXPECT_EQ(StringMatchAll({""}, {{"x"}}), 0.0);
  EXPECT_EQ(StringMatchAll({"x", ""}, {{"x"}, {"y"}}), 50.0);
  // A reference that is a substring of another word still matches (as in the reference).
  EXPECT_EQ(StringMatchAll({"early"}, {{"ear"}}), 100.0);
  // 1/3 + 1 + 0 over 3 samples = 44.444... -> 44.44
  EXPECT_EQ(StringMatchAll({"a", "a b c", ""}, {{"a", "b", "c"}, {"a", "b", "c"}, {"a", "b", "c"}}),
            44.44);
  // 2/3 -> 66.67 (rounded half-up at the third decimal as Python's round does here)
  EXPECT_EQ(StringMatchAll({"a", "a", "b"}, {{"a"}, {"a"}, {"a"}}), 66.67);
  EXPECT_THROW(StringMatchAll({"a"}, {{}}), Error);
  EXPECT_THROW(StringMatchAll({}, {}), Error);
}

TEST(RulerScoring, StringMatchPart) {
  EXPECT_EQ(StringMatchPart({"It is in Paris."}, {{"London", "paris"}}), 100.0);
  EXPECT_EQ(StringMatchPart({"Nowhere"}, {{"London", "Paris"}}), 0.0);
  EXPECT_EQ(StringMatchPart({"Paris", "", "london!"}, {{"Paris"}, {"Paris"}, {"London"}}), 66.67);
  // Partial words: the reference is a substring of the prediction, not the other way round.
  EXPECT_EQ(StringMatchPart({"Par"}, {{"Paris"}}), 0.0);
  EXPECT_EQ(StringMatchPart({"\xc3\x89T\xc3\x89"}, {{"\xc3\xa9t\xc3\xa9"}}), 100.0);
}

TEST(RulerScoring, RoundingAndRepr) {
  EXPECT_EQ(Round2(99.144999), 99.14);
  EXPECT_EQ(Round2(2.675), 2.67);  // the binary value is below 2.675, as Python's round(2.675, 2)
  EXPECT_EQ(PyFloatRepr(100.0), "100.0");
  EXPECT_EQ(PyFloatRepr(99.14), "99.14");
  EXPECT_EQ(PyFloatRepr(0.0), "0.0");
  EXPECT_EQ(PyFloatRepr(85.6), "85.6");
}

TEST(RulerScoring, MetricsByTaskName) {
  EXPECT_EQ(DefaultMetricForTask("niah_single_1"), kStringMatchAll);
  EXPECT_EQ(DefaultMetricForTask("vt"), kStringMatchAll);
  EXPECT_EQ(DefaultMetricForTask("cwe"), kStringMatchAll);
  EXPECT_EQ(DefaultMetricForTask("fwe"), kStringMatchAll);
  EXPECT_EQ(DefaultMetricForTask("qa_1"), kStringMatchPart);
  EXPECT_EQ(DefaultMetricForTask("qa_2"), kStringMatchPart);
  EXPECT_EQ(DefaultMetricForTask("qa1"), kBabilongMetric);
  EXPECT_EQ(DefaultMetricForTask("qa20"), kBabilongMetric);
  EXPECT_EQ(DefaultMetricForTask("qa21"), "");
  EXPECT_EQ(DefaultMetricForTask("qa0"), "");
  EXPECT_EQ(DefaultMetricForTask("something"), "");
  EXPECT_NE(GlobalMetrics().Find(kStringMatchAll), nullptr);
  EXPECT_NE(GlobalMetrics().Find(kStringMatchPart), nullptr);
}

Prediction Pred(std::string task, std::string pred, std::vector<std::string> refs,
                int64_t length = 4096) {
  Prediction p;
  p.task = std::move(task);
  p.pred = std::move(pred);
  p.references = std::move(refs);
  p.length_limit = length;
  return p;
}

TEST(RulerScoring, ScoreAndSummaries) {
  const std::vector<Prediction> preds = {
      Pred("qa_1", "Paris", {"paris", "France"}), Pred("qa_1", "", {"London"}),
      Pred("vt", "AAA BBB", {"AAA", "BBB", "CCC", "DDD"}),
      Pred("niah_single_1", " 1234567 ", {"1234567"}), Pred("custom", "yes", {"yes"})};
  EXPECT_THROW(ScorePredictions(preds, RulerMetrics(), {}), Error);  // "custom" has no metric
  const auto scores = ScorePredictions(preds, RulerMetrics(), {{"custom", "string_match_part"}});
  ASSERT_EQ(scores.size(), 4u);
  // RULER's order first, then the others.
  EXPECT_EQ(scores[0].task, "niah_single_1");
  EXPECT_EQ(scores[1].task, "vt");
  EXPECT_EQ(scores[2].task, "qa_1");
  EXPECT_EQ(scores[3].task, "custom");
  EXPECT_EQ(scores[0].score, 100.0);
  EXPECT_EQ(scores[1].score, 50.0);
  EXPECT_EQ(scores[2].score, 50.0);
  EXPECT_EQ(scores[2].nulls, 1);
  EXPECT_EQ(scores[2].total, 2);
  EXPECT_EQ(scores[2].metric, "string_match_part");
  EXPECT_EQ(scores[1].metric, "string_match_all");
  EXPECT_EQ(SummaryCsv(scores),
            "0,1,2,3,4\n"
            "Tasks,niah_single_1,vt,qa_1,custom\n"
            "Score,100.0,50.0,50.0,100.0\n"
            "Nulls,0/1,0/1,1/2,0/1\n");
  const auto j = SummaryJson(scores);
  EXPECT_EQ(j["average"], 75.0);
  EXPECT_EQ(j["num_tasks"], 4);
  EXPECT_EQ(j["tasks"][2]["nulls"], 1);
  EXPECT_EQ(j["ruler_tasks_missing"].size(), 10u);
  EXPECT_EQ(j["ruler_tasks_missing"][0], "niah_single_2");
  // "*" chooses the metric of every task.
  const auto part = ScorePredictions(preds, RulerMetrics(), {{"*", "string_match_part"}});
  EXPECT_EQ(part[1].score, 100.0);
  EXPECT_THROW(ScorePredictions(preds, RulerMetrics(), {{"*", "nope"}}), Error);
}

TEST(RulerScoring, BabilongTasksNeedTheirMetric) {
  const std::vector<Prediction> preds = {
      Pred("qa1", "The most recent location of Mary is kitchen.", {"kitchen"})};
  MetricRegistry reg = RulerMetrics();
  EXPECT_THROW(ScorePredictions(preds, reg, {}), Error);
  reg.Add(std::string(kBabilongMetric),
          [](const std::vector<Prediction>& ps) { return 42.0 + ps.size(); });
  const auto scores = ScorePredictions(preds, reg, {});
  ASSERT_EQ(scores.size(), 1u);
  EXPECT_EQ(scores[0].metric, "babilong");
  EXPECT_EQ(scores[0].score, 43.0);
}

TEST(RulerScoring, MixedLengthsAreRejected) {
  const std::vector<Prediction> preds = {Pred("vt", "a", {"a"}, 4096),
                                         Pred("vt", "a", {"a"}, 8192)};
  EXPECT_THROW(ScorePredictions(preds, RulerMetrics(), {}), Error);
}

}  // namespace
}  // namespace starattn::ruler
