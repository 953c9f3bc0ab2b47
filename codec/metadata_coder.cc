#include "codec/metadata_coder.h"

#include <zstd.h>

#include <algorithm>

#include "bitstream/leaky_quantizer.h"

namespace dcodec::codec {
namespace {

constexpr int kMaxLengthBits = 27;  // compressed frames up to 2^27 − 1 bytes
constexpr int kZstdLevel = 19;

int BitLength(uint64_t v) {
  int b = 0;
  for (; v; v >>= 1) ++b;
  return b;
}

}  // namespace

StatusOr<std::vector<uint8_t>> CompressMetadata(const Metadata& metadata) {
  if (metadata.empty()) return std::vector<uint8_t>();
  if (metadata.items.size() > kMaxMetadataItems || metadata.payload_bytes() > kMaxMetadataBytes) {
    return InvalidArgument("the image's metadata is larger than a stream carries (" +
                           std::to_string(metadata.items.size()) + " items, " +
                           std::to_string(metadata.payload_bytes()) + " bytes; at most 4096 items and 64 MiB)");
  }
  const std::vector<uint8_t> raw = SerializeMetadata(metadata);
  std::vector<uint8_t> out(ZSTD_compressBound(raw.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), kZstdLevel);
  if (ZSTD_isError(n)) return Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  if (BitLength(out.size()) > kMaxLengthBits) return InvalidArgument("the image's metadata is too large to carry");
  return out;
}

StatusOr<Metadata> DecompressMetadata(const uint8_t* data, size_t size) {
  const unsigned long long content = ZSTD_getFrameContentSize(data, size);
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN ||
      content > kMaxMetadataBytes + 16 * kMaxMetadataItems) {
    return InvalidInput("the stream's metadata is not a zstd frame dcodec writes");
  }
  std::vector<uint8_t> raw(static_cast<size_t>(content));
  const size_t n = ZSTD_decompress(raw.data(), raw.size(), data, size);
  if (ZSTD_isError(n) || n != raw.size()) {
    return InvalidInput(std::string("the stream's metadata does not decompress (zstd: ") +
                        (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size") + ")");
  }
  return ParseMetadata(raw.data(), raw.size());
}

StatusOr<std::vector<uint8_t>> PackMetadata(const Metadata& metadata, bool* raw) {
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> frame, CompressMetadata(metadata));
  *raw = false;
  if (frame.empty()) return frame;
  std::vector<uint8_t> serialized = SerializeMetadata(metadata);
  if (serialized.size() > frame.size()) return frame;
  *raw = true;
  return serialized;
}

StatusOr<Metadata> UnpackMetadata(const uint8_t* data, size_t size, bool raw) {
  if (!raw) return DecompressMetadata(data, size);
  return ParseMetadata(data, size);
}

void EncodeMetadataKind(bitstream::AnsEncoder& enc, bool raw, double* bits) {
  bitstream::EncodeUniform(enc, raw ? 1 : 0, 2);
  if (bits) *bits += 1;
}

StatusOr<bool> DecodeMetadataKind(bitstream::AnsDecoder& dec) {
  DCODEC_ASSIGN_OR_RETURN(uint32_t raw, bitstream::DecodeUniform(dec, 2));
  return raw == 1;
}

void EncodeMetadataSection(bitstream::AnsEncoder& enc, const std::vector<uint8_t>& compressed, double* bits) {
  bitstream::EncodeUniform(enc, compressed.empty() ? 0 : 1, 2);
  double written = 1;
  if (!compressed.empty()) {
    const uint64_t length = compressed.size();
    const int b = BitLength(length);
    bitstream::EncodeUniform(enc, static_cast<uint32_t>(b - 1), 32);
    if (b > 1) bitstream::EncodeUniform(enc, static_cast<uint32_t>(length - (uint64_t{1} << (b - 1))), 1u << (b - 1));
    size_t i = 0;
    for (; i + 1 < compressed.size(); i += 2) {
      bitstream::EncodeUniform(enc, uint32_t{compressed[i]} << 8 | compressed[i + 1], 1u << 16);
    }
    if (i < compressed.size()) bitstream::EncodeUniform(enc, compressed[i], 256);
    written += 5 + (b - 1) + 8.0 * compressed.size();
  }
  if (bits) *bits += written;
}

StatusOr<std::vector<uint8_t>> DecodeMetadataSection(bitstream::AnsDecoder& dec) {
  DCODEC_ASSIGN_OR_RETURN(uint32_t present, bitstream::DecodeUniform(dec, 2));
  std::vector<uint8_t> out;
  if (!present) return out;
  DCODEC_ASSIGN_OR_RETURN(uint32_t b1, bitstream::DecodeUniform(dec, 32));
  const int b = static_cast<int>(b1) + 1;
  if (b > kMaxLengthBits) return InvalidInput("the stream's metadata claims 2^" + std::to_string(b) + " bytes");
  uint64_t length = uint64_t{1} << (b - 1);
  if (b > 1) {
    DCODEC_ASSIGN_OR_RETURN(uint32_t low, bitstream::DecodeUniform(dec, 1u << (b - 1)));
    length += low;
  }
  // Every byte costs 8 bits: a length the data cannot hold runs out before it allocates much more than it read.
  out.reserve(static_cast<size_t>(std::min<uint64_t>(length, 1u << 16)));
  while (out.size() + 1 < length) {
    DCODEC_ASSIGN_OR_RETURN(uint32_t pair, bitstream::DecodeUniform(dec, 1u << 16));
    out.push_back(static_cast<uint8_t>(pair >> 8));
    out.push_back(static_cast<uint8_t>(pair));
  }
  if (out.size() < length) {
    DCODEC_ASSIGN_OR_RETURN(uint32_t last, bitstream::DecodeUniform(dec, 256));
    out.push_back(static_cast<uint8_t>(last));
  }
  return out;
}

}  // namespace dcodec::codec
