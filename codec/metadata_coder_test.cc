#include "codec/metadata_coder.h"

#include <gtest/gtest.h>

#include <cmath>

#include "bitstream/leaky_quantizer.h"

#include "datasets/metadata_for_test.h"

namespace dcodec::codec {
namespace {

TEST(MetadataCoder, CompressesAndRoundTripsEveryKind) {
  const Metadata m = MakeMetadataForTest();
  auto frame = CompressMetadata(m);
  ASSERT_TRUE(frame.ok()) << frame.status().message();
  EXPECT_LT(frame->size(), m.payload_bytes());  // the 1,500-byte comment compresses
  auto back = DecompressMetadata(frame->data(), frame->size());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, m);
  auto none = CompressMetadata({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  std::vector<uint8_t> broken = *frame;
  broken.back() ^= 0x40;
  EXPECT_FALSE(DecompressMetadata(broken.data(), broken.size()).ok());
  EXPECT_FALSE(DecompressMetadata(frame->data(), frame->size() - 1).ok());
}

// Format 7 carries the shorter of the zstd frame and the serialization: a lone sRGB chunk raw, a long comment as a
// frame; both unpack to the items, and the kind bit round-trips.
TEST(MetadataCoder, PackKeepsTheShorterFormAndUnpacksBoth) {
  Metadata small;
  small.items.push_back({MetadataKind::kSrgb, "", {0}});
  bool raw = false;
  auto packed = PackMetadata(small, &raw);
  ASSERT_TRUE(packed.ok()) << packed.status().message();
  EXPECT_TRUE(raw);
  auto frame = CompressMetadata(small);
  ASSERT_TRUE(frame.ok());
  EXPECT_LT(packed->size(), frame->size());
  EXPECT_LE(packed->size(), 6u);
  auto back = UnpackMetadata(packed->data(), packed->size(), raw);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, small);

  const Metadata large = MakeMetadataForTest();
  auto zstd = PackMetadata(large, &raw);
  ASSERT_TRUE(zstd.ok());
  EXPECT_FALSE(raw);
  EXPECT_LT(zstd->size(), SerializeMetadata(large).size());
  auto large_back = UnpackMetadata(zstd->data(), zstd->size(), raw);
  ASSERT_TRUE(large_back.ok()) << large_back.status().message();
  EXPECT_EQ(*large_back, large);
  EXPECT_FALSE(UnpackMetadata(zstd->data(), zstd->size(), /*raw=*/true).ok());  // a frame is not a serialization

  auto none = PackMetadata({}, &raw);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(raw);

  for (bool kind : {false, true}) {
    bitstream::AnsEncoder enc;
    EncodeMetadataKind(enc, kind);
    bitstream::EncodeUniform(enc, 77, 100);
    const std::vector<uint8_t> bytes = enc.Finish();
    bitstream::AnsDecoder dec(bytes.data(), bytes.size());
    auto got = DecodeMetadataKind(dec);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, kind);
    auto sentinel = bitstream::DecodeUniform(dec, 100);
    ASSERT_TRUE(sentinel.ok());
    EXPECT_EQ(*sentinel, 77u);
  }
}

// Sections of every length class, odd and even, with sentinels before and after; every cut runs out (kTruncated).
TEST(MetadataCoder, SectionsRoundTripWithSentinelsAndCutsRunOut) {
  for (size_t length : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{255}, size_t{256}, size_t{1000}}) {
    std::vector<uint8_t> frame(length);
    for (size_t i = 0; i < length; ++i) frame[i] = static_cast<uint8_t>(i * 7 + 3);
    bitstream::AnsEncoder enc;
    bitstream::EncodeUniform(enc, 12345, 65521);
    double bits = 0;
    EncodeMetadataSection(enc, frame, &bits);
    bitstream::EncodeUniform(enc, 321, 1000);
    const std::vector<uint8_t> stream = enc.Finish();
    bitstream::AnsDecoder dec(stream.data(), stream.size(), 8);
    EXPECT_EQ(*bitstream::DecodeUniform(dec, 65521), 12345u);
    auto got = DecodeMetadataSection(dec);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, frame);
    EXPECT_EQ(*bitstream::DecodeUniform(dec, 1000), 321u);
    EXPECT_TRUE(dec.Finish(0).ok());
    EXPECT_NEAR(bits, length == 0 ? 1 : 6 + std::floor(std::log2(length)) + 8.0 * length, 1e-9) << length;
    if (length < 100) continue;
    for (size_t cut = 8; cut + 4 < stream.size(); cut += 4) {
      bitstream::AnsDecoder short_dec(stream.data(), cut, 8);
      Status s = bitstream::DecodeUniform(short_dec, 65521).status();
      if (s.ok()) s = DecodeMetadataSection(short_dec).status();
      if (s.ok()) s = bitstream::DecodeUniform(short_dec, 1000).status();
      if (s.ok()) s = short_dec.Finish(0);
      EXPECT_EQ(s.code(), StatusCode::kTruncated) << length << " cut " << cut;
    }
  }
}

}  // namespace
}  // namespace dcodec::codec
