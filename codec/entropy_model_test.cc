#include "codec/entropy_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "codec/stage_coder.h"

namespace dcodec::codec {
namespace {

TEST(EntropyModelTest, ScaleCodesRoundtrip) {
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

// HeadScale is 2^((q + code − 128)/16) to the last bits (one table and ldexp), clamps q to ±10 octaves, and sets
// the beliefs' scale per element: a dithered stage's in units of Δ (times c0), the pixel stage's in grey levels.
TEST(EntropyModelTest, HeadScaleIsExactAndScalesTheBeliefs) {
  for (int code = 0; code < 256; code += 5) {
    for (int q = -160; q <= 160; q += 3) {
      const double expected = std::exp2((q + code - 128) / 16.0);
      EXPECT_NEAR(HeadScale(static_cast<uint8_t>(code), q), expected, 4e-16 * expected) << code << " " << q;
    }
  }
  EXPECT_EQ(HeadScale(128, 1000), HeadScale(128, kHeadLogScaleMax));
  EXPECT_EQ(HeadScale(128, -1000), HeadScale(128, kHeadLogScaleMin));

  Cells cells(4);
  const int32_t log_scale[4] = {-32, 0, 16, 48};
  DitherStage st{0.5, 0.7, 0.1, DitherKey(1, 1), nullptr, log_scale};
  Belief b;
  b.scale_code = 100;
  for (size_t i = 0; i < 4; ++i) {
    const auto d = DitherBelief(st, b, cells, i, 0.2, 0.1, 0.25);
    EXPECT_DOUBLE_EQ(d.scale, 0.5 * HeadScale(100, log_scale[i]) / 0.1);
    const auto p = PixelBelief(b, cells, i, 0.1, PixelContext{}, log_scale);
    EXPECT_DOUBLE_EQ(p.scale, 127.5 * HeadScale(100, log_scale[i]));
  }
  // Without the head the code is the scale itself.
  st.log_scale = nullptr;
  EXPECT_DOUBLE_EQ(DitherBelief(st, b, cells, 0, 0.2, 0.1, 0.25).scale, b.scale() / 0.1);
}

TEST(EntropyModelTest, DitherIsUniformAndKeyed) {
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

TEST(EntropyModelTest, PixelConversionsInvert) {
  for (int p = 0; p < 256; ++p) EXPECT_EQ(UnitToPixel(PixelToUnit(static_cast<uint8_t>(p))), p);
  EXPECT_EQ(UnitToPixel(-3.0), 0);
  EXPECT_EQ(UnitToPixel(3.0), 255);
}

TEST(EntropyModelTest, BeliefSideInformationRoundtrips) {
  bitstream::AnsEncoder enc;
  std::vector<Belief> beliefs;
  std::vector<BeliefKind> kinds;
  double bits = 0;
  for (BeliefKind kind : {BeliefKind::kFirst, BeliefKind::kDithered, BeliefKind::kPixels}) {
    for (int family = 0; family < 2; ++family) {
      for (int scale : {0, 32, 100, 159, 255}) {
        if (kind != BeliefKind::kPixels && (scale < kDitherScaleCodeMin || scale > kDitherScaleCodeMax)) continue;
        for (uint8_t gain : kGainCodes) {
          Belief b;
          b.family = family ? bitstream::Family::kLogistic : bitstream::Family::kGaussian;
          b.scale_code = static_cast<uint8_t>(scale);
          if (kind == BeliefKind::kDithered) b.gain_code = gain;
          if (kind == BeliefKind::kFirst) {
            b.plane_mean[0] = static_cast<uint8_t>(16 * (scale / 16) + 8);
            b.plane_mean[2] = static_cast<uint8_t>(16 * ((255 - gain) / 16) + 8);
          }
          if (kind == BeliefKind::kPixels) {
            b.w_left = -3;
            b.w_up = static_cast<int8_t>(gain % 13);
            b.w_plane = 12;
            b.local_code = kLocalCodes[gain % 4];
          }
          beliefs.push_back(b);
          kinds.push_back(kind);
          EncodeBelief(enc, b, kind);
          bits += BeliefBits(kind);
        }
      }
    }
  }
  auto bytes = enc.Finish();
  EXPECT_LT(bytes.size(), 8 + bits / 8 + 1);
  bitstream::AnsDecoder dec(bytes.data(), bytes.size());
  for (size_t k = 0; k < beliefs.size(); ++k) {
    const Belief& b = beliefs[k];
    auto got = DecodeBelief(dec, kinds[k]);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->family, b.family);
    EXPECT_EQ(got->scale_code, b.scale_code);
    EXPECT_EQ(got->gain_code, b.gain_code);
    EXPECT_EQ(got->w_left, b.w_left);
    EXPECT_EQ(got->w_up, b.w_up);
    EXPECT_EQ(got->w_plane, b.w_plane);
    EXPECT_EQ(got->local_code, b.local_code);
    for (int p = 0; p < 3; ++p) EXPECT_EQ(got->plane_mean[p], b.plane_mean[p]);
  }
  EXPECT_TRUE(dec.Finish().ok());
}

// A chain of dithered stages on random pixels: after every stage the encoder's and the decoder's cells agree, the
// true pixel is inside its cell, the cells only shrink, and every symbol's support is exactly the symbols of the
// pixels still possible.
TEST(EntropyModelTest, CellsNarrowConsistentlyAlongAChain) {
  const size_t n = 5000;
  std::mt19937_64 rng(9);
  std::vector<uint8_t> pixels(n);
  for (auto& p : pixels) p = static_cast<uint8_t>(rng() % 256);
  // Steps in units of x_0 from ~900 grey levels down to ~5 (the default chain's range), with x_t-like offsets.
  const double steps[] = {7.0, 2.0, 0.56, 0.16, 0.04};
  Cells cells(n);
  std::vector<float> x_t(n, 0.0f);
  for (int j = 0; j < 5; ++j) {
    DitherStage st{0.9, 0.3, steps[j], DitherKey(1, j)};
    for (size_t i = 0; i < n; ++i) {
      const double u = Dither(st.dither_key, i);
      const uint8_t lo = cells.lo(i), hi = cells.hi(i);
      const int32_t k = SymbolOf(st, x_t[i], pixels[i], u);
      const auto d = DitherBelief(st, Belief{}, cells, i, x_t[i], 0.0, u);
      ASSERT_EQ(d.lo, SymbolOf(st, x_t[i], lo, u));
      ASSERT_EQ(d.hi, SymbolOf(st, x_t[i], hi, u));
      ASSERT_LE(d.lo, k);
      ASSERT_GE(d.hi, k);
      ASSERT_TRUE(cells.Narrow(st, i, x_t[i], u, k));
      ASSERT_LE(cells.lo(i), pixels[i]);
      ASSERT_GE(cells.hi(i), pixels[i]);
      ASSERT_GE(cells.lo(i), lo);
      ASSERT_LE(cells.hi(i), hi);
      // Exactly the pixels with this symbol remain.
      for (int p = lo; p <= hi; ++p) {
        const bool inside = p >= cells.lo(i) && p <= cells.hi(i);
        ASSERT_EQ(inside, SymbolOf(st, x_t[i], static_cast<uint8_t>(p), u) == k) << i << " " << p;
      }
      x_t[i] = static_cast<float>(st.step * (k - u));
    }
  }
  // After a step of 0.04 (about 5 grey levels) the cells are a few levels wide.
  EXPECT_LT(cells.OpenBits() / n, 3.0);
}

TEST(EntropyModelTest, ASymbolNoPixelCanHaveIsRefused) {
  // A fine step: consecutive pixels map to symbols more than one apart, so some symbols are impossible.
  DitherStage st{1.0, 0.0, 0.001, DitherKey(2, 0)};
  Cells cells(1);
  const double u = Dither(st.dither_key, 0);
  const int32_t k0 = SymbolOf(st, 0.0, 100, u), k1 = SymbolOf(st, 0.0, 101, u);
  ASSERT_GT(k1 - k0, 1);
  EXPECT_FALSE(cells.Narrow(st, 0, 0.0, u, k0 + 1));
  EXPECT_EQ(cells.lo(0), 0);  // unchanged
  EXPECT_EQ(cells.hi(0), 255);
  EXPECT_TRUE(cells.Narrow(st, 0, 0.0, u, k1));
  EXPECT_EQ(cells.lo(0), 101);
  EXPECT_EQ(cells.hi(0), 101);
}

// The pixel stage never assigns probability outside the cell, and the cells make it cheaper.
TEST(EntropyModelTest, PixelBeliefStaysInsideTheCellAndCellsSaveBits) {
  const int width = 40, height = 25;
  const size_t n = 3 * width * height;
  std::mt19937_64 rng(4);
  std::normal_distribution<double> normal;
  std::vector<uint8_t> pixels(n);
  std::vector<float> x0_hat(n), x_t(n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    pixels[i] = static_cast<uint8_t>(rng() % 256);
    x0_hat[i] = static_cast<float>(std::clamp(PixelToUnit(pixels[i]) + 0.05 * normal(rng), -1.0, 1.0));
  }
  Cells open(n), proven(n);
  DitherStage st{1.0, 0.0, 0.12, DitherKey(5, 0)};  // ~15 grey levels
  for (size_t i = 0; i < n; ++i) {
    const double u = Dither(st.dither_key, i);
    ASSERT_TRUE(proven.Narrow(st, i, 0.0, u, SymbolOf(st, 0.0, pixels[i], u)));
  }
  double bits[2];
  int c = 0;
  for (const Cells* cells : {&open, &proven}) {
    Belief b = ChoosePixelBelief(*cells, x0_hat.data(), pixels.data(), width, height);
    bitstream::AnsEncoder enc;
    bits[c] = 0;
    ASSERT_TRUE(EncodePixelStage(b, *cells, x0_hat.data(), pixels.data(), width, height, enc, &bits[c]).ok());
    ++c;
    for (size_t i = 0; i < n; i += 97) {
      const auto d = PixelBelief(b, *cells, i, x0_hat[i], PixelContext{3.0, -2.0, 1.0});
      EXPECT_EQ(d.lo, cells->lo(i));
      EXPECT_EQ(d.hi, cells->hi(i));
      EXPECT_EQ(bitstream::Cdf(d, cells->hi(i) + 1), bitstream::kProbabilityTotal);
      if (cells->lo(i) > 0) {
        EXPECT_TRUE(std::isinf(bitstream::IdealBits(d, cells->lo(i) - 1)));
      }
      if (cells->hi(i) < 255) {
        EXPECT_TRUE(std::isinf(bitstream::IdealBits(d, cells->hi(i) + 1)));
      }
    }
  }
  EXPECT_LT(bits[1], bits[0] * 0.97);
}

// Model errors that are smooth in space and shared between planes: the causal context predicts them, and the
// chosen weights are what the encoder sends.
TEST(EntropyModelTest, PixelContextPredictsSmoothErrors) {
  const int width = 48, height = 32;
  const size_t plane = width * height, n = 3 * plane;
  std::mt19937_64 rng(12);
  std::normal_distribution<double> normal;
  std::vector<uint8_t> pixels(n);
  std::vector<float> x0_hat(n);
  for (size_t i = 0; i < plane; ++i) {
    const double x = i % width, y = i / width;
    const double error = 12.0 * std::sin(x / 5.0) * std::cos(y / 7.0);  // smooth, the same in every plane
    for (int c = 0; c < 3; ++c) {
      const double v = 128 + 60 * std::sin((x + 3 * c) / 9.0);
      pixels[c * plane + i] = static_cast<uint8_t>(std::clamp(std::lround(v + error + normal(rng)), 0L, 255L));
      x0_hat[c * plane + i] = static_cast<float>(v / 127.5 - 1.0);
    }
  }
  Cells cells(n);
  Belief chosen = ChoosePixelBelief(cells, x0_hat.data(), pixels.data(), width, height);
  EXPECT_GT(chosen.w_left + chosen.w_up + chosen.w_plane, 8);  // strong prediction from the context
  Belief plain = chosen;
  plain.w_left = plain.w_up = plain.w_plane = 0;
  plain.local_code = 0;
  double bits[2] = {0, 0};
  int k = 0;
  std::vector<uint8_t> back(n);
  for (const Belief& b : {chosen, plain}) {
    bitstream::AnsEncoder enc;
    ASSERT_TRUE(EncodePixelStage(b, cells, x0_hat.data(), pixels.data(), width, height, enc, &bits[k]).ok());
    auto bytes = enc.Finish();
    bitstream::AnsDecoder dec(bytes.data(), bytes.size());
    ASSERT_TRUE(DecodePixelStage(b, cells, x0_hat.data(), width, height, dec, back.data()).ok());
    EXPECT_TRUE(dec.Finish().ok());
    EXPECT_EQ(back, pixels);
    ++k;
  }
  EXPECT_LT(bits[0], 0.7 * bits[1]);
}

}  // namespace
}  // namespace dcodec::codec
