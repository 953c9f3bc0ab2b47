// Fuzzes DecodeJpeg (libjpeg-turbo behind dcodec's input checks), with the metadata kept and without: no crash, no
// leak, no sanitizer report, and a decoded image is consistent (grey or RGB, 1..65535 per side, at most kMaxPixels,
// data the size the header says). Kept metadata round-trips through SerializeMetadata/ParseMetadata; without it
// the image has none; when both decodes succeed they give the same pixels.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "datasets/jpeg.h"
#include "datasets/metadata.h"

namespace {

void CheckImage(const dcodec::Image& im) {
  if ((im.channels != 1 && im.channels != 3) || im.width < 1 || im.height < 1 || im.width > dcodec::kMaxImageSide ||
      im.height > dcodec::kMaxImageSide || im.num_pixels() > dcodec::kMaxPixels ||
      im.data.size() != im.num_pixels() * im.channels) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dcodec::ImageReadOptions with;
  with.keep_alpha = true;
  with.keep_metadata = true;
  auto full = dcodec::DecodeJpeg(data, size, "fuzz.jpg", with);
  if (full.ok()) {
    CheckImage(*full);
    const std::vector<uint8_t> blob = dcodec::SerializeMetadata(full->metadata);
    auto parsed = dcodec::ParseMetadata(blob.data(), blob.size());
    if (!parsed.ok() || *parsed != full->metadata) std::abort();
    for (const dcodec::MetadataItem& item : full->metadata.items) {
      if (item.kind == dcodec::MetadataKind::kText && !dcodec::IsUtf8(item.value.data(), item.value.size())) {
        std::abort();  // a comment is kept as UTF-8
      }
    }
    (void)dcodec::DescribeMetadata(full->metadata);
  }
  dcodec::ImageReadOptions without;
  without.keep_alpha = true;
  without.keep_metadata = false;
  auto pixels = dcodec::DecodeJpeg(data, size, "fuzz.jpg", without);
  if (pixels.ok()) {
    CheckImage(*pixels);
    if (!pixels->metadata.empty()) std::abort();
    if (full.ok() && (pixels->width != full->width || pixels->height != full->height ||
                      pixels->channels != full->channels || pixels->data != full->data)) {
      std::abort();
    }
  }
  return 0;
}
