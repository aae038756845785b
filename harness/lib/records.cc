#include "harness/lib/records.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "babilong/babi.h"
#include "engine/common/error.h"
#include "engine/common/parse.h"
#include "harness/lib/jsonl.h"
#include "harness/lib/report_data.h"

namespace fs = std::filesystem;

namespace starattn::records {
namespace {

// The record of one parsed line; `where` is "<path>:<line>".
Record ParseRecord(nlohmann::json j, int64_t line, const std::string& where,
                   const ReadOptions& opts) {
  if (!j.is_object()) Fail("{}: not a JSON object", where);
  Record r;
  r.line = line;
  const auto pred = j.find("pred");
  if (pred == j.end() || !pred->is_string()) Fail("{}: no string field \"pred\"", where);
  r.pred = pred->get<std::string>();

  std::optional<std::vector<std::string>> refs = ReferencesOf(j, where);
  if (!refs) Fail("{}: no field \"outputs\" (or \"output\")", where);
  r.references = std::move(*refs);

  if (std::optional<std::string> task = TaskOf(j, where)) {
    r.task = std::move(*task);
  } else if (!opts.default_task.empty()) {
    r.task = opts.default_task;
  } else {
    Fail("{}: no string field \"task\"", where);
  }

  const auto index = j.find("index");
  r.index = index != j.end() && index->is_number_integer() ? index->get<int64_t>() : line - 1;
  if (const auto key = j.find("sample_key"); key != j.end() && key->is_string()) {
    r.key = key->get<std::string>();
  } else {
    r.key = r.task + "/" + std::to_string(r.index);
  }
  if (const auto l = j.find("length_limit"); l != j.end() && l->is_number_integer()) {
    r.length_limit = l->get<int64_t>();
  }
  if (const auto l = j.find("length_name"); l != j.end() && l->is_string()) {
    r.length_name = l->get<std::string>();
  }
  if (opts.drop_inputs) {
    for (const char* k : {"input_context", "input"}) j.erase(k);
  }
  r.json = std::move(j);
  return r;
}

// BABILong's question: the record's "question", else its "input_query".
std::string QuestionOf(const nlohmann::json& record) {
  for (const char* key : {"question", "input_query"}) {
    if (const auto it = record.find(key); it != record.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return "";
}

// Bytes of a file from `offset` to its end.
std::string ReadTail(const std::string& path, int64_t offset) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Writes all of `bytes` to fd (a short write is continued; an interrupted one retried).
void WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail("{}: write failed: {}", path, std::strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// The last line without its newline: cut when torn, ended when complete.
void RepairLastLine(const std::string& path) {
  const int64_t size = static_cast<int64_t>(fs::file_size(path));
  if (size == 0) return;
  // The last line starts after the last newline; read back in growing windows to find it.
  int64_t start = size;
  for (int64_t window = 4096;; window *= 2) {
    const int64_t from = std::max<int64_t>(0, size - window);
    const std::string tail = ReadTail(path, from);
    if (!tail.empty() && tail.back() == '\n') return;
    const size_t nl = tail.rfind('\n');
    if (nl != std::string::npos || from == 0) {
      start = nl == std::string::npos ? 0 : from + static_cast<int64_t>(nl) + 1;
      break;
    }
  }
  const std::string last = ReadTail(path, start);
  // Complete: a JSON object (checked without building it; the reader then applies its limits).
  const size_t first = last.find_first_not_of(" \t\r");
  const bool complete =
      first != std::string::npos && last[first] == '{' && nlohmann::json::accept(last);
  if (complete) {
    std::ofstream(path, std::ios::binary | std::ios::app) << '\n';
  } else {
    fs::resize_file(path, static_cast<uintmax_t>(start));
  }
}

}  // namespace

std::optional<std::string> TaskOf(const nlohmann::json& j, const std::string& where) {
  const auto task = j.find("task");
  if (task == j.end() || task->is_null()) return std::nullopt;
  if (!task->is_string() || task->get<std::string>().empty()) {
    Fail("{}: \"task\" must be a non-empty string, got {}", where, JsonSnippet(*task));
  }
  return task->get<std::string>();
}

std::optional<std::vector<std::string>> ReferencesOf(const nlohmann::json& j,
                                                     const std::string& where) {
  const char* key = j.contains("outputs") ? "outputs" : j.contains("output") ? "output" : nullptr;
  if (key == nullptr) return std::nullopt;
  const nlohmann::json& refs = j[key];
  if (refs.is_string()) return std::vector<std::string>{refs.get<std::string>()};
  if (refs.is_array() && !refs.empty() &&
      std::all_of(refs.begin(), refs.end(), [](const auto& x) { return x.is_string(); })) {
    return refs.get<std::vector<std::string>>();
  }
  Fail("{}: \"{}\" must be a string or a non-empty list of strings, got {}", where, key,
       JsonSnippet(refs));
}

bool ForEachRecord(const std::string& path, const ReadOptions& opts,
                   const std::function<void(Record&&)>& fn) {
  if (!fs::is_regular_file(path)) Fail("{}: no such file", path);
  std::map<std::string, int64_t> seen;  // key and length -> line
  return cli::ForEachJsonLine(path, /*allow_torn_last=*/true, [&](nlohmann::json j, int64_t line) {
    const std::string where = path + ":" + std::to_string(line);
    Record r = ParseRecord(std::move(j), line, where, opts);
    const std::string length = LengthLabel(r, "");
    const auto [it, fresh] = seen.emplace(r.key + "\x1f" + length, line);
    if (!fresh) {
      Fail("{}: sample {}{} appears twice (first at line {})", where, r.key,
           length.empty() ? "" : " (length " + length + ")", it->second);
    }
    fn(std::move(r));
  });
}

RecordFile ReadRecords(const std::string& path, const ReadOptions& opts) {
  RecordFile f;
  f.path = path;
  f.torn_last_line =
      ForEachRecord(path, opts, [&](Record&& r) { f.records.push_back(std::move(r)); });
  return f;
}

std::string LengthLabel(const Record& r, const std::string& fallback) {
  if (!r.length_name.empty()) return r.length_name;
  if (r.length_limit > 0) return report::LengthLabelOf(r.length_limit);
  return fallback;
}

ruler::Prediction ToRulerPrediction(Record r) {
  ruler::Prediction p;
  p.task = std::move(r.task);
  p.index = r.index;
  p.pred = std::move(r.pred);
  p.references = std::move(r.references);
  p.length_limit = r.length_limit;
  p.record = std::move(r.json);
  return p;
}

babilong::Prediction ToBabilongPrediction(const Record& r, const std::string& path) {
  babilong::Prediction p;
  try {
    babilong::TaskNumber(r.task);
  } catch (const Error& e) {
    Fail("{}:{}: {}", path, r.line, e.what());
  }
  p.task = r.task;
  p.pred = r.pred;
  p.target = r.references.front();
  p.question = QuestionOf(r.json);
  p.length_limit = r.length_limit;
  p.length_name = LengthLabel(r, "all");
  return p;
}

std::optional<babilong::MatchMode> MatchOf(const nlohmann::json& record, const std::string& where) {
  const auto it = record.find("match");
  if (it == record.end()) return std::nullopt;
  try {
    if (!it->is_string()) Fail("\"match\" must be a string, got {}", JsonSnippet(*it));
    return babilong::ParseMatchMode(it->get<std::string>());
  } catch (const Error& e) {
    Fail("{}: {}", where, e.what());
  }
}

void AddBabilongMetric(ruler::MetricRegistry& metrics) {
  metrics.Add(std::string(ruler::kBabilongMetric), [](const std::vector<ruler::Prediction>& preds) {
    if (preds.empty()) return 0.0;
    int64_t correct = 0;
    for (const ruler::Prediction& p : preds) {
      if (p.references.empty()) Fail("{} sample {}: no reference answer", p.task, p.index);
      const std::string where = fmt::format("{} sample {}", p.task, p.index);
      const babilong::MatchMode mode =
          MatchOf(p.record, where).value_or(babilong::MatchMode::kWord);
      correct += babilong::CompareAnswers(p.references[0], p.pred, QuestionOf(p.record),
                                          babilong::TaskLabels(p.task), mode);
    }
    return 100.0 * static_cast<double>(correct) / static_cast<double>(preds.size());
  });
}

RecordWriter::RecordWriter(const std::string& path) : path_(path) {
  if (const fs::path dir = fs::path(path).parent_path(); !dir.empty()) {
    fs::create_directories(dir);
  }
  if (fs::exists(path)) {
    RepairLastLine(path);
    cli::ForEachJsonLine(path, /*allow_torn_last=*/false, [&](nlohmann::json j, int64_t line) {
      const auto key = j.is_object() ? j.find("sample_key") : j.end();
      if (!j.is_object() || key == j.end() || !key->is_string()) {
        Fail(
            "{}:{}: no string field \"sample_key\" (not a prediction file that run or sweep "
            "wrote)",
            path, line);
      }
      if (!keys_.insert(key->get<std::string>()).second) {
        Fail("{}:{}: sample {} appears twice", path, line, key->get<std::string>());
      }
    });
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) Fail("{}: cannot open for appending: {}", path, std::strerror(errno));
}

RecordWriter::~RecordWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void RecordWriter::Append(const nlohmann::json& record) {
  const auto key = record.find("sample_key");
  if (key == record.end() || !key->is_string()) {
    Fail("{}: internal: a record without sample_key", path_);
  }
  if (!keys_.insert(key->get<std::string>()).second) {
    Fail("{}: sample {} is already there", path_, key->get<std::string>());
  }
  // One write(2) of the whole line in the common case; a kill mid-line leaves a torn last line,
  // which the next RecordWriter cuts.
  // Invalid UTF-8 (a generation cut inside a character) becomes U+FFFD rather than an error.
  WriteAll(fd_, record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
           path_);
}

}  // namespace starattn::records
