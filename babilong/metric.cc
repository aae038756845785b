#include "babilong/metric.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "babilong/babi.h"
#include "babilong/generate.h"
#include "engine/common/error.h"

namespace starattn::babilong {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Whether `label` occurs in `text` (both lower case).
bool Found(std::string_view text, std::string_view label, MatchMode mode) {
  if (mode == MatchMode::kSubstring) return text.find(label) != std::string_view::npos;
  for (size_t p = text.find(label); p != std::string_view::npos; p = text.find(label, p + 1)) {
    const bool left_ok = p == 0 || !IsWordChar(text[p - 1]);
    const size_t e = p + label.size();
    const bool right_ok = e == text.size() || !IsWordChar(text[e]);
    if (left_ok && right_ok) return true;
  }
  return false;
}

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(',', start);
    out.emplace_back(
        s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

std::string Trim(std::string_view s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(a, b - a + 1));
}

}  // namespace

MatchMode ParseMatchMode(std::string_view s) {
  if (s == "word") return MatchMode::kWord;
  if (s == "substring") return MatchMode::kSubstring;
  Fail("unknown match mode '{}' (expected word or substring)", s);
}

std::string_view MatchModeName(MatchMode m) {
  switch (m) {
    case MatchMode::kWord:
      return "word";
    case MatchMode::kSubstring:
      return "substring";
  }
  return "word";
}

const std::vector<std::string>& TaskLabels(std::string_view task) {
  static const std::vector<std::string> kRooms = {"bathroom", "bedroom", "garden",
                                                  "hallway",  "kitchen", "office"};
  static const std::vector<std::vector<std::string>> kLabels = {
      kRooms,                                                                                // qa1
      kRooms,                                                                                // qa2
      kRooms,                                                                                // qa3
      kRooms,                                                                                // qa4
      {"bill", "fred", "jeff", "mary", "apple", "football", "milk"},                         // qa5
      {"no", "yes"},                                                                         // qa6
      {"none", "one", "three", "two"},                                                       // qa7
      {"apple", "football", "milk", "nothing"},                                              // qa8
      {"no", "yes"},                                                                         // qa9
      {"maybe", "no", "yes"},                                                                // qa10
      kRooms,                                                                                // qa11
      kRooms,                                                                                // qa12
      kRooms,                                                                                // qa13
      {"bedroom", "cinema", "kitchen", "office", "park", "school"},                          // qa14
      {"cat", "mouse", "sheep", "wolf"},                                                     // qa15
      {"gray", "green", "white", "yellow"},                                                  // qa16
      {"no", "yes"},                                                                         // qa17
      {"no", "yes"},                                                                         // qa18
      {"e,e", "e,n", "e,s", "n,e", "n,n", "n,w", "s,e", "s,s", "s,w", "w,n", "w,s", "w,w"},  // qa19
      {"bedroom", "bored", "garden", "hungry", "kitchen", "thirsty", "tired"},               // qa20
  };
  return kLabels[TaskNumber(task) - 1];
}

std::string PreprocessOutput(std::string_view output) {
  std::string out = Lower(output);
  out = out.substr(0, out.find('.'));
  out = out.substr(0, out.find("<context>"));
  out = out.substr(0, out.find("<example>"));
  return out;
}

bool CompareAnswers(std::string_view target, std::string_view output, std::string_view question,
                    const std::vector<std::string>& labels, MatchMode mode) {
  const std::string out = PreprocessOutput(output);
  const std::string q = Lower(question);
  const std::string t = Lower(Trim(target));
  std::set<std::string> found;
  for (const std::string& raw : labels) {
    const std::string label = Lower(raw);
    if (Found(out, label, mode) && !Found(q, label, mode)) found.insert(label);
  }
  // A list target (qa8 "apple,milk"; the reference tells it from qa19's "n,w" by its length).
  if (t.find(',') != std::string::npos && t.size() > 3) {
    const std::vector<std::string> parts = SplitComma(t);
    const std::set<std::string> want(parts.begin(), parts.end());
    return found == want && want.size() == parts.size();
  }
  return found.size() == 1 && *found.begin() == t;
}

Summary Summarize(const std::vector<Prediction>& preds, MatchMode mode) {
  Summary s;
  s.mode = mode;
  std::map<std::string, int64_t> length_tokens;
  std::set<int> task_numbers;
  for (const Prediction& p : preds) {
    Cell& c = s.cells[p.length_name][p.task];
    ++c.n;
    if (Trim(p.pred).empty()) ++c.empty;
    if (CompareAnswers(p.target, p.pred, p.question, TaskLabels(p.task), mode)) ++c.correct;
    task_numbers.insert(TaskNumber(p.task));
    int64_t tokens = p.length_limit;
    if (tokens < 0) {
      try {
        tokens = ParseLength(p.length_name).tokens;
      } catch (const Error&) {
        tokens = -1;
      }
    }
    length_tokens.emplace(p.length_name, tokens);
  }
  for (const auto& [name, tokens] : length_tokens) s.lengths.push_back(name);
  std::sort(s.lengths.begin(), s.lengths.end(), [&](const std::string& a, const std::string& b) {
    return std::pair(length_tokens[a], a) < std::pair(length_tokens[b], b);
  });
  for (const int t : task_numbers) s.tasks.push_back("qa" + std::to_string(t));
  for (const std::string& len : s.lengths) {
    const auto& row = s.cells[len];
    double sum = 0, sum5 = 0;
    int n5 = 0;
    for (const auto& [task, cell] : row) {
      sum += cell.accuracy();
      if (TaskNumber(task) <= 5) {
        sum5 += cell.accuracy();
        ++n5;
      }
    }
    s.mean_all[len] = row.empty() ? 0.0 : sum / static_cast<double>(row.size());
    if (n5 == 5) s.mean_qa1_5[len] = sum5 / 5.0;
  }
  return s;
}

double Accuracy(const std::vector<Prediction>& preds, MatchMode mode) {
  if (preds.empty()) return 0.0;
  int64_t correct = 0;
  for (const Prediction& p : preds) {
    correct += CompareAnswers(p.target, p.pred, p.question, TaskLabels(p.task), mode);
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(preds.size());
}

std::string SummaryCsv(const Summary& s) {
  const bool has5 = !s.mean_qa1_5.empty();
  std::string out = "length";
  for (const auto& t : s.tasks) out += "," + t;
  out += ",avg";
  if (has5) out += ",avg_qa1-qa5";
  out += "\n";
  for (const std::string& len : s.lengths) {
    out += len;
    const auto& row = s.cells.at(len);
    for (const auto& t : s.tasks) {
      const auto it = row.find(t);
      out += it == row.end() ? "," : fmt::format(",{:.2f}", it->second.accuracy());
    }
    out += fmt::format(",{:.2f}", s.mean_all.at(len));
    if (has5) {
      const auto it = s.mean_qa1_5.find(len);
      out += it == s.mean_qa1_5.end() ? "," : fmt::format(",{:.2f}", it->second);
    }
    out += "\n";
  }
  return out;
}

std::string SummaryJson(const Summary& s) {
  nlohmann::ordered_json j;
  j["benchmark"] = "babilong";
  j["match"] = MatchModeName(s.mode);
  j["lengths"] = s.lengths;
  j["tasks"] = s.tasks;
  nlohmann::ordered_json results = nlohmann::ordered_json::object();
  auto round2 = [](double x) { return std::round(x * 100.0) / 100.0; };
  for (const std::string& len : s.lengths) {
    nlohmann::ordered_json row;
    for (const auto& t : s.tasks) {
      const auto& cells = s.cells.at(len);
      const auto it = cells.find(t);
      if (it == cells.end()) continue;
      row[t] = {{"accuracy", round2(it->second.accuracy())},
                {"correct", it->second.correct},
                {"n", it->second.n},
                {"empty", it->second.empty}};
    }
    row["avg"] = round2(s.mean_all.at(len));
    if (const auto it = s.mean_qa1_5.find(len); it != s.mean_qa1_5.end()) {
      row["avg_qa1-qa5"] = round2(it->second);
    }
    results[len] = row;
  }
  j["results"] = results;
  return j.dump(2) + "\n";
}

}  // namespace starattn::babilong
