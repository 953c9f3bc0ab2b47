#include "bitstream/container.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "bitstream/checksum.h"

namespace dcodec::bitstream {
namespace {

constexpr uint8_t kFlagSideInfoZstd = 1;
constexpr uint8_t kKnownFlags = kFlagSideInfoZstd;
constexpr size_t kSideInfoZstdMinBytes = 64;  // below this a zstd frame (>= 9 bytes + 4 for the raw size) never pays
constexpr int kSideInfoZstdLevel = 19;

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  void U8(uint8_t v) { out_.push_back(v); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void Bytes(const uint8_t* p, size_t n) { out_.insert(out_.end(), p, p + n); }
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
  size_t pos() const { return pos_; }
  uint8_t U8() { return static_cast<uint8_t>(Le(1)); }
  uint32_t U32() { return static_cast<uint32_t>(Le(4)); }
  uint64_t U64() { return Le(8); }
  // LEB128 of at most max_bytes bytes (10 for 64 bits); anything longer, or cut short, fails.
  uint64_t Varint(int max_bytes = 10) {
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; ++i) {
      const uint8_t* p = Bytes(1);
      if (p == nullptr) return 0;
      v |= uint64_t{static_cast<uint8_t>(*p & 0x7f)} << (7 * i);
      if (!(*p & 0x80)) return v;
    }
    ok_ = false;
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
};

Status ValidateHeader(const StreamHeader& h) {
  if (h.width == 0 || h.height == 0 || h.width > kMaxDimension || h.height > kMaxDimension ||
      uint64_t{h.width} * h.height > kMaxPixels) {
    return InvalidInput("image size " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                        " out of range (1..65535 per side, at most 2^28 pixels)");
  }
  if (h.channels != 1 && h.channels != 3) {
    return InvalidInput("unsupported channel count " + std::to_string(h.channels) + " (1 or 3)");
  }
  if (h.schedule.size() > kMaxScheduleLength) {
    return InvalidInput("schedule of " + std::to_string(h.schedule.size()) + " steps exceeds 65535");
  }
  if (h.stages.size() > h.schedule.size()) {
    return InvalidInput(std::to_string(h.stages.size()) + " stages but a schedule of only " +
                        std::to_string(h.schedule.size()) + " steps");
  }
  if (h.side_info.size() > kMaxSideInfoBytes) {
    return InvalidInput("side information of " + std::to_string(h.side_info.size()) + " bytes exceeds 64 MiB");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<uint8_t>> SerializeStream(const StreamHeader& header,
                                               const std::vector<std::vector<uint8_t>>& payloads) {
  DCODEC_RETURN_IF_ERROR(ValidateHeader(header));
  if (payloads.size() != header.stages.size()) {
    return InvalidArgument(std::to_string(payloads.size()) + " payloads for " + std::to_string(header.stages.size()) +
                           " stages");
  }
  for (const auto& p : payloads) {
    if (p.size() > std::numeric_limits<uint32_t>::max()) return InvalidArgument("stage payload over 4 GiB");
  }

  // Side information: zstd only where the frame plus its 4-byte raw size is smaller than the raw bytes.
  uint8_t flags = 0;
  std::vector<uint8_t> side_stored;
  if (header.side_info.size() >= kSideInfoZstdMinBytes) {
    std::vector<uint8_t> compressed(ZSTD_compressBound(header.side_info.size()));
    const size_t n = ZSTD_compress(compressed.data(), compressed.size(), header.side_info.data(),
                                   header.side_info.size(), kSideInfoZstdLevel);
    if (!ZSTD_isError(n) && n + 4 < header.side_info.size()) {
      compressed.resize(n);
      side_stored = std::move(compressed);
      flags |= kFlagSideInfoZstd;
    }
  }

  std::vector<uint8_t> out;
  size_t payload_total = 0;
  for (const auto& p : payloads) payload_total += p.size();
  out.reserve(64 + 2 * header.schedule.size() + side_stored.size() + header.side_info.size() +
              14 * header.stages.size() + payload_total);
  Writer w(out);
  w.Bytes(kMagic, sizeof(kMagic));
  w.U8(kFormatVersion);
  w.U8(flags);
  w.U8(header.channels);
  w.U8(header.method);
  w.Varint(header.width);
  w.Varint(header.height);
  w.U64(header.model_id);
  w.Varint(header.dither_seed);
  w.Varint(header.tile_size);
  w.Varint(header.tile_margin);
  w.Varint(header.schedule.size());
  for (uint16_t t : header.schedule) w.Varint(t);
  if (flags & kFlagSideInfoZstd) {
    w.Varint(side_stored.size());
    w.Varint(header.side_info.size());
    w.Bytes(side_stored.data(), side_stored.size());
  } else {
    w.Varint(header.side_info.size());
    w.Bytes(header.side_info.data(), header.side_info.size());
  }
  w.Varint(header.stages.size());
  for (size_t i = 0; i < header.stages.size(); ++i) {
    w.Varint(payloads[i].size());
    w.U32(Crc32c(payloads[i]));
    w.U32(header.stages[i].symbol_hash);
  }
  w.U32(Crc32c(out.data(), out.size()));
  for (const auto& p : payloads) w.Bytes(p.data(), p.size());
  return out;
}

StatusOr<ParsedStream> ParseStream(const uint8_t* data, size_t size) {
  if (data == nullptr && size != 0) return InvalidArgument("null stream data");
  if (size < sizeof(kMagic)) {
    if (size == 0 || std::memcmp(data, kMagic, size) != 0) return InvalidInput("not a dcodec stream");
    return Truncated("stream ends inside the magic number");
  }
  if (std::memcmp(data, kMagic, sizeof(kMagic)) != 0) return InvalidInput("not a dcodec stream");
  if (size < sizeof(kMagic) + 1) return Truncated("stream ends before the format version");
  const uint8_t version = data[sizeof(kMagic)];
  if (version == 0) return InvalidInput("format version 0 does not exist");
  if (version > kFormatVersion) {
    return Unsupported("format version " + std::to_string(version) + " is newer than this build's " +
                       std::to_string(kFormatVersion));
  }

  ParsedStream parsed;
  StreamHeader& h = parsed.header;
  Reader r(data, size);
  r.Bytes(sizeof(kMagic) + 1);
  const uint8_t flags = r.U8();
  h.channels = r.U8();
  h.method = r.U8();
  h.width = static_cast<uint32_t>(std::min<uint64_t>(r.Varint(5), UINT32_MAX));
  h.height = static_cast<uint32_t>(std::min<uint64_t>(r.Varint(5), UINT32_MAX));
  h.model_id = r.U64();
  h.dither_seed = r.Varint();
  h.tile_size = static_cast<uint32_t>(std::min<uint64_t>(r.Varint(5), UINT32_MAX));
  h.tile_margin = static_cast<uint32_t>(std::min<uint64_t>(r.Varint(5), UINT32_MAX));
  const uint64_t schedule_length = r.Varint(3);
  // Each schedule entry takes at least one byte: a length beyond the bytes left is a cut (or bad) header.
  if (r.ok() && schedule_length <= std::min<uint64_t>(kMaxScheduleLength, size - r.pos())) {
    h.schedule.resize(schedule_length);
    for (uint16_t& t : h.schedule) t = static_cast<uint16_t>(std::min<uint64_t>(r.Varint(3), UINT16_MAX));
  } else if (r.ok()) {
    return Truncated("stream header cut short");  // (or a damaged length: the CRC cannot be reached)
  }
  const uint64_t side_stored_bytes = r.Varint();
  const uint64_t side_raw_bytes = (flags & kFlagSideInfoZstd) ? r.Varint() : side_stored_bytes;
  if (r.ok() && side_stored_bytes > size - r.pos()) return Truncated("stream header cut short");
  const uint8_t* side_stored = r.Bytes(static_cast<size_t>(side_stored_bytes));
  const uint64_t num_stages = r.Varint(3);
  // Each stage entry takes at least 9 bytes.
  if (r.ok() && num_stages <= std::min<uint64_t>(kMaxScheduleLength, (size - r.pos()) / 9)) {
    h.stages.resize(num_stages);
    for (size_t i = 0; i < h.stages.size(); ++i) {
      StageEntry& s = h.stages[i];
      s.timestep = i < h.schedule.size() ? h.schedule[i] : 0;
      s.num_bytes = static_cast<uint32_t>(std::min<uint64_t>(r.Varint(5), UINT32_MAX));
      s.payload_crc = r.U32();
      s.symbol_hash = r.U32();
    }
  } else if (r.ok()) {
    return Truncated("stream header cut short");
  }
  const size_t crc_offset = r.pos();
  const uint32_t header_crc = r.U32();
  if (!r.ok()) return Truncated("stream header cut short (" + std::to_string(size) + " bytes)");
  if (Crc32c(data, crc_offset) != header_crc) return Corrupt("stream header checksum mismatch");

  // The header is intact; from here on, errors mean the writer broke the format (or a crafted file).
  if (flags & ~kKnownFlags) return InvalidInput("unknown header flags " + std::to_string(flags));
  if (flags & kFlagSideInfoZstd) {
    if (side_raw_bytes > kMaxSideInfoBytes) return InvalidInput("side information over 64 MiB");
    const unsigned long long declared = ZSTD_getFrameContentSize(side_stored, side_stored_bytes);
    if (declared != side_raw_bytes) return InvalidInput("side information: bad zstd frame");
    h.side_info.resize(side_raw_bytes);
    const size_t n = ZSTD_decompress(h.side_info.data(), h.side_info.size(), side_stored, side_stored_bytes);
    if (ZSTD_isError(n) || n != side_raw_bytes) return InvalidInput("side information: bad zstd frame");
  } else {
    h.side_info.assign(side_stored, side_stored + side_stored_bytes);
  }
  DCODEC_RETURN_IF_ERROR(ValidateHeader(h));

  const size_t header_end = r.pos();
  uint64_t payload_total = 0;
  for (const StageEntry& s : h.stages) payload_total += s.num_bytes;  // <= 65535 * (2^32 - 1): fits
  if (payload_total > std::numeric_limits<size_t>::max() - header_end) {
    return InvalidInput("stage lengths overflow the address space");
  }
  size_t offset = header_end;
  for (size_t i = 0; i < h.stages.size(); ++i) {
    const StageEntry& s = h.stages[i];
    if (s.num_bytes > size - offset) {
      parsed.truncated = true;
      break;
    }
    if (Crc32c(data + offset, s.num_bytes) != s.payload_crc) {
      return Corrupt("stage " + std::to_string(i) + " (timestep " + std::to_string(s.timestep) +
                     ") payload checksum mismatch");
    }
    parsed.payloads.emplace_back(data + offset, s.num_bytes);
    offset += s.num_bytes;
  }
  if (!parsed.truncated && offset != size) {
    return InvalidInput(std::to_string(size - offset) + " bytes of trailing garbage after the last stage");
  }
  return parsed;
}

}  // namespace dcodec::bitstream
