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

// One plot of one model: its data (.dat) and script (.gp), which writes <stem>.png and <stem>.svg.
struct Plot {
  std::string stem;  // file name without extension, e.g. "accuracy_ruler"
  std::string title;
  std::string dat;  // the .dat text
  std::string gp;   // the .gp text (reads <stem>.dat from its own folder)
};

// The plots of one model (no files written).
std::vector<Plot> MakePlots(const ModelReport& m, double confidence);

}  // namespace starattn::report
