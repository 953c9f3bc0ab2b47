// Fuzzes DecodeWebp (libwebp behind dcodec's input checks), with the metadata and alpha kept and without: no crash,
// no leak, no sanitizer report, and a decoded image is consistent (RGB or RGBA, 1..65535 per side, at most
// kMaxPixels, data the size the header says). Kept metadata round-trips through SerializeMetadata/ParseMetadata;
// when both decodes succeed they give the same pixels.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "datasets/metadata.h"
#include "datasets/webp.h"

namespace {

void CheckImage(const dcodec::Image& im) {
  if ((im.channels != 3 && im.channels != 4) || im.width < 1 || im.height < 1 || im.width > dcodec::kMaxImageSide ||
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
  auto full = dcodec::DecodeWebp(data, size, "fuzz.webp", with);
  if (full.ok()) {
    CheckImage(*full);
    const std::vector<uint8_t> blob = dcodec::SerializeMetadata(full->metadata);
    auto parsed = dcodec::ParseMetadata(blob.data(), blob.size());
    if (!parsed.ok() || *parsed != full->metadata) std::abort();
  }
  dcodec::ImageReadOptions without;
  without.keep_alpha = true;
  auto pixels = dcodec::DecodeWebp(data, size, "fuzz.webp", without);
  if (pixels.ok()) {
    CheckImage(*pixels);
    if (!pixels->metadata.empty()) std::abort();
    if (full.ok() && pixels->data != full->data) std::abort();
  }
  if (full.ok() != pixels.ok()) std::abort();
  return 0;
}
