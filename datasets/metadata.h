// What an image file says besides its pixels: the colour information (an ICC profile, PNG's sRGB, gAMA, cHRM and
// cICP chunks), EXIF, XMP and text. The readers fill it when asked (ImageReadOptions::keep_metadata), the PNG writer
// writes it back, and the codec carries it in the stream (codec/metadata_coder.h), so that a lossless round trip
// gives back the colours as well as the samples.
//
// Items keep their payloads as the file had them, uninterpreted: the ICC profile's bytes (PNG's iCCP decompressed,
// JPEG's APP2 ICC_PROFILE chunks joined), EXIF as its TIFF structure (PNG's eXIf, JPEG's APP1 after "Exif\0\0"),
// XMP as its XML packet (PNG's iTXt "XML:com.adobe.xmp", JPEG's APP1 after the Adobe namespace), PNG chunk data
// for sRGB (1 byte), gAMA (4), cHRM (32) and cICP (4), and a text's keyword and UTF-8 value (PNG's tEXt, zTXt and
// iTXt; JPEG's COM as "Comment"). Their order is the file's, with the colour items first.
#ifndef DCODEC_DATASETS_METADATA_H_
#define DCODEC_DATASETS_METADATA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcodec {

enum class MetadataKind : uint8_t {
  kIcc = 1,   // key: the profile's name in PNG (iCCP), "ICC Profile" from a JPEG
  kSrgb = 2,  // the rendering intent, 1 byte
  kGama = 3,  // the gamma times 100000, 4 bytes big-endian
  kChrm = 4,  // white point and primaries times 100000, 8 × 4 bytes big-endian
  kCicp = 5,  // colour primaries, transfer, matrix, full range: 4 bytes
  kExif = 6,
  kXmp = 7,
  kText = 8,  // key: the keyword (1..79 Latin-1 characters in PNG); value: the text, UTF-8
};
constexpr int kMetadataKinds = 8;

struct MetadataItem {
  MetadataKind kind = MetadataKind::kText;
  std::string key;
  std::vector<uint8_t> value;
  bool operator==(const MetadataItem& o) const { return kind == o.kind && key == o.key && value == o.value; }
};

// The items of one image.
struct Metadata {
  std::vector<MetadataItem> items;

  bool empty() const { return items.empty(); }
  // The first item of this kind, or nullptr.
  const MetadataItem* Find(MetadataKind kind) const;
  MetadataItem* Find(MetadataKind kind);
  // Whether it holds colour information (an ICC profile or a PNG colour chunk): without it the samples mean sRGB.
  bool HasColour() const;
  size_t payload_bytes() const;  // the values' and keys' bytes together
  bool operator==(const Metadata& o) const { return items == o.items; }
  bool operator!=(const Metadata& o) const { return !(*this == o); }
};

const char* MetadataKindName(MetadataKind kind);  // "ICC profile", "sRGB", "gAMA", "cHRM", "cICP", "EXIF", ...

// Limits: the stream, the readers and the parser refuse more.
constexpr size_t kMaxMetadataItems = 4096;
constexpr size_t kMaxMetadataBytes = size_t{1} << 26;  // 64 MiB in all

// The serialized form (before compression; codec/metadata_coder.h): varint item count, then per item its kind
// byte, varint key length, key, varint value length, value (varints as in bitstream/container.h).
std::vector<uint8_t> SerializeMetadata(const Metadata& metadata);
// kInvalidInput for anything SerializeMetadata does not write (an unknown kind, lengths past the end, bytes left
// over, more than the limits); never reads past `size`.
StatusOr<Metadata> ParseMetadata(const uint8_t* data, size_t size);

// One line per item for `dcodec info`: its kind, key and size, and for EXIF its orientation.
std::vector<std::string> DescribeMetadata(const Metadata& metadata);

// Latin-1 text (PNG's tEXt and zTXt, most JPEG comments) as UTF-8, the value of a text item.
std::vector<uint8_t> Latin1ToUtf8(const uint8_t* text, size_t size);
// Whether the bytes are valid UTF-8.
bool IsUtf8(const uint8_t* text, size_t size);

// EXIF orientation (TIFF tag 0x0112 of IFD0): 1..8, or 0 when the EXIF has none or is not valid TIFF.
int ExifOrientation(const std::vector<uint8_t>& exif);
// Sets it in place (the tag must exist); false if it does not.
bool SetExifOrientation(std::vector<uint8_t>& exif, int orientation);

}  // namespace dcodec

#endif  // DCODEC_DATASETS_METADATA_H_
