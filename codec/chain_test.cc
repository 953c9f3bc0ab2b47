#include "codec/chain.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace dcodec::codec {
namespace {

TEST(ChainTest, DecreasingWithinRangeAndEvenInLogSnr) {
  auto schedule = model::NoiseSchedule::Make(model::BetaSchedule::kLinear, 1000);
  auto chain = MakeChain(schedule, {6, 400, 10});
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 6u);
  EXPECT_EQ(chain->front(), 400);
  EXPECT_EQ(chain->back(), 10);
  auto snr = [&](int t) { return std::log(schedule.alpha_bar(t) / (1 - schedule.alpha_bar(t))); };
  double step = (snr(10) - snr(400)) / 5;
  for (size_t j = 1; j < chain->size(); ++j) {
    EXPECT_LT((*chain)[j], (*chain)[j - 1]);
    EXPECT_NEAR(snr((*chain)[j]) - snr((*chain)[j - 1]), step, 0.1 * step);
  }
  auto none = MakeChain(schedule, {0, 400, 10});  // K = 0: the pixels alone
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(MakeChain(schedule, {-1, 400, 10}).ok());
  EXPECT_FALSE(MakeChain(schedule, {6, 10, 400}).ok());
  EXPECT_FALSE(MakeChain(schedule, {6, 2000, 10}).ok());
  EXPECT_FALSE(MakeChain(schedule, {20, 12, 3}).ok());  // more stages than timesteps
  // Dense chains: every timestep of the range, never out of it (a fuzzer found K = 7 in [1, 7] wrapping around).
  for (int k = 1; k <= 8; ++k) {
    for (int t_min = 1; t_min <= 3; ++t_min) {
      auto dense = MakeChain(schedule, {k, t_min + k - 1, t_min});
      ASSERT_TRUE(dense.ok()) << k << " " << t_min;
      for (int j = 0; j < k; ++j) EXPECT_EQ((*dense)[j], t_min + k - 1 - j);
    }
  }
  auto one = MakeChain(schedule, {1, 300, 10});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->front(), 300);
}

TEST(ChainTest, CoefficientsArePriorThenPosterior) {
  auto schedule = model::NoiseSchedule::Make(model::BetaSchedule::kLinear, 1000);
  std::vector<uint16_t> chain = {500, 100, 20};
  auto c0 = CoefficientsFor(schedule, chain, 0);
  EXPECT_EQ(c0.s, 500);
  EXPECT_DOUBLE_EQ(c0.coef_x0, std::sqrt(schedule.alpha_bar(500)));
  EXPECT_DOUBLE_EQ(c0.coef_xt, 0.0);
  EXPECT_DOUBLE_EQ(c0.variance, 1 - schedule.alpha_bar(500));
  auto c2 = CoefficientsFor(schedule, chain, 2);
  EXPECT_EQ(c2.t, 100);
  EXPECT_EQ(c2.s, 20);
  auto p = schedule.posterior(20, 100);
  EXPECT_DOUBLE_EQ(c2.coef_x0, p.coef_x0);
  EXPECT_DOUBLE_EQ(c2.variance, p.variance);
}

// A chain cut at t_end keeps its timesteps above t_end, drops the last of them when t_end is nearer to it than to
// the next one, and ends at t_end.
TEST(ChainTest, CutChainsKeepTheStagesAboveTheCut) {
  auto schedule = model::NoiseSchedule::Make(model::BetaSchedule::kLinear, 1000);
  const ChainOptions base{4, 400, 10};
  ASSERT_EQ(*MakeChain(schedule, base), (std::vector<uint16_t>{400, 162, 45, 10}));
  auto cut = [&](int t_end) {
    ChainOptions o = base;
    o.t_end = t_end;
    auto chain = MakeChain(schedule, o);
    EXPECT_TRUE(chain.ok()) << t_end;
    return chain.ok() ? *chain : std::vector<uint16_t>{};
  };
  EXPECT_EQ(cut(100), (std::vector<uint16_t>{400, 162, 100}));      // 162 − 100 = 62 >= (162 − 45) / 2
  EXPECT_EQ(cut(150), (std::vector<uint16_t>{400, 150}));           // 150 is nearer to 162 than to 45: 162 dropped
  EXPECT_EQ(cut(45), (std::vector<uint16_t>{400, 162, 45}));        // at a stage: the uncut chain's prefix
  EXPECT_EQ(cut(8), (std::vector<uint16_t>{400, 162, 45, 8}));      // below the last stage: 10 − 8 < (10 − 0) / 2
  EXPECT_EQ(cut(3), (std::vector<uint16_t>{400, 162, 45, 10, 3}));  // one stage more than the base
  EXPECT_EQ(cut(400), (std::vector<uint16_t>{400}));
  EXPECT_EQ(cut(700), (std::vector<uint16_t>{700}));
  EXPECT_EQ(cut(1).back(), 1);
  for (int t = 1; t <= 1000; t += 7) {
    const std::vector<uint16_t> c = cut(t);
    ASSERT_FALSE(c.empty());
    EXPECT_EQ(c.back(), t);
    for (size_t j = 1; j < c.size(); ++j) EXPECT_LT(c[j], c[j - 1]) << t;
    EXPECT_EQ(KeptBeforeCut(*MakeChain(schedule, base), t), c.size() - 1) << t;
  }
  // Format 10's cut keeps every timestep above t_end: where the rule above drops one, the chain is one stage longer.
  auto kept = [&](int t_end) {
    ChainOptions o = base;
    o.t_end = t_end;
    o.keep_above_cut = true;
    auto chain = MakeChain(schedule, o);
    EXPECT_TRUE(chain.ok()) << t_end;
    return chain.ok() ? *chain : std::vector<uint16_t>{};
  };
  EXPECT_EQ(kept(150), (std::vector<uint16_t>{400, 162, 150}));
  EXPECT_EQ(kept(8), (std::vector<uint16_t>{400, 162, 45, 10, 8}));
  EXPECT_EQ(kept(100), cut(100));  // nothing to keep: the same chain
  EXPECT_EQ(kept(45), cut(45));
  for (int t = 1; t <= 1000; t += 7) {
    const std::vector<uint16_t> c = kept(t), d = cut(t);
    EXPECT_EQ(c.back(), t);
    EXPECT_TRUE(c.size() == d.size() || c.size() == d.size() + 1) << t;
    EXPECT_TRUE(std::equal(d.begin(), d.end() - 1, c.begin())) << t;  // it only adds the stage the rule dropped
    for (size_t j = 1; j < c.size(); ++j) EXPECT_LT(c[j], c[j - 1]) << t;
  }
  ChainOptions bad = base;
  bad.t_end = 1001;
  EXPECT_FALSE(MakeChain(schedule, bad).ok());
  bad.t_end = -1;
  EXPECT_FALSE(MakeChain(schedule, bad).ok());
}

}  // namespace
}  // namespace dcodec::codec
