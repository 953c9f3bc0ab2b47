#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace dcodec::eval {
namespace {

constexpr double kC1 = (0.01 * 255) * (0.01 * 255);
constexpr double kC2 = (0.03 * 255) * (0.03 * 255);

Image Constant(int w, int h, int c, uint8_t value) {
  Image image(w, h, c);
  std::fill(image.data.begin(), image.data.end(), value);
  return image;
}

// A smooth gradient with some texture, seeded.
Image Textured(int w, int h, int c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-20, 20);
  Image image(w, h, c);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int k = 0; k < c; ++k) {
        int v = 40 + (x * 150) / w + (y * 40) / h + k * 10 + ((x / 4 + y / 4) % 2) * 30 + noise(rng);
        image.at(x, y, k) = static_cast<uint8_t>(std::clamp(v, 0, 255));
      }
    }
  }
  return image;
}

Image AddNoise(const Image& image, double sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, sigma);
  Image out = image;
  for (uint8_t& v : out.data) v = static_cast<uint8_t>(std::clamp(std::lround(v + noise(rng)), 0L, 255L));
  return out;
}

TEST(PsnrTest, IdenticalIsInfinite) {
  Image a = Textured(20, 10, 3, 1);
  EXPECT_TRUE(std::isinf(Psnr(a, a)));
  EXPECT_GT(Psnr(a, a), 0);
}

TEST(PsnrTest, KnownValues) {
  // MSE 1 -> 10 log10(65025).
  EXPECT_NEAR(Psnr(Constant(5, 3, 3, 10), Constant(5, 3, 3, 11)), 48.130803608679, 1e-9);
  // One sample of 4 off by 16: MSE = 256 / 4 = 64.
  Image a = Constant(2, 2, 1, 100), b = a;
  b.data[3] = 116;
  EXPECT_NEAR(Psnr(a, b), 10 * std::log10(65025.0 / 64), 1e-12);
}

TEST(PsnrTest, ShapeMismatchIsNan) {
  EXPECT_TRUE(std::isnan(Psnr(Constant(4, 4, 3, 0), Constant(4, 5, 3, 0))));
  EXPECT_TRUE(std::isnan(Psnr(Constant(4, 4, 3, 0), Constant(4, 4, 1, 0))));
  EXPECT_TRUE(std::isnan(Psnr(Image(), Image())));
}

TEST(MsSsimTest, Scales) {
  EXPECT_EQ(MsSsimScales(32, 32), 2);
  EXPECT_EQ(MsSsimScales(64, 64), 3);
  EXPECT_EQ(MsSsimScales(160, 500), 4);
  EXPECT_EQ(MsSsimScales(161, 161), 5);
  EXPECT_EQ(MsSsimScales(176, 176), 5);
  EXPECT_EQ(MsSsimScales(768, 512), 5);
  EXPECT_EQ(MsSsimScales(20, 20), 1);  // 20 -> 10 < 11
  EXPECT_EQ(MsSsimScales(21, 21), 2);  // 21 -> 11
  EXPECT_EQ(MsSsimScales(8, 8), 1);
}

TEST(MsSsimTest, IdenticalIsOne) {
  for (auto [w, h, c] : {std::tuple{200, 180, 3}, {32, 32, 3}, {9, 5, 1}, {1, 1, 3}}) {
    Image a = Textured(w, h, c, 7);
    EXPECT_NEAR(MsSsim(a, a), 1.0, 1e-12) << w << "x" << h;
  }
}

TEST(MsSsimTest, ShapeMismatchIsNan) {
  EXPECT_TRUE(std::isnan(MsSsim(Constant(32, 32, 3, 0), Constant(32, 32, 1, 0))));
}

// Constant images have zero variance everywhere, so cs = C2 / C2 = 1 at every scale and only the luminance term
// l = (2 * 100 * 110 + C1) / (100^2 + 110^2 + C1) of the last scale remains.
TEST(MsSsimTest, ConstantShiftSingleScale) {
  double l = (2.0 * 100 * 110 + kC1) / (100.0 * 100 + 110.0 * 110 + kC1);
  EXPECT_NEAR(MsSsim(Constant(8, 8, 1, 100), Constant(8, 8, 1, 110)), l, 1e-12);  // plain SSIM
  EXPECT_NEAR(MsSsim(Constant(8, 8, 3, 100), Constant(8, 8, 3, 110)), l, 1e-12);
  EXPECT_NEAR(l, 22006.5025 / 22106.5025, 1e-15);  // 0.99547644
}

TEST(MsSsimTest, ConstantShiftThreeScales) {
  // 64x64: scales 64, 32, 16; weights 0.0448, 0.2856, 0.3001 renormalised; cs = 1 at scales 1 and 2.
  double l = (2.0 * 100 * 110 + kC1) / (100.0 * 100 + 110.0 * 110 + kC1);
  double expected = std::pow(l, 0.3001 / (0.0448 + 0.2856 + 0.3001));
  EXPECT_NEAR(MsSsim(Constant(64, 64, 3, 100), Constant(64, 64, 3, 110)), expected, 1e-12);
}

// An independent direct (non-separable) computation for a small image: 2-D Gaussian weights and a zero-padded
// 2x2 average pool written out longhand.
double ReferenceMsSsim(const Image& a, const Image& b, int scales, int window) {
  const double weights[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
  double weight_sum = 0;
  for (int j = 0; j < scales; ++j) weight_sum += weights[j];
  std::vector<double> g(window);
  double g_sum = 0;
  for (int i = 0; i < window; ++i) g_sum += g[i] = std::exp(-std::pow(i - window / 2, 2) / (2 * 1.5 * 1.5));
  double total = 0;
  for (int c = 0; c < a.channels; ++c) {
    int w = a.width, h = a.height;
    std::vector<double> x(w * h), y(w * h);
    for (int i = 0; i < w * h; ++i) {
      x[i] = a.data[i * a.channels + c];
      y[i] = b.data[i * b.channels + c];
    }
    double result = 1;
    for (int j = 0; j < scales; ++j) {
      double ssim = 0, cs = 0;
      int count = 0;
      for (int oy = 0; oy + window <= h; ++oy) {
        for (int ox = 0; ox + window <= w; ++ox) {
          double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
          for (int dy = 0; dy < window; ++dy) {
            for (int dx = 0; dx < window; ++dx) {
              double wt = g[dx] * g[dy] / (g_sum * g_sum);
              double px = x[(oy + dy) * w + ox + dx], py = y[(oy + dy) * w + ox + dx];
              mx += wt * px;
              my += wt * py;
              sxx += wt * px * px;
              syy += wt * py * py;
              sxy += wt * px * py;
            }
          }
          double cs_here = (2 * (sxy - mx * my) + kC2) / (sxx - mx * mx + syy - my * my + kC2);
          cs += cs_here;
          ssim += cs_here * (2 * mx * my + kC1) / (mx * mx + my * my + kC1);
          ++count;
        }
      }
      double value = (j + 1 < scales ? cs : ssim) / count;
      result *= std::pow(std::max(value, 0.0), weights[j] / weight_sum);
      int nw = (w + 1) / 2, nh = (h + 1) / 2, px = w % 2, py = h % 2;
      std::vector<double> nx(nw * nh), ny(nw * nh);
      for (int yy = 0; yy < nh; ++yy) {
        for (int xx = 0; xx < nw; ++xx) {
          for (int dy = 0; dy < 2; ++dy) {
            for (int dx = 0; dx < 2; ++dx) {
              int sx = 2 * xx + dx - px, sy = 2 * yy + dy - py;
              if (sx < 0 || sy < 0 || sx >= w || sy >= h) continue;
              nx[yy * nw + xx] += x[sy * w + sx] / 4;
              ny[yy * nw + xx] += y[sy * w + sx] / 4;
            }
          }
        }
      }
      x = nx;
      y = ny;
      w = nw;
      h = nh;
    }
    total += result;
  }
  return total / a.channels;
}

TEST(MsSsimTest, MatchesDirectComputation) {
  // 25x23: two scales (25x23 -> 13x12, padding on both odd sides), 11-tap window.
  Image a = Textured(25, 23, 3, 3);
  Image b = AddNoise(a, 12, 4);
  ASSERT_EQ(MsSsimScales(25, 23), 2);
  EXPECT_NEAR(MsSsim(a, b), ReferenceMsSsim(a, b, 2, 11), 1e-12);
  // 10x12: one scale, window shrunk to 9.
  Image c = Textured(10, 12, 1, 5);
  Image d = AddNoise(c, 8, 6);
  EXPECT_NEAR(MsSsim(c, d), ReferenceMsSsim(c, d, 1, 9), 1e-12);
  // 48x44: three scales (48x44 -> 24x22 -> 12x11).
  Image e = Textured(48, 44, 3, 8);
  Image f = AddNoise(e, 20, 9);
  ASSERT_EQ(MsSsimScales(48, 44), 3);
  EXPECT_NEAR(MsSsim(e, f), ReferenceMsSsim(e, f, 3, 11), 1e-12);
}

TEST(MsSsimTest, MonotoneInNoise) {
  for (auto [w, h] : {std::pair{200, 170}, {32, 32}}) {
    Image clean = Textured(w, h, 3, 11);
    double previous_ms_ssim = 1.0, previous_psnr = INFINITY;
    for (double sigma : {1.0, 3.0, 8.0, 20.0, 50.0}) {
      Image noisy = AddNoise(clean, sigma, 12);
      double m = MsSsim(clean, noisy), p = Psnr(clean, noisy);
      EXPECT_LT(m, previous_ms_ssim) << w << "x" << h << " sigma " << sigma;
      EXPECT_LT(p, previous_psnr) << w << "x" << h << " sigma " << sigma;
      EXPECT_GE(m, 0.0);
      previous_ms_ssim = m;
      previous_psnr = p;
    }
  }
}

TEST(MsSsimTest, Symmetric) {
  Image a = Textured(40, 36, 3, 1), b = AddNoise(a, 10, 2);
  EXPECT_NEAR(MsSsim(a, b), MsSsim(b, a), 1e-12);
}

}  // namespace
}  // namespace dcodec::eval
