// Reading results for `report` and `compare`: prediction files scored per sample, the sweep's
// results tree (results/<name>/<model>/<attn>/<length>/pred.jsonl), and reference-format RULER
// summary.csv folders.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ruler/scoring.h"

namespace starattn::report {

// ---- Length labels ----------------------------------------------------------------------------
// "4k" -> 4096, "4096" -> 4096, "128K" -> 131072; -1 when the label is not a length.
int64_t LengthTokens(std::string_view label);
// Tokens -> label: 4096 -> "4k", 4000 -> "4k" (BABILong counts thousands), 1500 -> "1500".
std::string LengthLabelOf(int64_t tokens);
// Orders labels by LengthTokens (non-lengths last, by name).
bool LengthLess(const std::string& a, const std::string& b);
void SortLengths(std::vector<std::string>& labels);

// Tasks in report order: RULER's 13 in the reference's order, BABILong qa1..qa20 by number,
// then the others by name.
bool TaskLess(const std::string& a, const std::string& b);
bool IsRulerTask(std::string_view task);
bool IsBabilongQa1To5(std::string_view task);
// "ruler" for RULER's tasks, "babilong" for qa1..qa20, "" for others.
std::string BenchmarkOfTask(std::string_view task);

// ---- Scored samples ---------------------------------------------------------------------------
struct SampleTiming {
  double total_s = 0;
  double phase1_critical_s = 0;
  double phase2_critical_s = 0;
  double decode_critical_s = 0;
  std::vector<double> host_phase1_s;  // per host, in host order
  // Attention work (record "attention_work"; 0 in records written before it existed): scores
  // computed while prefilling and K/V bytes read while decoding, beside dense's for the sample.
  double prefill_scores = 0, dense_prefill_scores = 0;
  double decode_kv_bytes = 0, dense_decode_kv_bytes = 0;
};

struct ScoredSample {
  std::string task;
  std::string length;      // label, e.g. "4k"
  std::string key;         // sample_key, else "<task>/<index>"
  std::string pred_clean;  // ruler::CleanPrediction(pred)
  double score = 0;        // the task's metric on this sample alone, in [0, 1]
  std::optional<SampleTiming> timing;
  // The benchmark profile of its data (ruler/profile.h, babilong/profile.h): the record's
  // "profile" (with its "profile_overrides" as JSON after a space), else the benchmark's default
  // ("ruler" for RULER's tasks, "project" for BABILong's: records of the default profile carry no
  // profile fields); "" for other tasks.
  std::string profile;
  std::string prompts_sha256;  // the record's "prompts_sha256"; "" for built-in prompts
  // Identity for pairing: length, task and key.
  std::string PairKey() const { return length + "\x1f" + task + "\x1f" + key; }
};

// The attention configuration a file's records carry (their `attn` object), when they agree.
struct AttnInfo {
  std::string mode;  // "dense", "star", "ring"; "" when unknown
  int hosts = 0;
  int64_t block_size = 0;
  int64_t anchor_size = 0;
};

struct PredictionFile {
  std::string path;
  std::vector<ScoredSample> samples;
  // ruler::ScorePredictions of the samples of each length label (the reference's task scores,
  // as summary.csv has them).
  std::map<std::string, std::vector<ruler::TaskScore>> task_scores;
  AttnInfo attn;
  bool torn_last_line = false;  // the file ends without a newline: that line was skipped
};

// Reads and scores one pred.jsonl. Each sample is scored with its task's default metric
// (ruler::DefaultMetricForTask) looked up in `metrics`, on that sample alone, /100. A sample's
// length label is its record's `length_name`, else LengthLabelOf(`length_limit`), else
// `length_fallback`. A torn last line (no newline: a run in progress or killed) is skipped; any
// other malformed line, an unknown task metric, or a duplicate sample is an Error naming the
// file (and line).
PredictionFile ReadPredictionFile(const std::string& path, const ruler::MetricRegistry& metrics,
                                  const std::string& length_fallback = "");

// ---- The results tree -------------------------------------------------------------------------
struct ConfigRun {  // one <model>/<attn>/<length>
  std::string model;
  std::string attn;    // the directory label
  std::string length;  // the directory label
  PredictionFile file;
};

struct ResultsTree {
  std::string dir;
  std::string name;             // manifest "name", else the directory name
  nlohmann::json manifest;      // null when there is none
  std::vector<ConfigRun> runs;  // by model, attn (manifest order, else by name), length
  std::vector<std::string> warnings;
};

// Reads RESULTS_DIR/<model>/<attn>/<length>/pred.jsonl (and manifest.json when present). Skips
// the report/ and data/ folders and empty prediction files (with a warning). Throws Error when
// the folder is missing or holds no predictions.
ResultsTree ReadResultsTree(const std::string& dir, const ruler::MetricRegistry& metrics);

// ---- Reference-format results (RULER's summary.csv) -------------------------------------------
struct ReferenceScore {
  std::string task;
  double score = 0;
  int64_t nulls = -1;  // from "Nulls" ("k/total"); -1 when absent
  int64_t total = -1;
};

struct ReferenceRun {
  std::string label;   // the path relative to the reference folder, length parts dropped
  std::string length;  // label, e.g. "4k"
  std::string path;
  std::vector<ReferenceScore> scores;
};

// Parses a RULER summary.csv (pandas layout: a row of column numbers, then rows whose first field
// is Tasks, Score and optionally Nulls). Throws Error naming the file.
std::vector<ReferenceScore> ParseReferenceSummaryCsv(const std::string& text,
                                                     const std::string& where);

// Finds REF_DIR/**/summary.csv. The length is the last path component that is a length ("4096",
// "4k", e.g. synthetic/4096/pred/summary.csv); the label is the remaining relative directory
// without the components "synthetic" and "pred" (the folder's own name when nothing is left).
// Throws Error when the folder is missing, holds no summary.csv, or a path has no length.
// label_prefix (e.g. the folder name when several are read) is put before every label.
std::vector<ReferenceRun> ReadReferenceDir(const std::string& dir,
                                           const std::string& label_prefix = "");

// Splits one CSV line (RFC 4180 quoting).
std::vector<std::string> SplitCsvLine(std::string_view line);
// Quotes a CSV field when needed.
std::string CsvField(std::string_view s);

}  // namespace starattn::report
