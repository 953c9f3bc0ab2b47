// Fuzzes ParseMetadata, the serialized metadata a stream carries (datasets/metadata.h): no crash, no leak, no
// sanitizer report; what parses serializes back to exactly the input bytes (the form has one encoding), and
// DescribeMetadata, ExifOrientation and SetExifOrientation handle any EXIF payload: an orientation that is set
// reads back, and one that reads (1..8) can be set. The same bytes go to the stream's side of it too
// (codec/metadata_coder.h): as a zstd frame (DecompressMetadata) and as coder words (DecodeMetadataSection), which
// must refuse what they cannot read without a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bitstream/ans.h"
#include "codec/metadata_coder.h"
#include "datasets/metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto frame = dcodec::codec::DecompressMetadata(data, size);
  if (frame.ok() && frame->items.size() > dcodec::kMaxMetadataItems) __builtin_trap();
  if (size >= 8) {
    dcodec::bitstream::AnsDecoder dec(data, size, 8);
    auto section = dcodec::codec::DecodeMetadataSection(dec);
    if (section.ok() && section->size() >= (size_t{1} << 27)) __builtin_trap();
  }
  auto parsed = dcodec::ParseMetadata(data, size);
  if (!parsed.ok()) return 0;
  const dcodec::Metadata& metadata = *parsed;
  if (metadata.items.size() > dcodec::kMaxMetadataItems || metadata.payload_bytes() > dcodec::kMaxMetadataBytes) {
    __builtin_trap();
  }
  const std::vector<uint8_t> again = dcodec::SerializeMetadata(metadata);
  if (again.size() != size || (size != 0 && std::memcmp(again.data(), data, size) != 0)) __builtin_trap();
  const std::vector<std::string> lines = dcodec::DescribeMetadata(metadata);
  if (lines.size() != metadata.items.size()) __builtin_trap();
  for (const dcodec::MetadataItem& item : metadata.items) {
    if (item.kind != dcodec::MetadataKind::kExif) continue;
    const int orientation = dcodec::ExifOrientation(item.value);
    if (orientation < 0 || orientation > 8) __builtin_trap();
    std::vector<uint8_t> exif = item.value;
    const int wanted = orientation == 6 ? 3 : 6;
    const bool set = dcodec::SetExifOrientation(exif, wanted);
    if (orientation != 0 && !set) __builtin_trap();
    if (set && (dcodec::ExifOrientation(exif) != wanted || exif.size() != item.value.size())) __builtin_trap();
    if (!set && exif != item.value) __builtin_trap();
  }
  return 0;
}
