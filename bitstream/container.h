// The .dcd stream container: a checksummed header followed by one payload per coded stage.
//
// Format version 1. Fixed-size integers are little-endian; "varint" is LEB128 (7 bits a byte, low first, the high
// bit set on all but the last byte). Small images pay for every header byte (a 32x32 image: 1 byte = 0.008 bpp),
// hence the varints. Fields are append-only: a later version may add fields (with a new version number), never
// reorder, resize or reinterpret existing ones. docs/format.md is the prose version.
//
//   size    field
//   4       magic 89 44 43 44 ("\x89" "DCD"; the high bit catches 7-bit transports, like PNG's)
//   1       version = 1 (0 is invalid; > 1 is kUnsupported)
//   1       flags: bit 0 = side information is zstd-compressed; other bits must be 0
//   1       channels (1 or 3)
//   1       method (0 = dithered quantization)
//   varint  width   (1..65535)
//   varint  height  (1..65535; width * height <= 2^28)
//   8       model_id (hash of the model file)
//   varint  dither_seed
//   varint  tile_size
//   varint  tile_margin
//   varint  S = schedule length, then S varints: timesteps in coding order (tau_K .. tau_1, then 0 = lossless)
//   varint  B = stored side-information bytes; (only if flags bit 0) varint raw bytes after zstd (<= 64 MiB);
//           then B bytes (raw, or one zstd frame)
//   varint  N = number of stages present (N <= S); stage i's timestep is schedule[i]
//   per stage: varint num_bytes, u32 payload_crc (CRC-32C of the payload), u32 symbol_hash (the codec's hash
//           of the decoded symbols)
//   4       header CRC-32C of every byte above
//   ...     the N payloads back to back; the file ends exactly after the last one
//
// Worked example: a 4x2 RGB image, model_id 0x0102030405060708, method 0, dither_seed 42, no tiling, schedule
// {500, 0}, side information {0xAA}, one stage (symbol_hash 0x11223344) whose payload is the 8 bytes
// 00 00 00 80 00 00 00 00 (an empty ANS sub-stream). 49 bytes in all:
//   00: 89 44 43 44  01  00  03  00          magic, version 1, flags 0, 3 channels, method 0
//   08: 04  02                               width 4, height 2
//   0a: 08 07 06 05 04 03 02 01              model_id
//   12: 2a  00  00                           dither_seed 42, tile_size 0, tile_margin 0
//   15: 02  f4 03  00                        S = 2, schedule {500, 0}
//   19: 01  aa                               B = 1, side information
//   1b: 01  08  d6 67 8a e2  44 33 22 11     N = 1; 8 bytes, payload CRC, symbol hash
//   25: 51 3c e0 ad                          header CRC-32C of bytes 00..24 = 0xade03c51
//   29: 00 00 00 80 00 00 00 00              the payload
// (payload CRC-32C = 0xe28a67d6; container_test checks this example byte for byte.)
//
// Reading (ParseStream) never crashes or reads past `size`, on any input:
//   wrong magic -> kInvalidInput "not a dcodec stream"; version > 1 -> kUnsupported; header cut short ->
//   kTruncated; header CRC mismatch -> kCorrupt; a well-checksummed header with impossible values (size 0 or
//   > 65535, > 2^28 pixels, channels not 1 or 3, N > S, unknown flags, bad zstd frame) -> kInvalidInput;
//   payload CRC mismatch -> kCorrupt naming the stage; bytes after the last declared stage -> kInvalidInput.
//   A file that ends inside the stage payloads is a valid prefix: `truncated` is set and `payloads` holds the
//   complete (checksum-verified) stages only.
#ifndef DCODEC_BITSTREAM_CONTAINER_H_
#define DCODEC_BITSTREAM_CONTAINER_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "base/status.h"

namespace dcodec::bitstream {

constexpr uint8_t kMagic[4] = {0x89, 'D', 'C', 'D'};
constexpr uint8_t kFormatVersion = 1;
constexpr uint32_t kMaxDimension = 65535;
constexpr uint64_t kMaxPixels = uint64_t{1} << 28;
constexpr size_t kMaxScheduleLength = 65535;
constexpr size_t kMaxSideInfoBytes = size_t{64} << 20;

struct StageEntry {
  uint16_t timestep = 0;
  uint32_t num_bytes = 0;    // filled by SerializeStream
  uint32_t payload_crc = 0;  // filled by SerializeStream
  uint32_t symbol_hash = 0;
};

struct StreamHeader {
  uint32_t width = 0, height = 0;
  uint8_t channels = 3;
  uint64_t model_id = 0;  // hash of the model file
  uint8_t method = 0;     // coding method (0 = dithered quantization)
  uint64_t dither_seed = 0;
  uint32_t tile_size = 0, tile_margin = 0;
  std::vector<uint16_t> schedule;  // timesteps of the coding chain in coding order (tau_K..tau_1, then 0)
  std::vector<uint8_t> side_info;  // opaque codec side information (stored zstd-compressed when that is smaller)
  std::vector<StageEntry> stages;  // one per stage present in the file (may be fewer than schedule.size())
};

// Serializes header and payloads (payloads[i] belongs to header.stages[i]; num_bytes and payload_crc are taken
// from the payloads, whatever the header says). kInvalidInput for a header ParseStream would reject,
// kInvalidArgument if payloads.size() != header.stages.size(). Deterministic for a given zstd version (and
// independent of it when the side information is under 64 bytes, which is stored raw).
StatusOr<std::vector<uint8_t>> SerializeStream(const StreamHeader& header,
                                               const std::vector<std::vector<uint8_t>>& payloads);

struct ParsedStream {
  StreamHeader header;
  std::vector<std::pair<const uint8_t*, size_t>> payloads;  // complete, checksum-verified stages, in order;
                                                            // pointers into the parsed buffer
  bool truncated = false;  // the file ended inside the stage data: payloads holds the complete stages only
};

StatusOr<ParsedStream> ParseStream(const uint8_t* data, size_t size);

}  // namespace dcodec::bitstream

#endif  // DCODEC_BITSTREAM_CONTAINER_H_
