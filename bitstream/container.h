// The .dcd stream container: a short header followed by one sealed ANS stream that carries every stage.
//
// Format version 4. "varint" is LEB128 (7 bits a byte, low first, the high bit set on all but the last byte).
// A 32x32 image pays 0.008 bpp for every header byte, so the header spends bytes only where it must and
// everything else (stage boundaries, side information, checks) lives inside the entropy-coded stream, where it
// costs bits, not bytes. docs/format.md is the prose version; docs/rate_audit.md says where every bit goes.
//
//   size    field
//   1       magic and version: 0xD4 (format 4). Format 3 (0xD3) is read too: the same header without the
//           Gaussian stages' three parameters, which it takes as gaussian_stages = 0 (every stage dithered).
//           Version 2 (0xD2, the same header without the stream's portable x̂_0) and version 1 streams
//           (89 44 43 44) are refused as "written by an older dcodec"; 0xD5..0xDF are later versions (kUnsupported)
//   varint  P = ((stages · 5 + state_bytes − 4) · 2 + grey) · 2 + custom, where
//             stages       how many stages the stream holds (1..kMaxStages; the schedule's length says how many
//                          the encoder planned)
//             state_bytes  4..8: the bytes of the ANS stream's final state (bitstream/ans.h, Seal)
//             grey         1: one channel (coded as three equal planes), 0: RGB
//             custom       1: the parameters below follow, explicitly; 0: the model's defaults (see below)
//   varint  width − 1   (width 1..65535)
//   varint  height − 1  (height 1..65535; width · height <= 2^28)
//   1       model tag: the low 8 bits of the model id; the full 64-bit id enters every check
//   (only if custom) varint dither_seed, tile_size, tile_margin, chain_stages, chain_t_max, chain_t_min,
//           portable_margin_bits, and in format 4 gaussian_stages + 1 (0: the model's), gaussian_index_bits,
//           gaussian_block_quarters
//   ...     the ANS stream, to the end of the file
//
// custom = 0 means "the model's defaults": the coding chain (stages, t_max, t_min) and the Gaussian stages are the
// ones the model file's codec record names (codec/denoiser.h, CodecDefaults; a model without one: 4, 400, 10 and
// the Gaussian stages it was trained with), every other field its default above. The stream is tied to its model
// (the tag, and the full id in every check), so the decoder resolves them exactly as the encoder did. A header
// whose fields all equal the defaults may still be custom: it then means those values, not the model's.
//
// Integrity lives in the stream (codec.cc): every stage but the last ends with a 9-bit check symbol and the
// stream's initial state holds a 31-bit check of the whole file (ans.h); both are hashes chained from the header
// bytes and the model id, so a damaged header fails the first check. The container itself validates only what it
// can see.
//
// Worked example: a 4x2 RGB image, model id ...08, default parameters, 5 stages, a 6-byte final state:
//   d4  6c  03  01  08  ...stream         P = ((5·5 + 6 − 4)·2 + 0)·2 + 0 = 108 = 0x6c
// (container_test checks this example byte for byte).
//
// Reading (ParseHeader) never crashes or reads past `size`: wrong magic -> kInvalidInput "not a dcodec stream";
// versions 1, 2 or > 4 -> kUnsupported; header cut short -> kTruncated; impossible values (size 0 or > 65535,
// > 2^28 pixels, 0 stages or more than kMaxStages, custom values out of range) -> kInvalidInput.
#ifndef DCODEC_BITSTREAM_CONTAINER_H_
#define DCODEC_BITSTREAM_CONTAINER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/status.h"

namespace dcodec::bitstream {

constexpr uint8_t kMagic = 0xD4;  // 0xD0 + kFormatVersion
constexpr uint8_t kMagicV3 = 0xD3;
constexpr uint8_t kMagicV1[4] = {0x89, 'D', 'C', 'D'};
constexpr uint8_t kFormatVersion = 4;
constexpr uint32_t kMaxDimension = 65535;
constexpr uint64_t kMaxPixels = uint64_t{1} << 28;
constexpr uint32_t kMaxStages = 64;

constexpr uint32_t kModelsGaussianStages = 0xFFFFFFFFu;

// The parameters a stream carries only when they differ from these (the format's defaults).
struct StreamParams {
  uint64_t dither_seed = 0;
  uint32_t tile_size = 256, tile_margin = 16;
  uint32_t chain_stages = 4, chain_t_max = 400, chain_t_min = 10;
  // The portable x̂_0's margin μ = 2^-portable_margin_bits in units of ε (codec/portable.h), 8..30.
  uint32_t portable_margin_bits = 17;
  // The chain's first gaussian_stages stages are Gaussian (codec/gaussian_stage.h): 2^gaussian_index_bits candidates
  // (1..16) a block of gaussian_block_quarters / 4 expected bits (1..255). kModelsGaussianStages: as many as the
  // model was trained with (the decoder has the model; its id enters every check). Format 3 streams: 0.
  uint32_t gaussian_stages = kModelsGaussianStages, gaussian_index_bits = 16, gaussian_block_quarters = 56;
  bool operator==(const StreamParams& o) const {
    return dither_seed == o.dither_seed && tile_size == o.tile_size && tile_margin == o.tile_margin &&
           chain_stages == o.chain_stages && chain_t_max == o.chain_t_max && chain_t_min == o.chain_t_min &&
           portable_margin_bits == o.portable_margin_bits && gaussian_stages == o.gaussian_stages &&
           gaussian_index_bits == o.gaussian_index_bits && gaussian_block_quarters == o.gaussian_block_quarters;
  }
};

struct StreamHeader {
  uint32_t width = 0, height = 0;
  uint8_t channels = 3;     // 1 or 3
  uint8_t model_tag = 0;    // low 8 bits of the model id
  uint32_t stages = 0;      // stages in the stream, 1..kMaxStages
  uint8_t state_bytes = 8;  // 4..8
  uint8_t version = kFormatVersion;  // 4, or 3 for a parsed format-3 header (written back as format 3)
  StreamParams params;
  // The custom bit: params are written and mean what they say. SerializeHeader sets it also when params differ
  // from the defaults; when it is clear, params are the defaults and the chain is the model's (see above).
  bool explicit_params = false;
};

// The header's bytes. kInvalidInput for a header ParseHeader would reject.
StatusOr<std::vector<uint8_t>> SerializeHeader(const StreamHeader& header);

struct ParsedHeader {
  StreamHeader header;
  size_t header_bytes = 0;  // the ANS stream starts here
};
StatusOr<ParsedHeader> ParseHeader(const uint8_t* data, size_t size);

}  // namespace dcodec::bitstream

#endif  // DCODEC_BITSTREAM_CONTAINER_H_
