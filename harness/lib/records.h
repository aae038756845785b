// Prediction records: the JSON lines of pred.jsonl that `run` and `sweep` append and that `eval`,
// `eval-babilong`, `report`, `compare` and `sweep`'s scoring read. This is the one reader (one set
// of rules), the one appender, and the resume logic.
//
// A record is one JSON object per line (the format results/ holds, unchanged):
//   pred        string, required: the generated text
//   outputs     the expected answers: a string or a non-empty list of strings (or `output`)
//   task        string; records without one take the reader's default task (eval: the file name)
//   index       integer; default: the line number - 1
//   sample_key  string, the identity for resuming; default "<task>/<index>"
//   length_limit, length_name   the benchmark's length (integer tokens, label such as "4k")
//   and whatever else the writer kept (inputs, timing, attn, ...).
//
// The last line of a file without its newline is either complete (it parses as a JSON object:
// readers take it, the appender adds the newline) or torn by a kill mid-write (it does not parse:
// readers skip it and say so, the appender cuts it before appending). Any other malformed line is
// an Error naming the file, the line and the field.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "babilong/metric.h"
#include "ruler/scoring.h"

namespace starattn::records {

struct Record {
  int64_t line = 0;  // 1-based line in its file
  std::string key;   // sample_key, else "<task>/<index>"
  std::string task;
  int64_t index = 0;
  std::string pred;
  std::vector<std::string> references;  // outputs, or [output]
  int64_t length_limit = -1;            // -1 when absent
  std::string length_name;              // "" when absent
  nlohmann::json json;                  // the whole line
};

struct ReadOptions {
  // Task of records without a "task" field; empty: the field is required.
  std::string default_task;
  // Drops the long inputs (input_context, input) from Record::json as each line is read: scoring
  // needs the answers and at most the question (input_query).
  bool drop_inputs = false;
};

// Calls fn for each record of `path`, in file order. Throws Error for a missing file, a
// malformed line or record, or a sample that appears twice (same key and length). Returns true
// when a torn last line was skipped.
bool ForEachRecord(const std::string& path, const ReadOptions& opts,
                   const std::function<void(Record&&)>& fn);

struct RecordFile {
  std::string path;
  std::vector<Record> records;
  bool torn_last_line = false;
};
RecordFile ReadRecords(const std::string& path, const ReadOptions& opts = {});

// The fields a record shares with the task sample it was run from (runner.h checks samples with
// these, so that a sample that runs yields a record the reader accepts). `where` ("<file>:<line>")
// names the record in errors.
// "task": nullopt when absent or null; else it must be a non-empty string.
std::optional<std::string> TaskOf(const nlohmann::json& j, const std::string& where);
// The expected answers, "outputs" (else "output"): nullopt when neither is there; else a string or
// a non-empty list of strings.
std::optional<std::vector<std::string>> ReferencesOf(const nlohmann::json& j,
                                                     const std::string& where);

// The record's length label: length_name, else the label of length_limit (4096 -> "4k",
// 4000 -> "4k", 1500 -> "1500"), else `fallback`.
std::string LengthLabel(const Record& r, const std::string& fallback);

// The scorers' views of a record.
ruler::Prediction ToRulerPrediction(Record r);
// The question is the record's "question", else its "input_query"; the length label is
// LengthLabel(r, "all"). Throws Error naming the file and line for a task that is not qaN.
babilong::Prediction ToBabilongPrediction(const Record& r, const std::string& path);

// The label matching a BABILong record asks for: its "match" field (written by the profiles that
// set one, babilong/profile.h), else nullopt (the default: whole words). Throws Error naming the
// file and line for a value that is not a match mode.
std::optional<babilong::MatchMode> MatchOf(const nlohmann::json& record, const std::string& where);

// Registers BABILong's metric (babilong::CompareAnswers with each record's match mode, MatchOf,
// whole words when it has none) as ruler::kBabilongMetric, so that ruler::ScorePredictions scores
// qa1..qa20 with it; the question comes from each prediction's record as in ToBabilongPrediction.
void AddBabilongMetric(ruler::MetricRegistry& metrics);

// Appends records to a prediction file and knows which samples it already holds.
class RecordWriter {
 public:
  // Makes `path` ready for appending (creating its folder): cuts a torn last line, ends a complete
  // last line that lacks its newline, and reads the keys already there. Every complete line must
  // be a JSON object with a string "sample_key" (else Error: not a file `run` or `sweep` wrote).
  explicit RecordWriter(const std::string& path);
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  const std::string& path() const { return path_; }
  bool Has(const std::string& key) const { return keys_.count(key) != 0; }
  int64_t size() const { return static_cast<int64_t>(keys_.size()); }

  // Appends one record (with a string "sample_key" not yet in the file) as one line, written and
  // flushed at once, so that a kill leaves at most a torn last line. Throws Error on a failed
  // write or a key already there.
  void Append(const nlohmann::json& record);

 private:
  std::string path_;
  std::set<std::string> keys_;
  int fd_ = -1;  // O_APPEND
};

}  // namespace starattn::records
