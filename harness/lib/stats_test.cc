// The paired bootstrap: deterministic for a seed, exact on degenerate data, and calibrated on
// data whose sampling distribution is known.
#include "harness/lib/stats.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/common/error.h"

namespace starattn::stats {
namespace {

TEST(StatsTest, QuantileInterpolatesLikeNumpy) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(QuantileSorted(v, 0), 1);
  EXPECT_DOUBLE_EQ(QuantileSorted(v, 1), 4);
  EXPECT_DOUBLE_EQ(QuantileSorted(v, 0.5), 2.5);    // numpy.quantile([1,2,3,4], 0.5)
  EXPECT_DOUBLE_EQ(QuantileSorted(v, 0.25), 1.75);  // numpy.quantile([1,2,3,4], 0.25)
}

TEST(StatsTest, ConstantDifferencesGiveAPointInterval) {
  const Interval i = PairedBootstrap(std::vector<double>{-25, -25, -25}, {});
  EXPECT_DOUBLE_EQ(i.estimate, -25);
  EXPECT_DOUBLE_EQ(i.lo, -25);
  EXPECT_DOUBLE_EQ(i.hi, -25);
  EXPECT_EQ(i.n, 3);
  const Interval z = PairedBootstrap(std::vector<double>(10, 0.0), {});
  EXPECT_EQ(z.lo, 0);
  EXPECT_EQ(z.hi, 0);
}

TEST(StatsTest, SameSeedSameIntervalOtherSeedClose) {
  const std::vector<double> d = {0, 100, -100, 0, 0, 100, 0, -100, 100, 0, 0, 100};
  BootstrapOptions o;
  SCOPED_TRACE("seed " + std::to_string(o.seed));
  const Interval a = PairedBootstrap(d, o), b = PairedBootstrap(d, o);
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  EXPECT_LE(a.lo, a.estimate);
  EXPECT_GE(a.hi, a.estimate);
  // The same numbers from an independent Python replica (SplitMix64, Lemire's mapping, numpy's
  // linear quantile).
  EXPECT_DOUBLE_EQ(a.lo, -25);
  EXPECT_DOUBLE_EQ(a.hi, 50);
  // Another seed: a mean of 12 values in {-100, 0, 100} lies on a grid of 100/12 = 8.33 points;
  // near the 2.5% and 97.5% quantiles each grid value holds ~50 of the 2000 resamples while the
  // quantile's Monte Carlo sd is ~1.2 points (~7 resamples), so an endpoint moves by at most one
  // grid step between seeds (the replica: exactly one step at most over 300 other seeds).
  o.seed += 1;
  const Interval c = PairedBootstrap(d, o);
  constexpr double kGridStep = 100.0 / 12;
  EXPECT_NEAR(c.lo, a.lo, kGridStep + 1e-9);
  EXPECT_NEAR(c.hi, a.hi, kGridStep + 1e-9);
}

// Differences in {0, 1} with mean 0.5 over n = 400 samples: the mean's standard error is
// 0.5 / sqrt(400) = 0.025, so the 95% interval is about 0.5 -+ 1.96 * 0.025 = [0.451, 0.549].
TEST(StatsTest, IntervalWidthMatchesTheNormalApproximation) {
  std::vector<double> d;
  for (int i = 0; i < 400; ++i) d.push_back(i % 2);
  BootstrapOptions o;
  o.resamples = 4000;
  const Interval i = PairedBootstrap(d, o);
  EXPECT_DOUBLE_EQ(i.estimate, 0.5);
  EXPECT_NEAR(i.lo, 0.451, 0.01);
  EXPECT_NEAR(i.hi, 0.549, 0.01);
}

TEST(StatsTest, PoolingWeighsSamplesOrGroups) {
  // Group A: 1 sample of 100; group B: 3 samples of 0.
  const std::vector<std::vector<double>> g = {{100}, {0, 0, 0}, {}};
  EXPECT_DOUBLE_EQ(PairedBootstrap(g, Pooling::kSamples, {}).estimate, 25);
  const Interval by_group = PairedBootstrap(g, Pooling::kGroups, {});
  EXPECT_DOUBLE_EQ(by_group.estimate, 50);
  // Inside each group every resample is constant: the interval is the point.
  EXPECT_DOUBLE_EQ(by_group.lo, 50);
  EXPECT_DOUBLE_EQ(by_group.hi, 50);
  EXPECT_EQ(by_group.n, 4);
}

TEST(StatsTest, GroupMeanResamplesSamplesTasksOrBoth) {
  // Two tasks: one where every sample gains 10, one where every sample loses 10. Inside each task
  // nothing varies, so resampling samples gives the point; resampling tasks does not.
  const std::vector<std::vector<double>> g = {{10, 10, 10}, {-10, -10, -10}, {}};
  const Interval within = GroupMeanBootstrap(g, Resampling::kSamples, {});
  EXPECT_DOUBLE_EQ(within.estimate, 0);
  EXPECT_DOUBLE_EQ(within.lo, 0);
  EXPECT_DOUBLE_EQ(within.hi, 0);
  EXPECT_EQ(within.n, 6);
  // Drawing 2 tasks of {+10, -10}: the mean is -10, 0 or +10 with probabilities 1/4, 1/2, 1/4.
  const Interval tasks = GroupMeanBootstrap(g, Resampling::kTasks, {});
  EXPECT_DOUBLE_EQ(tasks.estimate, 0);
  EXPECT_DOUBLE_EQ(tasks.lo, -10);
  EXPECT_DOUBLE_EQ(tasks.hi, 10);
  const Interval both = GroupMeanBootstrap(g, Resampling::kBoth, {});
  EXPECT_DOUBLE_EQ(both.lo, -10);
  EXPECT_DOUBLE_EQ(both.hi, 10);
  // Same as the stratified PairedBootstrap with group pooling, bound for bound.
  const std::vector<std::vector<double>> h = {{0, 100, 0, 0}, {50, 0, 0}};
  const Interval a = GroupMeanBootstrap(h, Resampling::kSamples, {});
  const Interval b = PairedBootstrap(h, Pooling::kGroups, {});
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  // Tasks alone: task means 25 and 16.67; two draws average to 16.67, 20.83 or 25 with
  // probabilities 1/4, 1/2, 1/4, so the 95% interval is [16.67, 25].
  const Interval h_tasks = GroupMeanBootstrap(h, Resampling::kTasks, {});
  EXPECT_DOUBLE_EQ(h_tasks.estimate, (25.0 + 50.0 / 3) / 2);
  EXPECT_DOUBLE_EQ(h_tasks.lo, 50.0 / 3);
  EXPECT_DOUBLE_EQ(h_tasks.hi, 25);
  EXPECT_EQ(ParseResampling("both"), Resampling::kBoth);
  EXPECT_THROW(ParseResampling("groups"), Error);
  EXPECT_EQ(ResamplingName(Resampling::kTasks), "tasks");
}

TEST(StatsTest, BadOptionsAndNoSamplesAreErrors) {
  BootstrapOptions o;
  o.confidence = 1.0;
  EXPECT_THROW(PairedBootstrap(std::vector<double>{1}, o), Error);
  o = {};
  o.resamples = 0;
  EXPECT_THROW(PairedBootstrap(std::vector<double>{1}, o), Error);
  EXPECT_THROW(PairedBootstrap(std::vector<double>{}, {}), Error);
}

}  // namespace
}  // namespace starattn::stats
