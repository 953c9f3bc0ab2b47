#include "eval/bd_rate.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dcodec::eval {
namespace {

std::vector<double> Scaled(const std::vector<double>& v, double factor, double offset = 0) {
  std::vector<double> out;
  for (double x : v) out.push_back(x * factor + offset);
  return out;
}

// A realistic concave curve: PSNR against bpp, unevenly spaced.
const std::vector<double> kRate = {0.12, 0.25, 0.5, 0.8, 1.3, 2.1, 3.5};
const std::vector<double> kPsnr = {26.1, 28.4, 31.0, 33.0, 35.4, 38.1, 41.5};

TEST(BdRateTest, IdenticalCurvesGiveZero) {
  auto bd = BdRate(kRate, kPsnr, kRate, kPsnr);
  ASSERT_TRUE(bd.ok()) << bd.status().ToString();
  EXPECT_NEAR(*bd, 0.0, 1e-9);
  auto bd_psnr = BdPsnr(kRate, kPsnr, kRate, kPsnr);
  ASSERT_TRUE(bd_psnr.ok());
  EXPECT_NEAR(*bd_psnr, 0.0, 1e-9);
}

TEST(BdRateTest, ScaledRates) {
  auto half = BdRate(kRate, kPsnr, Scaled(kRate, 0.5), kPsnr);
  ASSERT_TRUE(half.ok());
  EXPECT_NEAR(*half, -50.0, 1e-9);
  auto twice = BdRate(kRate, kPsnr, Scaled(kRate, 2.0), kPsnr);
  ASSERT_TRUE(twice.ok());
  EXPECT_NEAR(*twice, 100.0, 1e-9);
}

TEST(BdRateTest, ExactlyFourPointsAndUnsorted) {
  std::vector<double> rate = {2.0, 0.3, 1.0, 0.6}, psnr = {38, 29, 34, 31.5};
  auto bd = BdRate(rate, psnr, Scaled(rate, 0.8), psnr);
  ASSERT_TRUE(bd.ok()) << bd.status().ToString();
  EXPECT_NEAR(*bd, -20.0, 1e-9);
}

TEST(BdRateTest, PartialOverlapAndDifferentSampling) {
  // Test curve: the same underlying curve ln(r) = a + b q, sampled elsewhere, with rates x 0.7.
  auto rate_of = [](double q) { return std::exp(-6 + 0.18 * q); };
  std::vector<double> q_ref = {28, 30, 32, 34, 36, 38}, q_test = {31, 33.5, 35, 37, 40, 42, 44};
  std::vector<double> r_ref, r_test;
  for (double q : q_ref) r_ref.push_back(rate_of(q));
  for (double q : q_test) r_test.push_back(0.7 * rate_of(q));
  auto bd = BdRate(r_ref, q_ref, r_test, q_test);
  ASSERT_TRUE(bd.ok()) << bd.status().ToString();
  EXPECT_NEAR(*bd, -30.0, 1e-9);
  // At equal rate the test curve is ln(1/0.7)/0.18 dB better.
  auto bd_psnr = BdPsnr(r_ref, q_ref, r_test, q_test);
  ASSERT_TRUE(bd_psnr.ok()) << bd_psnr.status().ToString();
  EXPECT_NEAR(*bd_psnr, std::log(1 / 0.7) / 0.18, 1e-9);
}

TEST(BdRateTest, ShiftedQuality) {
  auto bd_psnr = BdPsnr(kRate, kPsnr, kRate, Scaled(kPsnr, 1.0, 1.5));
  ASSERT_TRUE(bd_psnr.ok());
  EXPECT_NEAR(*bd_psnr, 1.5, 1e-9);
  auto bd = BdRate(kRate, kPsnr, kRate, Scaled(kPsnr, 1.0, 1.5));
  ASSERT_TRUE(bd.ok());
  EXPECT_LT(*bd, -10.0);  // better quality at the same rate = fewer bits at the same quality
}

TEST(BdRateTest, Errors) {
  std::vector<double> r3 = {0.1, 0.2, 0.4}, q3 = {30, 32, 34};
  EXPECT_EQ(BdRate(r3, q3, kRate, kPsnr).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BdRate(kRate, kPsnr, r3, q3).status().code(), StatusCode::kInvalidArgument);
  // Four points but only three distinct qualities.
  EXPECT_EQ(BdRate({0.1, 0.2, 0.3, 0.4}, {30, 31, 31, 32}, kRate, kPsnr).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BdRate({0.1, 0.2}, {30, 31, 32}, kRate, kPsnr).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BdRate({0, 0.2, 0.3, 0.4}, {30, 31, 32, 33}, kRate, kPsnr).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BdRate({0.1, 0.2, 0.3, 0.4}, {30, 31, NAN, 33}, kRate, kPsnr).status().code(),
            StatusCode::kInvalidArgument);
  // No overlap in quality.
  auto disjoint = BdRate(kRate, kPsnr, kRate, Scaled(kPsnr, 1.0, 20));
  EXPECT_EQ(disjoint.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(disjoint.status().message().find("overlap"), std::string::npos);
}

}  // namespace
}  // namespace dcodec::eval
