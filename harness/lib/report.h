// `starattn report`: the tables of a sweep's results. Per model: accuracy per task x length x
// attention config (beside reference-format results when given), the RULER average and the
// BABILong qa1-qa5 average (labelled by the tasks they average), deltas vs the baseline config
// with paired bootstrap confidence intervals ("too few samples" below a minimum), the paper's
// claims (1) and (2) with verdicts (report_claims.h), and time per sample with speedups vs the
// baseline (dense) and vs ring. Rendered as Markdown and CSV; plots are in report_plots.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "harness/lib/report_data.h"
#include "harness/lib/report_profiles.h"
#include "harness/lib/stats.h"

namespace starattn::report {

// Row keys of the averages in the per-task tables; they are shown as ModelReport::AverageLabel,
// which names the tasks averaged ("RULER avg of 11 tasks (all but qa_1, qa_2)",
// "BABILong avg of qa1, qa2").
inline constexpr const char* kRulerAverage = "RULER avg";
inline constexpr const char* kBabilongAverage = "BABILong avg";

struct ReportOptions {
  std::string baseline_attn = "dense";  // else the first config whose mode is dense
  stats::BootstrapOptions bootstrap;
  // A task's interval needs at least min_samples paired samples; an average resampling samples
  // within tasks needs that many in every task it averages, one resampling tasks needs at least
  // min_tasks tasks. Below, the report prints "too few samples" and plots no interval.
  int64_t min_samples = 10;
  int64_t min_tasks = 5;
  stats::Resampling average_resampling = stats::Resampling::kSamples;
  // Claim verdicts (report_claims.h): the margin in points.
  double margin = 5.0;
};

// A config column: ours (a directory label) or a reference (from --reference).
struct ConfigColumn {
  std::string label;  // as shown: "dense", "ref: paper/star"
  std::string mode;   // "dense", "star", "ring", "" (unknown), "reference"
  int hosts = 0;
  bool reference = false;
};

struct ScoreCell {
  double score = 0;  // 0-100
  int64_t n = 0;     // samples; for the average rows, tasks averaged
};

// Paired difference of one config vs the baseline on identical samples, in points (0-100).
struct DeltaCell {
  double baseline = 0;    // baseline accuracy on the paired samples
  double candidate = 0;   // this config's accuracy on the paired samples
  stats::Interval delta;  // estimate, lo, hi (points), n = paired samples
  int64_t unpaired = 0;   // samples of either side without a partner
  int64_t tasks = 1;      // tasks averaged
  // false when there are too few samples for an interval: lo and hi are then not meaningful and
  // too_few says why ("3 paired samples < 10").
  bool has_interval = true;
  std::string too_few;
  std::string resampling;  // averages: what the interval resamples (stats::ResamplingName)
};

struct TimingRow {
  std::string length;
  std::string config;
  std::string mode;
  int hosts = 0;
  int64_t n = 0;  // samples with timing
  double seconds_per_sample = 0;
  // Mean time of the other config / mean time of this one, over the samples both ran; 0 when
  // there is no such config (or it is this one).
  double speedup_vs_baseline = 0;
  double speedup_vs_ring = 0;
  double phase1_critical_s = 0;
  double phase2_critical_s = 0;
  double decode_critical_s = 0;
  std::vector<double> host_phase1_s;  // mean per host
  // Attention work relative to dense over the same samples (sums over samples); 0 when the
  // records do not say (written before they counted it, or no decode step).
  double prefill_scores_vs_dense = 0;
  double decode_kv_read_vs_dense = 0;
};

// One line of the claims' verdict tables (report_claims.h).
enum class Verdict { kReproduced, kContradicted, kInconclusive };
std::string_view VerdictName(Verdict v);

struct ClaimRow {
  int claim = 0;       // 1 or 2
  std::string length;  // length label
  std::string row;     // a task, an average's label, or a comparison ("first - previous")
  std::string candidate, reference;  // config labels: candidate minus reference
  DeltaCell delta;
  Verdict verdict = Verdict::kInconclusive;
  std::string reason;
  bool summary = false;      // the claim's verdict at this length
  bool informative = false;  // shown for reference, no verdict of its own
};

struct ModelReport {
  std::string model;
  std::vector<ConfigColumn> configs;  // ours (baseline first), then references
  std::string baseline;               // "" when there is none
  std::string ring;                   // the first ring config, "" when none
  std::vector<std::string> lengths;   // sorted
  std::vector<std::string> tasks;     // report order; averages are not in it
  bool has_ruler = false;
  bool has_babilong_avg = false;
  // (task or average row name, length, config label) -> cell
  std::map<std::tuple<std::string, std::string, std::string>, ScoreCell> scores;
  std::map<std::tuple<std::string, std::string, std::string>, DeltaCell> deltas;
  std::vector<TimingRow> timing;                      // by length, then config
  std::map<std::string, std::string> average_labels;  // kRulerAverage / kBabilongAverage -> label
  std::vector<ClaimRow> claims;                       // claims (1) and (2), by claim and length
  std::vector<std::string> claim_notes;               // which configs, or why a claim is not run
  std::vector<UnitData> data;  // profile, prompts and haystack per unit (report_profiles.h)
  // The label of a row: a task's name, or the average's label.
  std::string RowLabel(const std::string& row) const;
};

struct Report {
  std::string name;
  std::string dir;
  nlohmann::json manifest;
  ReportOptions options;
  std::vector<ModelReport> models;
  std::vector<std::string> reference_dirs;
  std::vector<std::string> warnings;
};

// Computes every table. Throws Error when a named --baseline-attn is not among the configs.
Report BuildReport(const ResultsTree& tree, const std::vector<ReferenceRun>& references,
                   const std::vector<std::string>& reference_dirs, const ReportOptions& options);

// The Markdown report; plots (paths relative to the report folder) are linked when given, by
// model.
std::string RenderMarkdown(
    const Report& report,
    const std::map<std::string, std::vector<std::pair<std::string, std::string>>>& plots = {});

// scores.csv: model,length,task,config,mode,reference,score,n
std::string ScoresCsv(const Report& report);
// deltas.csv: model,length,task,config,baseline,n_paired,unpaired,baseline_score,score,delta,
//             ci_lo,ci_hi,confidence,resamples,seed
std::string DeltasCsv(const Report& report);
// timing.csv: model,length,config,mode,hosts,n,seconds_per_sample,baseline,speedup_vs_baseline,
//             ring,speedup_vs_ring,phase1_critical_s,phase2_critical_s,decode_critical_s,
//             phase1_host_s (mean per host, ';'-separated)
std::string TimingCsv(const Report& report);

// The report's provenance line from a sweep's manifest.json: the commits its runs record (a
// resumed sweep may have run several), version, machine, and the span from the first
// invocation's start to the last one's finish.
std::string ManifestLine(const nlohmann::json& m);

// Number formatting shared with compare: "12.34", signed "+1.20", "[-3.00, +0.50]".
std::string Fixed2(double x);
std::string Signed2(double x);

// ---- Paired differences (shared with report_claims) --------------------------------------------
// Per-sample differences (candidate - baseline) x 100 by task, on identical samples.
struct PairedRuns {
  std::map<std::string, std::vector<double>> diffs, base, cand;
  std::map<std::string, int64_t> unpaired;
};
PairedRuns PairRuns(const ConfigRun& baseline, const ConfigRun& candidate);
// One task's delta, with an interval only from min_samples paired samples on.
DeltaCell TaskDelta(const PairedRuns& p, const std::string& task, const ReportOptions& o);
// The equal-weight average over those of `tasks` that have paired samples, resampled as
// o.average_resampling says; nullopt when none has.
std::optional<DeltaCell> AverageDelta(const PairedRuns& p, const std::vector<std::string>& tasks,
                                      const ReportOptions& o);
// "+1.20 [-0.50, +2.90] n=130", or "+25.00 (too few samples) n=1".
std::string DeltaText(const DeltaCell& d);

// The label of an average over `present` of the benchmark's `all` tasks: "RULER avg of all 13
// tasks", "RULER avg of 11 tasks (all but qa_1, qa_2)", "BABILong avg of qa1, qa2".
std::string AverageRowLabel(const std::string& name, const std::vector<std::string>& present,
                            const std::vector<std::string>& all);

}  // namespace starattn::report
