// Checksums for the stream container: CRC-32C (Castagnoli) for headers and payloads, and 64-bit xxHash for
// content identity (model ids, golden-file hashes).
#ifndef DCODEC_BITSTREAM_CHECKSUM_H_
#define DCODEC_BITSTREAM_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dcodec::bitstream {

// CRC-32C (polynomial 0x1EDC6F41, reflected, init and final xor 0xFFFFFFFF): Crc32c("123456789") == 0xE3069283.
// Software, table driven (slicing by 4), identical on every machine. To checksum in pieces, pass the previous
// result as `crc`: Crc32c(b, nb, Crc32c(a, na)) == Crc32c(a + b).
uint32_t Crc32c(const uint8_t* data, size_t size, uint32_t crc = 0);
inline uint32_t Crc32c(const std::vector<uint8_t>& data) { return Crc32c(data.data(), data.size()); }

// XXH64 of the bytes with the given seed (libxxhash).
uint64_t Xxh64(const uint8_t* data, size_t size, uint64_t seed = 0);
inline uint64_t Xxh64(const std::vector<uint8_t>& data, uint64_t seed = 0) {
  return Xxh64(data.data(), data.size(), seed);
}

}  // namespace dcodec::bitstream

#endif  // DCODEC_BITSTREAM_CHECKSUM_H_
