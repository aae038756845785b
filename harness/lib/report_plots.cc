#include "harness/lib/report_plots.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "engine/common/error.h"
#include "engine/common/files.h"

namespace fs = std::filesystem;

namespace starattn::report {
namespace {

// Text for a gnuplot double-quoted string.
std::string GpString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A file-name-safe form of a label.
std::string FileSafe(const std::string& s) {
  std::string out;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  return out;
}

std::string Shell(const std::string& s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string Num(double x) { return fmt::format("{:.4f}", x); }

// The first lines of every script: the PNG terminal; Render() adds the SVG pass.
std::string Header(const std::string& stem, const std::string& title, int width, int height) {
  return fmt::format(
      "# Written by `starattn report`; re-plot with: gnuplot {0}.gp (writes {0}.png and {0}.svg)\n"
      "set terminal pngcairo size {2},{3} font \"sans,11\" noenhanced\n"
      "set output \"{0}.png\"\n"
      "set datafile separator \"\\t\"\n"
      "set datafile missing \"?\"\n"
      "set title {1} font \",13\"\n"
      "set grid ytics lc rgb \"#d0d0d0\"\n"
      "set border 3\n"
      "set tics nomirror\n",
      stem, GpString(title), width, height);
}

std::string Footer(const std::string& stem, int width, int height) {
  return fmt::format(
      "set terminal svg size {1},{2} dynamic font \"sans,11\" noenhanced\n"
      "set output \"{0}.svg\"\n"
      "replot\n"
      "set output\n",
      stem, width, height);
}

// Line colours by config position, stable across the plots of a model.
const char* Colour(size_t i) {
  static const char* kColours[] = {"#000000", "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"};
  return kColours[i % (sizeof(kColours) / sizeof(kColours[0]))];
}

// x axis of the per-length plots: tokens on a log2 scale, labelled with the length labels.
std::string LengthAxis(const std::vector<std::string>& lengths) {
  int64_t lo = -1, hi = -1;
  for (const auto& l : lengths) {
    const int64_t t = LengthTokens(l);
    if (t <= 0) continue;
    lo = lo < 0 ? t : std::min(lo, t);
    hi = std::max(hi, t);
  }
  return fmt::format(
      "set logscale x 2\n"
      "set xrange [{}:{}]\n"
      "set xlabel \"context length (tokens)\"\n",
      Num(static_cast<double>(lo) / 1.5), Num(static_cast<double>(hi) * 1.5));
}

std::vector<std::string> NumericLengths(const ModelReport& m) {
  std::vector<std::string> out;
  for (const auto& l : m.lengths) {
    if (LengthTokens(l) > 0) out.push_back(l);
  }
  return out;
}

// Per-length series of each config (col 1 tokens, col 2 label, then one column per config).
// value(length, config) returns "?" when missing.
template <typename Value>
std::string SeriesDat(const std::string& what, const std::vector<std::string>& lengths,
                      const std::vector<const ConfigColumn*>& configs, Value value) {
  std::string dat = fmt::format("# {}\n# tokens\tlength", what);
  for (const auto* c : configs) {
    dat += '\t';
    dat += c->label;
  }
  dat += "\n";
  for (const auto& l : lengths) {
    dat += fmt::format("{}\t{}", LengthTokens(l), l);
    for (const auto* c : configs) {
      dat += '\t';
      dat += value(l, *c);
    }
    dat += "\n";
  }
  return dat;
}

std::string SeriesPlot(const std::string& stem, const std::vector<const ConfigColumn*>& configs,
                       const std::vector<size_t>& colour_index) {
  // Configs with equal values (ring and dense are exact) would hide each other: the first
  // (the baseline) is drawn widest, underneath, and every config has its own point shape.
  static const int kFilled[] = {7, 5, 9, 11, 13, 15};
  static const int kOpen[] = {6, 4, 8, 10, 12, 14};
  std::string plot = "plot ";
  for (size_t i = 0; i < configs.size(); ++i) {
    const bool ref = configs[i]->reference;
    const size_t c = colour_index[i];
    plot += fmt::format(
        "{}\"{}.dat\" using 1:{}{} with linespoints lw {} pt {} ps {} dt {} lc rgb \"{}\" "
        "title {}",
        i ? ", \\\n     " : "", stem, i + 3, i == 0 ? ":xtic(2)" : "", i == 0 ? 5 : 2,
        ref ? kOpen[c % 6] : kFilled[c % 6], i == 0 ? 2.2 : 1.4, ref ? 2 : 1, Colour(c),
        GpString(configs[i]->label));
  }
  return plot + "\n";
}

bool HasCell(const ModelReport& m, const std::string& row, const std::string& config) {
  for (const auto& l : m.lengths) {
    if (m.scores.contains({row, l, config})) return true;
  }
  return false;
}

Plot AccuracyPlot(const ModelReport& m, const std::string& row, const std::string& stem,
                  const std::string& what) {
  std::vector<const ConfigColumn*> configs;
  std::vector<size_t> colours;
  for (size_t i = 0; i < m.configs.size(); ++i) {
    if (HasCell(m, row, m.configs[i].label)) {
      configs.push_back(&m.configs[i]);
      colours.push_back(i);
    }
  }
  const std::vector<std::string> lengths = NumericLengths(m);
  Plot p;
  p.stem = stem;
  p.title = fmt::format("{}: {} vs context length", m.model, what);
  p.dat = SeriesDat(what + " (0-100) per context length and attention config", lengths, configs,
                    [&](const std::string& l, const ConfigColumn& c) {
                      const auto it = m.scores.find({row, l, c.label});
                      return it == m.scores.end() ? std::string("?") : Num(it->second.score);
                    });
  const int w = 960, h = 560;
  p.gp = Header(stem, p.title, w, h) + LengthAxis(lengths) +
         fmt::format("set ylabel {}\n", GpString(what + " accuracy (%)")) +
         "set yrange [0:105]\n"
         "set key outside right center box opaque width 1 title \"attention\"\n" +
         SeriesPlot(stem, configs, colours) + Footer(stem, w, h);
  return p;
}

// Bars per task (and average) and length at x = row + the length's offset; error bars only where
// the cell has an interval (enough paired samples), so a too-small sample draws a bare bar.
Plot DeltaPlot(const ModelReport& m, const std::string& config, double confidence) {
  std::vector<std::string> rows = m.tasks;
  rows.push_back(kRulerAverage);
  rows.push_back(kBabilongAverage);
  std::vector<std::string> used_rows;
  std::vector<std::string> lengths;
  for (const auto& l : m.lengths) {
    for (const auto& r : rows) {
      if (m.deltas.contains({r, l, config})) {
        if (std::find(lengths.begin(), lengths.end(), l) == lengths.end()) lengths.push_back(l);
      }
    }
  }
  for (const auto& r : rows) {
    for (const auto& l : lengths) {
      if (m.deltas.contains({r, l, config})) {
        used_rows.push_back(r);
        break;
      }
    }
  }
  const int ci = static_cast<int>(std::lround(confidence * 100));
  Plot p;
  p.stem = "delta_" + FileSafe(config);
  p.title =
      fmt::format("{}: {} minus {}, accuracy per task ({}% CI)", m.model, config, m.baseline, ci);
  p.dat = fmt::format(
      "# accuracy delta (points) of {} vs {} per task, with the paired bootstrap "
      "{}% CI ('?': too few samples for an interval)\n# task",
      config, m.baseline, ci);
  for (const auto& l : lengths) p.dat += fmt::format("\t{0}_delta\t{0}_lo\t{0}_hi", l);
  p.dat += "\n";
  double lo = 0, hi = 0;
  bool any_too_few = false;
  std::vector<bool> length_has_interval(lengths.size(), false);
  for (const auto& r : used_rows) {
    p.dat += m.RowLabel(r);
    for (size_t i = 0; i < lengths.size(); ++i) {
      const auto it = m.deltas.find({r, lengths[i], config});
      if (it == m.deltas.end()) {
        p.dat += "\t?\t?\t?";
        continue;
      }
      const auto& d = it->second.delta;
      if (it->second.has_interval) {
        p.dat += fmt::format("\t{}\t{}\t{}", Num(d.estimate), Num(d.lo), Num(d.hi));
        lo = std::min(lo, d.lo);
        hi = std::max(hi, d.hi);
        length_has_interval[i] = true;
      } else {
        p.dat += fmt::format("\t{}\t?\t?", Num(d.estimate));
        any_too_few = true;
      }
      lo = std::min(lo, d.estimate);
      hi = std::max(hi, d.estimate);
    }
    p.dat += "\n";
  }
  const double pad = std::max(2.0, (hi - lo) * 0.08);
  const int w = std::max(820, 240 + 70 * static_cast<int>(used_rows.size() * lengths.size())),
            h = 600;
  std::string xtics;
  for (size_t i = 0; i < used_rows.size(); ++i) {
    xtics += fmt::format("{}{} {}", i ? ", " : "", GpString(m.RowLabel(used_rows[i])), i);
  }
  const double box = 0.8 / static_cast<double>(std::max<size_t>(1, lengths.size()));
  p.gp = Header(p.stem, p.title, w, h) +
         fmt::format(
             "set style fill solid 0.75 border rgb \"#333333\"\n"
             "set boxwidth {} absolute\n"
             "set xtics ({}) rotate by -35 left\n"
             "set xrange [-0.6:{}]\n"
             "set xzeroaxis lt -1 lw 1.5\n"
             "set yrange [{}:{}]\n"
             "set ylabel {}\n"
             "set xlabel \"task\"\n"
             "set key outside right top box opaque width 1 title \"length\"\n"
             "set rmargin 14\n"
             "set bmargin 12\n",
             Num(box), xtics, Num(static_cast<double>(used_rows.size()) - 0.4),
             Num(std::max(-105.0, lo - pad)), Num(std::min(105.0, hi + pad)),
             GpString(fmt::format("accuracy delta, {} - {} (points)", config, m.baseline)));
  if (lo == 0 && hi == 0) {
    p.gp +=
        "set label \"every delta and interval is 0: identical scores\" at graph 0.5, 0.9 "
        "center\n";
  }
  if (any_too_few) {
    p.gp +=
        "set label \"bars without error bars: too few paired samples for an interval\" at graph "
        "0.5, 0.96 center\n";
  }
  static const char* kLengthColours[] = {"#4c72b0", "#dd8452", "#55a868", "#c44e52",
                                         "#8172b3", "#937860", "#da8bc3", "#8c8c8c"};
  std::string plot = "plot ";
  for (size_t i = 0; i < lengths.size(); ++i) {
    const double offset =
        (static_cast<double>(i) - (static_cast<double>(lengths.size()) - 1) / 2) * box;
    const std::string x = fmt::format("($0{:+.4f})", offset);
    plot += fmt::format("{}\"{}.dat\" using {}:{} with boxes lc rgb \"{}\" title {}",
                        i ? ", \\\n     " : "", p.stem, x, 2 + 3 * i, kLengthColours[i % 8],
                        GpString(lengths[i]));
    if (length_has_interval[i]) {
      plot += fmt::format(
          ", \\\n     \"{}.dat\" using {}:{}:{}:{} with yerrorbars lw 1.5 lc rgb \"#333333\" "
          "ps 0 notitle",
          p.stem, x, 2 + 3 * i, 3 + 3 * i, 4 + 3 * i);
    }
  }
  p.gp += plot + "\n" + Footer(p.stem, w, h);
  return p;
}

Plot TimePlot(const ModelReport& m) {
  std::vector<const ConfigColumn*> configs;
  std::vector<size_t> colours;
  for (size_t i = 0; i < m.configs.size(); ++i) {
    const bool has = std::any_of(m.timing.begin(), m.timing.end(), [&](const TimingRow& t) {
      return t.config == m.configs[i].label;
    });
    if (has) {
      configs.push_back(&m.configs[i]);
      colours.push_back(i);
    }
  }
  const std::vector<std::string> lengths = NumericLengths(m);
  Plot p;
  p.stem = "time_per_sample";
  p.title = fmt::format("{}: time per sample vs context length", m.model);
  p.dat = SeriesDat("mean time per sample (s) per context length and attention config", lengths,
                    configs, [&](const std::string& l, const ConfigColumn& c) {
                      for (const auto& t : m.timing) {
                        if (t.length == l && t.config == c.label) {
                          return fmt::format("{:.6f}", t.seconds_per_sample);
                        }
                      }
                      return std::string("?");
                    });
  const int w = 960, h = 560;
  p.gp = Header(p.stem, p.title, w, h) + LengthAxis(lengths) +
         "set ylabel \"time per sample (s)\"\n"
         "set yrange [0:*]\n"
         "set key outside right center box opaque width 1 title \"attention\"\n" +
         SeriesPlot(p.stem, configs, colours) + Footer(p.stem, w, h);
  return p;
}

}  // namespace

std::string FindExecutable(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 && fs::is_regular_file(name) ? name : "";
  }
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::string dirs = path;
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = dirs.substr(start, end - start);
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
    start = end + 1;
  }
  return "";
}

std::vector<Plot> MakePlots(const ModelReport& m, double confidence) {
  std::vector<Plot> plots;
  if (NumericLengths(m).empty()) return plots;
  if (m.has_ruler) {
    plots.push_back(AccuracyPlot(m, kRulerAverage, "accuracy_ruler", m.RowLabel(kRulerAverage)));
  }
  if (m.has_babilong_avg) {
    plots.push_back(
        AccuracyPlot(m, kBabilongAverage, "accuracy_babilong", m.RowLabel(kBabilongAverage)));
  }
  for (const ConfigColumn& c : m.configs) {
    if (c.reference || c.label == m.baseline) continue;
    const bool any = std::any_of(m.deltas.begin(), m.deltas.end(),
                                 [&](const auto& d) { return std::get<2>(d.first) == c.label; });
    if (any) plots.push_back(DeltaPlot(m, c.label, confidence));
  }
  if (!m.timing.empty()) plots.push_back(TimePlot(m));
  return plots;
}

PlotSet WritePlots(const Report& report, const std::string& out_dir, const std::string& gnuplot) {
  PlotSet set;
  const std::string exe = FindExecutable(gnuplot);
  bool warned_missing = false;
  for (const ModelReport& m : report.models) {
    const std::vector<Plot> plots = MakePlots(m, report.options.bootstrap.confidence);
    if (plots.empty()) continue;
    const fs::path rel = fs::path("plots") / FileSafe(m.model);
    const fs::path dir = fs::path(out_dir) / rel;
    fs::create_directories(dir);
    for (const Plot& p : plots) {
      for (const auto& [ext, text] : {std::pair{".dat", &p.dat}, std::pair{".gp", &p.gp}}) {
        WriteFileAtomically((dir / (p.stem + ext)).string(), *text);
      }
      set.scripts.push_back((dir / (p.stem + ".gp")).string());
      if (exe.empty()) {
        if (!warned_missing) {
          set.warnings.push_back(fmt::format(
              "gnuplot not found ('{}'): plots not rendered; install it (Debian: apt-get install "
              "gnuplot-nox) and rerun, or run the .gp scripts in {}/plots/*/",
              gnuplot, out_dir));
          warned_missing = true;
        }
        continue;
      }
      const fs::path log = dir / (p.stem + ".log");
      const fs::path png = dir / (p.stem + ".png"), svg = dir / (p.stem + ".svg");
      std::error_code ec;
      fs::remove(png, ec);  // never mistake an earlier run's image for this one
      fs::remove(svg, ec);
      // The command runs inside `dir`: the script and the log are named relative to it.
      const std::string cmd =
          fmt::format("cd {} && {} {} >{} 2>&1", Shell(dir.string()), Shell(exe),
                      Shell(p.stem + ".gp"), Shell(p.stem + ".log"));
      const int rc = std::system(cmd.c_str());
      if (rc != 0 || !fs::is_regular_file(png) || fs::file_size(png, ec) == 0) {
        set.warnings.push_back(fmt::format("gnuplot failed on {} (status {}): see {}",
                                           (dir / (p.stem + ".gp")).string(), rc, log.string()));
        continue;
      }
      if (fs::file_size(log, ec) == 0) fs::remove(log, ec);
      set.images.push_back(png.string());
      set.images.push_back(svg.string());
      set.links[m.model].emplace_back(p.title, (rel / (p.stem + ".png")).generic_string());
    }
  }
  return set;
}

}  // namespace starattn::report
