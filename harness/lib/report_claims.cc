#include "harness/lib/report_claims.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "engine/common/error.h"
#include "harness/lib/sweep_config.h"

namespace starattn::report {
namespace {

using Runs = std::map<std::pair<std::string, std::string>, const ConfigRun*>;

std::string Escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string CiText(const DeltaCell& d) {
  return fmt::format("[{}, {}]", Signed2(d.delta.lo), Signed2(d.delta.hi));
}

// Claim (1)'s rule on one difference (star - dense).
std::pair<Verdict, std::string> WithinMargin(const DeltaCell& d, double margin) {
  if (!d.has_interval) return {Verdict::kInconclusive, "too few samples: " + d.too_few};
  const std::string ci = CiText(d);
  if (d.delta.lo >= -margin && d.delta.hi <= margin) {
    return {Verdict::kReproduced, fmt::format("CI {} within +-{}", ci, Fixed2(margin))};
  }
  if (d.delta.hi < -margin) {
    return {Verdict::kContradicted, fmt::format("CI {} below -{}", ci, Fixed2(margin))};
  }
  if (d.delta.lo > margin) {
    return {Verdict::kInconclusive,
            fmt::format("CI {} above +{}: star better than dense by more than the margin", ci,
                        Fixed2(margin))};
  }
  return {Verdict::kInconclusive, fmt::format("CI {} crosses +-{}", ci, Fixed2(margin))};
}

// Claim (2)'s comparisons: the difference is above `threshold` (strictly when `strict`).
std::pair<Verdict, std::string> Above(const DeltaCell& d, double threshold, bool strict) {
  const std::string bound =
      strict ? fmt::format("> {}", Signed2(threshold)) : fmt::format(">= {}", Signed2(threshold));
  if (!d.has_interval) return {Verdict::kInconclusive, "too few samples: " + d.too_few};
  const std::string ci = CiText(d);
  if (strict ? d.delta.lo > threshold : d.delta.lo >= threshold) {
    return {Verdict::kReproduced, fmt::format("CI {} {}", ci, bound)};
  }
  if (d.delta.hi < threshold) {
    return {Verdict::kContradicted, fmt::format("CI {} below {}", ci, Signed2(threshold))};
  }
  return {Verdict::kInconclusive, fmt::format("CI {} includes {}", ci, Signed2(threshold))};
}

// A claim's verdict, or a claim (2) comparison's: holds, fails, inconclusive.
std::string RowVerdict(const ClaimRow& r) {
  if (r.informative) return "";
  if (r.claim == 2 && !r.summary) {
    switch (r.verdict) {
      case Verdict::kReproduced:
        return "holds";
      case Verdict::kContradicted:
        return "fails";
      case Verdict::kInconclusive:
        return "inconclusive";
    }
  }
  return std::string(VerdictName(r.verdict));
}

bool IsNiah(const std::string& task) { return IsRulerTask(task) && task.starts_with("niah_"); }

// The label of the first config (in manifest order) that the model has and `pick` accepts.
std::string FindConfig(const cli::SweepConfig& cfg, const ModelReport& m,
                       const std::function<bool(const cli::SweepAttention&)>& pick) {
  for (const auto& a : cfg.attention) {
    const bool present = std::any_of(m.configs.begin(), m.configs.end(),
                                     [&](const ConfigColumn& c) { return c.label == a.label; });
    if (present && pick(a)) return a.label;
  }
  return "";
}

bool SameBlock(const cli::SweepAttention& a, const cli::SweepAttention& b) {
  return a.block_tokens == b.block_tokens && a.block_div == b.block_div;
}

std::string BlockText(const cli::SweepAttention& a) {
  return a.block_div > 0 ? fmt::format("L/{}", a.block_div) : std::to_string(a.block_tokens);
}

ClaimRow Row(int claim, const std::string& length, const std::string& row,
             const std::string& candidate, const std::string& reference, const DeltaCell& d) {
  ClaimRow r;
  r.claim = claim;
  r.length = length;
  r.row = row;
  r.candidate = candidate;
  r.reference = reference;
  r.delta = d;
  return r;
}

std::string JoinTasks(const std::vector<std::string>& tasks) {
  std::string out;
  for (const auto& t : tasks) out += (out.empty() ? "" : ", ") + t;
  return out;
}

void AddClaim1(ModelReport& m, const Runs& runs, const cli::SweepConfig& cfg,
               const std::string& dense, const ReportOptions& o) {
  const std::string star = FindConfig(cfg, m, [](const cli::SweepAttention& a) {
    const bool anchor_is_block = (a.anchor_tokens < 0 && a.anchor_div == 0) || a.anchor_div == 4;
    return a.mode == AttnMode::kStar && a.block_div == 4 && anchor_is_block &&
           a.anchor_source == AnchorSource::kFirst &&
           a.anchor_positions == AnchorPositions::kOriginal;
  });
  if (star.empty()) {
    m.claim_notes.push_back(
        "Claim (1) not checked: no star config with block L/4, anchor L/4 (or the block), "
        "anchor_source first and original anchor positions.");
    return;
  }
  std::vector<std::string> ruler;
  for (const auto& t : m.tasks) {
    if (IsRulerTask(t)) ruler.push_back(t);
  }
  if (ruler.empty()) {
    m.claim_notes.push_back("Claim (1) not checked: the results hold no RULER task.");
    return;
  }
  m.claim_notes.push_back(fmt::format("Claim (1): {} minus {}.", star, dense));
  for (const std::string& length : m.lengths) {
    const auto s = runs.find({star, length});
    const auto d = runs.find({dense, length});
    if (s == runs.end() || d == runs.end()) continue;
    const PairedRuns p = PairRuns(*d->second, *s->second);
    for (const std::string& task : ruler) {
      if (!p.diffs.contains(task)) continue;
      ClaimRow r = Row(1, length, task, star, dense, TaskDelta(p, task, o));
      std::tie(r.verdict, r.reason) = WithinMargin(r.delta, o.margin);
      m.claims.push_back(std::move(r));
    }
    if (auto avg = AverageDelta(p, ruler, o)) {
      ClaimRow r = Row(1, length, m.RowLabel(kRulerAverage), star, dense, *avg);
      std::tie(r.verdict, r.reason) = WithinMargin(r.delta, o.margin);
      r.summary = true;
      m.claims.push_back(std::move(r));
    }
  }
}

void AddClaim2(ModelReport& m, const Runs& runs, const cli::SweepConfig& cfg,
               const std::string& dense, const ReportOptions& o) {
  // The first block spec (in manifest order) with all three anchor sources.
  std::string first, previous, none;
  for (const auto& a : cfg.attention) {
    if (a.mode != AttnMode::kStar || a.anchor_positions != AnchorPositions::kOriginal) continue;
    auto with = [&](AnchorSource src) {
      return FindConfig(cfg, m, [&](const cli::SweepAttention& b) {
        return b.mode == AttnMode::kStar && b.anchor_source == src &&
               b.anchor_positions == AnchorPositions::kOriginal && SameBlock(a, b);
      });
    };
    first = with(AnchorSource::kFirst);
    previous = with(AnchorSource::kPrevious);
    none = with(AnchorSource::kNone);
    if (!first.empty() && !previous.empty() && !none.empty()) {
      m.claim_notes.push_back(
          fmt::format("Claim (2): anchor_source first {}, previous {}, none {} (block {}, original "
                      "positions).",
                      first, previous, none, BlockText(a)));
      break;
    }
    first.clear();
  }
  if (first.empty()) {
    m.claim_notes.push_back(
        "Claim (2) not checked: no star configs with anchor_source first, previous and none at "
        "the same block and original anchor positions.");
    return;
  }
  std::vector<std::string> tasks;
  std::string set = "NIAH";
  for (const auto& t : m.tasks) {
    if (IsNiah(t)) tasks.push_back(t);
  }
  if (tasks.empty()) {
    set = "RULER";
    for (const auto& t : m.tasks) {
      if (IsRulerTask(t)) tasks.push_back(t);
    }
  }
  if (tasks.empty()) {
    set = "all-task";
    tasks = m.tasks;
  }
  const std::string avg = tasks.size() <= 3 ? fmt::format("{} avg of {}", set, JoinTasks(tasks))
                                            : fmt::format("{} avg of {} tasks", set, tasks.size());
  m.claim_notes.push_back(fmt::format("Claim (2) averages {}: {}.", set, JoinTasks(tasks)));
  struct Comparison {
    std::string candidate, reference, name;
    double threshold;
    bool strict;
  };
  const Comparison comparisons[] = {
      {first, previous, "first - previous", -o.margin, false},
      {previous, none, "previous - none", -o.margin, false},
      {first, none, "first - none", 0.0, true},
  };
  for (const std::string& length : m.lengths) {
    std::vector<ClaimRow> rows;
    for (const Comparison& c : comparisons) {
      const auto a = runs.find({c.candidate, length});
      const auto b = runs.find({c.reference, length});
      if (a == runs.end() || b == runs.end()) break;
      const auto cell = AverageDelta(PairRuns(*b->second, *a->second), tasks, o);
      if (!cell) break;
      ClaimRow r =
          Row(2, length, fmt::format("{} ({})", c.name, avg), c.candidate, c.reference, *cell);
      std::tie(r.verdict, r.reason) = Above(r.delta, c.threshold, c.strict);
      rows.push_back(std::move(r));
    }
    if (rows.size() != std::size(comparisons)) continue;  // a source is missing at this length
    ClaimRow summary;
    summary.claim = 2;
    summary.length = length;
    summary.row = "claim (2): first >= previous >= none, first > none";
    summary.summary = true;
    const auto any = [&](Verdict v) {
      return std::any_of(rows.begin(), rows.end(),
                         [&](const ClaimRow& r) { return r.verdict == v; });
    };
    if (any(Verdict::kContradicted)) {
      summary.verdict = Verdict::kContradicted;
      summary.reason = "a comparison fails";
    } else if (any(Verdict::kInconclusive)) {
      summary.verdict = Verdict::kInconclusive;
      summary.reason = "a comparison is inconclusive";
    } else {
      summary.verdict = Verdict::kReproduced;
      summary.reason = "all three comparisons hold";
    }
    for (auto& r : rows) m.claims.push_back(std::move(r));
    m.claims.push_back(std::move(summary));
    for (const auto& [config, source] :
         {std::pair{first, "first"}, std::pair{previous, "previous"}, std::pair{none, "none"}}) {
      const auto a = runs.find({config, length});
      const auto b = runs.find({dense, length});
      if (a == runs.end() || b == runs.end()) continue;
      if (const auto cell = AverageDelta(PairRuns(*b->second, *a->second), tasks, o)) {
        ClaimRow r =
            Row(2, length, fmt::format("{} - dense ({})", source, avg), config, dense, *cell);
        r.informative = true;
        m.claims.push_back(std::move(r));
      }
    }
  }
}

}  // namespace

void AddClaims(ModelReport& m, const Runs& runs, const nlohmann::json& manifest,
               const ReportOptions& o) {
  if (!manifest.is_object() || !manifest.contains("config")) {
    m.claim_notes.push_back(
        "Claims not checked: no manifest.json with the sweep config, which identifies the "
        "attention configurations.");
    return;
  }
  cli::SweepConfig cfg;
  try {
    // Relative paths in the config (mask files) are relative to the config file the sweep
    // read, which the manifest records (relative to where the sweep ran).
    const std::string source =
        manifest.contains("config_file") && manifest["config_file"].is_string()
            ? manifest["config_file"].get<std::string>()
            : std::string("manifest.json config");
    cfg = cli::ParseSweepConfigJson(manifest["config"], source);
  } catch (const Error& e) {
    m.claim_notes.push_back(fmt::format(
        "Claims not checked: the manifest's sweep config does not parse ({})", e.what()));
    return;
  }
  std::string dense;
  for (const auto& c : m.configs) {
    if (c.mode == "dense" && (dense.empty() || c.label == m.baseline)) dense = c.label;
  }
  if (dense.empty()) {
    m.claim_notes.push_back("Claims not checked: no dense config to compare with.");
    return;
  }
  AddClaim1(m, runs, cfg, dense, o);
  AddClaim2(m, runs, cfg, dense, o);
}

std::string RenderClaimsMarkdown(const ModelReport& m, const ReportOptions& o) {
  if (m.claims.empty() && m.claim_notes.empty()) return "";
  const int ci = static_cast<int>(std::lround(o.bootstrap.confidence * 100));
  std::string md = fmt::format("\n### Claims (margin {} points, paired bootstrap {}% CI)\n\n",
                               Fixed2(o.margin), ci);
  md += fmt::format(
      "- Claim (1), star (block = anchor = L/4, first-block anchor) within a few points of dense "
      "on RULER: reproduced when the CI of the RULER average's difference lies within +-{0}, "
      "contradicted when it lies below -{0}, inconclusive otherwise or with too few samples.\n"
      "- Claim (2), the anchor ablation: first - previous >= -{0}, previous - none >= -{0} and "
      "first - none > 0 on the NIAH average (CI lower bound past the threshold: holds; upper "
      "bound below it: fails); reproduced when all hold, contradicted when one fails.\n",
      Fixed2(o.margin));
  for (const auto& n : m.claim_notes) md += "- " + n + "\n";
  for (const int claim : {1, 2}) {
    const bool any = std::any_of(m.claims.begin(), m.claims.end(),
                                 [&](const ClaimRow& r) { return r.claim == claim; });
    if (!any) continue;
    md += fmt::format("\n| length | claim ({}) | difference (points) | verdict |\n", claim);
    md += "|---|---|---:|---|\n";
    for (const ClaimRow& r : m.claims) {
      if (r.claim != claim) continue;
      std::string diff =
          r.row.find(" - ") != std::string::npos || r.summary
              ? DeltaText(r.delta)
              : fmt::format("{} - {}: {}", r.candidate, r.reference, DeltaText(r.delta));
      if (!r.delta.resampling.empty()) diff += ", resampling " + r.delta.resampling;
      std::string verdict = r.informative ? "-" : fmt::format("{} ({})", RowVerdict(r), r.reason);
      std::string row = Escape(r.row);
      if (r.summary) {
        row = "**" + row + "**";
        verdict = fmt::format("**{}** ({})", VerdictName(r.verdict), r.reason);
        if (claim == 2) diff = "";
      }
      md += fmt::format("| {} | {} | {} | {} |\n", r.length, row, diff, verdict);
    }
  }
  return md;
}

std::string ClaimsCsv(const Report& report) {
  std::string out =
      "model,claim,length,row,candidate,reference,n_paired,estimate,ci_lo,ci_hi,interval,"
      "resampling,verdict,summary,reason\n";
  for (const ModelReport& m : report.models) {
    for (const ClaimRow& r : m.claims) {
      const bool summary2 = r.summary && r.claim == 2;  // a combination: no difference of its own
      const DeltaCell& d = r.delta;
      auto num = [&](double x, bool show) { return show ? fmt::format("{:.4f}", x) : ""; };
      out += fmt::format(
          "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", CsvField(m.model), r.claim,
          CsvField(r.length), CsvField(r.row), CsvField(r.candidate), CsvField(r.reference),
          summary2 ? "" : std::to_string(d.delta.n), num(d.delta.estimate, !summary2),
          num(d.delta.lo, !summary2 && d.has_interval),
          num(d.delta.hi, !summary2 && d.has_interval),
          summary2         ? ""
          : d.has_interval ? "ok"
                           : CsvField("too few samples: " + d.too_few),
          CsvField(d.resampling), RowVerdict(r), r.summary ? 1 : 0, CsvField(r.reason));
    }
  }
  return out;
}

}  // namespace starattn::report
