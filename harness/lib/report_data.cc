#include "harness/lib/report_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "engine/common/error.h"
#include "engine/common/parse.h"
#include "harness/lib/records.h"
#include "ruler/tasks.h"

namespace fs = std::filesystem;

namespace starattn::report {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// BABILong task number (qa1..qa20), 0 otherwise.
int BabilongNumber(std::string_view task) {
  if (!task.starts_with("qa") || task.size() < 3 || task.size() > 4) return 0;
  if (!AllDigits(task.substr(2)) || task[2] == '0') return 0;
  const int n = static_cast<int>(ParseInt(task.substr(2), "task number"));  // 1-2 digits
  return n >= 1 && n <= 20 ? n : 0;
}

int RulerIndex(std::string_view task) {
  const auto& all = ruler::AllTasks();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].name == task) return static_cast<int>(i);
  }
  return -1;
}

double NumberOr(const nlohmann::json& j, const char* key, double fallback) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("{}: cannot read", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> SortedSubdirs(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory()) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// ---- Length labels ----------------------------------------------------------------------------

int64_t LengthTokens(std::string_view label) {
  // At most 12 digits (9 before a k): no overflow.
  if (AllDigits(label) && label.size() <= 12) return ParseInt(label, "length");
  if (label.size() >= 2 && (label.back() == 'k' || label.back() == 'K')) {
    const std::string_view num = label.substr(0, label.size() - 1);
    if (AllDigits(num) && num.size() <= 9) return ParseInt(num, "length") * 1024;
  }
  return -1;
}

std::string LengthLabelOf(int64_t tokens) {
  if (tokens > 0 && tokens % 1024 == 0) return fmt::format("{}k", tokens / 1024);
  if (tokens > 0 && tokens % 1000 == 0) return fmt::format("{}k", tokens / 1000);
  return std::to_string(tokens);
}

bool LengthLess(const std::string& a, const std::string& b) {
  const int64_t ta = LengthTokens(a), tb = LengthTokens(b);
  if ((ta < 0) != (tb < 0)) return ta >= 0;  // lengths first
  if (ta != tb) return ta < tb;
  return a < b;
}

void SortLengths(std::vector<std::string>& labels) {
  std::sort(labels.begin(), labels.end(), LengthLess);
}

bool IsRulerTask(std::string_view task) { return ruler::FindTask(task) != nullptr; }

bool IsBabilongQa1To5(std::string_view task) {
  const int n = BabilongNumber(task);
  return n >= 1 && n <= 5;
}

std::string BenchmarkOfTask(std::string_view task) {
  if (IsRulerTask(task)) return "ruler";
  if (BabilongNumber(task) > 0) return "babilong";
  return "";
}

bool TaskLess(const std::string& a, const std::string& b) {
  auto rank = [](const std::string& t) {
    if (const int r = RulerIndex(t); r >= 0) return std::pair<int, int>(0, r);
    if (const int n = BabilongNumber(t); n > 0) return std::pair<int, int>(1, n);
    return std::pair<int, int>(2, 0);
  };
  const auto ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb;
  return a < b;
}

// ---- Scored samples ---------------------------------------------------------------------------

namespace {

SampleTiming TimingOf(const nlohmann::json& t) {
  SampleTiming timing;
  timing.total_s = NumberOr(t, "total_s", 0);
  timing.phase1_critical_s = NumberOr(t, "phase1_critical_s", 0);
  timing.phase2_critical_s = NumberOr(t, "phase2_critical_s", 0);
  timing.decode_critical_s = NumberOr(t, "decode_critical_s", 0);
  if (const auto h = t.find("hosts"); h != t.end() && h->is_array() && !h->empty()) {
    // Phase 2 from the end of phase 1's critical path to the last host's first-token logits
    // (records written before SetCriticalPaths held the max of the hosts' phase-2 times, which
    // includes waiting for the slowest host's phase 1).
    double p1 = 0, first_token = 0;
    for (const auto& host : *h) {
      const double h1 = host.is_object() ? NumberOr(host, "phase1_s", 0) : 0;
      const double h2 = host.is_object() ? NumberOr(host, "phase2_s", 0) : 0;
      timing.host_phase1_s.push_back(h1);
      p1 = std::max(p1, h1);
      first_token = std::max(first_token, h1 + h2);
    }
    timing.phase2_critical_s = first_token - p1;
  }
  return timing;
}

// ScoredSample::profile of a record.
std::string ProfileOf(const nlohmann::json& record, const std::string& benchmark) {
  const auto p = record.find("profile");
  if (p == record.end() || !p->is_string()) {
    if (benchmark == "ruler") return "ruler";
    if (benchmark == "babilong") return "project";
    return "";
  }
  std::string label = p->get<std::string>();
  if (const auto o = record.find("profile_overrides"); o != record.end() && !o->empty()) {
    label += " " + o->dump();
  }
  return label;
}

// The record's attention configuration; `where` ("<file>:<line>") names it in errors: sizes are
// checked integers (a cast of any JSON number, e.g. 5.8e43, to int64 was undefined behaviour:
// records_fuzz, results/fuzz/README.md F9).
AttnInfo AttnOf(const nlohmann::json& a, const std::string& where) {
  AttnInfo attn;
  if (a.contains("mode") && a["mode"].is_string()) attn.mode = a["mode"].get<std::string>();
  auto count = [&](const char* key, int64_t max) -> int64_t {
    const auto it = a.find(key);
    if (it == a.end() || it->is_null()) return 0;
    return JsonInt(*it, where + ": attn." + key, 0, max);
  };
  attn.hosts = static_cast<int>(count("hosts", std::numeric_limits<int>::max()));
  attn.block_size = count("block_size", std::numeric_limits<int64_t>::max());
  attn.anchor_size = count("anchor_size", std::numeric_limits<int64_t>::max());
  return attn;
}

}  // namespace

PredictionFile ReadPredictionFile(const std::string& path, const ruler::MetricRegistry& metrics,
                                  const std::string& length_fallback) {
  PredictionFile file;
  file.path = path;
  std::map<std::string, std::vector<ruler::Prediction>> by_length;
  bool have_attn = false;
  records::ReadOptions opts;
  opts.drop_inputs = true;  // the metrics read the answers and the question
  file.torn_last_line = records::ForEachRecord(path, opts, [&](records::Record&& r) {
    ScoredSample s;
    s.task = r.task;
    s.length = records::LengthLabel(r, length_fallback);
    s.key = r.key;
    s.pred_clean = ruler::CleanPrediction(r.pred);
    if (const auto t = r.json.find("timing"); t != r.json.end() && t->is_object()) {
      s.timing = TimingOf(*t);
      if (const auto w = r.json.find("attention_work"); w != r.json.end() && w->is_object()) {
        s.timing->prefill_scores = NumberOr(*w, "prefill_scores", 0);
        s.timing->dense_prefill_scores = NumberOr(*w, "dense_prefill_scores", 0);
        s.timing->decode_kv_bytes = NumberOr(*w, "decode_kv_bytes", 0);
        s.timing->dense_decode_kv_bytes = NumberOr(*w, "dense_decode_kv_bytes", 0);
      }
    }
    s.profile = ProfileOf(r.json, BenchmarkOfTask(r.task));
    if (const auto h = r.json.find("prompts_sha256"); h != r.json.end() && h->is_string()) {
      s.prompts_sha256 = h->get<std::string>();
    }
    if (const auto a = r.json.find("attn"); !have_attn && a != r.json.end() && a->is_object()) {
      have_attn = true;
      file.attn = AttnOf(*a, fmt::format("{}:{}", path, r.line));
    }
    const std::string metric = ruler::DefaultMetricForTask(r.task);
    if (metric.empty()) Fail("{}:{}: task '{}' has no known metric", path, r.line, r.task);
    const ruler::MetricFn* fn = metrics.Find(metric);
    if (fn == nullptr) {
      Fail("{}:{}: task '{}': metric '{}' is not registered", path, r.line, r.task, metric);
    }
    ruler::Prediction p = records::ToRulerPrediction(r);
    s.score = (*fn)(std::vector<ruler::Prediction>{p}) / 100.0;
    by_length[s.length].push_back(std::move(p));
    file.samples.push_back(std::move(s));
  });
  for (auto& [length, preds] : by_length) {
    // One length label may still hold several length_limits (e.g. hand-made files): score them
    // as one group rather than fail.
    for (auto& p : preds) p.length_limit = -1;
    file.task_scores[length] = ruler::ScorePredictions(preds, metrics, {});
  }
  return file;
}

// ---- The results tree -------------------------------------------------------------------------

ResultsTree ReadResultsTree(const std::string& dir, const ruler::MetricRegistry& metrics) {
  ResultsTree tree;
  tree.dir = dir;
  const fs::path root(dir);
  if (!fs::is_directory(root)) Fail("{}: no such results directory", dir);
  tree.name = fs::weakly_canonical(root).filename().string();
  const fs::path manifest = root / "manifest.json";
  if (fs::is_regular_file(manifest)) {
    tree.manifest = ParseJson(ReadText(manifest.string()), manifest.string());
    if (tree.manifest.contains("name") && tree.manifest["name"].is_string()) {
      tree.name = tree.manifest["name"].get<std::string>();
    }
  }
  // Attention labels in the order of the sweep config.
  std::vector<std::string> attn_order;
  if (tree.manifest.is_object() && tree.manifest.contains("config")) {
    const auto& cfg = tree.manifest["config"];
    if (cfg.is_object() && cfg.contains("attention") && cfg["attention"].is_array()) {
      for (const auto& a : cfg["attention"]) {
        if (a.is_object() && a.contains("label") && a["label"].is_string()) {
          attn_order.push_back(a["label"].get<std::string>());
        }
      }
    }
  }
  auto attn_rank = [&](const std::string& label) {
    const auto it = std::find(attn_order.begin(), attn_order.end(), label);
    return static_cast<size_t>(it - attn_order.begin());
  };
  for (const std::string& model : SortedSubdirs(root)) {
    std::vector<std::string> attns = SortedSubdirs(root / model);
    std::stable_sort(attns.begin(), attns.end(), [&](const std::string& a, const std::string& b) {
      return attn_rank(a) < attn_rank(b);
    });
    for (const std::string& attn : attns) {
      std::vector<std::string> lengths = SortedSubdirs(root / model / attn);
      SortLengths(lengths);
      for (const std::string& length : lengths) {
        const fs::path pred = root / model / attn / length / "pred.jsonl";
        if (!fs::is_regular_file(pred)) continue;
        ConfigRun run{model, attn, length, ReadPredictionFile(pred.string(), metrics, length)};
        if (run.file.torn_last_line) {
          tree.warnings.push_back(
              fmt::format("{}: the last line is incomplete (a run in progress or killed): skipped",
                          pred.string()));
        }
        if (run.file.samples.empty()) {
          tree.warnings.push_back(fmt::format("{}: no predictions yet, skipped", pred.string()));
          continue;
        }
        tree.runs.push_back(std::move(run));
      }
    }
  }
  if (tree.runs.empty()) {
    Fail("{}: no predictions found (expected <model>/<attn>/<length>/pred.jsonl below it)", dir);
  }
  return tree;
}

// ---- Reference-format results -----------------------------------------------------------------

std::vector<std::string> SplitCsvLine(std::string_view line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(field));
      field.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  out.push_back(std::move(field));
  return out;
}

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::vector<ReferenceScore> ParseReferenceSummaryCsv(const std::string& text,
                                                     const std::string& where) {
  std::map<std::string, std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = SplitCsvLine(line);
    if (fields.empty()) continue;
    const std::string head = fields.front();
    if (head == "Tasks" || head == "Score" || head == "Nulls") {
      fields.erase(fields.begin());
      rows[head] = std::move(fields);
    }
  }
  if (!rows.contains("Tasks") || !rows.contains("Score")) {
    Fail("{}: not a RULER summary.csv (no \"Tasks\" and \"Score\" rows)", where);
  }
  const auto& tasks = rows["Tasks"];
  const auto& scores = rows["Score"];
  if (scores.size() != tasks.size()) {
    Fail("{}: {} tasks but {} scores", where, tasks.size(), scores.size());
  }
  if (rows.contains("Nulls") && rows["Nulls"].size() != tasks.size()) {
    Fail("{}: {} tasks but {} nulls", where, tasks.size(), rows["Nulls"].size());
  }
  std::vector<ReferenceScore> out;
  for (size_t i = 0; i < tasks.size(); ++i) {
    ReferenceScore r;
    r.task = tasks[i];
    if (r.task.empty()) Fail("{}: task {} has no name", where, i + 1);
    r.score = ParseDouble(scores[i], fmt::format("{}: task {}: score", where, r.task));
    if (rows.contains("Nulls")) {
      const std::string& nulls = rows["Nulls"][i];
      const size_t slash = nulls.find('/');
      if (slash == std::string::npos || !AllDigits(nulls.substr(0, slash)) ||
          !AllDigits(nulls.substr(slash + 1))) {
        Fail("{}: task {}: nulls '{}' is not \"empty/total\"", where, r.task, nulls);
      }
      const std::string field = fmt::format("{}: task {}: nulls", where, r.task);
      r.nulls = ParseInt(nulls.substr(0, slash), field, 0);
      r.total = ParseInt(nulls.substr(slash + 1), field, 0);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<ReferenceRun> ReadReferenceDir(const std::string& dir,
                                           const std::string& label_prefix) {
  const fs::path root(dir);
  if (!fs::is_directory(root)) Fail("{}: no such reference directory", dir);
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && e.path().filename() == "summary.csv") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) Fail("{}: no summary.csv below it", dir);
  std::vector<ReferenceRun> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const fs::path& file : files) {
    ReferenceRun run;
    run.path = file.string();
    std::vector<std::string> parts;
    for (const auto& part : fs::relative(file.parent_path(), root)) {
      if (part != ".") parts.push_back(part.string());
    }
    // The length: the last component that reads as one (at least 1000 tokens, or "Nk").
    int length_at = -1;
    for (int i = static_cast<int>(parts.size()) - 1; i >= 0; --i) {
      const int64_t t = LengthTokens(parts[i]);
      if (t >= 1000) {
        length_at = i;
        break;
      }
    }
    if (length_at < 0) {
      Fail("{}: no context length in its path (expected a folder like 4096 or 4k)", run.path);
    }
    run.length = LengthLabelOf(LengthTokens(parts[length_at]));
    std::string label;
    for (int i = 0; i < static_cast<int>(parts.size()); ++i) {
      if (i == length_at || parts[i] == "synthetic" || parts[i] == "pred") continue;
      label += (label.empty() ? "" : "/") + parts[i];
    }
    if (label.empty()) label = fs::weakly_canonical(root).filename().string();
    run.label = label_prefix.empty() ? label : label_prefix + "/" + label;
    if (!seen.insert({run.label, run.length}).second) {
      Fail("{}: a second summary for reference '{}' at length {}", run.path, run.label, run.length);
    }
    run.scores = ParseReferenceSummaryCsv(ReadText(run.path), run.path);
    out.push_back(std::move(run));
  }
  return out;
}

}  // namespace starattn::report
