// Prediction records (pred.jsonl, harness/lib/records.h) as eval, report, compare and the resume
// logic read them. Input: the file's bytes.
//
// The file goes through the record reader (with and without a default task), the scorers' views
// of each record (RULER, BABILong, the match mode), the report's reader and scorer
// (ReadPredictionFile with the RULER and BABILong metrics), then the appender: RecordWriter repairs
// the last line and appends one record.
//
// Invariants: on a file the appender accepts, the bytes before its last newline are kept unchanged
// (work already done is never lost), the appended record is the last line, and a torn last line
// (no newline, not JSON) is gone; any file that the reader accepts it still accepts after the
// append, with one record more.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "harness/lib/records.h"
#include "harness/lib/report_data.h"
#include "ruler/scoring.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace starattn;

const fuzz::ScratchDir& Scratch() {
  static const fuzz::ScratchDir dir;
  return dir;
}

const ruler::MetricRegistry& Metrics() {
  static const ruler::MetricRegistry m = [] {
    ruler::MetricRegistry r = ruler::RulerMetrics();
    records::AddBabilongMetric(r);
    return r;
  }();
  return m;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Records read, or -1 when the reader rejected the file.
int64_t CountRecords(const std::string& path) {
  try {
    return static_cast<int64_t>(
        records::ReadRecords(path, {.default_task = "niah_single_1"}).records.size());
  } catch (const Error& e) {
    fuzz::Rejected(e);
    return -1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string path = Scratch().Write("pred.jsonl", bytes);

  for (const std::string default_task : {"", "qa1"}) {
    try {
      records::ForEachRecord(path, {.default_task = default_task, .drop_inputs = true},
                             [&](records::Record&& r) {
                               (void)records::LengthLabel(r, "all");
                               try {
                                 (void)records::ToBabilongPrediction(r, path);
                                 (void)records::MatchOf(r.json, path);
                               } catch (const Error& e) {
                                 fuzz::Rejected(e);
                               }
                               (void)records::ToRulerPrediction(std::move(r));
                             });
    } catch (const Error& e) {
      fuzz::Rejected(e);
    }
  }
  try {
    (void)report::ReadPredictionFile(path, Metrics(), "4k");
  } catch (const Error& e) {
    fuzz::Rejected(e);
  }

  // The appender.
  const int64_t before = CountRecords(path);
  const nlohmann::json added = {{"sample_key", "fuzz-appended/0"},
                                {"task", "niah_single_1"},
                                {"index", 0},
                                {"pred", "x"},
                                {"outputs", {"x"}}};
  try {
    records::RecordWriter writer(path);
    if (writer.Has("fuzz-appended/0")) return 0;
    writer.Append(added);
  } catch (const Error& e) {
    fuzz::Rejected(e);
    return 0;
  }
  const std::string after = ReadAll(path);
  const size_t last_nl = bytes.rfind('\n');
  const std::string kept = last_nl == std::string::npos ? "" : bytes.substr(0, last_nl + 1);
  if (after.compare(0, kept.size(), kept) != 0) fuzz::Violation("appending changed earlier lines");
  const std::string line = added.dump() + "\n";
  if (after.size() < line.size() ||
      after.compare(after.size() - line.size(), line.size(), line) != 0) {
    fuzz::Violation("the appended record is not the last line");
  }
  // Between the kept lines and the new one: nothing, or the old last line (complete: it parses
  // as a JSON object) with its newline added.
  if (after.size() < kept.size() + line.size()) fuzz::Violation("the file lost bytes");
  const std::string middle = after.substr(kept.size(), after.size() - line.size() - kept.size());
  if (!middle.empty() && (middle != bytes.substr(kept.size()) + "\n" ||
                          !nlohmann::json::accept(bytes.substr(kept.size())))) {
    fuzz::Violation("the last line was neither cut (torn) nor ended (complete)");
  }
  if (before >= 0) {
    const int64_t now = CountRecords(path);
    if (now != before + 1) fuzz::Violation("a file the reader accepted lost records or broke");
  }
  return 0;
}
