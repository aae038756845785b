// Statistics for reports and the regression gate: a deterministic paired bootstrap.
//
// Paired bootstrap over samples: each sample i has a baseline score b_i and a candidate score
// c_i (both in [0, 1] for accuracy); the statistic is a weighted mean over groups (strata, e.g.
// tasks) of the per-group mean difference d_i = c_i - b_i. One resample draws, inside every
// group independently, as many differences as the group has, with replacement. The confidence
// interval is the percentile interval of the resampled statistics (linear interpolation between
// order statistics, as numpy's default quantile).
//
// Reproducible: the generator is SplitMix64 (engine/common/random.h) with its own unbiased integer
// mapping (no std distribution, whose output differs across standard libraries), so a seed gives
// the same interval on every platform.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace starattn::stats {

// Linear-interpolation quantile (numpy "linear", R type 7) of sorted values; p in [0, 1].
double QuantileSorted(const std::vector<double>& sorted, double p);

double Mean(const std::vector<double>& v);  // 0 for an empty vector

struct BootstrapOptions {
  double confidence = 0.95;  // two-sided, in (0, 1)
  int resamples = 2000;
  uint64_t seed = 20241127;
};

struct Interval {
  double estimate = 0;  // the statistic on the observed samples
  double lo = 0;
  double hi = 0;
  int64_t n = 0;  // samples (pairs) in all groups
};

// How the groups' mean differences are combined into the statistic.
enum class Pooling {
  kSamples,  // weight n_g / N: the mean difference over all samples
  kGroups,   // weight 1 / G: the mean over groups of their mean difference (e.g. a task average)
};

// Paired bootstrap of the mean difference. groups[g] holds the differences d_i = c_i - b_i of
// group g; empty groups are ignored. Throws Error on bad options or when there is no sample.
Interval PairedBootstrap(const std::vector<std::vector<double>>& groups, Pooling pooling,
                         const BootstrapOptions& opts);

// One group: the mean of diffs.
Interval PairedBootstrap(const std::vector<double>& diffs, const BootstrapOptions& opts);

// What the interval of a task average (the equal-weight mean over groups of their mean
// difference) resamples.
enum class Resampling {
  kSamples,  // samples within every group, the groups fixed (a benchmark's fixed task set)
  kTasks,    // groups with replacement, each keeping its observed mean difference
  kBoth,     // groups with replacement, then samples within every drawn group (two-stage)
};
// "samples within tasks", "tasks", "tasks, then samples within them".
std::string_view ResamplingName(Resampling r);
// "samples", "tasks" or "both"; throws Error otherwise.
Resampling ParseResampling(std::string_view s);

// Bootstrap of the equal-weight mean over groups of their mean difference (empty groups are
// ignored). kSamples gives the same interval as PairedBootstrap(groups, Pooling::kGroups, opts).
Interval GroupMeanBootstrap(const std::vector<std::vector<double>>& groups, Resampling r,
                            const BootstrapOptions& opts);

}  // namespace starattn::stats
