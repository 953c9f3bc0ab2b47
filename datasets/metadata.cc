#include "datasets/metadata.h"

#include <cstdio>

namespace dcodec {
namespace {

void PutVarint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

// Minimal LEB128 of at most 5 bytes (values below 2^35); false when cut short, padded or too long.
bool GetVarint(const uint8_t* data, size_t size, size_t& pos, uint64_t& v) {
  v = 0;
  for (int i = 0; i < 5; ++i) {
    if (pos >= size) return false;
    const uint8_t b = data[pos++];
    v |= uint64_t{b & 0x7fu} << (7 * i);
    if (!(b & 0x80)) return b != 0 || i == 0;
  }
  return false;
}

// The TIFF structure of EXIF: byte order, IFD0's offset, and the entry of tag 0x0112 if there is one.
struct TiffReader {
  const std::vector<uint8_t>& d;
  bool little = true;
  uint32_t U16(size_t at) const {
    return little ? d[at] | d[at + 1] << 8 : d[at] << 8 | d[at + 1];
  }
  uint32_t U32(size_t at) const {
    return little ? U16(at) | U16(at + 2) << 16 : U16(at) << 16 | U16(at + 2);
  }
  // The byte offset of the orientation's SHORT value, or 0.
  size_t OrientationAt() {
    if (d.size() < 8) return 0;
    if (d[0] == 'I' && d[1] == 'I') {
      little = true;
    } else if (d[0] == 'M' && d[1] == 'M') {
      little = false;
    } else {
      return 0;
    }
    if (U16(2) != 42) return 0;
    const size_t ifd = U32(4);
    if (ifd > d.size() || d.size() - ifd < 2) return 0;
    const size_t entries = U16(ifd);
    if ((d.size() - ifd - 2) / 12 < entries) return 0;
    for (size_t e = 0; e < entries; ++e) {
      const size_t at = ifd + 2 + 12 * e;
      // Tag 0x0112, type SHORT (3), count 1: the value sits in the entry's first two value bytes.
      if (U16(at) == 0x0112 && U16(at + 2) == 3 && U32(at + 4) == 1) return at + 8;
    }
    return 0;
  }
};

}  // namespace

const MetadataItem* Metadata::Find(MetadataKind kind) const {
  for (const MetadataItem& item : items) {
    if (item.kind == kind) return &item;
  }
  return nullptr;
}

MetadataItem* Metadata::Find(MetadataKind kind) {
  for (MetadataItem& item : items) {
    if (item.kind == kind) return &item;
  }
  return nullptr;
}

bool Metadata::HasColour() const {
  for (const MetadataItem& item : items) {
    if (item.kind == MetadataKind::kIcc || item.kind == MetadataKind::kSrgb || item.kind == MetadataKind::kGama ||
        item.kind == MetadataKind::kChrm || item.kind == MetadataKind::kCicp) {
      return true;
    }
  }
  return false;
}

size_t Metadata::payload_bytes() const {
  size_t n = 0;
  for (const MetadataItem& item : items) n += item.key.size() + item.value.size();
  return n;
}

const char* MetadataKindName(MetadataKind kind) {
  switch (kind) {
    case MetadataKind::kIcc: return "ICC profile";
    case MetadataKind::kSrgb: return "sRGB";
    case MetadataKind::kGama: return "gAMA";
    case MetadataKind::kChrm: return "cHRM";
    case MetadataKind::kCicp: return "cICP";
    case MetadataKind::kExif: return "EXIF";
    case MetadataKind::kXmp: return "XMP";
    case MetadataKind::kText: return "text";
  }
  return "unknown";
}

std::vector<uint8_t> SerializeMetadata(const Metadata& metadata) {
  std::vector<uint8_t> out;
  PutVarint(out, metadata.items.size());
  for (const MetadataItem& item : metadata.items) {
    out.push_back(static_cast<uint8_t>(item.kind));
    PutVarint(out, item.key.size());
    out.insert(out.end(), item.key.begin(), item.key.end());
    PutVarint(out, item.value.size());
    out.insert(out.end(), item.value.begin(), item.value.end());
  }
  return out;
}

StatusOr<Metadata> ParseMetadata(const uint8_t* data, size_t size) {
  auto bad = [](const std::string& why) { return InvalidInput("the metadata is malformed: " + why); };
  if (size > kMaxMetadataBytes + 16 * kMaxMetadataItems) return bad("larger than dcodec keeps");
  size_t pos = 0;
  uint64_t count = 0;
  if (!GetVarint(data, size, pos, count)) return bad("its item count is cut short");
  if (count > kMaxMetadataItems) return bad(std::to_string(count) + " items");
  Metadata metadata;
  size_t total = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (pos >= size) return bad("item " + std::to_string(i) + " is cut short");
    const uint8_t kind = data[pos++];
    if (kind < 1 || kind > kMetadataKinds) return bad("item " + std::to_string(i) + " has unknown kind " +
                                                      std::to_string(kind));
    MetadataItem item;
    item.kind = static_cast<MetadataKind>(kind);
    uint64_t key_bytes = 0, value_bytes = 0;
    if (!GetVarint(data, size, pos, key_bytes) || key_bytes > size - pos) return bad("a key is cut short");
    item.key.assign(reinterpret_cast<const char*>(data + pos), key_bytes);
    pos += key_bytes;
    if (!GetVarint(data, size, pos, value_bytes) || value_bytes > size - pos) return bad("a value is cut short");
    item.value.assign(data + pos, data + pos + value_bytes);
    pos += value_bytes;
    total += key_bytes + value_bytes;
    if (total > kMaxMetadataBytes) return bad("larger than dcodec keeps");
    metadata.items.push_back(std::move(item));
  }
  if (pos != size) return bad(std::to_string(size - pos) + " bytes after its last item");
  return metadata;
}

std::vector<std::string> DescribeMetadata(const Metadata& metadata) {
  std::vector<std::string> lines;
  for (const MetadataItem& item : metadata.items) {
    std::string line = MetadataKindName(item.kind);
    if (!item.key.empty()) line += " \"" + item.key + "\"";
    line += ": " + std::to_string(item.value.size()) + " bytes";
    if (item.kind == MetadataKind::kExif) {
      const int o = ExifOrientation(item.value);
      static const char* const kOrientations[9] = {"",
                                                   "normal",
                                                   "mirrored",
                                                   "rotated 180°",
                                                   "mirrored vertically",
                                                   "mirrored, rotated 90° counter-clockwise",
                                                   "rotated 90° clockwise",
                                                   "mirrored, rotated 90° clockwise",
                                                   "rotated 90° counter-clockwise"};
      if (o > 0) line += ", orientation " + std::to_string(o) + " (" + kOrientations[o] + ")";
    } else if (item.kind == MetadataKind::kSrgb && item.value.size() == 1) {
      line += ", rendering intent " + std::to_string(item.value[0]);
    } else if (item.kind == MetadataKind::kGama && item.value.size() == 4) {
      const uint32_t g = uint32_t{item.value[0]} << 24 | item.value[1] << 16 | item.value[2] << 8 | item.value[3];
      char buf[48];
      std::snprintf(buf, sizeof(buf), ", gamma %.5f", g / 100000.0);
      line += buf;
    }
    lines.push_back(line);
  }
  return lines;
}

std::vector<uint8_t> Latin1ToUtf8(const uint8_t* text, size_t size) {
  std::vector<uint8_t> out;
  out.reserve(size);
  for (size_t i = 0; i < size; ++i) {
    if (text[i] < 0x80) {
      out.push_back(text[i]);
    } else {
      out.push_back(static_cast<uint8_t>(0xC0 | text[i] >> 6));
      out.push_back(static_cast<uint8_t>(0x80 | (text[i] & 0x3F)));
    }
  }
  return out;
}

bool IsUtf8(const uint8_t* text, size_t size) {
  for (size_t i = 0; i < size;) {
    const uint8_t b = text[i];
    const size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || len > size - i) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((text[i + k] & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

int ExifOrientation(const std::vector<uint8_t>& exif) {
  TiffReader r{exif};
  const size_t at = r.OrientationAt();
  if (at == 0) return 0;
  const uint32_t o = r.U16(at);
  return o >= 1 && o <= 8 ? static_cast<int>(o) : 0;
}

bool SetExifOrientation(std::vector<uint8_t>& exif, int orientation) {
  TiffReader r{exif};
  const size_t at = r.OrientationAt();
  if (at == 0 || orientation < 1 || orientation > 8) return false;
  exif[at] = static_cast<uint8_t>(r.little ? orientation : 0);
  exif[at + 1] = static_cast<uint8_t>(r.little ? 0 : orientation);
  return true;
}

}  // namespace dcodec
