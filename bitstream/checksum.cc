#include "bitstream/checksum.h"

#include <xxhash.h>

#include <array>

namespace dcodec::bitstream {
namespace {

constexpr uint32_t kCrc32cReflectedPolynomial = 0x82F63B78u;

using CrcTables = std::array<std::array<uint32_t, 256>, 4>;

constexpr CrcTables MakeTables() {
  CrcTables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ kCrc32cReflectedPolynomial : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int k = 1; k < 4; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
  }
  return t;
}

constexpr CrcTables kTables = MakeTables();

}  // namespace

uint32_t Crc32c(const uint8_t* data, size_t size, uint32_t crc) {
  uint32_t c = ~crc;
  while (size >= 4) {
    c ^= uint32_t{data[0]} | uint32_t{data[1]} << 8 | uint32_t{data[2]} << 16 | uint32_t{data[3]} << 24;
    c = kTables[3][c & 0xFF] ^ kTables[2][(c >> 8) & 0xFF] ^ kTables[1][(c >> 16) & 0xFF] ^ kTables[0][c >> 24];
    data += 4;
    size -= 4;
  }
  while (size-- > 0) c = (c >> 8) ^ kTables[0][(c ^ *data++) & 0xFF];
  return ~c;
}

uint64_t Xxh64(const uint8_t* data, size_t size, uint64_t seed) { return XXH64(data, size, seed); }

}  // namespace dcodec::bitstream
