// The BABILong metric (the reference's compare_answers, as in NVIDIA/Star-Attention
// babilong/metrics.py, which extends booydar/babilong's to all 20 tasks and to qa8's lists):
//   1. the output is lower-cased and cut at the first ".", then at "<context>" and "<example>";
//   2. labels_in_output = the task's labels found in the output, minus those found in the
//      question (a label the question mentions is never the answer);
//   3. correct iff the target is in labels_in_output and is its only element; a multi-item target
//      ("apple,milk", qa8) is correct iff every item is there and nothing else.
// Accuracy = 100 * correct / N.
//
// Matching a label ("found in"): the reference tests substrings (`label in output`), which makes
// some answers impossible to get right: "one" is inside "none" (qa7: a correct "none" always also
// finds "one"), "no" inside "not", "know", "nothing" or "north". MatchMode::kWord (the default
// here) finds a label only as a whole word (not preceded or followed by a letter or digit);
// MatchMode::kSubstring reproduces the reference exactly. For qa1-qa5 both agree on any sensible
// output.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace starattn::babilong {

enum class MatchMode { kWord, kSubstring };
MatchMode ParseMatchMode(std::string_view s);  // "word" | "substring"
std::string_view MatchModeName(MatchMode m);

// The answer labels of a task, lower case (qa19: direction pairs "n,w" as in the reference).
const std::vector<std::string>& TaskLabels(std::string_view task);

// Step 1 above.
std::string PreprocessOutput(std::string_view output);

bool CompareAnswers(std::string_view target, std::string_view output, std::string_view question,
                    const std::vector<std::string>& labels, MatchMode mode = MatchMode::kWord);

// ---- Aggregation over a predictions file ------------------------------------------------------

struct Prediction {
  std::string task;
  int64_t length_limit = -1;  // tokens; -1 when unknown
  std::string length_name;    // "4k" (the harness reads records: harness/lib/records.h)
  std::string pred;
  std::string target;  // outputs[0]
  std::string question;
};

struct Cell {
  int64_t n = 0;
  int64_t correct = 0;
  int64_t empty = 0;  // predictions that are empty after trimming
  double accuracy() const {
    return n ? 100.0 * static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  }
};

struct Summary {
  MatchMode mode = MatchMode::kWord;
  // length name -> task -> cell; lengths ordered by token count, tasks by number
  std::vector<std::string> lengths;
  std::vector<std::string> tasks;
  std::map<std::string, std::map<std::string, Cell>> cells;
  // Per length: mean accuracy over the tasks present, and over qa1-qa5 (the leaderboard average)
  // when all five are present.
  std::map<std::string, double> mean_all;
  std::map<std::string, double> mean_qa1_5;
};

Summary Summarize(const std::vector<Prediction>& preds, MatchMode mode);

// 100 * correct / N over predictions of any tasks (0 when empty).
double Accuracy(const std::vector<Prediction>& preds, MatchMode mode = MatchMode::kWord);

// summary.csv: one row per length: length,<task...>,avg[,avg_qa1-qa5]; accuracies with 2 decimals.
std::string SummaryCsv(const Summary& s);
// summary.json: the same, plus n / correct / empty per cell and the match mode.
std::string SummaryJson(const Summary& s);

}  // namespace starattn::babilong
