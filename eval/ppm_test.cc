#include "eval/ppm.h"

#include <gtest/gtest.h>

#include <string>

#include "eval/subprocess.h"

namespace dcodec::eval {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

TEST(PpmTest, EncodesP6) {
  Image image(2, 1, 3);
  image.data = {1, 2, 3, 4, 5, 6};
  auto bytes = EncodePpm(image);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), std::string("P6\n2 1\n255\n\x01\x02\x03\x04\x05\x06"));
}

TEST(PpmTest, RoundTripsRgbAndGrey) {
  for (int channels : {1, 3}) {
    Image image(5, 3, channels);
    for (size_t i = 0; i < image.data.size(); ++i) image.data[i] = static_cast<uint8_t>(i * 17);
    auto bytes = EncodePpm(image);
    ASSERT_TRUE(bytes.ok());
    auto decoded = DecodePpm(bytes->data(), bytes->size(), "x");
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, image);
  }
}

TEST(PpmTest, AcceptsComments) {
  auto bytes = Bytes(std::string("P5 # grey\n# size next\n2\n2 255\n") + "abcd");
  auto decoded = DecodePpm(bytes.data(), bytes.size(), "x");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->channels, 1);
  EXPECT_EQ(decoded->at(1, 1, 0), 'd');
}

TEST(PpmTest, RejectsBadInput) {
  auto check = [](const std::string& text, StatusCode code) {
    auto bytes = Bytes(text);
    auto decoded = DecodePpm(bytes.data(), bytes.size(), "bad.ppm");
    ASSERT_FALSE(decoded.ok()) << text;
    EXPECT_EQ(decoded.status().code(), code) << text;
    EXPECT_NE(decoded.status().message().find("bad.ppm"), std::string::npos);
  };
  check("", StatusCode::kInvalidInput);
  check("P7\n1 1\n255\n", StatusCode::kInvalidInput);
  check("P3\n1 1\n255\n1 2 3", StatusCode::kUnsupported);
  check("P6\n1 1\n65535\n123456", StatusCode::kUnsupported);
  check("P6\n2 1\n255\n12345", StatusCode::kTruncated);
  check("P6\nx 1\n255\n", StatusCode::kInvalidInput);
  check("P6\n0 1\n255\n", StatusCode::kInvalidInput);
  check("P6\n99999 99999\n255\n", StatusCode::kInvalidInput);
}

TEST(PpmTest, RefusesOtherChannelCounts) {
  EXPECT_EQ(EncodePpm(Image(2, 2, 2)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePpm(Image()).status().code(), StatusCode::kInvalidArgument);
}

TEST(PpmTest, FileRoundTrip) {
  auto dir = TempDir::Create("dcodec-ppm-test");
  ASSERT_TRUE(dir.ok());
  Image image(3, 2, 3);
  image.data[4] = 200;
  ASSERT_TRUE(WritePpm(dir->File("a.ppm"), image, false).ok());
  EXPECT_FALSE(WritePpm(dir->File("a.ppm"), image, false).ok());
  auto read = ReadPpm(dir->File("a.ppm"));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, image);
}

}  // namespace
}  // namespace dcodec::eval
