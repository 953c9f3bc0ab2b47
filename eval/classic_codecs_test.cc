#include "eval/classic_codecs.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "eval/metrics.h"

namespace dcodec::eval {
namespace {

// 48x40: smooth gradients, an edge and a checkerboard patch, so every codec has something to lose.
Image Synthetic(int channels) {
  Image image(48, 40, channels);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      for (int c = 0; c < channels; ++c) {
        int v = 30 + x * 3 + y * 2 + c * 25;
        if (x > 30 && y < 20) v = ((x / 2 + y / 2) % 2) ? 220 : 40;
        if (y > 30) v = 255 - v / 2;
        image.at(x, y, c) = static_cast<uint8_t>(std::min(v, 255));
      }
    }
  }
  return image;
}

TEST(ClassicCodecsTest, SweepsAreValid) {
  std::vector<ClassicCodec> sweeps = DefaultSweeps();
  ASSERT_EQ(sweeps.size(), 4u);
  EXPECT_EQ(ClassicCodecNames(), (std::vector<std::string>{"jpeg", "webp", "jxl", "avif"}));
  for (size_t i = 0; i < sweeps.size(); ++i) {
    EXPECT_EQ(sweeps[i].name, ClassicCodecNames()[i]);
    EXPECT_GE(sweeps[i].qualities.size(), 8u);
    for (size_t k = 1; k < sweeps[i].qualities.size(); ++k) {
      // Listed in order of increasing rate.
      if (LowerQualityValueIsBetter(sweeps[i].name)) {
        EXPECT_LT(sweeps[i].qualities[k], sweeps[i].qualities[k - 1]);
      } else {
        EXPECT_GT(sweeps[i].qualities[k], sweeps[i].qualities[k - 1]);
      }
    }
  }
}

TEST(ClassicCodecsTest, HigherQualityGivesHigherPsnr) {
  Image image = Synthetic(3);
  struct Case {
    const char* name;
    int low, high;
  };
  int tested = 0;
  for (Case c : {Case{"jpeg", 10, 95}, Case{"webp", 5, 95}, Case{"jxl", 20, 95}, Case{"avif", 55, 10}}) {
    if (!IsAvailable(c.name)) {
      std::printf("%s not available; skipped\n", c.name);
      continue;
    }
    ++tested;
    auto low = RunClassic(c.name, c.low, image);
    auto high = RunClassic(c.name, c.high, image);
    ASSERT_TRUE(low.ok()) << low.status().ToString();
    ASSERT_TRUE(high.ok()) << high.status().ToString();
    for (const ClassicResult* r : {&*low, &*high}) {
      EXPECT_GT(r->bytes, 0u) << c.name;
      EXPECT_EQ(r->decoded.width, image.width) << c.name;
      EXPECT_EQ(r->decoded.height, image.height) << c.name;
      EXPECT_EQ(r->decoded.channels, 3) << c.name;
      EXPECT_GT(r->encode_seconds, 0) << c.name;
      EXPECT_GT(r->decode_seconds, 0) << c.name;
    }
    EXPECT_GT(Psnr(image, high->decoded), Psnr(image, low->decoded)) << c.name;
    EXPECT_GT(high->bytes, low->bytes) << c.name;
    EXPECT_GT(Psnr(image, high->decoded), 30) << c.name;
  }
  if (tested == 0) GTEST_SKIP() << "no classic codec tools on PATH";
}

TEST(ClassicCodecsTest, GreyImagesComeBackGrey) {
  if (!IsAvailable("jpeg")) GTEST_SKIP() << "cjpeg/djpeg not on PATH";
  Image grey = Synthetic(1);
  auto result = RunClassic("jpeg", 90, grey);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->decoded.channels, 1);
  EXPECT_GT(Psnr(grey, result->decoded), 30);
}

TEST(ClassicCodecsTest, Errors) {
  Image image = Synthetic(3);
  auto unknown = RunClassic("bmp", 50, image);
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("bmp"), std::string::npos);
  EXPECT_FALSE(IsAvailable("bmp"));

  EXPECT_EQ(RunClassic("jpeg", 101, image).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RunClassic("avif", 64, image).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RunClassic("jpeg", 50, Image()).status().code(), StatusCode::kInvalidArgument);

  // With an empty PATH no tool is found, and the error names it.
  const char* old_path = std::getenv("PATH");
  std::string saved = old_path ? old_path : "";
  setenv("PATH", "/nonexistent-dcodec", 1);
  bool available = IsAvailable("webp");
  auto missing = RunClassic("webp", 50, image);
  setenv("PATH", saved.c_str(), 1);
  EXPECT_FALSE(available);
  EXPECT_EQ(missing.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(missing.status().message().find("cwebp"), std::string::npos) << missing.status().message();
}

}  // namespace
}  // namespace dcodec::eval
