#include "model/schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace dcodec::model {
namespace {

TEST(ScheduleTest, LinearMatchesPaper) {
  const auto s = NoiseSchedule::Make(BetaSchedule::kLinear, 1000);
  EXPECT_EQ(s.num_steps(), 1000);
  EXPECT_EQ(s.kind(), BetaSchedule::kLinear);
  EXPECT_DOUBLE_EQ(s.beta(1), 1e-4);
  EXPECT_DOUBLE_EQ(s.beta(1000), 0.02);
  EXPECT_NEAR(s.beta(500) - s.beta(499), (0.02 - 1e-4) / 999, 1e-15);
  EXPECT_EQ(s.alpha_bar(0), 1.0);
  long double product = 1.0L;
  for (int t = 1; t <= 1000; ++t) {
    product *= 1.0L - static_cast<long double>(s.beta(t));
    EXPECT_NEAR(s.alpha_bar(t), static_cast<double>(product), 1e-15) << t;
  }
  EXPECT_LT(s.alpha_bar(1000), 1e-4);  // x_T is almost pure noise (paper: L_T ~ 1e-5 bits/dim)
}

TEST(ScheduleTest, CosineMatchesNicholDhariwal) {
  const int T = 1000;
  const auto s = NoiseSchedule::Make(BetaSchedule::kCosine, T);
  auto f = [&](int t) {
    const double c = std::cos((static_cast<double>(t) / T + 0.008) / 1.008 * M_PI / 2);
    return c * c;
  };
  for (int t = 1; t <= T; ++t) {
    EXPECT_LE(s.beta(t), 0.999);
    EXPECT_GT(s.beta(t), 0.0);
    if (t < T - 10) {
      EXPECT_NEAR(s.alpha_bar(t), f(t) / f(0), 1e-12) << t;  // no clipping there
    }
  }
  EXPECT_DOUBLE_EQ(s.beta(T), 0.999);  // the last beta is clipped
}

TEST(ScheduleTest, AdjacentPosteriorIsPaperEq7) {
  const auto s = NoiseSchedule::Make(BetaSchedule::kLinear, 1000);
  for (int t : {2, 3, 10, 500, 1000}) {
    const double ab_prev = s.alpha_bar(t - 1), ab = s.alpha_bar(t), beta = s.beta(t);
    const auto p = s.posterior(t - 1, t);
    EXPECT_NEAR(p.variance, (1 - ab_prev) / (1 - ab) * beta, 1e-15) << t;                // beta-tilde_t
    EXPECT_NEAR(p.coef_x0, std::sqrt(ab_prev) * beta / (1 - ab), 1e-12) << t;            // eq. 7
    EXPECT_NEAR(p.coef_xt, std::sqrt(1 - beta) * (1 - ab_prev) / (1 - ab), 1e-12) << t;  // eq. 7
  }
  const auto p1 = s.posterior(0, 1);
  EXPECT_NEAR(p1.coef_x0, 1.0, 1e-12);
  EXPECT_NEAR(p1.coef_xt, 0.0, 1e-12);
  EXPECT_NEAR(p1.variance, 0.0, 1e-15);
}

// For non-adjacent s < t, condition the jointly Gaussian (x_s, x_t) | x_0 directly:
// x_s = sqrt(ab_s) x0 + sqrt(1 - ab_s) e1, x_t = sqrt(ab_t/ab_s) x_s + sqrt(1 - ab_t/ab_s) e2.
TEST(ScheduleTest, RespacedPosteriorMatchesGaussianConditioning) {
  for (auto kind : {BetaSchedule::kLinear, BetaSchedule::kCosine}) {
    const auto s = NoiseSchedule::Make(kind, 1000);
    for (auto [lo, hi] : {std::pair{0, 250}, {1, 1000}, {100, 300}, {750, 1000}, {999, 1000}}) {
      const double ab_s = s.alpha_bar(lo), ab_t = s.alpha_bar(hi);
      const double cov = std::sqrt(ab_t / ab_s) * (1 - ab_s), var_t = 1 - ab_t;
      const double coef_xt = cov / var_t;
      const double coef_x0 = std::sqrt(ab_s) - coef_xt * std::sqrt(ab_t);
      const double variance = (1 - ab_s) - cov * cov / var_t;
      const auto p = s.posterior(lo, hi);
      EXPECT_NEAR(p.coef_xt, coef_xt, 1e-12) << lo << " " << hi;
      EXPECT_NEAR(p.coef_x0, coef_x0, 1e-12) << lo << " " << hi;
      EXPECT_NEAR(p.variance, variance, 1e-12) << lo << " " << hi;
    }
  }
}

TEST(ScheduleTest, X0FromEpsInvertsForwardProcess) {
  const auto s = NoiseSchedule::Make(BetaSchedule::kCosine, 1000);
  const double x0 = 0.37, eps = -1.3;
  for (int t : {1, 10, 500, 999}) {
    const double x_t = std::sqrt(s.alpha_bar(t)) * x0 + std::sqrt(1 - s.alpha_bar(t)) * eps;
    const auto c = s.x0_from_eps(t);
    EXPECT_NEAR(c.coef_xt * x_t + c.coef_eps * eps, x0, 1e-9) << t;
  }
}

TEST(ScheduleTest, RespaceIsEvenDescendingAndDistinct) {
  const auto s = NoiseSchedule::Make(BetaSchedule::kLinear, 1000);
  EXPECT_EQ(s.Respace(10), (std::vector<int>{1000, 900, 800, 700, 600, 500, 400, 300, 200, 100}));
  EXPECT_EQ(s.Respace(1), std::vector<int>{1000});
  EXPECT_EQ(s.Respace(0), std::vector<int>{1000});  // clamped
  const auto all = s.Respace(1000);
  ASSERT_EQ(all.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(all[i], 1000 - i);
  EXPECT_EQ(s.Respace(5000).size(), 1000u);
  const auto odd = NoiseSchedule::Make(BetaSchedule::kLinear, 37);
  for (int k = 1; k <= 37; ++k) {
    const auto ts = odd.Respace(k);
    ASSERT_EQ(ts.size(), static_cast<size_t>(k));
    EXPECT_EQ(ts.front(), 37);
    EXPECT_GE(ts.back(), 1);
    for (int i = 1; i < k; ++i) EXPECT_LT(ts[i], ts[i - 1]);
  }
}

// Continuous time: the integer steps exactly, smooth and strictly decreasing between and below them, far below
// one grey level of noise near t = 0, and a log-SNR spacing that is its own inverse.
TEST(ScheduleTest, ContinuousTimeExtendsTheStepsBelowOneGreyLevel) {
  for (BetaSchedule kind : {BetaSchedule::kLinear, BetaSchedule::kCosine}) {
    NoiseSchedule s = NoiseSchedule::Make(kind, 1000);
    for (int t = 0; t <= 1000; ++t) ASSERT_EQ(s.alpha_bar_at(t), s.alpha_bar(t)) << t;
    for (int t = 2; t <= 1000; t += 7) {
      const auto a = s.posterior(t - 2, t), b = s.posterior_at(t - 2, t);
      EXPECT_EQ(a.coef_x0, b.coef_x0);
      EXPECT_EQ(a.variance, b.variance);
    }
    double previous = 1.0;
    for (double t = 0.001; t <= 1000; t += 0.37) {
      const double ab = s.alpha_bar_at(t);
      ASSERT_LT(ab, previous) << t;
      previous = ab;
      const double lambda = s.log_snr(t);
      EXPECT_NEAR(s.time_at_log_snr(lambda), t, 1e-7 * std::max(1.0, t));
    }
  }
  NoiseSchedule s = NoiseSchedule::Make(BetaSchedule::kLinear, 1000);
  auto grey_levels = [&](double t) { return 127.5 * std::sqrt(1.0 - s.alpha_bar_at(t)); };
  EXPECT_NEAR(grey_levels(1.0), 1.275, 0.001);
  EXPECT_NEAR(grey_levels(0.1), 0.403, 0.001);
  EXPECT_LT(grey_levels(0.01), 0.13);
  // Between two steps log ᾱ is linear: the midpoint is the geometric mean.
  EXPECT_NEAR(s.alpha_bar_at(10.5), std::sqrt(s.alpha_bar(10) * s.alpha_bar(11)), 1e-15);

  const auto ts = s.RespaceLogSnr(12, 0.1);
  ASSERT_EQ(ts.size(), 12u);
  EXPECT_EQ(ts.front(), 1000.0);
  EXPECT_EQ(ts.back(), 0.1);
  for (size_t i = 1; i < ts.size(); ++i) {
    EXPECT_LT(ts[i], ts[i - 1]);
    const double step = (s.log_snr(0.1) - s.log_snr(1000.0)) / 11;
    EXPECT_NEAR(s.log_snr(ts[i]) - s.log_snr(ts[i - 1]), step, 1e-6);
  }
  EXPECT_EQ(s.RespaceLogSnr(1, 0.1), std::vector<double>{1000.0});
}

TEST(ScheduleTest, NamesRoundTrip) {
  for (auto kind : {BetaSchedule::kLinear, BetaSchedule::kCosine}) {
    auto parsed = ParseBetaSchedule(BetaScheduleName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(ParseBetaSchedule("quadratic").status().code(), StatusCode::kInvalidInput);
}

}  // namespace
}  // namespace dcodec::model
