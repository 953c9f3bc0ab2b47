#include "datasets/pnm.h"

#include <gtest/gtest.h>

#include <random>

namespace dcodec {
namespace {

std::vector<uint8_t> Bytes(const std::string& header, const std::vector<uint8_t>& raster = {}) {
  std::vector<uint8_t> out(header.begin(), header.end());
  out.insert(out.end(), raster.begin(), raster.end());
  return out;
}

StatusOr<Image> Decode(const std::vector<uint8_t>& bytes, const ImageReadOptions& options = {}) {
  return DecodePnm(bytes.data(), bytes.size(), "x.pnm", options);
}

Image Pattern(int w, int h, int channels) {
  Image image(w, h, channels);
  for (size_t i = 0; i < image.data.size(); ++i) image.data[i] = static_cast<uint8_t>(i * 37 + 11);
  return image;
}

ImageReadOptions KeepAlpha() {
  ImageReadOptions o;
  o.keep_alpha = true;
  return o;
}

// The samples of `image` as 16-bit big-endian values f(v).
std::vector<uint8_t> Wide(const Image& image, const std::function<uint32_t(uint8_t)>& f) {
  std::vector<uint8_t> out;
  for (uint8_t v : image.data) {
    const uint32_t w = f(v);
    out.push_back(static_cast<uint8_t>(w >> 8));
    out.push_back(static_cast<uint8_t>(w));
  }
  return out;
}

void ExpectRefused(const StatusOr<Image>& image, StatusCode code, const std::string& text = "") {
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), code) << image.status().ToString();
  EXPECT_NE(image.status().message().find("x.pnm"), std::string::npos) << image.status().ToString();
  if (!text.empty()) {
    EXPECT_NE(image.status().message().find(text), std::string::npos) << image.status().ToString();
  }
}

TEST(PnmTest, WritesTheHeadersItDocuments) {
  auto ppm = EncodePnm(Pattern(2, 1, 3), PnmType::kPpm);
  ASSERT_TRUE(ppm.ok());
  EXPECT_EQ(std::string(ppm->begin(), ppm->begin() + 11), "P6\n2 1\n255\n");
  EXPECT_EQ(ppm->size(), 11u + 6);
  auto pgm = EncodePnm(Pattern(3, 2, 1), PnmType::kPgm);
  ASSERT_TRUE(pgm.ok());
  EXPECT_EQ(std::string(pgm->begin(), pgm->begin() + 11), "P5\n3 2\n255\n");
  auto pam = EncodePnm(Pattern(1, 1, 2), PnmType::kPam);
  ASSERT_TRUE(pam.ok());
  const std::string header = "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n";
  EXPECT_EQ(std::string(pam->begin(), pam->end() - 2), header);
}

TEST(PnmTest, RoundTripsExactly) {
  for (int channels = 1; channels <= 4; ++channels) {
    SCOPED_TRACE(channels);
    const Image image = Pattern(13, 7, channels);
    auto pam = EncodePnm(image, PnmType::kPam);
    ASSERT_TRUE(pam.ok());
    auto back = Decode(*pam, KeepAlpha());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, image);
    if (channels == 1 || channels == 3) {
      auto pnm = EncodePnm(image, channels == 1 ? PnmType::kPgm : PnmType::kPpm);
      ASSERT_TRUE(pnm.ok());
      auto again = Decode(*pnm);
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      EXPECT_EQ(*again, image);
    }
  }
}

TEST(PnmTest, RefusesChannelsTheTypeCannotHold) {
  auto rgba = EncodePnm(Pattern(2, 2, 4), PnmType::kPpm);
  ASSERT_FALSE(rgba.ok());
  EXPECT_EQ(rgba.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(rgba.status().message().find("RGBA"), std::string::npos) << rgba.status().ToString();
  EXPECT_EQ(EncodePnm(Pattern(2, 2, 3), PnmType::kPgm).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePnm(Pattern(2, 2, 1), PnmType::kPpm).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePnm(Image(), PnmType::kPam).status().code(), StatusCode::kInvalidArgument);
}

TEST(PnmTest, AcceptsCommentsAndAnyWhitespace) {
  auto image = Decode(Bytes("P5 # grey\n#another\n 2\t# w\n1\r\n255 ", {7, 9}));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->width, 2);
  EXPECT_EQ(image->data, (std::vector<uint8_t>{7, 9}));
  auto pam = Decode(Bytes("P7\n# made by hand\nHEIGHT 1\nWIDTH 1\nMAXVAL 255\nDEPTH 3\nENDHDR\n", {1, 2, 3}));
  ASSERT_TRUE(pam.ok()) << pam.status().ToString();  // no TUPLTYPE: from DEPTH
  EXPECT_EQ(pam->channels, 3);
}

TEST(PnmTest, ReadsBitmaps) {
  // 10 pixels wide: two bytes a row, 1 = black.
  auto image = Decode(Bytes("P4\n10 2\n", {0b10100000, 0b01000000, 0xFF, 0xC0}));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->channels, 1);
  EXPECT_EQ(image->at(0, 0, 0), 0);
  EXPECT_EQ(image->at(1, 0, 0), 255);
  EXPECT_EQ(image->at(9, 0, 0), 0);
  EXPECT_EQ(image->at(8, 0, 0), 255);
  for (int x = 0; x < 10; ++x) EXPECT_EQ(image->at(x, 1, 0), 0);
}

TEST(PnmTest, AlphaNeedsKeepAlpha) {
  const auto bytes = Bytes("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", {1, 2, 3, 4});
  ExpectRefused(Decode(bytes), StatusCode::kUnsupported, "alpha");
  auto kept = Decode(bytes, KeepAlpha());
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->data, (std::vector<uint8_t>{1, 2, 3, 4}));
}

TEST(PnmTest, SixteenBitLikePng) {
  const Image image = Pattern(5, 3, 3);
  // v·257: an 8-bit value stored wide, accepted losslessly, in P6 and in P7.
  const auto exact = Wide(image, [](uint8_t v) { return v * 257u; });
  auto a = Decode(Bytes("P6\n5 3\n65535\n", exact));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, image);
  auto b = Decode(Bytes("P7\nWIDTH 5\nHEIGHT 3\nDEPTH 3\nMAXVAL 65535\nTUPLTYPE RGB\nENDHDR\n", exact));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, image);
  // Low bytes that carry information: refused, unless asked to keep the high bytes.
  const auto deep = Wide(image, [](uint8_t v) { return v * 256u + 5; });
  ExpectRefused(Decode(Bytes("P6\n5 3\n65535\n", deep)), StatusCode::kUnsupported, "--8bit");
  ImageReadOptions reduce;
  reduce.reduce_16_to_8 = true;
  auto c = Decode(Bytes("P6\n5 3\n65535\n", deep), reduce);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, image);
}

TEST(PnmTest, OtherMaxvalsScale) {
  // maxval 15: 4-bit samples scaled to 0..255 (rounded), always accepted.
  auto small = Decode(Bytes("P5\n4 1\n15\n", {0, 7, 8, 15}));
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(small->data, (std::vector<uint8_t>{0, 119, 136, 255}));
  // maxval 1000: every 8-bit value scaled to 0..1000 comes back as itself; another value is refused.
  Image all(256, 1, 1);
  for (int v = 0; v < 256; ++v) all.data[v] = static_cast<uint8_t>(v);
  const auto scaled = Wide(all, [](uint8_t v) { return (v * 1000u + 127) / 255; });
  auto wide = Decode(Bytes("P5\n256 1\n1000\n", scaled));
  ASSERT_TRUE(wide.ok()) << wide.status().ToString();
  EXPECT_EQ(*wide, all);
  ExpectRefused(Decode(Bytes("P5\n1 1\n1000\n", {0x01, 0xF5})), StatusCode::kUnsupported, "maxval 1000");  // 501
}

TEST(PnmTest, RefusesWhatItCannotRead) {
  ExpectRefused(Decode(Bytes("P3\n1 1\n255\n1 2 3\n")), StatusCode::kUnsupported, "plain");
  ExpectRefused(Decode(Bytes("P1\n1 1\n1\n")), StatusCode::kUnsupported, "plain");
  ExpectRefused(Decode(Bytes("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\nTUPLTYPE CMYK\nENDHDR\n", {1, 2, 3})),
                StatusCode::kUnsupported, "CMYK");
  const std::vector<std::pair<std::string, std::vector<uint8_t>>> malformed = {
      {"", {}},
      {"P6", {}},
      {"P6\n", {}},
      {"P6\n2 1", {}},
      {"P6\n2 1\n255", {}},                                 // no whitespace before the raster
      {"P6\n2 1\n255\n", {1, 2, 3, 4, 5}},                  // one byte short
      {"P6\n-2 1\n255\n", {}},
      {"P6\n0 1\n255\n", {}},
      {"P5\n1 1\n0\n", {0}},                                // maxval 0
      {"P5\n1 1\n70000\n", {0, 0}},                         // maxval over 65535
      {"P5\n1 1\n99999999999\n", {0}},
      {"P5\n1 1\n100\n", {101}},                            // a sample above maxval
      {"P5\n70000 1\n255\n", {0}},                          // a side over kMaxImageSide
      {"P5\n60000 60000\n255\n", {0}},                      // over kMaxPixels: refused before allocating
      {"P4\n9 2\n", {0, 0, 0}},
      {"P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n", {}},  // no ENDHDR
      {"P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nENDHDR\n", {0}},    // no MAXVAL
      {"P7\nWIDTH 1\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n", {0, 0}},
      {"P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nCOLOUR 3\nENDHDR\n", {0}},
      {"P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR junk\n", {0}},
      {"P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR", {}},
      {"P8\n1 1\n255\n", {0}},
      {"GIF89a", {}},
  };
  for (const auto& [header, raster] : malformed) {
    SCOPED_TRACE(header);
    ExpectRefused(Decode(Bytes(header, raster)), StatusCode::kInvalidInput);
  }
}

TEST(PnmTest, TruncationsAreRefusedAndFuzzNeverCrashes) {
  std::vector<std::vector<uint8_t>> valid;
  for (int channels = 1; channels <= 4; ++channels) valid.push_back(*EncodePnm(Pattern(6, 5, channels), PnmType::kPam));
  valid.push_back(*EncodePnm(Pattern(6, 5, 3), PnmType::kPpm));
  valid.push_back(Bytes("P5\n3 2\n65535\n", Wide(Pattern(3, 2, 1), [](uint8_t v) { return v * 257u; })));
  valid.push_back(Bytes("P4\n10 2\n", {1, 2, 3, 4}));
  for (const auto& bytes : valid) {
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto image = DecodePnm(bytes.data(), n, "x.pnm", KeepAlpha());
      ExpectRefused(image, StatusCode::kInvalidInput);
    }
  }
  std::mt19937 rng(26);
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> bytes = valid[rng() % valid.size()];
    if (trial % 4 == 0) {
      bytes.resize(3 + rng() % 60);
      for (size_t i = 3; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(rng() % 4 ? "0123456789 \n#"[rng() % 13] : rng());
    } else {
      const int flips = 1 + rng() % 4;
      for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
      if (rng() % 2) bytes.resize(rng() % (bytes.size() + 1));
    }
    auto image = DecodePnm(bytes.data(), bytes.size(), "x.pnm", KeepAlpha());
    if (image.ok()) {
      EXPECT_GE(image->channels, 1);
      EXPECT_LE(image->channels, 4);
      EXPECT_EQ(image->data.size(), image->num_pixels() * image->channels);
    } else {
      EXPECT_NE(image.status().message().find("x.pnm"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace dcodec
