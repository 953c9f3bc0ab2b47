#include "datasets/jpeg.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "datasets/jpeg_writer_for_test.h"

namespace dcodec {
namespace {

// A smooth picture, which JPEG at high quality keeps within a few levels.
Image Gradient(int w, int h, int channels) {
  Image image(w, h, channels);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < channels; ++c) image.at(x, y, c) = static_cast<uint8_t>(40 + 3 * x + 2 * y + 30 * c);
    }
  }
  return image;
}

double MeanAbsDiff(const Image& a, const Image& b) {
  double sum = 0;
  for (size_t i = 0; i < a.data.size(); ++i) sum += std::abs(a.data[i] - b.data[i]);
  return sum / a.data.size();
}

bool Contains(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

TEST(JpegTest, SniffsTheStartOfImageMarker) {
  const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0};
  const uint8_t png[] = {0x89, 'P', 'N', 'G'};
  EXPECT_TRUE(LooksLikeJpeg(jpeg, 4));
  EXPECT_FALSE(LooksLikeJpeg(jpeg, 2));
  EXPECT_FALSE(LooksLikeJpeg(png, 4));
}

TEST(JpegTest, DecodesBaselineProgressiveAndArithmeticRgb) {
  const Image source = Gradient(37, 23, 3);
  for (int mode = 0; mode < 3; ++mode) {
    SCOPED_TRACE(mode);
    JpegWriteOptionsForTest options;
    options.progressive = mode == 1;
    options.arithmetic = mode == 2;
    const std::vector<uint8_t> bytes = EncodeJpegForTest(source, options);
    auto image = DecodeJpeg(bytes.data(), bytes.size(), "a.jpg");
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    EXPECT_EQ(image->width, 37);
    EXPECT_EQ(image->height, 23);
    EXPECT_EQ(image->channels, 3);
    EXPECT_LT(MeanAbsDiff(*image, source), 3.0);
  }
}

TEST(JpegTest, ProgressiveAndBaselineGiveTheSamePixels) {
  // The same quantized coefficients, sent in another order: libjpeg reconstructs the same picture.
  const Image source = Gradient(64, 40, 3);
  JpegWriteOptionsForTest progressive;
  progressive.progressive = true;
  const auto a = EncodeJpegForTest(source), b = EncodeJpegForTest(source, progressive);
  auto da = DecodeJpeg(a.data(), a.size(), "a.jpg"), db = DecodeJpeg(b.data(), b.size(), "b.jpg");
  ASSERT_TRUE(da.ok() && db.ok());
  EXPECT_LT(MeanAbsDiff(*da, *db), 0.5);
}

TEST(JpegTest, GreyStaysOneChannel) {
  const Image source = Gradient(17, 9, 1);
  for (bool progressive : {false, true}) {
    JpegWriteOptionsForTest options;
    options.progressive = progressive;
    const auto bytes = EncodeJpegForTest(source, options);
    auto image = DecodeJpeg(bytes.data(), bytes.size(), "grey.jpg");
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    EXPECT_EQ(image->channels, 1);
    EXPECT_LT(MeanAbsDiff(*image, source), 2.0);
  }
}

TEST(JpegTest, AdobeCmykBecomesRgb) {
  // Adobe CMYK stores 255 - ink, so a stored (200, 100, 50, K = 255) is no black ink: RGB (200, 100, 50); K = 128
  // halves it.
  Image cmyk(16, 16, 4);
  for (size_t i = 0; i < cmyk.num_pixels(); ++i) {
    const bool top = i < cmyk.num_pixels() / 2;
    cmyk.data[4 * i] = 200;
    cmyk.data[4 * i + 1] = 100;
    cmyk.data[4 * i + 2] = 50;
    cmyk.data[4 * i + 3] = top ? 255 : 128;
  }
  JpegWriteOptionsForTest options;
  options.cmyk = true;
  options.quality = 100;
  const auto bytes = EncodeJpegForTest(cmyk, options);
  auto image = DecodeJpeg(bytes.data(), bytes.size(), "cmyk.jpg");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ASSERT_EQ(image->channels, 3);
  EXPECT_NEAR(image->at(3, 2, 0), 200, 3);
  EXPECT_NEAR(image->at(3, 2, 1), 100, 3);
  EXPECT_NEAR(image->at(3, 2, 2), 50, 3);
  EXPECT_NEAR(image->at(3, 13, 0), 100, 3);
  EXPECT_NEAR(image->at(3, 13, 2), 25, 3);
}

// An EXIF APP1 segment holding one tag: Orientation (0x0112) = 6, "rotate 90° clockwise to display".
std::string ExifRotate90() {
  return std::string("Exif\0\0", 6) + std::string("MM\0\x2a\0\0\0\x08", 8) + std::string("\0\x01", 2) +
         std::string("\x01\x12\0\x03\0\0\0\x01\0\x06\0\0", 12) + std::string("\0\0\0\0", 4);
}

TEST(JpegTest, ExifOrientationDoesNotRotate) {
  const Image source = Gradient(40, 16, 3);
  JpegWriteOptionsForTest exif;
  exif.app1 = ExifRotate90();
  const auto plain = EncodeJpegForTest(source), marked = EncodeJpegForTest(source, exif);
  ASSERT_NE(plain.size(), marked.size());
  auto a = DecodeJpeg(plain.data(), plain.size(), "plain.jpg");
  auto b = DecodeJpeg(marked.data(), marked.size(), "exif.jpg");
  ASSERT_TRUE(a.ok() && b.ok()) << b.status().ToString();
  EXPECT_EQ(b->width, 40);
  EXPECT_EQ(b->height, 16);
  EXPECT_EQ(*a, *b);  // the pixels as stored
}

TEST(JpegTest, EveryTruncationIsRefusedNamingTheFile) {
  for (bool progressive : {false, true}) {
    JpegWriteOptionsForTest options;
    options.progressive = progressive;
    const auto bytes = EncodeJpegForTest(Gradient(24, 20, 3), options);
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto image = DecodeJpeg(bytes.data(), n, "cut.jpg");
      ASSERT_FALSE(image.ok()) << "progressive " << progressive << ", " << n << " of " << bytes.size() << " bytes";
      EXPECT_EQ(image.status().code(), StatusCode::kInvalidInput) << image.status().ToString();
      EXPECT_TRUE(Contains(image.status(), "cut.jpg")) << image.status().ToString();
    }
  }
}

// The offset of the SOF0/SOF2 marker's height field.
size_t SofSizeOffset(const std::vector<uint8_t>& bytes) {
  for (size_t i = 2; i + 9 < bytes.size(); ++i) {
    if (bytes[i] == 0xFF && (bytes[i + 1] == 0xC0 || bytes[i + 1] == 0xC2)) return i + 5;
  }
  return 0;
}

TEST(JpegTest, SizesAreCheckedFromTheHeader) {
  for (bool progressive : {false, true}) {
    JpegWriteOptionsForTest options;
    options.progressive = progressive;
    std::vector<uint8_t> bytes = EncodeJpegForTest(Gradient(16, 16, 3), options);
    const size_t at = SofSizeOffset(bytes);
    ASSERT_GT(at, 0u);
    // 60000 x 60000: over kMaxPixels.
    bytes[at] = bytes[at + 2] = 0xEA;
    bytes[at + 1] = bytes[at + 3] = 0x60;
    auto huge = DecodeJpeg(bytes.data(), bytes.size(), "huge.jpg");
    ASSERT_FALSE(huge.ok());
    EXPECT_EQ(huge.status().code(), StatusCode::kInvalidInput);
    EXPECT_TRUE(Contains(huge.status(), "larger than dcodec accepts")) << huge.status().ToString();
    // 8000 x 8000 within the limit, but a few hundred bytes cannot hold its 1.5 million blocks.
    bytes[at] = bytes[at + 2] = 0x1F;
    bytes[at + 1] = bytes[at + 3] = 0x40;
    auto lying = DecodeJpeg(bytes.data(), bytes.size(), "lying.jpg");
    ASSERT_FALSE(lying.ok());
    EXPECT_EQ(lying.status().code(), StatusCode::kInvalidInput);
    EXPECT_TRUE(Contains(lying.status(), "cannot hold")) << lying.status().ToString();
  }
}

TEST(JpegTest, RandomAndMutatedBytesNeverCrash) {
  std::mt19937 rng(26);
  const auto valid = EncodeJpegForTest(Gradient(20, 12, 3));
  JpegWriteOptionsForTest progressive;
  progressive.progressive = true;
  const auto valid_progressive = EncodeJpegForTest(Gradient(20, 12, 1), progressive);
  int decoded = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> bytes;
    if (trial % 3 == 0) {
      bytes.resize(rng() % 200);
      for (auto& b : bytes) b = static_cast<uint8_t>(rng());
      if (bytes.size() >= 3) bytes[0] = 0xFF, bytes[1] = 0xD8, bytes[2] = 0xFF;
    } else {
      bytes = trial % 3 == 1 ? valid : valid_progressive;
      const int flips = 1 + rng() % 8;
      for (int k = 0; k < flips; ++k) bytes[3 + rng() % (bytes.size() - 3)] = static_cast<uint8_t>(rng());
      if (rng() % 2) bytes.resize(3 + rng() % (bytes.size() - 3));
    }
    auto image = DecodeJpeg(bytes.data(), bytes.size(), "fuzz.jpg");
    if (image.ok()) {
      ++decoded;
      EXPECT_TRUE(image->channels == 1 || image->channels == 3);
      EXPECT_EQ(image->data.size(), image->num_pixels() * image->channels);
    } else {
      EXPECT_TRUE(Contains(image.status(), "fuzz.jpg")) << image.status().ToString();
    }
  }
  EXPECT_GT(decoded, 100);  // the loop reaches the entropy-coded data: some flips there decode, to other pixels
  EXPECT_LT(decoded, 2000);
}

}  // namespace
}  // namespace dcodec
