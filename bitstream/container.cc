#include "bitstream/container.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace dcodec::bitstream {
namespace {

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  void U8(uint8_t v) { out_.push_back(v); }
  // LEB128: 7 bits a byte, low first, high bit set on every byte but the last.
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
  }

 private:
  void Le(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t>& out_;
};

// Bounds-checked little-endian reader: every read either succeeds or leaves ok() false and reads nothing.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool ok() const { return ok_; }
  bool overlong() const { return overlong_; }  // a varint longer than allowed (not a truncation)
  size_t pos() const { return pos_; }
  uint8_t U8() { return static_cast<uint8_t>(Le(1)); }
  // Minimal LEB128 of at most max_bytes bytes (10 for 64 bits); anything longer or padded, or cut short, fails.
  uint64_t Varint(int max_bytes = 10) {
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; ++i) {
      const uint8_t* p = Bytes(1);
      if (p == nullptr) return 0;
      v |= uint64_t{static_cast<uint8_t>(*p & 0x7f)} << (7 * i);
      if (!(*p & 0x80)) {
        if (i > 0 && *p == 0) break;  // not minimal: every value has exactly one encoding
        if (i == 9 && *p > 1) break;  // beyond 64 bits
        return v;
      }
    }
    ok_ = false;
    overlong_ = true;
    return 0;
  }
  const uint8_t* Bytes(size_t n) {
    if (!ok_ || n > size_ - pos_) {
      ok_ = false;
      return nullptr;
    }
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }

 private:
  uint64_t Le(int bytes) {
    const uint8_t* p = Bytes(static_cast<size_t>(bytes));
    uint64_t v = 0;
    if (p == nullptr) return 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
    return v;
  }
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  bool ok_ = true;
  bool overlong_ = false;
};

// `custom`: the params are explicit (else they are the defaults and the chain is the model's, unknown here).
Status ValidateHeader(const StreamHeader& h, bool custom) {
  if (h.width < 1 || h.width > kMaxDimension || h.height < 1 || h.height > kMaxDimension ||
      uint64_t{h.width} * h.height > kMaxPixels) {
    return InvalidInput("image size " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                        " is out of range (1..65535 a side, at most 2^28 pixels)");
  }
  if (h.channels != 1 && h.channels != 3) {
    return InvalidInput("unsupported channel count " + std::to_string(h.channels) + " (1 or 3)");
  }
  if (h.stages < 1 || h.stages > kMaxStages) {
    return InvalidInput(std::to_string(h.stages) + " stages (1 to " + std::to_string(kMaxStages) + ")");
  }
  if (h.state_bytes < 4 || h.state_bytes > 8) {
    return InvalidInput("an ANS state of " + std::to_string(h.state_bytes) + " bytes (4 to 8)");
  }
  const StreamParams& p = h.params;
  if (p.tile_size < 16 || p.tile_size > 4096 || p.tile_margin > 256) {
    return InvalidInput("tile size " + std::to_string(p.tile_size) + " / margin " + std::to_string(p.tile_margin) +
                        " out of range (16..4096 / 0..256)");
  }
  if (p.chain_stages + 1 > kMaxStages || p.chain_t_max > 65535 || p.chain_t_min > 65535 || p.chain_t_min < 1 ||
      p.chain_t_max < 1) {
    return InvalidInput("coding chain of " + std::to_string(p.chain_stages) + " stages from t = " +
                        std::to_string(p.chain_t_max) + " to " + std::to_string(p.chain_t_min) + " out of range");
  }
  if (p.portable_margin_bits < 8 || p.portable_margin_bits > 30) {
    return InvalidInput("portable margin 2^-" + std::to_string(p.portable_margin_bits) + " out of range (8..30)");
  }
  if ((p.gaussian_stages != kModelsGaussianStages && p.gaussian_stages > p.chain_stages) || p.gaussian_index_bits < 1 ||
      p.gaussian_index_bits > 16 || p.gaussian_block_quarters < 1 || p.gaussian_block_quarters > 255) {
    return InvalidInput("Gaussian stages " + std::to_string(p.gaussian_stages) + " (of " +
                        std::to_string(p.chain_stages) + "), " + std::to_string(p.gaussian_index_bits) +
                        " index bits, blocks of " + std::to_string(p.gaussian_block_quarters) +
                        "/4 bits out of range (1..16, 1..255)");
  }
  if (p.chain_t_end > 65535 || (p.chain_t_end != 0 && (h.version < 8 || !custom))) {
    return InvalidInput("a chain cut at t = " + std::to_string(p.chain_t_end) +
                        (p.chain_t_end > 65535 ? " is out of range" : " needs format 8 and explicit parameters"));
  }
  // A cut chain may have one stage more than its base (codec/chain.h); every chain ends with the pixel stage.
  const uint32_t most = p.chain_stages + 1 + (p.chain_t_end != 0 ? 1 : 0);
  if (most > kMaxStages)
    return InvalidInput("a cut chain of " + std::to_string(p.chain_stages) + " stages is too long");
  if (custom && h.stages > most) {
    return InvalidInput(std::to_string(h.stages) + " stages but a chain of only " + std::to_string(most));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<uint8_t>> SerializeHeader(const StreamHeader& h) {
  // A parsed format-3 or format-4 header is written back as it was (format 3: no Gaussian stages, 7 custom
  // fields; formats 3 and 4: no stream length).
  const bool v3 = h.version == 3;
  const bool v4 = h.version == 4;
  StreamParams defaults;
  if (v3) defaults.gaussian_stages = 0;
  const bool custom = h.explicit_params || !(h.params == defaults);
  DCODEC_RETURN_IF_ERROR(ValidateHeader(h, custom));
  if (v3) {
    if (!(h.params.gaussian_stages == 0 && h.params.gaussian_index_bits == defaults.gaussian_index_bits &&
          h.params.gaussian_block_quarters == defaults.gaussian_block_quarters)) {
      return InvalidInput("a format 3 header cannot carry Gaussian stages");
    }
  } else if (h.version != 13 && h.version != 12 && h.version != 11 && h.version != 10 && h.version != 9 &&
             h.version != 8 && h.version != 7 && h.version != 6 && h.version != 5 && !v4) {
    return InvalidInput("format version " + std::to_string(h.version) + " cannot be written (3 to " +
                        std::to_string(kFormatVersion) + ")");
  }
  if (h.file_bytes > kMaxFileBytes) {
    return InvalidInput("a stream of " + std::to_string(h.file_bytes) + " bytes is longer than the format allows");
  }
  std::vector<uint8_t> out;
  Writer w(out);
  w.U8(v3                ? kMagicV3
       : v4              ? kMagicV4
       : h.version == 5  ? kMagicV5
       : h.version == 6  ? kMagicV6
       : h.version == 7  ? kMagic
       : h.version == 8  ? kMagicV8
       : h.version == 9  ? kMagicV9
       : h.version == 10 ? kMagicV10
       : h.version == 11 ? kMagicV11
       : h.version == 12 ? kMagicV12
                         : kMagicV13);
  if (!v3 && !v4) w.Varint(h.file_bytes);
  w.Varint(((uint64_t{h.stages} * 5 + (h.state_bytes - 4)) * 2 + (h.channels == 1 ? 1 : 0)) * 2 + (custom ? 1 : 0));
  w.Varint(h.width - 1);
  w.Varint(h.height - 1);
  w.U8(h.model_tag);
  if (custom) {
    const StreamParams& p = h.params;
    const uint64_t fields[10] = {
        p.dither_seed,          p.tile_size,
        p.tile_margin,          p.chain_stages,
        p.chain_t_max,          p.chain_t_min,
        p.portable_margin_bits, p.gaussian_stages == kModelsGaussianStages ? 0 : uint64_t{p.gaussian_stages} + 1,
        p.gaussian_index_bits,  p.gaussian_block_quarters};
    for (int i = 0; i < (v3 ? 7 : 10); ++i) w.Varint(fields[i]);
    if (h.version >= 8) w.Varint(p.chain_t_end);
  }
  return out;
}

StatusOr<ParsedHeader> ParseHeader(const uint8_t* data, size_t size) {
  if (data == nullptr && size != 0) return InvalidArgument("null stream data");
  if (size == 0) return Truncated("empty stream");
  if (data[0] == kMagicV1[0]) {
    size_t n = std::min<size_t>(size, 4);
    bool v1 = true;
    for (size_t i = 0; i < n; ++i) v1 = v1 && data[i] == kMagicV1[i];
    if (v1 && n == 4) {
      return Unsupported("format version 1 (written by an older dcodec); this build reads versions 3 to " +
                         std::to_string(kFormatVersion) + " only: re-encode the image");
    }
    if (v1) return Truncated("stream ends inside the magic number");
    return InvalidInput("not a dcodec stream");
  }
  if (data[0] > 0xD0 && data[0] < kMagicV3) {
    return Unsupported("format version " + std::to_string(data[0] - 0xD0) +
                       " (written by an older dcodec); this "
                       "build reads versions 3 to " +
                       std::to_string(kFormatVersion) + " only: re-encode the image");
  }
  if (((data[0] > kMagicV4 && data[0] <= 0xDF) || (data[0] >= 0xE0 && data[0] <= 0xEF)) && data[0] != kMagicV13 &&
      data[0] != kMagicV12 && data[0] != kMagicV11 && data[0] != kMagicV10 && data[0] != kMagicV9 &&
      data[0] != kMagicV8 && data[0] != kMagic && data[0] != kMagicV6 && data[0] != kMagicV5) {
    char magic[8];
    std::snprintf(magic, sizeof(magic), "%02x", data[0]);
    return Unsupported(std::string("a later format version (magic ") + magic + ") than this build's " +
                       std::to_string(kFormatVersion) + ": a newer dcodec wrote it");
  }
  if (data[0] != kMagicV13 && data[0] != kMagicV12 && data[0] != kMagicV11 && data[0] != kMagicV10 &&
      data[0] != kMagicV9 && data[0] != kMagicV8 && data[0] != kMagic && data[0] != kMagicV6 && data[0] != kMagicV5 &&
      data[0] != kMagicV4 && data[0] != kMagicV3) {
    return InvalidInput("not a dcodec stream");
  }
  const bool v3 = data[0] == kMagicV3, v4 = data[0] == kMagicV4, v5 = data[0] == kMagicV5, v6 = data[0] == kMagicV6;
  const bool v8 = data[0] == kMagicV8, v9 = data[0] == kMagicV9, v10 = data[0] == kMagicV10, v11 = data[0] == kMagicV11;
  const bool v12 = data[0] == kMagicV12, v13 = data[0] == kMagicV13;
  Reader r(data, size);
  r.U8();
  const uint64_t file_bytes = v3 || v4 ? 0 : r.Varint(kMaxFileBytesVarintBytes);
  ParsedHeader parsed;
  StreamHeader& h = parsed.header;
  const uint64_t packed = r.Varint(3);
  const uint64_t width = r.Varint(3) + 1, height = r.Varint(3) + 1;
  h.model_tag = r.U8();
  const bool custom = packed & 1;
  h.channels = (packed >> 1) & 1 ? 1 : 3;
  h.state_bytes = static_cast<uint8_t>(4 + (packed >> 2) % 5);
  const uint64_t stages = (packed >> 2) / 5;
  const StreamParams defaults;
  // v[7] is gaussian_stages + 1, 0 for the model's.
  uint64_t v[10] = {0, 256, 16, 4, 400, 10, 17, 0, defaults.gaussian_index_bits, defaults.gaussian_block_quarters};
  if (v3) v[7] = 1;  // format 3: every stage dithered
  if (custom) {
    for (int i = 0; i < (v3 ? 7 : 10); ++i) v[i] = r.Varint();
  }
  const uint64_t t_end = custom && (v8 || v9 || v10 || v11 || v12 || v13) ? r.Varint() : 0;
  if (r.overlong()) return InvalidInput("a header field is longer than its range allows");
  if (!r.ok()) return Truncated("stream ends inside its header");
  if (width > kMaxDimension || height > kMaxDimension) {
    return InvalidInput("image size " + std::to_string(width) + "x" + std::to_string(height) +
                        " is out of range (1..65535 a side, at most 2^28 pixels)");
  }
  if (stages > kMaxStages || v[1] > 4096 || v[2] > 256 || v[3] > kMaxStages || v[4] > 65535 || v[5] > 65535 ||
      v[6] < 8 || v[6] > 30 || v[7] > kMaxStages + 1 || v[8] > 16 || v[9] > 255 || t_end > 65535) {
    return InvalidInput("header values out of range");
  }
  h.width = static_cast<uint32_t>(width);
  h.height = static_cast<uint32_t>(height);
  h.stages = static_cast<uint32_t>(stages);
  h.params = StreamParams{v[0],
                          static_cast<uint32_t>(v[1]),
                          static_cast<uint32_t>(v[2]),
                          static_cast<uint32_t>(v[3]),
                          static_cast<uint32_t>(v[4]),
                          static_cast<uint32_t>(v[5]),
                          static_cast<uint32_t>(v[6]),
                          v[7] == 0 ? kModelsGaussianStages : static_cast<uint32_t>(v[7] - 1),
                          static_cast<uint32_t>(v[8]),
                          static_cast<uint32_t>(v[9]),
                          static_cast<uint32_t>(t_end)};
  h.file_bytes = file_bytes;
  h.version = v3 ? 3 : v4 ? 4 : v5 ? 5 : v6 ? 6 : v8 ? 8 : v9 ? 9 : v10 ? 10 : v11 ? 11 : v12 ? 12 : v13 ? 13 : 7;
  h.explicit_params = custom;
  DCODEC_RETURN_IF_ERROR(ValidateHeader(h, custom));
  parsed.header_bytes = r.pos();
  if (h.has_length() && (file_bytes > kMaxFileBytes || file_bytes < parsed.header_bytes + h.state_bytes ||
                         (file_bytes - parsed.header_bytes - h.state_bytes) % 4 != 0)) {
    return InvalidInput("the header's stream length (" + std::to_string(file_bytes) + " bytes) cannot hold a " +
                        std::to_string(parsed.header_bytes) + "-byte header, a " + std::to_string(h.state_bytes) +
                        "-byte state and whole 32-bit words");
  }
  return parsed;
}

StatusOr<std::vector<uint8_t>> SerializeHeaderFor(StreamHeader header, size_t payload_bytes) {
  if (!header.has_length()) return SerializeHeader(header);
  // The length counts its own varint: grow it until it holds the total it names.
  header.file_bytes = 0;
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, SerializeHeader(header));
  for (int attempt = 0; attempt < kMaxFileBytesVarintBytes; ++attempt) {
    const uint64_t total = bytes.size() + payload_bytes;
    if (total == header.file_bytes) return bytes;
    header.file_bytes = total;
    DCODEC_ASSIGN_OR_RETURN(bytes, SerializeHeader(header));
  }
  return Internal("the stream length's varint did not settle");
}

}  // namespace dcodec::bitstream
