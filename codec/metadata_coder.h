// The image's metadata (datasets/metadata.h) in a stream (formats 6 and 7): zstd-compressed (format 7: or raw), coded right after stage 1
// so that it does not delay the first preview, and covered by the next check like every other symbol.
//
// The section is one symbol saying whether there is any metadata (uniform, 1 bit), and if there is the compressed
// length L (5 bits: its bit length b, 1..27; then L's low b − 1 bits, uniform) and L bytes (uniform, two a symbol,
// an odd last one alone): exactly 8 bits a byte plus 6 + b. The bytes are one zstd frame (level 19, no checksum:
// the stream's checks cover them) of SerializeMetadata's output.
#ifndef DCODEC_CODEC_METADATA_CODER_H_
#define DCODEC_CODEC_METADATA_CODER_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "bitstream/ans.h"
#include "datasets/metadata.h"

namespace dcodec::codec {

// The frame the stream carries: empty for empty metadata. kInvalidArgument over the limits (metadata.h).
StatusOr<std::vector<uint8_t>> CompressMetadata(const Metadata& metadata);
// kInvalidInput when the bytes are not one zstd frame of a serialized Metadata within the limits.
StatusOr<Metadata> DecompressMetadata(const uint8_t* data, size_t size);

// Format 7: the section's bytes are the zstd frame or, when that is no shorter, SerializeMetadata's bytes as they are
// (a PNG's sRGB chunk alone: 5 bytes raw, 15 as a frame), and one uniform bit after the section (when it is not
// empty) says which: 1 raw, 0 zstd. PackMetadata returns the shorter (empty for no metadata) and sets *raw;
// UnpackMetadata reads either.
StatusOr<std::vector<uint8_t>> PackMetadata(const Metadata& metadata, bool* raw);
StatusOr<Metadata> UnpackMetadata(const uint8_t* data, size_t size, bool raw);
void EncodeMetadataKind(bitstream::AnsEncoder& enc, bool raw, double* bits = nullptr);
StatusOr<bool> DecodeMetadataKind(bitstream::AnsDecoder& dec);

// `compressed`: CompressMetadata's frame (empty: none). *bits (if given) += what was written.
void EncodeMetadataSection(bitstream::AnsEncoder& enc, const std::vector<uint8_t>& compressed, double* bits = nullptr);
// The frame (empty: the stream has none). kTruncated if the data runs out, kInvalidInput for an impossible length.
StatusOr<std::vector<uint8_t>> DecodeMetadataSection(bitstream::AnsDecoder& dec);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_METADATA_CODER_H_
