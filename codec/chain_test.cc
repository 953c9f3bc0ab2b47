#include "codec/chain.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace dcodec::codec
