#include "bitstream/container.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "bitstream/checksum.h"

namespace dcodec::bitstream {
namespace {

StreamHeader ExampleHeader() {
  StreamHeader h;
  h.width = 4;
  h.height = 2;
  h.channels = 3;
  h.model_id = 0x0102030405060708ull;
  h.method = 0;
  h.dither_seed = 42;
  h.schedule = {500, 0};
  h.side_info = {0xAA};
  h.stages = {{500, 0, 0, 0x11223344u}};
  return h;
}

// A richer stream: three of four stages present, payloads of assorted sizes including an empty one.
StreamHeader GoldenHeader() {
  StreamHeader h;
  h.width = 768;
  h.height = 512;
  h.channels = 3;
  h.model_id = 0x9E3779B97F4A7C15ull;
  h.method = 0;
  h.dither_seed = 0xDEADBEEFCAFEF00Dull;
  h.tile_size = 256;
  h.tile_margin = 16;
  h.schedule = {999, 600, 300, 0};
  h.side_info = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  h.stages = {{999, 0, 0, 0xA1u}, {600, 0, 0, 0xB2u}, {300, 0, 0, 0xC3u}};
  return h;
}

std::vector<std::vector<uint8_t>> GoldenPayloads() {
  std::vector<std::vector<uint8_t>> payloads(3);
  for (int i = 0; i < 37; ++i) payloads[0].push_back(static_cast<uint8_t>(i * 7 + 1));
  for (int i = 0; i < 300; ++i) payloads[2].push_back(static_cast<uint8_t>(i ^ 0x5A));
  return payloads;
}

std::vector<uint8_t> Serialize(const StreamHeader& h, const std::vector<std::vector<uint8_t>>& payloads) {
  StatusOr<std::vector<uint8_t>> bytes = SerializeStream(h, payloads);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

// Rewrites a header field at `offset` and recomputes the header CRC, as a buggy writer would.
void PatchHeader(std::vector<uint8_t>& bytes, size_t offset, const std::vector<uint8_t>& value, size_t crc_offset) {
  std::memcpy(bytes.data() + offset, value.data(), value.size());
  const uint32_t crc = Crc32c(bytes.data(), crc_offset);
  for (int i = 0; i < 4; ++i) bytes[crc_offset + i] = static_cast<uint8_t>(crc >> (8 * i));
}

StatusCode ParseCode(const std::vector<uint8_t>& bytes) {
  return ParseStream(bytes.data(), bytes.size()).status().code();
}

TEST(ContainerTest, WorkedExampleFromTheHeader) {
  const std::vector<uint8_t> payload = {0, 0, 0, 0x80, 0, 0, 0, 0};
  const std::vector<uint8_t> bytes = Serialize(ExampleHeader(), {payload});
  const uint32_t payload_crc = Crc32c(payload);
  const uint32_t header_crc = Crc32c(bytes.data(), 0x25);
  std::vector<uint8_t> expected = {
      0x89, 0x44, 0x43, 0x44, 0x01, 0x00, 0x03, 0x00,  // magic, version 1, flags 0, 3 channels, method 0
      0x04, 0x02,                                      // width 4, height 2 (varints)
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // model_id
      0x2a, 0x00, 0x00,                                // dither_seed 42, tile_size 0, tile_margin 0
      0x02, 0xf4, 0x03, 0x00,                          // S = 2, schedule {500, 0}
      0x01, 0xaa,                                      // B = 1, side information
      0x01, 0x08};                                     // N = 1, stage 1: 8 bytes
  for (uint32_t v : {payload_crc, 0x11223344u, header_crc}) {
    for (int i = 0; i < 4; ++i) expected.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  expected.insert(expected.end(), payload.begin(), payload.end());
  ASSERT_EQ(bytes.size(), 49u);
  EXPECT_EQ(bytes, expected);
  EXPECT_EQ(payload_crc, 0xe28a67d6u);
  EXPECT_EQ(header_crc, 0xade03c51u);
}

TEST(ContainerTest, Roundtrip) {
  const StreamHeader h = GoldenHeader();
  const std::vector<std::vector<uint8_t>> payloads = GoldenPayloads();
  const std::vector<uint8_t> bytes = Serialize(h, payloads);
  const StatusOr<ParsedStream> parsed = ParseStream(bytes.data(), bytes.size());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->truncated);
  const StreamHeader& p = parsed->header;
  EXPECT_EQ(p.width, h.width);
  EXPECT_EQ(p.height, h.height);
  EXPECT_EQ(p.channels, h.channels);
  EXPECT_EQ(p.model_id, h.model_id);
  EXPECT_EQ(p.method, h.method);
  EXPECT_EQ(p.dither_seed, h.dither_seed);
  EXPECT_EQ(p.tile_size, h.tile_size);
  EXPECT_EQ(p.tile_margin, h.tile_margin);
  EXPECT_EQ(p.schedule, h.schedule);
  EXPECT_EQ(p.side_info, h.side_info);
  ASSERT_EQ(p.stages.size(), 3u);
  ASSERT_EQ(parsed->payloads.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(p.stages[i].timestep, h.stages[i].timestep);
    EXPECT_EQ(p.stages[i].symbol_hash, h.stages[i].symbol_hash);
    EXPECT_EQ(p.stages[i].num_bytes, payloads[i].size());
    EXPECT_EQ(p.stages[i].payload_crc, Crc32c(payloads[i]));
    EXPECT_EQ(std::vector<uint8_t>(parsed->payloads[i].first, parsed->payloads[i].first + parsed->payloads[i].second),
              payloads[i]);
  }
}

// Any change to these bytes is a format change: bump kFormatVersion and update docs/format.md, don't just
// update the constant.
TEST(ContainerTest, GoldenBytes) {
  const std::vector<uint8_t> bytes = Serialize(GoldenHeader(), GoldenPayloads());
  EXPECT_EQ(bytes.size(), size_t{422});
  EXPECT_EQ(Xxh64(bytes), 0xd57f6bb481c1c5ecull) << std::hex << Xxh64(bytes);
}

TEST(ContainerTest, SideInformationIsCompressedOnlyWhenItPays) {
  StreamHeader h = GoldenHeader();
  h.stages.clear();
  h.side_info.assign(10000, 0);
  for (size_t i = 0; i < h.side_info.size(); i += 10) h.side_info[i] = static_cast<uint8_t>(i);
  const std::vector<uint8_t> compressed = Serialize(h, {});
  EXPECT_LT(compressed.size(), 3000u);
  EXPECT_EQ(compressed[5], 1);  // flags: zstd
  StatusOr<ParsedStream> parsed = ParseStream(compressed.data(), compressed.size());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.side_info, h.side_info);

  std::mt19937_64 rng(20);
  for (uint8_t& b : h.side_info) b = static_cast<uint8_t>(rng());
  const std::vector<uint8_t> raw = Serialize(h, {});
  EXPECT_EQ(raw[5], 0);
  parsed = ParseStream(raw.data(), raw.size());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.side_info, h.side_info);
}

TEST(ContainerTest, TruncatedAtEveryByte) {
  const std::vector<std::vector<uint8_t>> payloads = GoldenPayloads();
  const std::vector<uint8_t> bytes = Serialize(GoldenHeader(), payloads);
  const size_t header_end = bytes.size() - 37 - 0 - 300;
  for (size_t size = 0; size <= bytes.size(); ++size) {
    const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + size);  // own allocation: ASan sees over-reads
    const StatusOr<ParsedStream> parsed = ParseStream(prefix.data(), prefix.size());
    if (size < header_end) {
      ASSERT_FALSE(parsed.ok()) << size;
      if (size >= 4) {
        EXPECT_EQ(parsed.status().code(), StatusCode::kTruncated) << size;
      }
      continue;
    }
    ASSERT_TRUE(parsed.ok()) << size << ": " << parsed.status().ToString();
    EXPECT_EQ(parsed->truncated, size < bytes.size());
    const size_t complete = size >= header_end + 337 ? 3 : size >= header_end + 37 ? 2 : 0;
    ASSERT_EQ(parsed->payloads.size(), complete) << size;
    for (size_t i = 0; i < complete; ++i) {
      EXPECT_EQ(parsed->payloads[i].second, payloads[i].size());
      EXPECT_TRUE(std::equal(payloads[i].begin(), payloads[i].end(), parsed->payloads[i].first));
    }
  }
}

TEST(ContainerTest, EverySingleBitFlipIsRejected) {
  const std::vector<uint8_t> bytes = Serialize(GoldenHeader(), GoldenPayloads());
  const size_t header_end = bytes.size() - 337;
  for (size_t bit = 0; bit < 8 * bytes.size(); ++bit) {
    std::vector<uint8_t> flipped = bytes;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    const StatusCode code = ParseCode(flipped);
    ASSERT_NE(code, StatusCode::kOk) << "bit " << bit;
    if (bit / 8 >= header_end) {
      EXPECT_EQ(code, StatusCode::kCorrupt) << "bit " << bit;
    } else if (bit / 8 >= 5) {
      EXPECT_TRUE(code == StatusCode::kCorrupt || code == StatusCode::kTruncated) << "bit " << bit;
    }
  }
}

TEST(ContainerTest, ErrorKinds) {
  std::vector<uint8_t> bytes = Serialize(GoldenHeader(), GoldenPayloads());
  const size_t crc_offset = bytes.size() - 337 - 4;

  EXPECT_EQ(ParseCode({}), StatusCode::kInvalidInput);
  EXPECT_EQ(ParseCode({'P', 'N', 'G'}), StatusCode::kInvalidInput);
  EXPECT_EQ(ParseCode({0x89, 'D'}), StatusCode::kTruncated);
  const StatusOr<ParsedStream> png = ParseStream(reinterpret_cast<const uint8_t*>("\x89PNG\r\n\x1a\n"), 8);
  EXPECT_EQ(png.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(png.status().message().find("not a dcodec stream"), std::string::npos);

  std::vector<uint8_t> v = bytes;
  v[4] = 2;
  EXPECT_EQ(ParseCode(v), StatusCode::kUnsupported);
  v[4] = 0;
  EXPECT_EQ(ParseCode(v), StatusCode::kInvalidInput);

  v = bytes;
  v.push_back(0);
  EXPECT_EQ(ParseCode(v), StatusCode::kInvalidInput);  // trailing garbage

  v = bytes;
  v.back() ^= 1;
  const StatusOr<ParsedStream> corrupt = ParseStream(v.data(), v.size());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(corrupt.status().message().find("stage 2"), std::string::npos) << corrupt.status().message();

  // Well-checksummed headers with impossible values. GoldenHeader's width 768 is the varint 80 06 at offset 8.
  const std::vector<std::pair<size_t, std::vector<uint8_t>>> patches = {
      {8, {0x80, 0x00}},  // width 0 (a non-minimal varint, still 0)
      {6, {2}},           // channels 2
      {5, {0x80}},        // unknown flag
  };
  for (size_t i = 0; i < patches.size(); ++i) {
    v = bytes;
    PatchHeader(v, patches[i].first, patches[i].second, crc_offset);
    EXPECT_EQ(ParseCode(v), StatusCode::kInvalidInput) << i;
  }
  // 65535 x 4096 is allowed (just under 2^28 pixels); 65535 x 4097 and a 131071-pixel side are not.
  StreamHeader wide = GoldenHeader();
  wide.width = 65535;   // ff ff 03 at offset 8
  wide.height = 4096;   // 80 20 at offset 11
  std::vector<uint8_t> w = Serialize(wide, GoldenPayloads());
  const size_t wide_crc = w.size() - 337 - 4;
  EXPECT_EQ(ParseCode(w), StatusCode::kOk);
  v = w;
  PatchHeader(v, 11, {0x81, 0x20}, wide_crc);
  EXPECT_EQ(ParseCode(v), StatusCode::kInvalidInput);
  v = w;
  PatchHeader(v, 8, {0xff, 0xff, 0x07}, wide_crc);
  EXPECT_EQ(ParseCode(v), StatusCode::kInvalidInput);
}

TEST(ContainerTest, MoreStagesThanScheduleIsRejected) {
  StreamHeader h = GoldenHeader();
  h.schedule = {999, 600};
  EXPECT_EQ(SerializeStream(h, GoldenPayloads()).status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(SerializeStream(GoldenHeader(), {}).status().code(), StatusCode::kInvalidArgument);
  StreamHeader bad = GoldenHeader();
  bad.channels = 4;
  EXPECT_EQ(SerializeStream(bad, GoldenPayloads()).status().code(), StatusCode::kInvalidInput);
}

TEST(ContainerTest, ZeroStagesAndTruncationAtTheHeaderEnd) {
  StreamHeader h = GoldenHeader();
  h.stages.clear();
  const std::vector<uint8_t> bytes = Serialize(h, {});
  StatusOr<ParsedStream> parsed = ParseStream(bytes.data(), bytes.size());
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->truncated);
  EXPECT_TRUE(parsed->payloads.empty());
}

TEST(ContainerTest, RandomGarbageNeverCrashes) {
  std::mt19937_64 rng(21);
  const std::vector<uint8_t> good = Serialize(GoldenHeader(), GoldenPayloads());
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> bytes;
    if (trial % 2 == 0) {
      bytes.resize(rng() % 200);
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
      if (bytes.size() >= 5 && trial % 4 == 0)
        std::memcpy(bytes.data(),
                    "\x89"
                    "DCD\x01",
                    5);
    } else {
      bytes.assign(good.begin(), good.begin() + static_cast<ptrdiff_t>(rng() % (good.size() + 1)));
      for (int k = 0; k < 3 && !bytes.empty(); ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    }
    (void)ParseStream(bytes.data(), bytes.size());
  }
}

}  // namespace
}  // namespace dcodec::bitstream
