#include "eval/strip.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace dcodec::eval {
namespace {

Image Flat(int w, int h, int channels, uint8_t v) {
  Image image(w, h, channels);
  std::fill(image.data.begin(), image.data.end(), v);
  return image;
}

// Layout: small pictures are enlarged by an integer factor (32 → 128), each panel shows its picture, the label
// row is drawn (some dark pixels under each panel), and the background is white.
TEST(StripTest, PanelsSideBySideWithLabels) {
  std::vector<StripPanel> panels = {{Flat(32, 32, 3, 0), "stage 1"}, {Flat(32, 32, 3, 200), "lossless"}};
  auto strip = DrawStrip(panels);
  ASSERT_TRUE(strip.ok()) << strip.status().ToString();
  EXPECT_EQ(strip->width, 2 * 128 + 3 * 8);
  EXPECT_EQ(strip->height, 128 + 2 * 8 + 22);
  EXPECT_EQ(strip->at(0, 0, 0), 255);                    // background
  EXPECT_EQ(strip->at(8 + 64, 8 + 64, 1), 0);            // panel 1
  EXPECT_EQ(strip->at(8 + 128 + 8 + 64, 8 + 64, 1), 200);  // panel 2
  for (int panel = 0; panel < 2; ++panel) {
    int dark = 0;
    for (int y = 8 + 128; y < strip->height; ++y) {
      for (int x = 8 + panel * 136; x < 8 + panel * 136 + 128; ++x) dark += strip->at(x, y, 0) < 128;
    }
    EXPECT_GT(dark, 10) << "label " << panel;
  }
}

TEST(StripTest, AlphaIsCompositedOnWhiteAndLargePicturesShrink) {
  Image rgba = Flat(400, 500, 4, 0);  // black, fully transparent
  auto strip = DrawStrip({{rgba, ""}});
  ASSERT_TRUE(strip.ok());
  EXPECT_EQ(strip->height, 320 + 2 * 8 + 22);
  EXPECT_EQ(strip->at(8 + 100, 8 + 100, 0), 255);
  EXPECT_FALSE(DrawStrip({}).ok());
  EXPECT_FALSE(DrawStrip({{Flat(4, 4, 3, 0), ""}, {Flat(5, 4, 3, 0), ""}}).ok());
}

}  // namespace
}  // namespace dcodec::eval
