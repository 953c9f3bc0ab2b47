#include "datasets/metadata.h"

#include <gtest/gtest.h>

#include "datasets/image.h"
#include "datasets/image_io.h"
#include "datasets/jpeg.h"
#include "datasets/jpeg_writer_for_test.h"
#include "datasets/metadata_for_test.h"
#include "datasets/png.h"

namespace dcodec {
namespace {

TEST(Metadata, SerializesAndParsesEveryKind) {
  const Metadata m = MakeMetadataForTest();
  const std::vector<uint8_t> bytes = SerializeMetadata(m);
  auto parsed = ParseMetadata(bytes.data(), bytes.size());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, m);
  auto empty = ParseMetadata(SerializeMetadata({}).data(), 1);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Metadata, RefusesEveryCutAndExtraByteAndUnknownKind) {
  const std::vector<uint8_t> bytes = SerializeMetadata(MakeMetadataForTest());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(ParseMetadata(bytes.data(), n).ok()) << n;
  }
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(ParseMetadata(longer.data(), longer.size()).ok());
  std::vector<uint8_t> unknown = bytes;
  unknown[1] = 9;  // the first item's kind
  auto s = ParseMetadata(unknown.data(), unknown.size());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("unknown kind 9"), std::string::npos) << s.status().message();
  const std::vector<uint8_t> padded = {0x81, 0x00};  // a padded varint: not the one encoding of 1
  EXPECT_FALSE(ParseMetadata(padded.data(), padded.size()).ok());
}

TEST(Metadata, ReadsAndSetsTheExifOrientationInBothByteOrders) {
  for (bool big : {false, true}) {
    for (int o = 1; o <= 8; ++o) {
      std::vector<uint8_t> exif = MakeExifForTest(o, big);
      EXPECT_EQ(ExifOrientation(exif), o);
      ASSERT_TRUE(SetExifOrientation(exif, 9 - o));
      EXPECT_EQ(ExifOrientation(exif), 9 - o);
    }
  }
  std::vector<uint8_t> junk = {'I', 'I', 42, 0, 0xff, 0xff, 0xff, 0x7f};  // IFD0 past the end
  EXPECT_EQ(ExifOrientation(junk), 0);
  EXPECT_FALSE(SetExifOrientation(junk, 1));
  std::vector<uint8_t> none;
  EXPECT_EQ(ExifOrientation(none), 0);
}

TEST(Metadata, DescribesItsItems) {
  const std::vector<std::string> lines = DescribeMetadata(MakeMetadataForTest());
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[0], "ICC profile \"Test profile\": 600 bytes");
  EXPECT_NE(lines[4].find("orientation 6 (rotated 90° clockwise)"), std::string::npos) << lines[4];
  EXPECT_NE(lines[1].find("gamma 0.45455"), std::string::npos) << lines[1];
}

// A 3x2 image whose every pixel is distinct: (x, y) holds 10y + x.
Image Numbered() {
  Image image(3, 2, 1);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) image.at(x, y, 0) = static_cast<uint8_t>(10 * y + x);
  }
  return image;
}

TEST(AutoOrient, TurnsEachOrientationUpright) {
  // The upright picture for each orientation, row by row (TIFF 6.0: where the stored rows and columns go).
  const std::vector<std::vector<int>> upright = {
      {},
      {0, 1, 2, 10, 11, 12},     // 1: as stored
      {2, 1, 0, 12, 11, 10},     // 2: mirrored
      {12, 11, 10, 2, 1, 0},     // 3: 180°
      {10, 11, 12, 0, 1, 2},     // 4: mirrored vertically
      {0, 10, 1, 11, 2, 12},     // 5: transposed
      {10, 0, 11, 1, 12, 2},     // 6: 90° clockwise
      {12, 2, 11, 1, 10, 0},     // 7: transversed
      {2, 12, 1, 11, 0, 10},     // 8: 90° counter-clockwise
  };
  for (int o = 1; o <= 8; ++o) {
    Image image = Numbered();
    image.metadata.items.push_back({MetadataKind::kExif, "", MakeExifForTest(o)});
    EXPECT_EQ(AutoOrient(image), o);
    const bool swapped = o >= 5;
    ASSERT_EQ(image.width, swapped ? 2 : 3) << o;
    ASSERT_EQ(image.height, swapped ? 3 : 2) << o;
    EXPECT_EQ(std::vector<int>(image.data.begin(), image.data.end()), upright[o]) << o;
    EXPECT_EQ(ExifOrientation(image.metadata.Find(MetadataKind::kExif)->value), 1) << o;
  }
  Image plain = Numbered();
  EXPECT_EQ(AutoOrient(plain), 1);
  EXPECT_EQ(plain, Numbered());
}

Image Gradient(int channels) {
  Image image(5, 4, channels);
  for (size_t i = 0; i < image.data.size(); ++i) image.data[i] = static_cast<uint8_t>(37 * i);
  return image;
}

TEST(PngMetadata, EveryKindComesBackExactly) {
  for (int channels : {1, 3, 4}) {
    Image image = Gradient(channels);
    image.metadata = MakeMetadataForTest(/*grey=*/channels == 1);
    auto png = EncodePng(image);
    ASSERT_TRUE(png.ok()) << png.status().message();
    ImageReadOptions keep;
    keep.keep_metadata = true;
    keep.keep_alpha = true;
    auto back = DecodePng(png->data(), png->size(), "meta.png", keep);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->data, image.data);
    ASSERT_EQ(back->metadata.items.size(), image.metadata.items.size());
    for (size_t i = 0; i < image.metadata.items.size(); ++i) {
      EXPECT_EQ(back->metadata.items[i], image.metadata.items[i]) << channels << " item " << i;
    }
    // Without keep_metadata the reader skips all of it.
    auto pixels_only = DecodePng(png->data(), png->size(), "meta.png", ImageReadOptions{false, true});
    ASSERT_TRUE(pixels_only.ok());
    EXPECT_TRUE(pixels_only->metadata.empty());
  }
}

TEST(PngMetadata, AnSrgbChunkComesBackAloneAndLatin1TextAsUtf8) {
  Image image = Gradient(3);
  image.metadata.items.push_back({MetadataKind::kSrgb, "", {0}});
  auto png = EncodePng(image);
  ASSERT_TRUE(png.ok());
  ImageReadOptions keep;
  keep.keep_metadata = true;
  auto back = DecodePng(png->data(), png->size(), "srgb.png", keep);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->metadata, image.metadata);  // no gAMA or cHRM derived from it
  const uint8_t latin1[] = {'c', 'a', 'f', 0xE9};
  EXPECT_EQ(Latin1ToUtf8(latin1, 4), (std::vector<uint8_t>{'c', 'a', 'f', 0xC3, 0xA9}));
  EXPECT_TRUE(IsUtf8(Latin1ToUtf8(latin1, 4).data(), 5));
  EXPECT_FALSE(IsUtf8(latin1, 4));
}

TEST(PngMetadata, AProfileThatIsNotOneIsRefusedNotDropped) {
  Image image = Gradient(3);
  image.metadata.items.push_back({MetadataKind::kIcc, "bad", std::vector<uint8_t>(40, 1)});
  auto png = EncodePng(image);
  ASSERT_FALSE(png.ok());
  EXPECT_EQ(png.status().code(), StatusCode::kInvalidArgument);
}

TEST(JpegMetadata, ReadsIccExifXmpAndComments) {
  Image image = Gradient(3);
  JpegWriteOptionsForTest options;
  const std::vector<uint8_t> exif = MakeExifForTest(8, /*big_endian=*/true);
  options.app1 = std::string("Exif\0\0", 6) + std::string(exif.begin(), exif.end());
  options.icc = MakeIccProfileForTest("RGB ", 3);
  options.xmp = "<x:xmpmeta/>";
  options.comment = "caf\xE9";  // Latin-1
  const std::vector<uint8_t> jpeg = EncodeJpegForTest(image, options);
  ImageReadOptions keep;
  keep.keep_metadata = true;
  auto read = DecodeJpeg(jpeg.data(), jpeg.size(), "meta.jpg", keep);
  ASSERT_TRUE(read.ok()) << read.status().message();
  const Metadata& m = read->metadata;
  ASSERT_EQ(m.items.size(), 4u);
  EXPECT_EQ(m.items[0].kind, MetadataKind::kIcc);
  EXPECT_EQ(m.items[0].value, options.icc);
  EXPECT_EQ(m.items[1].kind, MetadataKind::kExif);
  EXPECT_EQ(m.items[1].value, exif);
  EXPECT_EQ(m.items[2].kind, MetadataKind::kXmp);
  EXPECT_EQ(std::string(m.items[2].value.begin(), m.items[2].value.end()), options.xmp);
  EXPECT_EQ(m.items[3].key, "Comment");
  EXPECT_EQ(std::string(m.items[3].value.begin(), m.items[3].value.end()), "caf\xC3\xA9");
  auto plain = DecodeJpeg(jpeg.data(), jpeg.size(), "meta.jpg");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->metadata.empty());
  EXPECT_EQ(plain->data, read->data);
  // Into a PNG and back: the same items.
  auto png = EncodePng(*read);
  ASSERT_TRUE(png.ok()) << png.status().message();
  auto again = DecodePng(png->data(), png->size(), "meta.png", keep);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->metadata, m);
}

TEST(JpegMetadata, ACmykProfileIsLeftOut) {
  Image cmyk(4, 4, 4);
  for (size_t i = 0; i < cmyk.data.size(); ++i) cmyk.data[i] = static_cast<uint8_t>(i * 13);
  JpegWriteOptionsForTest options;
  options.cmyk = true;
  options.icc = MakeIccProfileForTest("CMYK");
  const std::vector<uint8_t> jpeg = EncodeJpegForTest(cmyk, options);
  ImageReadOptions keep;
  keep.keep_metadata = true;
  auto read = DecodeJpeg(jpeg.data(), jpeg.size(), "cmyk.jpg", keep);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->channels, 3);
  EXPECT_EQ(read->metadata.Find(MetadataKind::kIcc), nullptr);
}

}  // namespace
}  // namespace dcodec
