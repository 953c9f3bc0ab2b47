#include "bitstream/checksum.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace dcodec::bitstream {
namespace {

const uint8_t* Bytes(const char* s) { return reinterpret_cast<const uint8_t*>(s); }

TEST(ChecksumTest, Crc32cKnownVectors) {
  EXPECT_EQ(Crc32c(Bytes("123456789"), 9), 0xE3069283u);
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
  const std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4
  const std::vector<uint8_t> ones(32, 0xFF);
  EXPECT_EQ(Crc32c(ones), 0x62A8AB43u);
}

TEST(ChecksumTest, Crc32cIncrementalMatchesOneShot) {
  std::mt19937_64 rng(5);
  std::vector<uint8_t> data(1000);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  const uint32_t whole = Crc32c(data);
  for (size_t split : {0, 1, 3, 4, 5, 17, 999, 1000}) {
    EXPECT_EQ(Crc32c(data.data() + split, data.size() - split, Crc32c(data.data(), split)), whole) << split;
  }
}

TEST(ChecksumTest, Xxh64KnownVectors) {
  EXPECT_EQ(Xxh64(nullptr, 0), 0xEF46DB3751D8E999ull);
  EXPECT_NE(Xxh64(Bytes("a"), 1), Xxh64(Bytes("a"), 1, 1));
}

}  // namespace
}  // namespace dcodec::bitstream
