#include "eval/butteraugli.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dcodec::eval {
namespace {

Image Texture(int w, int h) {
  Image image(w, h, 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        image.at(x, y, c) = static_cast<uint8_t>(128 + 90 * std::sin(0.3 * x + 0.2 * y + c) * std::cos(0.17 * y));
      }
    }
  }
  return image;
}

// Each pixel moved by up to `amount` grey levels in a fixed pattern.
Image Distorted(const Image& image, int amount) {
  Image out = image;
  for (size_t i = 0; i < out.data.size(); ++i) {
    const int v = out.data[i] + ((i * 7919) % (2 * amount + 1)) - amount;
    out.data[i] = static_cast<uint8_t>(std::clamp(v, 0, 255));
  }
  return out;
}

TEST(ButteraugliTest, DistanceGrowsWithTheDistortion) {
  if (!ButteraugliAvailable()) GTEST_SKIP() << "butteraugli not on PATH (scripts/setup.sh installs it)";
  const Image image = Texture(64, 48);
  auto same = Butteraugli(image, image);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(*same, 0.0);
  auto small = Butteraugli(image, Distorted(image, 2));
  auto large = Butteraugli(image, Distorted(image, 24));
  ASSERT_TRUE(small.ok() && large.ok());
  EXPECT_GT(*small, 0.0);
  EXPECT_GT(*large, 2 * *small);
  // Grey is compared as RGB.
  Image grey(64, 48, 1);
  for (size_t i = 0; i < grey.data.size(); ++i) grey.data[i] = image.data[3 * i];
  auto g = Butteraugli(grey, grey);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(*g, 0.0);
}

TEST(ButteraugliTest, ImagesOfOtherSizesAreRefused) {
  EXPECT_EQ(Butteraugli(Texture(8, 8), Texture(8, 9)).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dcodec::eval
