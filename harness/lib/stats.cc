#include "harness/lib/stats.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "engine/common/error.h"
#include "engine/common/random.h"

namespace starattn::stats {

double QuantileSorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) Fail("quantile of no values");
  if (sorted.size() == 1) return sorted[0];
  const double h = std::clamp(p, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(h));
  if (i + 1 >= sorted.size()) return sorted.back();
  const double frac = h - static_cast<double>(i);
  return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (const double x : v) s += x;
  return s / static_cast<double>(v.size());
}

namespace {

void CheckOptions(const BootstrapOptions& opts) {
  if (!(opts.confidence > 0 && opts.confidence < 1)) {
    Fail("confidence must be in (0, 1), got {}", opts.confidence);
  }
  if (opts.resamples < 1) Fail("bootstrap resamples must be at least 1, got {}", opts.resamples);
}

// The percentile interval of the resampled statistics into `out` (whose estimate is set).
Interval WithPercentiles(std::vector<double> stats, Interval out, const BootstrapOptions& opts) {
  std::sort(stats.begin(), stats.end());
  const double alpha = 1 - opts.confidence;
  out.lo = QuantileSorted(stats, alpha / 2);
  out.hi = QuantileSorted(stats, 1 - alpha / 2);
  // Rounding in the sums may put a constant statistic a few ulps off its estimate; an interval
  // always contains its estimate when every resample equals it.
  if (stats.front() == stats.back()) out.lo = out.hi = out.estimate;
  return out;
}

}  // namespace

Interval PairedBootstrap(const std::vector<std::vector<double>>& groups, Pooling pooling,
                         const BootstrapOptions& opts) {
  CheckOptions(opts);
  std::vector<const std::vector<double>*> used;
  int64_t n = 0;
  for (const auto& g : groups) {
    if (g.empty()) continue;
    used.push_back(&g);
    n += static_cast<int64_t>(g.size());
  }
  if (used.empty()) Fail("paired bootstrap of no samples");
  std::vector<double> weight;
  for (const auto* g : used) {
    weight.push_back(pooling == Pooling::kSamples
                         ? static_cast<double>(g->size()) / static_cast<double>(n)
                         : 1.0 / static_cast<double>(used.size()));
  }
  Interval out;
  out.n = n;
  for (size_t k = 0; k < used.size(); ++k) out.estimate += weight[k] * Mean(*used[k]);

  SplitMix64 rng(opts.seed);
  std::vector<double> stats(static_cast<size_t>(opts.resamples));
  for (double& stat : stats) {
    stat = 0;
    for (size_t k = 0; k < used.size(); ++k) {
      const std::vector<double>& g = *used[k];
      double sum = 0;
      for (size_t j = 0; j < g.size(); ++j) sum += g[rng.Below(g.size())];
      stat += weight[k] * sum / static_cast<double>(g.size());
    }
  }
  return WithPercentiles(std::move(stats), out, opts);
}

Interval PairedBootstrap(const std::vector<double>& diffs, const BootstrapOptions& opts) {
  return PairedBootstrap(std::vector<std::vector<double>>{diffs}, Pooling::kSamples, opts);
}

std::string_view ResamplingName(Resampling r) {
  switch (r) {
    case Resampling::kSamples:
      return "samples within tasks";
    case Resampling::kTasks:
      return "tasks";
    case Resampling::kBoth:
      return "tasks, then samples within them";
  }
  return "?";
}

Resampling ParseResampling(std::string_view s) {
  if (s == "samples") return Resampling::kSamples;
  if (s == "tasks") return Resampling::kTasks;
  if (s == "both") return Resampling::kBoth;
  Fail("average resampling must be samples, tasks or both, got '{}'", s);
}

Interval GroupMeanBootstrap(const std::vector<std::vector<double>>& groups, Resampling r,
                            const BootstrapOptions& opts) {
  if (r == Resampling::kSamples) return PairedBootstrap(groups, Pooling::kGroups, opts);
  CheckOptions(opts);
  std::vector<const std::vector<double>*> used;
  std::vector<double> means;
  Interval out;
  for (const auto& g : groups) {
    if (g.empty()) continue;
    used.push_back(&g);
    means.push_back(Mean(g));
    out.n += static_cast<int64_t>(g.size());
  }
  if (used.empty()) Fail("paired bootstrap of no samples");
  out.estimate = Mean(means);
  const size_t k = used.size();
  SplitMix64 rng(opts.seed);
  std::vector<double> stats(static_cast<size_t>(opts.resamples));
  for (double& stat : stats) {
    double sum = 0;
    for (size_t t = 0; t < k; ++t) {
      const size_t pick = rng.Below(k);
      if (r == Resampling::kTasks) {
        sum += means[pick];
        continue;
      }
      const std::vector<double>& g = *used[pick];
      double inner = 0;
      for (size_t j = 0; j < g.size(); ++j) inner += g[rng.Below(g.size())];
      sum += inner / static_cast<double>(g.size());
    }
    stat = sum / static_cast<double>(k);
  }
  return WithPercentiles(std::move(stats), out, opts);
}

}  // namespace starattn::stats
