#include "bitstream/container.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

namespace dcodec::bitstream {
namespace {

StreamHeader ExampleHeader() {
  StreamHeader h;
  h.width = 4;
  h.height = 2;
  h.channels = 3;
  h.model_tag = 0x08;
  h.stages = 5;
  h.state_bytes = 6;
  h.file_bytes = 133;  // 7 header bytes, the 6-byte state, 30 words
  return h;
}

StreamHeader CustomHeader() {
  StreamHeader h = ExampleHeader();
  h.width = 1000;
  h.height = 3;
  h.channels = 1;
  h.stages = 2;
  h.state_bytes = 8;
  h.params.dither_seed = 123456789;
  h.params.tile_size = 64;
  h.params.tile_margin = 8;
  h.params.chain_stages = 6;
  h.params.chain_t_max = 800;
  h.params.chain_t_min = 3;
  h.params.portable_margin_bits = 14;
  h.params.gaussian_stages = 3;
  h.params.gaussian_index_bits = 9;
  h.params.gaussian_block_quarters = 30;
  auto bytes = SerializeHeaderFor(h, 8 + 4 * 250000);  // an 8-byte state and 250,000 words
  h.file_bytes = bytes.ok() ? bytes->size() + 8 + 4 * 250000 : 0;
  return h;
}

StatusCode ParseCode(const std::vector<uint8_t>& bytes) {
  return ParseHeader(bytes.data(), bytes.size()).status().code();
}

void ExpectSameHeader(const StreamHeader& a, const StreamHeader& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.channels, b.channels);
  EXPECT_EQ(a.model_tag, b.model_tag);
  EXPECT_EQ(a.stages, b.stages);
  EXPECT_EQ(a.state_bytes, b.state_bytes);
  EXPECT_EQ(a.file_bytes, b.file_bytes);
  EXPECT_TRUE(a.params == b.params);
}

TEST(ContainerTest, WorkedExampleFromTheHeader) {
  auto bytes = SerializeHeader(ExampleHeader());
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, (std::vector<uint8_t>{0xdd, 0x85, 0x01, 0x6c, 0x03, 0x01, 0x08}));
  auto parsed = ParseHeader(bytes->data(), bytes->size());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->header.has_length());
  EXPECT_TRUE(parsed->header.has_metadata());
  EXPECT_TRUE(parsed->header.has_depth());
  EXPECT_EQ(parsed->header.version, 7);
  EXPECT_EQ(parsed->stream_bytes(), 133u);
}

// Formats 6 (0xDE) and 5 (0xD8) have format 7's header (their streams lack the sample depth, and format 5 the
// metadata section): read, and written back as they were.
TEST(ContainerTest, Formats5And6AreReadAndWrittenBackAsTheyWere) {
  const std::vector<uint8_t> v6_bytes = {0xde, 0x85, 0x01, 0x6c, 0x03, 0x01, 0x08};
  auto v6 = ParseHeader(v6_bytes.data(), v6_bytes.size());
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->header.version, 6);
  EXPECT_TRUE(v6->header.has_metadata());
  EXPECT_FALSE(v6->header.has_depth());
  auto v6_again = SerializeHeader(v6->header);
  ASSERT_TRUE(v6_again.ok()) << v6_again.status().ToString();
  EXPECT_EQ(*v6_again, v6_bytes);
  const std::vector<uint8_t> v5_bytes = {0xd8, 0x85, 0x01, 0x6c, 0x03, 0x01, 0x08};
  auto v5 = ParseHeader(v5_bytes.data(), v5_bytes.size());
  ASSERT_TRUE(v5.ok()) << v5.status().ToString();
  EXPECT_EQ(v5->header.version, 5);
  EXPECT_TRUE(v5->header.has_length());
  EXPECT_FALSE(v5->header.has_metadata());
  EXPECT_EQ(v5->stream_bytes(), 133u);
  auto again = SerializeHeader(v5->header);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, v5_bytes);
  // No single bit flip of the current magic gives an older readable one.
  for (int bit = 0; bit < 8; ++bit) {
    const uint8_t flipped = static_cast<uint8_t>(kMagic ^ (1u << bit));
    EXPECT_NE(flipped, kMagicV6);
    EXPECT_NE(flipped, kMagicV5);
    EXPECT_NE(flipped, kMagicV4);
    EXPECT_NE(flipped, kMagicV3);
  }
}

// Format 5's file length counts its own varint (SerializeHeaderFor), must hold the header, the state and whole
// words, and is at most 2^48 - 1; formats 3 and 4 have none (stream_bytes() is 0: they cannot say where they end).
TEST(ContainerTest, Format5CarriesTheFileLength) {
  StreamHeader h = ExampleHeader();
  for (size_t payload : {size_t{6}, size_t{118}, size_t{122}, size_t{16378}, size_t{16382}, (size_t{1} << 30) + 2}) {
    auto bytes = SerializeHeaderFor(h, payload);
    ASSERT_TRUE(bytes.ok()) << payload;
    auto parsed = ParseHeader(bytes->data(), bytes->size());
    ASSERT_TRUE(parsed.ok()) << payload << ": " << parsed.status().ToString();
    EXPECT_EQ(parsed->stream_bytes(), bytes->size() + payload) << payload;
  }
  h.file_bytes = kMaxFileBytes + 1;
  EXPECT_FALSE(SerializeHeader(h).ok());
  EXPECT_EQ(ParseCode({0xdd, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x6c, 3, 1, 8}),
            StatusCode::kInvalidInput);                                                      // over 7 bytes
  EXPECT_EQ(ParseCode({0xdd, 0x85, 0x81, 0x00, 0x6c, 3, 1, 8}), StatusCode::kInvalidInput);  // not minimal
  EXPECT_EQ(ParseCode({0xdd, 0x86, 0x01, 0x6c, 3, 1, 8}), StatusCode::kInvalidInput);        // 134: no whole words
  EXPECT_TRUE(ParseHeader(std::vector<uint8_t>{0xdd, 0x0c, 0x6c, 3, 1, 8}.data(), 6).ok());  // 12: no words
  EXPECT_EQ(ParseCode({0xdd, 0x0b, 0x6c, 3, 1, 8}), StatusCode::kInvalidInput);  // 11: no room for the state
  EXPECT_EQ(ParseCode({0xdd, 0x85}), StatusCode::kTruncated);
  auto v4 = ParseHeader(std::vector<uint8_t>{0xd4, 0x6c, 0x03, 0x01, 0x08}.data(), 5);
  ASSERT_TRUE(v4.ok());
  EXPECT_FALSE(v4->header.has_length());
  EXPECT_EQ(v4->stream_bytes(), 0u);
  auto again = SerializeHeaderFor(v4->header, 100);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, (std::vector<uint8_t>{0xd4, 0x6c, 0x03, 0x01, 0x08}));
}

TEST(ContainerTest, Format3HasNoGaussianStages) {
  auto v3 = ParseHeader(std::vector<uint8_t>{0xd3, 0x6c, 0x03, 0x01, 0x08}.data(), 5);
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  EXPECT_EQ(v3->header.version, 3);
  EXPECT_EQ(v3->header.params.gaussian_stages, 0u);
  EXPECT_EQ(v3->header.params.chain_stages, 4u);
  // Parse -> serialize is the identity for format 3 too (with custom fields: 7 of them).
  const std::vector<uint8_t> v3_custom = {0xd3, 0x6d, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 16};
  auto parsed3 = ParseHeader(v3_custom.data(), v3_custom.size());
  ASSERT_TRUE(parsed3.ok()) << parsed3.status().ToString();
  auto again3 = SerializeHeader(parsed3->header);
  ASSERT_TRUE(again3.ok()) << again3.status().ToString();
  EXPECT_EQ(*again3, v3_custom);
  StreamHeader bad3 = parsed3->header;
  bad3.params.gaussian_stages = 1;
  EXPECT_FALSE(SerializeHeader(bad3).ok());
  auto v4 = ParseHeader(std::vector<uint8_t>{0xd4, 0x6c, 0x03, 0x01, 0x08}.data(), 5);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->header.version, 4);
  EXPECT_EQ(v4->header.params.gaussian_stages, kModelsGaussianStages);
  // Format 4, custom: ... margin 17, then 0 Gaussian stages (written + 1), 12 bits, 40 quarters.
  auto none = ParseHeader(
      std::vector<uint8_t>{0xd4, 0x6d, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 17, 1, 12, 40}.data(), 17);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->header.params.gaussian_stages, 0u);
  EXPECT_EQ(none->header_bytes, 17u);
  EXPECT_EQ(ParseCode({0xd4, 0x6d, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 17, 1, 17, 40}),
            StatusCode::kInvalidInput);  // 17 index bits
  EXPECT_EQ(ParseCode({0xd4, 0x6d, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 17, 6, 12, 40}),
            StatusCode::kInvalidInput);  // 5 Gaussian stages of a 4-stage chain
  EXPECT_EQ(ParseCode({0xd4, 0x6d, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 17, 0, 12}), StatusCode::kTruncated);
}

// Format 8 adds one custom field, the timestep a chain is cut at; a stream without a cut is written as format 7.
TEST(ContainerTest, Format8CarriesACutChain) {
  StreamHeader h = CustomHeader();
  h.version = 8;
  h.params.chain_t_end = 300;
  h.stages = 8;  // a cut chain may hold one stage more than its base (6 + 1), and the pixel stage
  auto bytes = SerializeHeaderFor(h, 8 + 4 * 100);  // sets the file length: an 8-byte state and 100 words
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ((*bytes)[0], kMagicV8);
  StreamHeader uncut = h;
  uncut.version = 7;
  uncut.params.chain_t_end = 0;
  uncut.stages = 7;
  auto v7 = SerializeHeaderFor(uncut, 8 + 4 * 100);
  ASSERT_TRUE(v7.ok());
  EXPECT_EQ(bytes->size(), v7->size() + 2);  // the varint 300
  auto parsed = ParseHeader(bytes->data(), bytes->size());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->header.version, 8);
  EXPECT_TRUE(parsed->header.has_depth());
  h.file_bytes = parsed->header.file_bytes;
  ExpectSameHeader(parsed->header, h);
  EXPECT_EQ(*SerializeHeader(parsed->header), *bytes);
  // Refused: a cut in a format-7 header, a cut with the model's parameters, more stages than the cut chain holds.
  StreamHeader bad = h;
  bad.version = 7;
  EXPECT_EQ(SerializeHeader(bad).status().code(), StatusCode::kInvalidInput);
  bad = h;
  bad.stages = 9;
  EXPECT_EQ(SerializeHeader(bad).status().code(), StatusCode::kInvalidInput);
  std::vector<uint8_t> too_many = *bytes;
  ASSERT_EQ(too_many[3] & 0x80, 0x80);  // after the magic and the 2-byte length: the packed field's low 7 bits
  too_many[3] = static_cast<uint8_t>(too_many[3] + 20);  // one stage more (stages · 5 · 2 · 2)
  EXPECT_EQ(ParseCode(too_many), StatusCode::kInvalidInput);
  // A format-8 header cut short inside its last field.
  const std::vector<uint8_t> prefix(bytes->begin(), bytes->end() - 1);
  EXPECT_EQ(ParseCode(prefix), StatusCode::kTruncated);
}

// `h` written as `version` has the bytes of `h` written as `like` but for its magic, `magic`; parsed, it is that
// version and writes the same bytes again. Returns the parse.
ParsedHeader ExpectHeaderLike(StreamHeader h, uint8_t version, uint8_t like, uint8_t magic) {
  h.version = version;
  auto bytes = SerializeHeaderFor(h, 8 + 4 * 100);
  StreamHeader other = h;
  other.version = like;
  auto other_bytes = SerializeHeaderFor(other, 8 + 4 * 100);
  EXPECT_TRUE(bytes.ok() && other_bytes.ok());
  if (!bytes.ok() || !other_bytes.ok()) return {};
  EXPECT_EQ((*bytes)[0], magic);
  EXPECT_TRUE(std::equal(bytes->begin() + 1, bytes->end(), other_bytes->begin() + 1));  // all but the magic
  auto parsed = ParseHeader(bytes->data(), bytes->size());
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return {};
  EXPECT_EQ(parsed->header.version, version);
  EXPECT_EQ(*SerializeHeader(parsed->header), *bytes);
  return *parsed;
}

// No single bit flip of `magic` gives one of `others`.
void ExpectNoFlipReaches(uint8_t magic, std::initializer_list<uint8_t> others) {
  for (int bit = 0; bit < 8; ++bit) {
    const uint8_t flipped = static_cast<uint8_t>(magic ^ (1u << bit));
    for (uint8_t other : others) EXPECT_NE(flipped, other) << int{magic};
  }
}

// Format 9 has format 8's header (its stream differs: a Gaussian stage may have its own settings); with a cut or
// without, custom parameters carry chain_t_end.
// `check(h, t_end)` on `h` without a cut and with one at t = 300 (stages to match).
template <typename Check>
void WithAndWithoutCut(StreamHeader h, Check check) {
  for (uint32_t t_end : {0u, 300u}) {
    h.params.chain_t_end = t_end;
    h.stages = t_end != 0 ? 8 : 7;
    check(h, t_end);
  }
}

TEST(ContainerTest, Format9HasFormat8sHeader) {
  WithAndWithoutCut(CustomHeader(), [](const StreamHeader& h, uint32_t t_end) {
    const ParsedHeader v9 = ExpectHeaderLike(h, 9, 8, kMagicV9);
    EXPECT_TRUE(v9.header.has_stage_settings());
    EXPECT_EQ(v9.header.params.chain_t_end, t_end);
    EXPECT_FALSE(ExpectHeaderLike(h, 8, 9, kMagicV8).header.has_stage_settings());
  });
  // One bit from format 3's magic, as format 8's is; two or more from every other readable one.
  ExpectNoFlipReaches(kMagicV9, {kMagicV8, kMagic, kMagicV6, kMagicV5, kMagicV4});
}

// Formats 10 and 11 have format 9's header under their own magics (their chain keeps the timestep above the cut;
// format 11 with format 9's stream, its stage settings); older builds' later-version range 0xD5..0xDF has no magic
// left at two bits from every readable one.
TEST(ContainerTest, Formats10And11HaveFormat9sHeader) {
  StreamHeader h = CustomHeader();
  h.params.chain_t_end = 300;
  h.stages = 8;
  const ParsedHeader v10 = ExpectHeaderLike(h, 10, 9, kMagicV10);
  EXPECT_TRUE(v10.header.keeps_above_cut());
  EXPECT_FALSE(v10.header.has_stage_settings());  // format 8's stream
  EXPECT_EQ(v10.header.params.chain_t_end, 300u);
  const ParsedHeader v11 = ExpectHeaderLike(h, 11, 9, kMagicV11);
  EXPECT_TRUE(v11.header.keeps_above_cut() && v11.header.has_stage_settings());
  EXPECT_FALSE(ExpectHeaderLike(h, 9, 10, kMagicV9).header.keeps_above_cut());
  ExpectNoFlipReaches(kMagicV10, {kMagicV9, kMagicV8, kMagic, kMagicV6, kMagicV5, kMagicV4, kMagicV3});
  ExpectNoFlipReaches(kMagicV11, {kMagicV10, kMagicV9, kMagicV8, kMagic, kMagicV6, kMagicV5, kMagicV4, kMagicV3});
  h.version = 10;
  auto bytes = SerializeHeaderFor(h, 8 + 4 * 100);
  ASSERT_TRUE(bytes.ok());
  // The rest of 0xE0..0xEF is left to later versions.
  std::vector<uint8_t> later = *bytes;
  later[0] = 0xE8;
  auto refused = ParseHeader(later.data(), later.size());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnsupported);
}

// Formats 12 and 13 have format 8's header under their own magics (every Gaussian stage carries a region map;
// format 13's cut keeps the timestep above it), at least two bits from every other magic read.
TEST(ContainerTest, Formats12And13HaveFormat8sHeader) {
  WithAndWithoutCut(CustomHeader(), [](const StreamHeader& h, uint32_t t_end) {
    const ParsedHeader v12 = ExpectHeaderLike(h, 12, 8, kMagicV12);
    EXPECT_TRUE(v12.header.has_region_maps());
    EXPECT_FALSE(v12.header.keeps_above_cut() || v12.header.has_stage_settings());
    EXPECT_EQ(v12.header.params.chain_t_end, t_end);
    const ParsedHeader v13 = ExpectHeaderLike(h, 13, 8, kMagicV13);
    EXPECT_TRUE(v13.header.has_region_maps() && v13.header.keeps_above_cut());
    EXPECT_FALSE(v13.header.has_stage_settings());
  });
  StreamHeader h = CustomHeader();
  for (uint8_t older : {7, 8, 9, 10, 11}) {
    StreamHeader o = CustomHeader();
    o.version = older;
    EXPECT_FALSE(o.has_region_maps()) << int{older};
  }
  const std::initializer_list<uint8_t> readable = {kMagicV11, kMagicV10, kMagicV9, kMagicV8, kMagic,
                                                   kMagicV6,  kMagicV5,  kMagicV4, kMagicV3};
  ExpectNoFlipReaches(kMagicV12, readable);
  ExpectNoFlipReaches(kMagicV13, readable);
  ExpectNoFlipReaches(kMagicV12, {kMagicV13});
  h.version = 14;
  EXPECT_FALSE(SerializeHeader(h).ok());
}

TEST(ContainerTest, Roundtrip) {
  for (const StreamHeader& h : {ExampleHeader(), CustomHeader()}) {
    auto bytes = SerializeHeader(h);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    std::vector<uint8_t> with_stream = *bytes;
    with_stream.insert(with_stream.end(), {1, 2, 3, 4, 5});  // the ANS stream follows; the header ignores it
    auto parsed = ParseHeader(with_stream.data(), with_stream.size());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->header_bytes, bytes->size());
    ExpectSameHeader(parsed->header, h);
  }
}

// custom = 0 is the model's chain, which the container cannot see: it may hold more stages than the format's
// default chain. custom = 1 with the default values is explicit: those values, not the model's.
TEST(ContainerTest, CustomBitSaysExplicitOrTheModels) {
  auto twelve = ParseHeader(std::vector<uint8_t>{0xd4, 0xfc, 0x01, 3, 1, 8}.data(), 6);  // 12 stages, not custom
  ASSERT_TRUE(twelve.ok()) << twelve.status().ToString();
  EXPECT_FALSE(twelve->header.explicit_params);
  EXPECT_EQ(twelve->header.stages, 12u);
  auto again = SerializeHeader(twelve->header);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, (std::vector<uint8_t>{0xd4, 0xfc, 0x01, 3, 1, 8}));
  // The same 12 stages with an explicit chain of 4: refused.
  EXPECT_EQ(ParseCode({0xd4, 0xfd, 0x01, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 17, 0, 16, 56}),
            StatusCode::kInvalidInput);
  // Explicit defaults (format 4 and 3): they parse, say so, and write back byte for byte.
  for (const std::vector<uint8_t>& bytes :
       {std::vector<uint8_t>{0xd4, 0x6d, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 17, 0, 16, 56},
        std::vector<uint8_t>{0xd3, 0x6d, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 17}}) {
    auto parsed = ParseHeader(bytes.data(), bytes.size());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_TRUE(parsed->header.explicit_params);
    EXPECT_EQ(parsed->header.params.chain_stages, 4u);
    auto written = SerializeHeader(parsed->header);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    EXPECT_EQ(*written, bytes);
    StreamHeader plain = parsed->header;
    plain.explicit_params = false;
    auto short_form = SerializeHeader(plain);
    ASSERT_TRUE(short_form.ok());
    EXPECT_EQ(short_form->size(), 5u);
  }
}

TEST(ContainerTest, DefaultsCostNoBytes) {
  auto plain = SerializeHeader(ExampleHeader());
  auto custom = SerializeHeader(CustomHeader());
  ASSERT_TRUE(plain.ok() && custom.ok());
  EXPECT_EQ(plain->size(), 7u);  // magic, file length (133: 2 bytes), packed fields, width, height, model tag
  EXPECT_GT(custom->size(), plain->size() + 6);
}

TEST(ContainerTest, TruncatedAtEveryByte) {
  for (const StreamHeader& h : {ExampleHeader(), CustomHeader()}) {
    auto bytes = SerializeHeader(h);
    ASSERT_TRUE(bytes.ok());
    for (size_t size = 0; size < bytes->size(); ++size) {
      const std::vector<uint8_t> prefix(bytes->begin(), bytes->begin() + size);  // own allocation for ASan
      EXPECT_EQ(ParseCode(prefix), StatusCode::kTruncated) << size;
    }
  }
}

TEST(ContainerTest, SingleBitFlipsChangeTheHeaderOrAreRejected) {
  // The header has no checksum of its own: the stream's first check covers it (codec.h). Here: a flip either
  // fails to parse or parses to a different header, never silently to the same one.
  for (const StreamHeader& h : {ExampleHeader(), CustomHeader()}) {
    auto bytes = SerializeHeader(h);
    ASSERT_TRUE(bytes.ok());
    for (size_t bit = 0; bit < 8 * bytes->size(); ++bit) {
      std::vector<uint8_t> flipped = *bytes;
      flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      auto parsed = ParseHeader(flipped.data(), flipped.size());
      if (!parsed.ok()) continue;
      auto again = SerializeHeader(parsed->header);
      ASSERT_TRUE(again.ok());
      EXPECT_NE(*again, *bytes) << "bit " << bit;
    }
  }
}

TEST(ContainerTest, ErrorKinds) {
  EXPECT_EQ(ParseCode({}), StatusCode::kTruncated);
  EXPECT_EQ(ParseCode({'P', 'N', 'G'}), StatusCode::kInvalidInput);
  EXPECT_EQ(ParseCode({0x89, 'P', 'N', 'G'}), StatusCode::kInvalidInput);
  EXPECT_EQ(ParseCode({0x89, 'D'}), StatusCode::kTruncated);
  // A version-1 stream gets a clear error, not "not a dcodec stream".
  auto v1 = ParseHeader(std::vector<uint8_t>{0x89, 'D', 'C', 'D', 1, 0, 3, 0}.data(), 8);
  EXPECT_EQ(v1.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(v1.status().message().find("version 1"), std::string::npos);
  // So does a version-2 stream (the format before the portable x̂_0).
  auto v2 = ParseHeader(std::vector<uint8_t>{0xd2, 0x6c, 0x03, 0x01, 0x08}.data(), 5);
  ASSERT_EQ(v2.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(v2.status().message().find("version 2 (written by an older dcodec)"), std::string::npos);
  for (uint8_t later : {0xd5, 0xd6, 0xd9, 0xdc, 0xdf}) {  // later formats (0xd8: 5, 0xde: 6, 0xdd: 7, 0xd7: 9)
    EXPECT_EQ(ParseCode({later, 0x85, 0x01, 0x6c, 3, 1, 8}), StatusCode::kUnsupported);
  }
  // Impossible values.
  EXPECT_EQ(ParseCode({0xd3, 0x00, 3, 1, 8}), StatusCode::kInvalidInput);  // 0 stages
  // A portable margin outside 8..30 (custom parameters: seed 0, tiles 256/16, chain 4 from 400 to 10, margin 7).
  EXPECT_EQ(ParseCode({0xd3, 0x6d, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 7}), StatusCode::kInvalidInput);
  EXPECT_EQ(ParseCode({0xd3, 0x6d, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 31}), StatusCode::kInvalidInput);
  EXPECT_TRUE(
      ParseHeader(std::vector<uint8_t>{0xd3, 0x6d, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 16}.data(), 14).ok());
  EXPECT_EQ(ParseCode({0xd3, 0xfd, 0x01, 3, 1, 8, 0, 0x80, 0x02, 16, 4, 0x90, 0x03, 10, 17}),
            StatusCode::kInvalidInput);  // 12 stages > an explicit chain of 4 + 1
  EXPECT_EQ(ParseCode({0xd3, 0x6c, 0xff, 0xff, 0x03, 1, 8}), StatusCode::kInvalidInput);  // width 65536
  EXPECT_EQ(ParseCode({0xd3, 0x6c, 0xff, 0xff, 0xff, 0x7f, 1, 8}), StatusCode::kInvalidInput);
  // Serialize refuses what Parse would refuse.
  StreamHeader bad = ExampleHeader();
  bad.stages = 0;
  EXPECT_FALSE(SerializeHeader(bad).ok());
  bad = ExampleHeader();
  bad.state_bytes = 3;
  EXPECT_FALSE(SerializeHeader(bad).ok());
  bad = ExampleHeader();
  bad.width = 0;
  EXPECT_FALSE(SerializeHeader(bad).ok());
}

TEST(ContainerTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> bytes(rng() % 24);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    if (!bytes.empty() && trial % 2 == 0) bytes[0] = kMagic;
    auto parsed = ParseHeader(bytes.data(), bytes.size());
    if (parsed.ok()) {
      EXPECT_LE(parsed->header_bytes, bytes.size());
      EXPECT_TRUE(SerializeHeader(parsed->header).ok());
    }
  }
}

}  // namespace
}  // namespace dcodec::bitstream
