#include "datasets/webp.h"

#include <gtest/gtest.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <cstdlib>
#include <vector>

#include "datasets/image_io.h"
#include "datasets/metadata.h"

namespace dcodec {
namespace {

// With texture ((x·y) mod 7, values wrapping) for the lossless tests; a smooth ramp for the lossy one.
Image Pattern(int w, int h, int channels, bool texture = true) {
  Image image(w, h, channels);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < channels; ++c) {
        image.at(x, y, c) = static_cast<uint8_t>(c == 3    ? 255 - 7 * x
                                                 : texture ? 40 + 5 * x + 3 * y + 50 * c + (x * y) % 7
                                                           : 40 + 2 * x + 2 * y + 30 * c);
      }
    }
  }
  return image;
}

// Lossless (quality < 0: VP8L) or lossy WebP of `image` (3 or 4 channels).
std::vector<uint8_t> EncodeWebpForTest(const Image& image, float quality = -1) {
  uint8_t* out = nullptr;
  const int stride = image.width * image.channels;
  size_t n = 0;
  if (quality < 0) {
    n = image.channels == 4 ? WebPEncodeLosslessRGBA(image.data.data(), image.width, image.height, stride, &out)
                            : WebPEncodeLosslessRGB(image.data.data(), image.width, image.height, stride, &out);
  } else {
    n = image.channels == 4 ? WebPEncodeRGBA(image.data.data(), image.width, image.height, stride, quality, &out)
                            : WebPEncodeRGB(image.data.data(), image.width, image.height, stride, quality, &out);
  }
  std::vector<uint8_t> bytes(out, out + n);
  WebPFree(out);
  return bytes;
}

// `still` with chunks added by libwebpmux (an extended VP8X file).
std::vector<uint8_t> WithChunks(const std::vector<uint8_t>& still,
                                const std::vector<std::pair<const char*, std::vector<uint8_t>>>& chunks) {
  WebPData in{still.data(), still.size()};
  WebPMux* mux = WebPMuxCreate(&in, /*copy_data=*/1);
  EXPECT_NE(mux, nullptr);
  for (const auto& [fourcc, bytes] : chunks) {
    WebPData chunk{bytes.data(), bytes.size()};
    EXPECT_EQ(WebPMuxSetChunk(mux, fourcc, &chunk, /*copy_data=*/1), WEBP_MUX_OK);
  }
  WebPData out;
  EXPECT_EQ(WebPMuxAssemble(mux, &out), WEBP_MUX_OK);
  std::vector<uint8_t> bytes(out.bytes, out.bytes + out.size);
  WebPDataClear(&out);
  WebPMuxDelete(mux);
  return bytes;
}

TEST(WebpTest, SniffsRiffWebp) {
  const Image image = Pattern(5, 4, 3);
  const std::vector<uint8_t> webp = EncodeWebpForTest(image);
  EXPECT_TRUE(LooksLikeWebp(webp.data(), webp.size()));
  EXPECT_FALSE(LooksLikeWebp(webp.data(), 11));
  const uint8_t wave[12] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E'};
  EXPECT_FALSE(LooksLikeWebp(wave, sizeof(wave)));
  auto format = SniffImageFormat(webp.data(), webp.size());
  ASSERT_TRUE(format.has_value());
  EXPECT_EQ(*format, ImageFormat::kWebp);
}

TEST(WebpTest, LosslessRgbAndRgbaComeBackExactly) {
  for (int channels : {3, 4}) {
    SCOPED_TRACE(channels);
    const Image image = Pattern(23, 17, channels);
    const std::vector<uint8_t> webp = EncodeWebpForTest(image);
    ImageReadOptions options;
    options.keep_alpha = true;
    auto back = DecodeImage(webp.data(), webp.size(), "a.webp", options);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->channels, channels);
    EXPECT_EQ(back->data, image.data);
    EXPECT_TRUE(back->metadata.empty());
  }
}

TEST(WebpTest, LossyDecodesToItsSizeAndNearItsSource) {
  const Image image = Pattern(40, 30, 3, /*texture=*/false);
  const std::vector<uint8_t> webp = EncodeWebpForTest(image, 95);
  auto back = DecodeWebp(webp.data(), webp.size(), "a.webp");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->width, 40);
  ASSERT_EQ(back->height, 30);
  ASSERT_EQ(back->channels, 3);
  double sum = 0;
  for (size_t i = 0; i < image.data.size(); ++i) sum += std::abs(back->data[i] - image.data[i]);
  EXPECT_LT(sum / image.data.size(), 4.0);
}

TEST(WebpTest, AlphaIsRefusedUnlessKept) {
  const std::vector<uint8_t> webp = EncodeWebpForTest(Pattern(6, 5, 4));
  auto refused = DecodeWebp(webp.data(), webp.size(), "alpha.webp");
  ASSERT_EQ(refused.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(refused.status().message().find("alpha.webp"), std::string::npos);
}

TEST(WebpTest, ProfileExifAndXmpAreKept) {
  std::vector<uint8_t> icc(300);
  for (size_t i = 0; i < icc.size(); ++i) icc[i] = static_cast<uint8_t>(i * 13 + 1);
  const std::vector<uint8_t> tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0};
  std::vector<uint8_t> exif = {'E', 'x', 'i', 'f', 0, 0};  // the prefix some writers put there
  exif.insert(exif.end(), tiff.begin(), tiff.end());
  const std::string xmp_text = "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>";
  const std::vector<uint8_t> xmp(xmp_text.begin(), xmp_text.end());
  const Image image = Pattern(9, 8, 3);
  const std::vector<uint8_t> webp =
      WithChunks(EncodeWebpForTest(image), {{"ICCP", icc}, {"EXIF", exif}, {"XMP ", xmp}});
  ImageReadOptions options;
  options.keep_metadata = true;
  auto back = DecodeWebp(webp.data(), webp.size(), "meta.webp", options);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->data, image.data);
  Metadata expected;
  expected.items.push_back({MetadataKind::kIcc, "ICC Profile", icc});
  expected.items.push_back({MetadataKind::kExif, "", tiff});
  expected.items.push_back({MetadataKind::kXmp, "", xmp});
  EXPECT_EQ(back->metadata, expected);
  // Not asked for: none.
  auto bare = DecodeWebp(webp.data(), webp.size(), "meta.webp");
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->metadata.empty());
}

TEST(WebpTest, DamageAndCutsAreRefusedNamingTheFile) {
  const std::vector<uint8_t> webp = EncodeWebpForTest(Pattern(32, 32, 3), 80);
  for (size_t cut : {size_t{12}, size_t{20}, webp.size() / 2, webp.size() - 1}) {
    SCOPED_TRACE(cut);
    auto r = DecodeWebp(webp.data(), cut, "cut.webp");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(r.status().message().find("cut.webp"), std::string::npos);
  }
  std::vector<uint8_t> junk = webp;
  for (size_t i = 20; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 37);
  EXPECT_FALSE(DecodeWebp(junk.data(), junk.size(), "junk.webp").ok());
}

TEST(WebpTest, AnimationsAreRefused) {
  WebPAnimEncoderOptions anim_options;
  ASSERT_TRUE(WebPAnimEncoderOptionsInit(&anim_options));
  WebPAnimEncoder* encoder = WebPAnimEncoderNew(8, 8, &anim_options);
  ASSERT_NE(encoder, nullptr);
  WebPConfig config;
  ASSERT_TRUE(WebPConfigInit(&config));
  config.lossless = 1;
  for (int frame = 0; frame < 2; ++frame) {
    Image image = Pattern(8, 8, 4);
    for (auto& v : image.data) v = static_cast<uint8_t>(v + 60 * frame);
    WebPPicture picture;
    ASSERT_TRUE(WebPPictureInit(&picture));
    picture.width = 8;
    picture.height = 8;
    picture.use_argb = 1;
    ASSERT_TRUE(WebPPictureImportRGBA(&picture, image.data.data(), 8 * 4));
    ASSERT_TRUE(WebPAnimEncoderAdd(encoder, &picture, frame * 100, &config));
    WebPPictureFree(&picture);
  }
  ASSERT_TRUE(WebPAnimEncoderAdd(encoder, nullptr, 200, nullptr));
  WebPData out;
  WebPDataInit(&out);
  ASSERT_TRUE(WebPAnimEncoderAssemble(encoder, &out));
  ImageReadOptions options;
  options.keep_alpha = true;
  auto r = DecodeWebp(out.bytes, out.size, "anim.webp", options);
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("animated"), std::string::npos);
  WebPDataClear(&out);
  WebPAnimEncoderDelete(encoder);
}

}  // namespace
}  // namespace dcodec
