// The .dcd stream container: a short header followed by one sealed ANS stream that carries every stage.
//
// Format version 13 (7 for streams that need nothing new, 8 for a cut chain, 9 for a first stage's own settings, 10
// for a cut that keeps the stage above it, 11 for both, 12 for Gaussian stages with region maps, 13 for region maps
// and a cut that keeps the stage above it).
// "varint" is LEB128 (7 bits a byte, low first, the high bit set on all but the last byte). A 32x32 image pays 0.008
// bpp for every header byte, so the header spends bytes only where it must and everything else (stage boundaries,
// side information, checks) lives inside the entropy-coded stream, where it costs bits, not bytes. docs/format.md is
// the prose version; docs/rate_audit.md says where every bit goes.
//
//   size    field
//   1       magic and version: 0xE2 (format 12: format 8's header and stream, but every Gaussian stage carries a
//           region map after its scale code, codec/region_map.h; the encoder writes it above 4096 pixels, 2^14
//           candidates a block or fewer) and 0xED (format 13: format 12 with format 10's cut); both at least two bits
//           from every other magic read. 0xE7 (format 10: format 8's header and stream, but its chain, cut at
//           chain_t_end, keeps every timestep above the cut, codec/chain.h; the encoder writes it only for a cut that
//           differs so, one whose stages are all Gaussian), 0xEB (format 11: the same with format 9's stream, the
//           Gaussian stages' settings; which of the two is known only once rate control has chosen its cut, after the
//           walk coded the first stage with or without settings); both at least two bits from every magic read, and
//           outside 0xD5..0xDF, where none is left: older builds call them "not a dcodec stream"). 0xD7 (format 9:
//           format 8's header; in the stream, every Gaussian stage says whether it has its own candidates and block
//           budget, codec/gaussian_stage.h, StageSettings; the encoder writes it only when a stage has; two bits from
//           0xD4, 0xDB, 0xDD and 0xDE, four from 0xD8, one from 0xD3, as 0xDB is). 0xDB (format 8: format 7 with one
//           more custom field, chain_t_end, so that a chain may end between two of its stages; the encoder writes it
//           only for such streams, else format 7; two bits from 0xDD, 0xDE and 0xD8, four from 0xD4, one from 0xD3, the
//           oldest format read). 0xDD (format 7: two bits from 0xDE, 0xD8 and 0xD4 and three from 0xD3, so that no
//           single bit flip turns it into a readable older one). Formats 7 and 6 have format 5's header. Format 6
//           (0xDE, two bits from the older ones) adds to the stream the metadata section after stage 1
//           (codec/metadata_coder.h); format 7 also the sample depth after the alpha plane and, for 16-bit samples,
//           their low bytes after the pixel stage's pixels (codec/low_byte_coder.h). Format 5 (0xD8: not 0xD5, for the
//           same reason) is read too, and formats 4 (0xD4) and 3 (0xD3): the same header without the file length;
//           format 3 also without the Gaussian stages' three parameters, which it takes as gaussian_stages = 0 (every
//           stage dithered). Version 2 (0xD2, the same header without the stream's portable x̂_0) and version 1 streams
//           (89 44 43 44) are refused as "written by an older dcodec"; 0xD5..0xDF other than 0xD7, 0xD8, 0xDB, 0xDD and
//           0xDE, and 0xE0..0xEF other than 0xE2, 0xE7, 0xEB and 0xED, are later versions (kUnsupported)
//   varint  F (formats 5 to 7): the bytes of the whole file, this header included. A decoder that has them all knows
//           the file is complete: a stage that then runs out of data, or fails its check, is damage, never the
//           end of a prefix. F comes first so that a flip in any later header field leaves it intact
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
//           portable_margin_bits, and from format 4 on gaussian_stages + 1 (0: the model's), gaussian_index_bits,
//           gaussian_block_quarters, and from format 8 on chain_t_end (0: none; else the chain is cut at it, see
//           codec/chain.h)
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
//   dd  85 01  6c  03  01  08  ...stream  F = 133 = 7 header bytes + a 6-byte state + 30 words,
//                                         P = ((5·5 + 6 − 4)·2 + 0)·2 + 0 = 108 = 0x6c
// (container_test checks this example byte for byte).
//
// Reading (ParseHeader) never crashes or reads past `size`: wrong magic -> kInvalidInput "not a dcodec stream";
// versions 1, 2 or > 13 -> kUnsupported; header cut short -> kTruncated; impossible values (size 0 or > 65535,
// > 2^28 pixels, 0 stages or more than kMaxStages, custom values out of range) -> kInvalidInput.
#ifndef DCODEC_BITSTREAM_CONTAINER_H_
#define DCODEC_BITSTREAM_CONTAINER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/status.h"

namespace dcodec::bitstream {

constexpr uint8_t kMagicV13 = 0xED;  // format 13 (see above)
constexpr uint8_t kMagicV12 = 0xE2;  // format 12
constexpr uint8_t kMagicV11 = 0xEB;  // format 11
constexpr uint8_t kMagicV10 = 0xE7;  // format 10
constexpr uint8_t kMagicV9 = 0xD7;   // format 9
constexpr uint8_t kMagicV8 = 0xDB;   // format 8
constexpr uint8_t kMagic = 0xDD;     // format 7
constexpr uint8_t kMagicV6 = 0xDE;   // two bits from 0xD8 and 0xD4, three from 0xD3
constexpr uint8_t kMagicV5 = 0xD8;   // two bits from 0xD4 and three from 0xD3
constexpr uint8_t kMagicV4 = 0xD4;
constexpr uint8_t kMagicV3 = 0xD3;
constexpr uint8_t kMagicV1[4] = {0x89, 'D', 'C', 'D'};
constexpr uint8_t kFormatVersion = 13;     // the newest read and written
constexpr uint8_t kFormatVersionBase = 7;  // what a stream that needs nothing of formats 8 and 9 is written as
constexpr uint32_t kMaxDimension = 65535;
constexpr uint64_t kMaxPixels = uint64_t{1} << 28;
constexpr uint32_t kMaxStages = 64;
// The file length F (formats 5 to 7) is a varint of at most 7 bytes: up to 2^48 − 1 bytes.
constexpr int kMaxFileBytesVarintBytes = 7;
constexpr uint64_t kMaxFileBytes = (uint64_t{1} << 48) - 1;

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
  // Format 8: 0, or the timestep the chain is cut at (codec/chain.h, ChainOptions::t_end); formats 3–7: 0.
  uint32_t chain_t_end = 0;
  bool operator==(const StreamParams& o) const {
    return dither_seed == o.dither_seed && tile_size == o.tile_size && tile_margin == o.tile_margin &&
           chain_stages == o.chain_stages && chain_t_max == o.chain_t_max && chain_t_min == o.chain_t_min &&
           portable_margin_bits == o.portable_margin_bits && gaussian_stages == o.gaussian_stages &&
           gaussian_index_bits == o.gaussian_index_bits && gaussian_block_quarters == o.gaussian_block_quarters &&
           chain_t_end == o.chain_t_end;
  }
};

struct StreamHeader {
  uint32_t width = 0, height = 0;
  uint8_t channels = 3;     // 1 or 3
  uint8_t model_tag = 0;    // low 8 bits of the model id
  uint32_t stages = 0;      // stages in the stream, 1..kMaxStages
  uint8_t state_bytes = 8;  // 4..8
  // 7, 8 (needed for params.chain_t_end), 9 (needed for a Gaussian stage's own settings), 10 (a cut that keeps the
  // timestep above it), 11 (both), 12 (region maps) or 13 (region maps and a cut that keeps the timestep above it),
  // or 6 / 5 / 4 / 3 for a parsed older header (written back as it was)
  uint8_t version = kFormatVersionBase;
  // Formats 5 to 7: the bytes of the whole file, header included (SerializeHeaderFor sets it). Formats 3 and 4
  // have no length: 0.
  uint64_t file_bytes = 0;
  bool has_length() const { return version >= 5; }
  // Format 6: the stream carries the metadata section after stage 1 (codec/metadata_coder.h).
  bool has_metadata() const { return version >= 6; }
  // Format 7: the sample depth after the alpha plane, a 16-bit image's low bytes after the pixels (low_byte_coder.h).
  bool has_depth() const { return version >= 7; }
  // Format 9: every Gaussian stage says whether it has its own candidates and block budget.
  bool has_stage_settings() const { return version == 9 || version == 11; }
  // Formats 10, 11 and 13: a cut chain keeps every timestep above chain_t_end (codec/chain.h,
  // ChainOptions::keep_above_cut).
  bool keeps_above_cut() const { return version == 10 || version == 11 || version == 13; }
  // Formats 12 and 13: every Gaussian stage carries a region map (codec/region_map.h).
  bool has_region_maps() const { return version == 12 || version == 13; }
  StreamParams params;
  // The custom bit: params are written and mean what they say. SerializeHeader sets it also when params differ
  // from the defaults; when it is clear, params are the defaults and the chain is the model's (see above).
  bool explicit_params = false;
};

// The header's bytes, with header.file_bytes as it is. kInvalidInput for a header ParseHeader would reject.
StatusOr<std::vector<uint8_t>> SerializeHeader(const StreamHeader& header);
// The header of a file whose header is followed by `payload_bytes` (the ANS stream): file_bytes set to the total,
// its own varint included. Formats 3 and 4: SerializeHeader.
StatusOr<std::vector<uint8_t>> SerializeHeaderFor(StreamHeader header, size_t payload_bytes);

struct ParsedHeader {
  StreamHeader header;
  size_t header_bytes = 0;  // the ANS stream starts here
  // Formats 5 and 6: the bytes of the complete file; 0 for formats 3 and 4, which do not say. ParseHeader has checked
  // that they hold this header, the state and whole words.
  uint64_t stream_bytes() const { return header.file_bytes; }
};
StatusOr<ParsedHeader> ParseHeader(const uint8_t* data, size_t size);

}  // namespace dcodec::bitstream

#endif  // DCODEC_BITSTREAM_CONTAINER_H_
