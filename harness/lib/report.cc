#include "harness/lib/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "engine/common/error.h"
#include "harness/lib/report_claims.h"
#include "ruler/scoring.h"
#include "ruler/tasks.h"

namespace starattn::report {
namespace {

using CellKey = std::tuple<std::string, std::string, std::string>;

std::string Seconds(double s) {
  if (s >= 100) return fmt::format("{:.1f}", s);
  if (s >= 1) return fmt::format("{:.2f}", s);
  return fmt::format("{:.3f}", s);
}

std::string Speedup(double x) { return x > 0 ? fmt::format("{:.2f}x", x) : "-"; }

std::string ReferenceColumn(const std::string& label) { return "ref: " + label; }

// The score of a task in one run: the reference's number (ruler::ScorePredictions) when the
// file holds one length, else the mean of the per-sample scores.
ScoreCell TaskCell(const ConfigRun& run, const std::string& task) {
  const ruler::TaskScore* found = nullptr;
  int hits = 0;
  for (const auto& [length, scores] : run.file.task_scores) {
    for (const auto& s : scores) {
      if (s.task == task) {
        found = &s;
        ++hits;
      }
    }
  }
  if (hits == 1) return {found->score, found->total};
  ScoreCell cell;
  double sum = 0;
  for (const auto& s : run.file.samples) {
    if (s.task != task) continue;
    sum += s.score;
    ++cell.n;
  }
  cell.score = cell.n ? ruler::Round2(100 * sum / static_cast<double>(cell.n)) : 0;
  return cell;
}

// Average rows: the mean of the task scores of the tasks that pass `pick` in (length, config).
void AddAverage(ModelReport& m, const std::string& row, bool (*pick)(std::string_view)) {
  for (const std::string& length : m.lengths) {
    for (const ConfigColumn& c : m.configs) {
      double sum = 0;
      int64_t k = 0;
      for (const std::string& task : m.tasks) {
        if (!pick(task)) continue;
        const auto it = m.scores.find({task, length, c.label});
        if (it == m.scores.end()) continue;
        sum += it->second.score;
        ++k;
      }
      if (k > 0)
        m.scores[{row, length, c.label}] = {ruler::Round2(sum / static_cast<double>(k)), k};
    }
  }
}

// Mean time of `other` / mean time of `run` over the samples both ran with timing.
double SpeedupOver(const ConfigRun& run, const ConfigRun& other) {
  std::unordered_map<std::string, double> other_time;
  for (const auto& s : other.file.samples) {
    if (s.timing) other_time[s.PairKey()] = s.timing->total_s;
  }
  double mine = 0, theirs = 0;
  for (const auto& s : run.file.samples) {
    if (!s.timing) continue;
    const auto it = other_time.find(s.PairKey());
    if (it == other_time.end()) continue;
    mine += s.timing->total_s;
    theirs += it->second;
  }
  return mine > 0 ? theirs / mine : 0;
}

void AddDeltas(ModelReport& m,
               const std::map<std::pair<std::string, std::string>, const ConfigRun*>& runs,
               const ReportOptions& options) {
  if (m.baseline.empty()) return;
  std::vector<std::string> ruler_tasks, babilong_tasks;
  for (const std::string& task : m.tasks) {
    if (IsRulerTask(task)) ruler_tasks.push_back(task);
    if (IsBabilongQa1To5(task)) babilong_tasks.push_back(task);
  }
  for (const ConfigColumn& c : m.configs) {
    if (c.reference || c.label == m.baseline) continue;
    for (const std::string& length : m.lengths) {
      const auto b = runs.find({m.baseline, length});
      const auto r = runs.find({c.label, length});
      if (b == runs.end() || r == runs.end()) continue;
      const PairedRuns p = PairRuns(*b->second, *r->second);
      for (const auto& [task, diffs] : p.diffs) {
        m.deltas[{task, length, c.label}] = TaskDelta(p, task, options);
      }
      for (const auto& [row, tasks] :
           {std::pair{kRulerAverage, &ruler_tasks}, std::pair{kBabilongAverage, &babilong_tasks}}) {
        if (auto cell = AverageDelta(p, *tasks, options)) m.deltas[{row, length, c.label}] = *cell;
      }
    }
  }
}

}  // namespace

std::string AverageRowLabel(const std::string& name, const std::vector<std::string>& present,
                            const std::vector<std::string>& all) {
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
    return out;
  };
  std::vector<std::string> missing;
  for (const auto& t : all) {
    if (std::find(present.begin(), present.end(), t) == present.end()) missing.push_back(t);
  }
  if (present.size() <= 5 && !missing.empty())
    return fmt::format("{} avg of {}", name, join(present));
  if (missing.empty()) return fmt::format("{} avg of all {} tasks", name, present.size());
  if (missing.size() <= 4) {
    return fmt::format("{} avg of {} tasks (all but {})", name, present.size(), join(missing));
  }
  return fmt::format("{} avg of {} of {} tasks", name, present.size(), all.size());
}

namespace {

void AddAverageLabels(ModelReport& m) {
  std::vector<std::string> ruler_all, ruler, babilong;
  for (const auto& t : ruler::AllTasks()) ruler_all.emplace_back(t.name);
  const std::vector<std::string> babilong_all = {"qa1", "qa2", "qa3", "qa4", "qa5"};
  for (const std::string& task : m.tasks) {
    if (IsRulerTask(task)) ruler.push_back(task);
    if (IsBabilongQa1To5(task)) babilong.push_back(task);
  }
  if (!ruler.empty()) m.average_labels[kRulerAverage] = AverageRowLabel("RULER", ruler, ruler_all);
  if (!babilong.empty()) {
    m.average_labels[kBabilongAverage] = AverageRowLabel("BABILong", babilong, babilong_all);
  }
}

void AddTiming(ModelReport& m,
               const std::map<std::pair<std::string, std::string>, const ConfigRun*>& runs) {
  for (const std::string& length : m.lengths) {
    for (const ConfigColumn& c : m.configs) {
      if (c.reference) continue;
      const auto it = runs.find({c.label, length});
      if (it == runs.end()) continue;
      const ConfigRun& run = *it->second;
      TimingRow row;
      row.length = length;
      row.config = c.label;
      row.mode = c.mode;
      row.hosts = c.hosts;
      std::vector<double> host_sum;
      std::vector<int64_t> host_n;
      double scores = 0, dense_scores = 0, kv_read = 0, dense_kv_read = 0;
      for (const auto& s : run.file.samples) {
        if (!s.timing) continue;
        ++row.n;
        scores += s.timing->prefill_scores;
        dense_scores += s.timing->dense_prefill_scores;
        kv_read += s.timing->decode_kv_bytes;
        dense_kv_read += s.timing->dense_decode_kv_bytes;
        row.seconds_per_sample += s.timing->total_s;
        row.phase1_critical_s += s.timing->phase1_critical_s;
        row.phase2_critical_s += s.timing->phase2_critical_s;
        row.decode_critical_s += s.timing->decode_critical_s;
        const auto& hosts = s.timing->host_phase1_s;
        if (hosts.size() > host_sum.size()) {
          host_sum.resize(hosts.size(), 0);
          host_n.resize(hosts.size(), 0);
        }
        for (size_t h = 0; h < hosts.size(); ++h) {
          host_sum[h] += hosts[h];
          ++host_n[h];
        }
      }
      if (row.n == 0) continue;
      if (dense_scores > 0) row.prefill_scores_vs_dense = scores / dense_scores;
      if (dense_kv_read > 0) row.decode_kv_read_vs_dense = kv_read / dense_kv_read;
      const double n = static_cast<double>(row.n);
      row.seconds_per_sample /= n;
      row.phase1_critical_s /= n;
      row.phase2_critical_s /= n;
      row.decode_critical_s /= n;
      for (size_t h = 0; h < host_sum.size(); ++h) {
        row.host_phase1_s.push_back(host_sum[h] / static_cast<double>(host_n[h]));
      }
      if (const auto b = runs.find({m.baseline, length}); !m.baseline.empty() && b != runs.end()) {
        row.speedup_vs_baseline = SpeedupOver(run, *b->second);
      }
      if (const auto r = runs.find({m.ring, length}); !m.ring.empty() && r != runs.end()) {
        row.speedup_vs_ring = SpeedupOver(run, *r->second);
      }
      m.timing.push_back(std::move(row));
    }
  }
}

std::string CellText(const std::map<CellKey, ScoreCell>& scores, const CellKey& key) {
  const auto it = scores.find(key);
  if (it == scores.end()) return "-";
  if (it->second.n <= 0) return Fixed2(it->second.score);
  return fmt::format("{} ({})", Fixed2(it->second.score), it->second.n);
}

std::string MarkdownEscape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string ManifestLine(const nlohmann::json& m) {
  if (!m.is_object()) return "no manifest.json";
  auto str = [](const nlohmann::json& o, const char* key) {
    return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
  };
  auto dirty = [](const nlohmann::json& o) {
    return o.contains("git_dirty") && o["git_dirty"].is_boolean() && o["git_dirty"].get<bool>();
  };
  // The commits that computed the results: each run's (a resumed sweep may have run several),
  // then the latest invocation's; runs from before runs recorded theirs are counted.
  std::vector<std::pair<std::string, bool>> commits;  // (commit, any run from a dirty tree)
  auto add_commit = [&](const std::string& c, bool d) {
    for (auto& [have, have_dirty] : commits) {
      if (have == c) {
        have_dirty = have_dirty || d;
        return;
      }
    }
    commits.emplace_back(c, d);
  };
  int64_t unrecorded = 0;
  if (m.contains("runs") && m["runs"].is_array()) {
    for (const auto& run : m["runs"]) {
      if (!run.is_object()) continue;
      if (const std::string c = str(run, "git_commit"); !c.empty()) {
        add_commit(c, dirty(run));
      } else {
        ++unrecorded;
      }
    }
  }
  const std::string latest = str(m, "git_commit");
  if (!latest.empty() && (commits.empty() || unrecorded > 0)) add_commit(latest, dirty(m));
  std::vector<std::string> parts;
  if (!commits.empty()) {
    std::string list;
    for (const auto& [c, d] : commits) {
      list += fmt::format("{}{}{}", list.empty() ? "" : ", ", c.substr(0, 12),
                          d ? " (dirty tree)" : "");
    }
    std::string note;
    if (unrecorded > 0 && m.contains("first_started")) {
      note = fmt::format(" ({} runs record no commit: an earlier invocation's may have run them)",
                         unrecorded);
    }
    parts.push_back(fmt::format("{} {}{}", commits.size() == 1 ? "commit" : "commits", list, note));
  }
  if (const std::string v = str(m, "version"); !v.empty()) parts.push_back("version " + v);
  if (m.contains("machine") && m["machine"].is_object()) {
    const auto& mc = m["machine"];
    std::string machine;
    if (mc.contains("cpu") && mc["cpu"].is_string()) machine = mc["cpu"].get<std::string>();
    if (mc.contains("cores") && mc["cores"].is_number()) {
      machine += fmt::format("{}{} cores", machine.empty() ? "" : ", ", mc["cores"].dump());
    }
    if (mc.contains("gpu") && mc["gpu"].is_string()) machine += ", " + mc["gpu"].get<std::string>();
    if (!machine.empty()) parts.push_back("machine: " + machine);
  }
  // A resumed sweep: from its first invocation's start.
  const std::string first = str(m, "first_started");
  if (const std::string s = first.empty() ? str(m, "started") : first; !s.empty()) {
    const std::string f = str(m, "finished");
    parts.push_back(fmt::format("ran {} to {}{}", s, f.empty() ? "(unfinished)" : f,
                                first.empty() ? "" : " over several invocations"));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out.empty() ? "manifest.json without details" : out;
}

std::string Fixed2(double x) {
  const std::string s = fmt::format("{:.2f}", x);
  return s == "-0.00" ? "0.00" : s;
}

std::string Signed2(double x) {
  const std::string s = fmt::format("{:+.2f}", x);
  return s == "-0.00" ? "+0.00" : s;
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kReproduced:
      return "reproduced";
    case Verdict::kContradicted:
      return "contradicted";
    case Verdict::kInconclusive:
      return "inconclusive";
  }
  return "?";
}

std::string ModelReport::RowLabel(const std::string& row) const {
  const auto it = average_labels.find(row);
  return it == average_labels.end() ? row : it->second;
}

PairedRuns PairRuns(const ConfigRun& baseline, const ConfigRun& candidate) {
  PairedRuns p;
  std::unordered_map<std::string, const ScoredSample*> by_key;
  for (const auto& s : baseline.file.samples) by_key[s.PairKey()] = &s;
  std::set<std::string> matched;
  for (const auto& s : candidate.file.samples) {
    const auto it = by_key.find(s.PairKey());
    if (it == by_key.end()) {
      ++p.unpaired[s.task];
      continue;
    }
    matched.insert(s.PairKey());
    p.diffs[s.task].push_back(100 * (s.score - it->second->score));
    p.base[s.task].push_back(100 * it->second->score);
    p.cand[s.task].push_back(100 * s.score);
  }
  for (const auto& s : baseline.file.samples) {
    if (!matched.contains(s.PairKey())) ++p.unpaired[s.task];
  }
  return p;
}

DeltaCell TaskDelta(const PairedRuns& p, const std::string& task, const ReportOptions& o) {
  DeltaCell cell;
  const std::vector<double>& diffs = p.diffs.at(task);
  cell.baseline = stats::Mean(p.base.at(task));
  cell.candidate = stats::Mean(p.cand.at(task));
  cell.delta = stats::PairedBootstrap(diffs, o.bootstrap);
  const auto u = p.unpaired.find(task);
  cell.unpaired = u == p.unpaired.end() ? 0 : u->second;
  if (static_cast<int64_t>(diffs.size()) < o.min_samples) {
    cell.has_interval = false;
    cell.too_few = fmt::format("{} paired samples < {}", diffs.size(), o.min_samples);
  }
  return cell;
}

std::optional<DeltaCell> AverageDelta(const PairedRuns& p, const std::vector<std::string>& tasks,
                                      const ReportOptions& o) {
  std::vector<std::vector<double>> groups;
  std::vector<double> base, cand;
  DeltaCell cell;
  int64_t short_tasks = 0;
  for (const std::string& task : tasks) {
    if (const auto u = p.unpaired.find(task); u != p.unpaired.end()) cell.unpaired += u->second;
    const auto it = p.diffs.find(task);
    if (it == p.diffs.end()) continue;
    groups.push_back(it->second);
    base.push_back(stats::Mean(p.base.at(task)));
    cand.push_back(stats::Mean(p.cand.at(task)));
    if (static_cast<int64_t>(it->second.size()) < o.min_samples) ++short_tasks;
  }
  if (groups.empty()) return std::nullopt;
  cell.tasks = static_cast<int64_t>(groups.size());
  cell.baseline = stats::Mean(base);
  cell.candidate = stats::Mean(cand);
  cell.delta = stats::GroupMeanBootstrap(groups, o.average_resampling, o.bootstrap);
  cell.resampling = std::string(stats::ResamplingName(o.average_resampling));
  if (o.average_resampling == stats::Resampling::kSamples && short_tasks > 0) {
    cell.has_interval = false;
    cell.too_few = fmt::format("{} of {} tasks with < {} paired samples", short_tasks,
                               groups.size(), o.min_samples);
  } else if (o.average_resampling != stats::Resampling::kSamples && cell.tasks < o.min_tasks) {
    cell.has_interval = false;
    cell.too_few = fmt::format("{} tasks < {}", cell.tasks, o.min_tasks);
  }
  return cell;
}

std::string DeltaText(const DeltaCell& d) {
  if (!d.has_interval) {
    return fmt::format("{} (too few samples) n={}", Signed2(d.delta.estimate), d.delta.n);
  }
  return fmt::format("{} [{}, {}] n={}", Signed2(d.delta.estimate), Signed2(d.delta.lo),
                     Signed2(d.delta.hi), d.delta.n);
}

Report BuildReport(const ResultsTree& tree, const std::vector<ReferenceRun>& references,
                   const std::vector<std::string>& reference_dirs, const ReportOptions& options) {
  Report report;
  report.name = tree.name;
  report.dir = tree.dir;
  report.manifest = tree.manifest;
  report.options = options;
  report.reference_dirs = reference_dirs;
  report.warnings = tree.warnings;

  std::vector<std::string> models;
  for (const auto& r : tree.runs) {
    if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
  }
  for (const std::string& model : models) {
    ModelReport m;
    m.model = model;
    std::map<std::pair<std::string, std::string>, const ConfigRun*> runs;  // (config, length)
    std::set<std::string> lengths, tasks;
    for (const auto& r : tree.runs) {
      if (r.model != model) continue;
      runs[{r.attn, r.length}] = &r;
      lengths.insert(r.length);
      const bool known = std::any_of(m.configs.begin(), m.configs.end(),
                                     [&](const ConfigColumn& c) { return c.label == r.attn; });
      if (!known) m.configs.push_back({r.attn, r.file.attn.mode, r.file.attn.hosts, false});
      for (const auto& s : r.file.samples) tasks.insert(s.task);
    }
    // The baseline: the named config, else (by default) "dense", else the first dense-mode one.
    std::vector<std::string> labels;
    for (const auto& c : m.configs) labels.push_back(c.label);
    const std::string wanted = options.baseline_attn.empty() ? "dense" : options.baseline_attn;
    if (std::find(labels.begin(), labels.end(), wanted) != labels.end()) {
      m.baseline = wanted;
    } else if (!options.baseline_attn.empty() && options.baseline_attn != "dense") {
      std::string have;
      for (const auto& l : labels) have += (have.empty() ? "" : ", ") + l;
      Fail("--baseline-attn {}: model {} has no such config (have: {})", options.baseline_attn,
           model, have);
    } else {
      for (const auto& c : m.configs) {
        if (c.mode == "dense") {
          m.baseline = c.label;
          break;
        }
      }
    }
    if (m.baseline.empty()) {
      report.warnings.push_back(fmt::format(
          "model {}: no baseline config (no '{}' label and no dense-mode config): no deltas", model,
          wanted));
    } else {
      std::stable_partition(m.configs.begin(), m.configs.end(),
                            [&](const ConfigColumn& c) { return c.label == m.baseline; });
    }
    for (const auto& c : m.configs) {
      if (c.mode == "ring") {
        m.ring = c.label;
        break;
      }
    }
    for (const auto& ref : references) {
      const std::string label = ReferenceColumn(ref.label);
      const bool known = std::any_of(m.configs.begin(), m.configs.end(),
                                     [&](const ConfigColumn& c) { return c.label == label; });
      if (!known) m.configs.push_back({label, "reference", 0, true});
      lengths.insert(ref.length);
      for (const auto& s : ref.scores) {
        tasks.insert(s.task);
        m.scores[{s.task, ref.length, label}] = {s.score, s.total};
      }
    }
    m.lengths.assign(lengths.begin(), lengths.end());
    SortLengths(m.lengths);
    m.tasks.assign(tasks.begin(), tasks.end());
    std::sort(m.tasks.begin(), m.tasks.end(), TaskLess);
    m.has_ruler = std::any_of(m.tasks.begin(), m.tasks.end(),
                              [](const std::string& t) { return IsRulerTask(t); });
    m.has_babilong_avg = std::any_of(m.tasks.begin(), m.tasks.end(),
                                     [](const std::string& t) { return IsBabilongQa1To5(t); });
    for (const auto& [key, run] : runs) {
      for (const std::string& task : m.tasks) {
        const ScoreCell cell = TaskCell(*run, task);
        if (cell.n > 0) m.scores[{task, key.second, key.first}] = cell;
      }
    }
    if (m.has_ruler) AddAverage(m, kRulerAverage, &IsRulerTask);
    if (m.has_babilong_avg) AddAverage(m, kBabilongAverage, &IsBabilongQa1To5);
    AddAverageLabels(m);
    AddDeltas(m, runs, options);
    AddClaims(m, runs, tree.manifest, options);
    AddTiming(m, runs);
    std::vector<const ConfigRun*> unit_runs;  // in column order, then by length
    for (const ConfigColumn& c : m.configs) {
      for (const std::string& length : m.lengths) {
        if (const auto it = runs.find({c.label, length}); it != runs.end()) {
          unit_runs.push_back(it->second);
        }
      }
    }
    m.data = DescribeUnits(model, unit_runs, m.baseline, tree.manifest, report.warnings);
    report.models.push_back(std::move(m));
  }
  return report;
}

std::string RenderMarkdown(
    const Report& report,
    const std::map<std::string, std::vector<std::pair<std::string, std::string>>>& plots) {
  const auto& boot = report.options.bootstrap;
  const int ci = static_cast<int>(std::lround(boot.confidence * 100));
  std::string md = fmt::format("# Star Attention results: {}\n\n", report.name);
  md += fmt::format("- Results: `{}` ({})\n", report.dir, ManifestLine(report.manifest));
  md +=
      "- Scores: each task's metric (RULER string match, BABILong answer match), 0-100, with "
      "the number of samples in parentheses (for the averages: the number of tasks "
      "averaged).\n";
  const ReportOptions& o = report.options;
  md += fmt::format(
      "- Deltas: config minus baseline in points on identical samples (same task, length and "
      "sample), with a paired bootstrap {}% CI ({} resamples, seed {}). A task's interval needs "
      "at least {} paired samples; below that the cell says \"too few samples\" (and the delta "
      "plot draws no interval). Averages weight tasks equally; their intervals resample {} "
      "({}).\n",
      ci, boot.resamples, boot.seed, o.min_samples, stats::ResamplingName(o.average_resampling),
      o.average_resampling == stats::Resampling::kSamples
          ? fmt::format("every averaged task needs {} paired samples", o.min_samples)
          : fmt::format("at least {} tasks needed", o.min_tasks));
  md +=
      "- Time: mean wall time per sample (`timing.total_s`); speedup = the other config's mean "
      "time / this one's, over the samples both ran; critical paths are the slowest host's "
      "time per phase.\n"
      "- Attention work: prefill scores vs dense = (query, head, key) scores computed while "
      "prefilling the context and the query, over what dense causal attention computes for the "
      "same samples (star counts its anchors, ring its whole tiles); K/V read per token vs dense = "
      "K/V bytes (and top-k block summaries) the decode steps read, over dense decoding's.\n";
  for (const auto& d : report.reference_dirs) {
    md += fmt::format("- Reference results (columns `ref: ...`): `{}`\n", d);
  }
  for (const ModelReport& m : report.models) {
    md += fmt::format("\n## {}\n\n", m.model);
    // Accuracy.
    md += "### Accuracy\n\n| length | task |";
    std::string rule = "|---|---|";
    for (const auto& c : m.configs) {
      md += fmt::format(" {} |", MarkdownEscape(c.label));
      rule += "---:|";
    }
    md += "\n" + rule + "\n";
    for (const std::string& length : m.lengths) {
      std::vector<std::string> rows = m.tasks;
      if (m.has_ruler) rows.push_back(kRulerAverage);
      if (m.has_babilong_avg) rows.push_back(kBabilongAverage);
      for (const std::string& task : rows) {
        const bool avg = task == kRulerAverage || task == kBabilongAverage;
        const std::string label = m.RowLabel(task);
        std::string line = fmt::format("| {} | {} |", length, avg ? "**" + label + "**" : label);
        bool any = false;
        for (const auto& c : m.configs) {
          const std::string cell = CellText(m.scores, {task, length, c.label});
          any = any || cell != "-";
          line += fmt::format(" {} |", avg && cell != "-" ? "**" + cell + "**" : cell);
        }
        if (any) md += line + "\n";
      }
    }
    // Deltas.
    std::vector<std::string> cands;
    for (const auto& c : m.configs) {
      if (!c.reference && c.label != m.baseline) cands.push_back(c.label);
    }
    if (!m.baseline.empty() && !cands.empty() && !m.deltas.empty()) {
      md += fmt::format("\n### Delta vs {} (points, paired bootstrap {}% CI, paired samples)\n\n",
                        m.baseline, ci);
      md += "| length | task |";
      rule = "|---|---|";
      for (const auto& c : cands) {
        md += fmt::format(" {} |", MarkdownEscape(c));
        rule += "---:|";
      }
      md += "\n" + rule + "\n";
      for (const std::string& length : m.lengths) {
        std::vector<std::string> rows = m.tasks;
        rows.push_back(kRulerAverage);
        rows.push_back(kBabilongAverage);
        for (const std::string& task : rows) {
          const bool avg = task == kRulerAverage || task == kBabilongAverage;
          const std::string label = m.RowLabel(task);
          std::string line = fmt::format("| {} | {} |", length, avg ? "**" + label + "**" : label);
          bool any = false;
          for (const auto& c : cands) {
            const auto it = m.deltas.find({task, length, c});
            if (it == m.deltas.end()) {
              line += " - |";
              continue;
            }
            any = true;
            const DeltaCell& d = it->second;
            std::string cell = DeltaText(d);
            if (avg) cell = "**" + cell + "**";
            if (!d.resampling.empty()) cell += ", resampling " + d.resampling;
            if (!d.has_interval && avg) cell += " (" + d.too_few + ")";
            if (d.unpaired) cell += fmt::format(" ({} unpaired)", d.unpaired);
            line += " " + cell + " |";
          }
          if (any) md += line + "\n";
        }
      }
    }
    md += RenderClaimsMarkdown(m, report.options);
    // Timing.
    if (!m.timing.empty()) {
      const std::string base = m.baseline.empty() ? "dense" : m.baseline;
      const std::string ring = m.ring.empty() ? "ring" : m.ring;
      md += "\n### Time per sample\n\n";
      md += fmt::format(
          "| length | config | mode | hosts | n | s/sample | speedup vs {} | speedup vs {} | "
          "phase-1 critical s | phase-1 per host s | phase-2 critical s | decode critical s | "
          "prefill scores vs dense | K/V read per token vs dense |\n",
          MarkdownEscape(base), MarkdownEscape(ring));
      md += "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n";
      auto fraction = [](double x) { return x > 0 ? fmt::format("{:.3f}", x) : std::string("-"); };
      for (const TimingRow& t : m.timing) {
        std::string hosts;
        for (const double h : t.host_phase1_s) hosts += (hosts.empty() ? "" : " / ") + Seconds(h);
        md += fmt::format(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", t.length,
            MarkdownEscape(t.config), t.mode.empty() ? "?" : t.mode, t.hosts, t.n,
            Seconds(t.seconds_per_sample), Speedup(t.speedup_vs_baseline),
            Speedup(t.speedup_vs_ring), Seconds(t.phase1_critical_s), hosts.empty() ? "-" : hosts,
            Seconds(t.phase2_critical_s), Seconds(t.decode_critical_s),
            fraction(t.prefill_scores_vs_dense), fraction(t.decode_kv_read_vs_dense));
      }
    }
    if (!m.data.empty()) md += "\n" + DataMarkdown(m.data);
    if (const auto p = plots.find(m.model); p != plots.end() && !p->second.empty()) {
      md += "\n### Plots\n\n";
      for (const auto& [title, path] : p->second) {
        md += fmt::format("![{}]({})\n\n", title, path);
      }
    }
  }
  if (!report.warnings.empty()) {
    md += "\n## Notes\n\n";
    for (const auto& w : report.warnings) md += "- " + w + "\n";
  }
  return md;
}

std::string ScoresCsv(const Report& report) {
  std::string out = "model,length,task,config,mode,reference,score,n\n";
  for (const ModelReport& m : report.models) {
    std::vector<std::string> rows = m.tasks;
    rows.push_back(kRulerAverage);
    rows.push_back(kBabilongAverage);
    for (const std::string& length : m.lengths) {
      for (const std::string& task : rows) {
        for (const auto& c : m.configs) {
          const auto it = m.scores.find({task, length, c.label});
          if (it == m.scores.end()) continue;
          out += fmt::format("{},{},{},{},{},{},{},{}\n", CsvField(m.model), CsvField(length),
                             CsvField(m.RowLabel(task)), CsvField(c.label), CsvField(c.mode),
                             c.reference ? 1 : 0, Fixed2(it->second.score),
                             it->second.n >= 0 ? std::to_string(it->second.n) : "");
        }
      }
    }
  }
  return out;
}

std::string DeltasCsv(const Report& report) {
  const auto& boot = report.options.bootstrap;
  std::string out =
      "model,length,task,config,baseline,n_paired,unpaired,baseline_score,score,delta,ci_lo,"
      "ci_hi,confidence,resamples,seed,tasks,interval,resampling\n";
  for (const ModelReport& m : report.models) {
    std::vector<std::string> rows = m.tasks;
    rows.push_back(kRulerAverage);
    rows.push_back(kBabilongAverage);
    for (const std::string& length : m.lengths) {
      for (const std::string& task : rows) {
        for (const auto& c : m.configs) {
          const auto it = m.deltas.find({task, length, c.label});
          if (it == m.deltas.end()) continue;
          const DeltaCell& d = it->second;
          const std::string lo = d.has_interval ? fmt::format("{:.4f}", d.delta.lo) : "";
          const std::string hi = d.has_interval ? fmt::format("{:.4f}", d.delta.hi) : "";
          out += fmt::format("{},{},{},{},{},{},{},{:.4f},{:.4f},{:.4f},{},{},{},{},{},{},{},{}\n",
                             CsvField(m.model), CsvField(length), CsvField(m.RowLabel(task)),
                             CsvField(c.label), CsvField(m.baseline), d.delta.n, d.unpaired,
                             d.baseline, d.candidate, d.delta.estimate, lo, hi, boot.confidence,
                             boot.resamples, boot.seed, d.tasks,
                             d.has_interval ? "ok" : CsvField("too few samples: " + d.too_few),
                             CsvField(d.resampling));
        }
      }
    }
  }
  return out;
}

std::string TimingCsv(const Report& report) {
  std::string out =
      "model,length,config,mode,hosts,n,seconds_per_sample,baseline,speedup_vs_baseline,ring,"
      "speedup_vs_ring,phase1_critical_s,phase2_critical_s,decode_critical_s,phase1_host_s,"
      "prefill_scores_vs_dense,decode_kv_read_vs_dense\n";
  auto opt = [](double x) { return x > 0 ? fmt::format("{:.4f}", x) : std::string(); };
  for (const ModelReport& m : report.models) {
    for (const TimingRow& t : m.timing) {
      std::string hosts;
      for (const double h : t.host_phase1_s) {
        hosts += fmt::format("{}{:.6f}", hosts.empty() ? "" : ";", h);
      }
      out += fmt::format("{},{},{},{},{},{},{:.6f},{},{},{},{},{:.6f},{:.6f},{:.6f},{},{},{}\n",
                         CsvField(m.model), CsvField(t.length), CsvField(t.config),
                         CsvField(t.mode), t.hosts, t.n, t.seconds_per_sample, CsvField(m.baseline),
                         opt(t.speedup_vs_baseline), CsvField(m.ring), opt(t.speedup_vs_ring),
                         t.phase1_critical_s, t.phase2_critical_s, t.decode_critical_s, hosts,
                         opt(t.prefill_scores_vs_dense), opt(t.decode_kv_read_vs_dense));
    }
  }
  return out;
}

}  // namespace starattn::report
