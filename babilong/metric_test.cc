// The BABILong metric on hand-made outputs, and the summary files.
#include "babilong/metric.h"

#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/common/testing.h"

namespace starattn::babilong {
namespace {

bool Correct(const std::string& task, const std::string& target, const std::string& output,
             const std::string& question, MatchMode mode = MatchMode::kWord) {
  return CompareAnswers(target, output, question, TaskLabels(task), mode);
}

struct Case {
  const char* task;
  const char* target;
  const char* output;
  const char* question;
  bool word;       // expected with MatchMode::kWord
  bool substring;  // expected with MatchMode::kSubstring (the reference)
};

// clang-format off
const Case kCases[] = {
  // task   target        output                                                  question                                      word   substr
  {"qa1",  "bathroom",   "The most recent location of Mary is bathroom.",         "Where is Mary?",                              true,  true },
  {"qa1",  "bathroom",   "BATHROOM",                                              "Where is Mary?",                              true,  true },
  {"qa1",  "bathroom",   "  bathroom\n",                                          "Where is Mary?",                              true,  true },
  {"qa1",  "bathroom",   "The kitchen.",                                          "Where is Mary?",                              false, false},
  {"qa1",  "bathroom",   "Mary is in the bathroom or the kitchen",               "Where is Mary?",                              false, false},  // two labels
  {"qa1",  "bathroom",   "Mary left the kitchen. Now she is in the bathroom.",   "Where is Mary?",                              false, false},  // cut at "."
  {"qa1",  "bathroom",   "bathroom<context>kitchen",                              "Where is Mary?",                              true,  true },
  {"qa1",  "bathroom",   "bathroom <example> hallway",                            "Where is Mary?",                              true,  true },
  {"qa1",  "bathroom",   "",                                                      "Where is Mary?",                              false, false},
  {"qa1",  "bathroom",   "I don't know",                                          "Where is Mary?",                              false, false},
  // a label in the question is never the answer
  {"qa3",  "garden",     "Before the kitchen the apple was in the garden.",       "Where was the apple before the kitchen?",    true,  true },
  {"qa3",  "kitchen",    "Before the kitchen the apple was in the kitchen.",      "Where was the apple before the kitchen?",    false, false},
  {"qa4",  "office",     "The hallway is east of the office",                     "What is the hallway east of?",               true,  true },
  {"qa5",  "Fred",       "Fred gave it to Jeff",                                  "Who gave the football to Jeff?",             true,  true },
  {"qa5",  "football",   "Fred gave the football to Jeff.",                       "What did Fred give to Jeff?",                true,  true },
  {"qa5",  "Jeff",       "Mary",                                                  "Who did Fred give the apple to?",            false, false},
  {"qa5",  "apple",      "the apple and the milk",                                "What did Fred give to Jeff?",                false, false},
  // lists (qa8): every item and nothing else
  {"qa8",  "apple,milk", "milk, apple",                                           "What is Daniel carrying?",                   true,  true },
  {"qa8",  "apple,milk", "apple,milk",                                            "What is Daniel carrying?",                   true,  true },
  {"qa8",  "apple,milk", "apple",                                                 "What is Daniel carrying?",                   false, false},
  {"qa8",  "apple,milk", "apple, milk, football",                                 "What is Daniel carrying?",                   false, false},
  {"qa8",  "nothing",    "nothing",                                               "What is Daniel carrying?",                   true,  true },
  // where whole-word matching and the reference's substring matching differ
  {"qa7",  "none",       "none",                                                  "How many objects is Mary carrying?",         true,  false},  // "one" in "none"
  {"qa7",  "one",        "one",                                                   "How many objects is Mary carrying?",         true,  true },
  {"qa6",  "yes",        "yes, she is not there anymore",                         "Is Mary in the kitchen?",                    true,  false},  // "no" in "not"
  {"qa10", "maybe",      "maybe",                                                 "Is Bill in the office?",                     true,  true },
  {"qa1",  "garden",     "gardens",                                               "Where is Mary?",                             false, true },
  // qa19: direction pairs are single labels
  {"qa19", "n,w",        "n,w",                                                   "How do you go from the garden to the office?", true, true },
  {"qa19", "n,w",        "w,n",                                                   "How do you go from the garden to the office?", false, false},
};
// clang-format on

TEST(BabilongMetric, HandMadeOutputs) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(std::string(c.task) + " target '" + c.target + "' output '" + c.output + "'");
    EXPECT_EQ(Correct(c.task, c.target, c.output, c.question, MatchMode::kWord), c.word);
    EXPECT_EQ(Correct(c.task, c.target, c.output, c.question, MatchMode::kSubstring), c.substring);
  }
}

TEST(BabilongMetric, Preprocess) {
  EXPECT_EQ(PreprocessOutput("Garden. Kitchen."), "garden");
  EXPECT_EQ(PreprocessOutput("A<CONTEXT>b"), "a");
  EXPECT_EQ(PreprocessOutput("x <example> y"), "x ");
  EXPECT_EQ(PreprocessOutput(""), "");
}

TEST(BabilongMetric, LabelsPerTask) {
  EXPECT_EQ(TaskLabels("qa1").size(), 6u);
  EXPECT_EQ(TaskLabels("qa5").size(), 7u);
  EXPECT_EQ(TaskLabels("qa20").size(), 7u);
  for (const auto& t : {"qa1", "qa5", "qa7", "qa20"}) {
    for (const auto& l : TaskLabels(t)) {
      for (const char ch : l) EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << l;
    }
  }
  EXPECT_THROW(TaskLabels("qa21"), Error);
}

Prediction Pred(const std::string& task, int64_t limit, const std::string& target,
                const std::string& pred, const std::string& question = "Where is Mary?") {
  Prediction p;
  p.task = task;
  p.length_limit = limit;
  p.length_name = std::to_string(limit / 1000) + "k";
  p.target = target;
  p.pred = pred;
  p.question = question;
  return p;
}

TEST(BabilongMetric, SummaryCountsAccuracyAndAverages) {
  std::vector<Prediction> p;
  auto add = [&](Prediction x) { p.push_back(std::move(x)); };
  // 4k: qa1 3/4, qa2 1/2; 1k: qa1 1/1
  add(Pred("qa1", 4000, "garden", "garden"));
  add(Pred("qa1", 4000, "garden", "The garden."));
  add(Pred("qa1", 4000, "kitchen", "kitchen"));
  add(Pred("qa1", 4000, "kitchen", ""));
  add(Pred("qa2", 4000, "office", "office", "Where is the milk?"));
  add(Pred("qa2", 4000, "office", "hallway", "Where is the milk?"));
  add(Pred("qa1", 1000, "office", "office"));
  const Summary s = Summarize(p, MatchMode::kWord);
  EXPECT_EQ(s.lengths, (std::vector<std::string>{"1k", "4k"}));
  EXPECT_EQ(s.tasks, (std::vector<std::string>{"qa1", "qa2"}));
  const Cell& c = s.cells.at("4k").at("qa1");
  EXPECT_EQ(c.n, 4);
  EXPECT_EQ(c.correct, 3);
  EXPECT_EQ(c.empty, 1);
  EXPECT_DOUBLE_EQ(c.accuracy(), 75.0);
  EXPECT_DOUBLE_EQ(s.mean_all.at("4k"), 62.5);
  EXPECT_TRUE(s.mean_qa1_5.empty());  // qa3-qa5 missing
  EXPECT_EQ(SummaryCsv(s),
            "length,qa1,qa2,avg\n"
            "1k,100.00,,100.00\n"
            "4k,75.00,50.00,62.50\n");
  const auto j = nlohmann::json::parse(SummaryJson(s));
  EXPECT_EQ(j["results"]["4k"]["qa1"]["correct"], 3);
  EXPECT_EQ(j["results"]["4k"]["qa1"]["empty"], 1);
  EXPECT_EQ(j["results"]["4k"]["avg"], 62.5);
  EXPECT_EQ(j["match"], "word");
  EXPECT_NEAR(Accuracy(p), 500.0 / 7.0, 1e-12);
  EXPECT_EQ(Accuracy({}), 0.0);
}

TEST(BabilongMetric, LeaderboardAverageNeedsQa1To5) {
  std::vector<Prediction> p;
  for (int t = 1; t <= 5; ++t) {
    p.push_back(Pred("qa" + std::to_string(t), 2000, "office", t <= 2 ? "office" : "no"));
  }
  p.push_back(Pred("qa6", 2000, "yes", "yes", "Is Mary in the office?"));
  const Summary s = Summarize(p, MatchMode::kWord);
  EXPECT_DOUBLE_EQ(s.mean_qa1_5.at("2k"), 40.0);
  EXPECT_NEAR(s.mean_all.at("2k"), 50.0, 1e-12);
  EXPECT_NE(SummaryCsv(s).find("avg_qa1-qa5\n2k,100.00,100.00,0.00,0.00,0.00,100.00,50.00,40.00\n"),
            std::string::npos)
      << SummaryCsv(s);
}

}  // namespace
}  // namespace starattn::babilong
