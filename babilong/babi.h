// bAbI tasks: the samples BABILong hides in long text, read from the official v1.2 files or made
// by the built-in generator (world.h).
//
// File format: each line is "<n> <text>"; n restarts at 1 with every story. A question line is
// "<n> <question>\t<answer>\t<supporting line numbers>" (the official files use tabs; a '|' in
// place of each tab is also accepted, as some copies have it). As the reference does
// (booydar/babilong get_dataset_df), every question becomes one sample whose facts are all
// statement lines of its story before it; earlier questions are not facts.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace starattn::babilong {

struct BabiSample {
  std::vector<std::string> facts;     // statements of the story before the question, in order
  std::vector<int> fact_lines;        // their line numbers in the story
  std::string question;               // e.g. "Where is Mary?" (trimmed)
  std::string answer;                 // e.g. "bathroom"; several answers joined by ',' (qa8)
  std::vector<int> supporting_lines;  // line numbers of the supporting facts (may be empty)
  int question_line = 0;              // line number of the question in the story
  int story = 0;                      // index of the story in its file
};

// Parses the text of one bAbI file; `name` is used in error messages. Throws Error on a malformed
// line (naming the file and line).
std::vector<BabiSample> ParseBabi(std::string_view text, const std::string& name);
std::vector<BabiSample> ReadBabiFile(const std::string& path);

// The file of a task ("qa3") in a bAbI folder: the one named qa3_*_test.txt. Throws Error when
// there is none or more than one.
std::string FindBabiTestFile(const std::string& dir, const std::string& task);

// A sample subset: task -> indices of questions in the task's test file (0-based, in file order),
// as the reference's data/test_100_idxs.json lists the 100 test samples of qa1-qa5. Throws Error
// naming the file for invalid JSON, a key that is not qa1..qa20, or an index that is not a
// non-negative integer or appears twice.
std::map<std::string, std::vector<int>> ReadSampleSubset(const std::string& path);

// "qa1".."qa20" -> 1..20; throws Error otherwise.
int TaskNumber(std::string_view task);
// The 20 task names, qa1..qa20.
const std::vector<std::string>& AllTasks();

}  // namespace starattn::babilong
