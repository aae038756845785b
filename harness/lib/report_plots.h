// Plots of a report with gnuplot (PNG and SVG): accuracy vs context length per attention config
// (RULER average, and the BABILong qa1-qa5 average when present), the per-task accuracy delta of
// each config vs the baseline (bars with CI error bars), and time per sample vs context length.
// Every plot's data (.dat, tab-separated) and script (.gp) are written beside it, so users can
// re-plot: `cd <report>/plots/<model> && gnuplot accuracy_ruler.gp`.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness/lib/report.h"

namespace starattn::report {

struct PlotSet {
  // model -> (title, PNG path relative to the report folder) of every rendered plot
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> links;
  std::vector<std::string> scripts;   // every .gp written (absolute or as given)
  std::vector<std::string> images;    // every PNG and SVG rendered
  std::vector<std::string> warnings;  // one line each (gnuplot missing or failing)
};

// Path of an executable: `name` itself when it contains '/', else the first match on $PATH;
// "" when there is none.
std::string FindExecutable(const std::string& name);

// Writes the .dat and .gp files under out_dir/plots/<model>/ and renders them with `gnuplot`
// (a name on $PATH or a path). When gnuplot is missing or fails, the data and scripts are still
// written and a warning says so.
PlotSet WritePlots(const Report& report, const std::string& out_dir,
                   const std::string& gnuplot = "gnuplot");

// The gnuplot scripts' text, exposed for tests (file names relative to the script's folder).
std::string AccuracyScript(const ModelReport& m, const std::string& row, const std::string& dat,
                           const std::string& stem);
std::string DeltaScript(const ModelReport& m, const std::string& config, double confidence,
                        const std::string& dat, const std::string& stem);
std::string TimeScript(const ModelReport& m, const std::string& dat, const std::string& stem);

}  // namespace starattn::report
