#include "babilong/babi.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"

namespace starattn::babilong {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool ParseInt(std::string_view s, int& out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::vector<std::string_view> SplitFields(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(sep, start);
    out.push_back(
        s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

struct Statement {
  int line;
  std::string text;
};

}  // namespace

std::vector<BabiSample> ParseBabi(std::string_view text, const std::string& name) {
  std::vector<BabiSample> samples;
  std::vector<Statement> story;  // statements of the current story so far
  int story_index = -1;
  int prev_number = 0;
  size_t pos = 0;
  int file_line = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++file_line;
    if (line.empty()) continue;
    const size_t sp = line.find(' ');
    int number = 0;
    if (sp == std::string_view::npos || !ParseInt(line.substr(0, sp), number) || number < 1) {
      Fail("{}:{}: expected '<line number> <text>'", name, file_line);
    }
    std::string_view body = line.substr(sp + 1);
    if (number == 1) {
      story.clear();
      ++story_index;
    } else if (number != prev_number + 1 || story_index < 0) {
      Fail("{}:{}: line number {} follows {}", name, file_line, number, prev_number);
    }
    prev_number = number;
    const char sep = body.find('\t') != std::string_view::npos  ? '\t'
                     : body.find('|') != std::string_view::npos ? '|'
                                                                : 0;
    if (sep == 0) {
      story.push_back({number, std::string(Trim(body))});
      continue;
    }
    const std::vector<std::string_view> fields = SplitFields(body, sep);
    if (fields.size() < 2 || Trim(fields[0]).empty() || Trim(fields[1]).empty()) {
      Fail("{}:{}: a question line needs '<question><TAB><answer>[<TAB><supporting ids>]'", name,
           file_line);
    }
    BabiSample s;
    s.question = std::string(Trim(fields[0]));
    s.answer = std::string(Trim(fields[1]));
    s.story = story_index;
    s.question_line = number;
    if (fields.size() >= 3) {
      std::string_view ids = Trim(fields[2]);
      while (!ids.empty()) {
        const size_t e = ids.find(' ');
        const std::string_view tok = ids.substr(0, e);
        int id = 0;
        if (!ParseInt(tok, id) || id < 1 || id >= number) {
          Fail("{}:{}: bad supporting line '{}'", name, file_line, tok);
        }
        s.supporting_lines.push_back(id);
        ids = e == std::string_view::npos ? std::string_view() : Trim(ids.substr(e + 1));
      }
    }
    for (const Statement& st : story) {
      s.facts.push_back(st.text);
      s.fact_lines.push_back(st.line);
    }
    samples.push_back(std::move(s));
  }
  return samples;
}

std::vector<BabiSample> ReadBabiFile(const std::string& path) {
  return ParseBabi(ReadFileToString(path), path);
}

std::string FindBabiTestFile(const std::string& dir, const std::string& task) {
  namespace fs = std::filesystem;
  TaskNumber(task);
  if (!fs::is_directory(dir)) Fail("bAbI folder {} does not exist", dir);
  std::vector<std::string> found;
  const std::string prefix = task + "_";
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) == 0 && f.size() > 9 && f.ends_with("_test.txt")) {
      found.push_back(e.path().string());
    }
  }
  if (found.empty()) Fail("no {}_*_test.txt in {}", task, dir);
  if (found.size() > 1) Fail("several {}_*_test.txt files in {}", task, dir);
  return found[0];
}

std::map<std::string, std::vector<int>> ReadSampleSubset(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ReadFileToString(path));
  } catch (const nlohmann::json::exception& e) {
    Fail("sample subset {}: invalid JSON: {}", path, e.what());
  }
  if (!j.is_object()) Fail("sample subset {}: expected an object (task -> indices)", path);
  std::map<std::string, std::vector<int>> out;
  for (const auto& [task, v] : j.items()) {
    try {
      TaskNumber(task);
    } catch (const Error&) {
      Fail("sample subset {}: '{}' is not a task (qa1..qa20)", path, Printable(task));
    }
    if (!v.is_array()) Fail("sample subset {}: {}: expected a list of indices", path, task);
    std::set<int> seen;
    for (const auto& i : v) {
      if (!i.is_number_integer() || i.get<int64_t>() < 0 || i.get<int64_t>() > 100'000'000) {
        Fail("sample subset {}: {}: {} is not a question index", path, task, i.dump());
      }
      const int idx = i.get<int>();
      if (!seen.insert(idx).second) Fail("sample subset {}: {}: {} appears twice", path, task, idx);
      out[task].push_back(idx);
    }
  }
  return out;
}

int TaskNumber(std::string_view task) {
  int n = 0;
  if (task.size() < 3 || task.substr(0, 2) != "qa" || !ParseInt(task.substr(2), n) || n < 1 ||
      n > 20 || task.substr(2) != std::to_string(n)) {
    Fail("unknown BABILong task '{}' (expected qa1..qa20)", task);
  }
  return n;
}

const std::vector<std::string>& AllTasks() {
  static const std::vector<std::string> tasks = [] {
    std::vector<std::string> t;
    for (int i = 1; i <= 20; ++i) t.push_back("qa" + std::to_string(i));
    return t;
  }();
  return tasks;
}

}  // namespace starattn::babilong
