#include "codec/stage_coder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace dcodec::codec {
namespace {

struct Toy {
  std::vector<float> x_t, x0_hat, x0;
};

// x_0 in [-1, 1], a noisy x_t, and an imperfect estimate x̂_0 (error of std `err`).
Toy MakeToy(size_t n, double err, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> pixel(0, 255);
  Toy toy;
  for (size_t i = 0; i < n; ++i) {
    float x0 = PixelToUnit(pixel(rng));
    toy.x0.push_back(x0);
    toy.x0_hat.push_back(static_cast<float>(std::clamp(x0 + err * normal(rng), -1.0, 1.0)));
    toy.x_t.push_back(static_cast<float>(0.8 * x0 + 0.6 * normal(rng)));
  }
  return toy;
}

TEST(StageCoderTest, ScaleCodesRoundtrip) {
  for (double s : {1e-3, 0.01, 0.3, 1.0, 7.5}) {
    Belief b;
    b.scale_code = ScaleCodeFor(s);
    EXPECT_NEAR(std::log2(b.scale()), std::log2(s), 1.0 / 32 + 1e-9) << s;
  }
  Belief b;
  b.scale_code = 160;
  EXPECT_EQ(b.scale(), 1.0);
  b.scale_code = 176;
  EXPECT_EQ(b.scale(), 2.0);
  b.scale_code = 144;
  EXPECT_EQ(b.scale(), 0.5);
}

TEST(StageCoderTest, DitherIsUniformAndKeyed) {
  double sum = 0, sum_sq = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    double u = Dither(DitherKey(7, 3), i);
    ASSERT_GE(u, -0.5);
    ASSERT_LT(u, 0.5);
    sum += u;
    sum_sq += u * u;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.005);
  EXPECT_NEAR(sum_sq / n, 1.0 / 12, 0.002);
  EXPECT_NE(Dither(DitherKey(7, 3), 5), Dither(DitherKey(7, 4), 5));
  EXPECT_NE(Dither(DitherKey(8, 3), 5), Dither(DitherKey(7, 3), 5));
}

TEST(StageCoderTest, DitheredStageRoundtripExactAndNearIdeal) {
  const size_t n = 30000;
  Toy toy = MakeToy(n, 0.1, 1);
  DitherStage st{0.5, 0.7, std::sqrt(12 * 0.01), DitherKey(3, 1)};
  Belief belief = ChooseDitherBelief(st, toy.x_t.data(), toy.x0_hat.data(), toy.x0.data(), n);
  bitstream::AnsEncoder enc;
  enc.Put(0, 1 << 23);  // sentinel before
  std::vector<float> xs(n), xs_dec(n);
  std::vector<int32_t> sym(n), sym_dec(n);
  ASSERT_TRUE(
      EncodeDitherStage(st, belief, toy.x_t.data(), toy.x0_hat.data(), toy.x0.data(), n, enc, xs.data(), sym.data())
          .ok());
  enc.Put(1 << 23, 1 << 23);  // sentinel after
  auto bytes = enc.Finish();
  double ideal = DitherStageBits(st, belief, toy.x_t.data(), toy.x0_hat.data(), toy.x0.data(), n);
  EXPECT_LT(bytes.size() * 8.0, ideal * 1.01 + 64);

  bitstream::AnsDecoder dec(bytes.data(), bytes.size());
  ASSERT_EQ(dec.Peek() >> 23, 0u);
  ASSERT_TRUE(dec.Advance(0, 1 << 23).ok());
  ASSERT_TRUE(DecodeDitherStage(st, belief, toy.x_t.data(), toy.x0_hat.data(), n, dec, xs_dec.data(), sym_dec.data())
                  .ok());
  ASSERT_EQ(dec.Peek() >> 23, 1u);
  ASSERT_TRUE(dec.Advance(1 << 23, 1 << 23).ok());
  EXPECT_TRUE(dec.Finish().ok());
  EXPECT_EQ(sym, sym_dec);
  EXPECT_EQ(xs, xs_dec);
  // Universal quantization: x_s − μ̃ lies within ±Δ/2 and has the posterior's variance.
  double sum_sq = 0;
  for (size_t i = 0; i < n; ++i) {
    double mu = st.coef_x0 * toy.x0[i] + st.coef_xt * toy.x_t[i];
    double e = xs[i] - mu;
    ASSERT_LE(std::abs(e), st.step / 2 + 1e-6);
    sum_sq += e * e;
  }
  EXPECT_NEAR(sum_sq / n, 0.01, 0.0005);
}

TEST(StageCoderTest, BetterEstimateCostsFewerBits) {
  const size_t n = 20000;
  DitherStage st{0.5, 0.7, std::sqrt(12 * 0.001), DitherKey(3, 2)};
  double bits[2];
  int i = 0;
  for (double err : {0.02, 0.2}) {
    Toy toy = MakeToy(n, err, 2);
    Belief b = ChooseDitherBelief(st, toy.x_t.data(), toy.x0_hat.data(), toy.x0.data(), n);
    bits[i++] = DitherStageBits(st, b, toy.x_t.data(), toy.x0_hat.data(), toy.x0.data(), n);
  }
  EXPECT_LT(bits[0] * 1.5, bits[1]);
}

TEST(StageCoderTest, PixelStageLosslessRoundtrip) {
  const size_t n = 20000;
  Toy toy = MakeToy(n, 0.03, 4);
  std::vector<uint8_t> pixels(n), back(n);
  for (size_t i = 0; i < n; ++i) pixels[i] = UnitToPixel(toy.x0[i]);
  Belief b = ChoosePixelBelief(toy.x0_hat.data(), pixels.data(), n);
  bitstream::AnsEncoder enc;
  ASSERT_TRUE(EncodePixelStage(b, toy.x0_hat.data(), pixels.data(), n, enc).ok());
  auto bytes = enc.Finish();
  double ideal = PixelStageBits(b, toy.x0_hat.data(), pixels.data(), n);
  EXPECT_LT(bytes.size() * 8.0, ideal * 1.01 + 64);
  EXPECT_LT(ideal / n, 5.0);  // error std 0.03 ≈ 3.8 levels: about 3.9 bits, far below 8
  bitstream::AnsDecoder dec(bytes.data(), bytes.size());
  ASSERT_TRUE(DecodePixelStage(b, toy.x0_hat.data(), n, dec, back.data()).ok());
  EXPECT_TRUE(dec.Finish().ok());
  EXPECT_EQ(pixels, back);
}

TEST(StageCoderTest, PixelConversionsInvert) {
  for (int p = 0; p < 256; ++p) EXPECT_EQ(UnitToPixel(PixelToUnit(static_cast<uint8_t>(p))), p);
  EXPECT_EQ(UnitToPixel(-3.0), 0);
  EXPECT_EQ(UnitToPixel(3.0), 255);
}

}  // namespace
}  // namespace dcodec::codec
