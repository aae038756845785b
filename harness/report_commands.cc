// report and compare: the tables and plots of a sweep's results, and the star-vs-dense (or any
// run-vs-run) regression gate.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "engine/common/error.h"
#include "engine/common/files.h"
#include "harness/cli.h"
#include "harness/lib/compare.h"
#include "harness/lib/jsonl.h"
#include "harness/lib/report.h"
#include "harness/lib/report_claims.h"
#include "harness/lib/report_data.h"
#include "harness/lib/report_plots.h"
#include "ruler/scoring.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace starattn::cli {
namespace {

void CheckBootstrap(const stats::BootstrapOptions& b) {
  if (!(b.confidence > 0 && b.confidence < 1)) {
    throw po::error(fmt::format("--confidence must be in (0, 1), got {}", b.confidence));
  }
  if (b.resamples < 1) throw po::error("--resamples must be at least 1");
}

int ReportMain(const std::vector<std::string>& args) {
  po::options_description desc("report options");
  // clang-format off
  desc.add_options()
      ("results", po::value<std::string>(), "results folder (results/<name>; or positional)")
      ("out,o", po::value<std::string>(), "output folder (default: RESULTS/report)")
      ("baseline-attn", po::value<std::string>()->default_value("dense"),
       "baseline attention config label (default: dense, else the first dense-mode config)")
      ("format", po::value<std::string>()->default_value("both"), "tables to write: md, csv, both")
      ("reference", po::value<std::vector<std::string>>()->composing(),
       "reference-format results folder (RULER summary.csv files below it); repeatable")
      ("confidence", po::value<double>()->default_value(0.95), "confidence of the delta CIs")
      ("resamples", po::value<int>()->default_value(2000), "bootstrap resamples")
      ("seed", po::value<uint64_t>()->default_value(20241127), "bootstrap seed")
      ("min-samples", po::value<int64_t>()->default_value(10),
       "paired samples a task needs for an interval (fewer: \"too few samples\")")
      ("average-resampling", po::value<std::string>()->default_value("samples"),
       "what an average's interval resamples: samples (within tasks), tasks, or both")
      ("min-tasks", po::value<int64_t>()->default_value(5),
       "tasks an average needs when it resamples tasks")
      ("margin", po::value<double>()->default_value(5.0),
       "claims: star is within a few points of dense when the CI lies within +-margin")
      ("gnuplot", po::value<std::string>()->default_value("gnuplot"), "gnuplot executable")
      ("no-plots", "write no plots");
  // clang-format on
  po::positional_options_description pos;
  pos.add("results", 1);
  po::variables_map vm;
  // ParseCommandLine takes no positionals: parse here in the same way.
  desc.add_options()("help,h", "show this help");
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: starattn report RESULTS_DIR [--out DIR] [--baseline-attn dense] "
                 "[--format md|csv|both] [--reference REF_DIR ...]\n\n"
                 "Writes report.md, scores.csv, deltas.csv, timing.csv, claims.csv and plots (PNG, "
                 "SVG, with their .dat and .gp) into RESULTS_DIR/report/, and prints the "
                 "Markdown. The claims' verdicts are defined in harness/lib/report_claims.h "
                 "and README.md.\n\n"
              << desc << "\n";
    return 0;
  }
  po::notify(vm);
  if (!vm.count("results")) {
    throw po::error("missing RESULTS_DIR (usage: starattn report RESULTS_DIR)");
  }
  const std::string format = vm["format"].as<std::string>();
  if (format != "md" && format != "csv" && format != "both") {
    throw po::error("--format must be md, csv or both, got '" + format + "'");
  }
  report::ReportOptions opts;
  opts.baseline_attn = vm["baseline-attn"].defaulted() ? "" : vm["baseline-attn"].as<std::string>();
  opts.bootstrap.confidence = vm["confidence"].as<double>();
  opts.bootstrap.resamples = vm["resamples"].as<int>();
  opts.bootstrap.seed = vm["seed"].as<uint64_t>();
  CheckBootstrap(opts.bootstrap);
  opts.min_samples = vm["min-samples"].as<int64_t>();
  if (opts.min_samples < 2) throw po::error("--min-samples must be at least 2");
  opts.min_tasks = vm["min-tasks"].as<int64_t>();
  if (opts.min_tasks < 2) throw po::error("--min-tasks must be at least 2");
  try {
    opts.average_resampling = stats::ParseResampling(vm["average-resampling"].as<std::string>());
  } catch (const Error& e) {
    throw po::error(std::string("--average-resampling: ") + e.what());
  }
  opts.margin = vm["margin"].as<double>();
  if (!(opts.margin >= 0)) throw po::error("--margin must be >= 0");

  const std::string dir = vm["results"].as<std::string>();
  const report::ResultsTree tree = report::ReadResultsTree(dir, ruler::GlobalMetrics());
  std::vector<std::string> ref_dirs;
  if (vm.count("reference")) ref_dirs = vm["reference"].as<std::vector<std::string>>();
  std::vector<report::ReferenceRun> refs;
  for (const std::string& r : ref_dirs) {
    const std::string prefix =
        ref_dirs.size() > 1 ? fs::weakly_canonical(r).filename().string() : "";
    for (auto& run : report::ReadReferenceDir(r, prefix)) refs.push_back(std::move(run));
  }
  report::Report rep = report::BuildReport(tree, refs, ref_dirs, opts);

  const fs::path out =
      vm.count("out") ? fs::path(vm["out"].as<std::string>()) : fs::path(dir) / "report";
  fs::create_directories(out);
  report::PlotSet plots;
  if (!vm.count("no-plots")) {
    plots = report::WritePlots(rep, out.string(), vm["gnuplot"].as<std::string>());
    for (const auto& w : plots.warnings) rep.warnings.push_back(w);
  }
  const std::string md = report::RenderMarkdown(rep, plots.links);
  std::vector<std::string> written;
  if (format != "csv") {
    WriteFileAtomically((out / "report.md").string(), md);
    written.push_back("report.md");
  }
  if (format != "md") {
    WriteFileAtomically((out / "scores.csv").string(), report::ScoresCsv(rep));
    WriteFileAtomically((out / "deltas.csv").string(), report::DeltasCsv(rep));
    WriteFileAtomically((out / "timing.csv").string(), report::TimingCsv(rep));
    WriteFileAtomically((out / "claims.csv").string(), report::ClaimsCsv(rep));
    written.insert(written.end(), {"scores.csv", "deltas.csv", "timing.csv", "claims.csv"});
  }
  std::cout << md;
  for (const auto& w : rep.warnings) std::cerr << "report: warning: " << w << "\n";
  std::string files;
  for (const auto& f : written) files += (files.empty() ? "" : ", ") + f;
  std::cerr << fmt::format("report: wrote {} and {} plots ({} scripts) in {}\n", files,
                           plots.images.size() / 2, plots.scripts.size(), out.string());
  return 0;
}

// Filesystem errors (permissions, a full disk) as one-line errors like the others.
int RunReport(const std::vector<std::string>& args) {
  try {
    return ReportMain(args);
  } catch (const fs::filesystem_error& e) {
    throw Error(e.what());
  }
}

int CompareMain(const std::vector<std::string>& args) {
  po::options_description desc("compare options");
  // clang-format off
  desc.add_options()
      ("baseline,b", po::value<std::string>()->required(),
       "baseline run: <model>/<attn> folder, <length> folder or pred.jsonl")
      ("candidate,c", po::value<std::string>()->required(), "candidate run (same forms)")
      ("max-drop", po::value<double>()->default_value(0.0),
       "tolerated drop in points: regression when the CI upper bound < -P")
      ("confidence", po::value<double>()->default_value(0.95), "confidence of the CIs")
      ("resamples", po::value<int>()->default_value(2000), "bootstrap resamples")
      ("seed", po::value<uint64_t>()->default_value(20241127), "bootstrap seed")
      ("json", po::value<std::string>(), "also write the numbers to this JSON file");
  // clang-format on
  po::variables_map vm;
  if (!ParseCommandLine(args, desc, vm,
                        "usage: starattn compare --baseline RUN --candidate RUN [--max-drop P] "
                        "[--confidence C] [--seed S] [--json FILE]\n\n"
                        "Paired per-sample comparison on identical samples. Exit codes: 0 pass, "
                        "1 regression (overall drop significant beyond --max-drop), 2 usage or "
                        "input error.")) {
    return report::kComparePass;
  }
  report::CompareOptions opts;
  opts.max_drop = vm["max-drop"].as<double>();
  if (!(opts.max_drop >= 0)) throw po::error("--max-drop must be >= 0");
  opts.bootstrap.confidence = vm["confidence"].as<double>();
  opts.bootstrap.resamples = vm["resamples"].as<int>();
  opts.bootstrap.seed = vm["seed"].as<uint64_t>();
  CheckBootstrap(opts.bootstrap);
  const std::string base = vm["baseline"].as<std::string>();
  const std::string cand = vm["candidate"].as<std::string>();
  std::vector<std::string> notes;
  const auto b = report::ReadRunSamples(base, ruler::GlobalMetrics(), &notes);
  const auto c = report::ReadRunSamples(cand, ruler::GlobalMetrics(), &notes);
  for (const auto& n : notes) std::cerr << "compare: warning: " << n << "\n";
  const report::CompareResult r = report::Compare(b, c, opts);
  std::cout << report::RenderCompare(r, opts, base, cand);
  if (vm.count("json")) {
    const std::string path = vm["json"].as<std::string>();
    if (const fs::path parent = fs::path(path).parent_path(); !parent.empty()) {
      fs::create_directories(parent);
    }
    WriteFileAtomically(path, report::CompareJson(r, opts, base, cand).dump(2) + "\n");
  }
  return r.regression ? report::kCompareRegression : report::kComparePass;
}

// Exit 2 on any usage or input error, so that a CI step can tell it from a regression (1).
int RunCompare(const std::vector<std::string>& args) {
  try {
    return CompareMain(args);
  } catch (const Error& e) {
    std::cerr << "starattn compare: error: " << e.what() << "\n";
  } catch (const po::error& e) {
    std::cerr << "starattn compare: error: " << e.what() << " (see --help)\n";
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "starattn compare: error: " << e.what() << "\n";
  } catch (const fs::filesystem_error& e) {
    std::cerr << "starattn compare: error: " << e.what() << "\n";
  }
  return report::kCompareUsageError;
}

}  // namespace

std::vector<Command> ReportCommands() {
  return {
      {"report", "tables (Markdown, CSV) and plots of a sweep's results", RunReport},
      {"compare", "paired regression gate between two runs (exit 0 pass, 1 regression, 2 error)",
       RunCompare},
  };
}

}  // namespace starattn::cli
