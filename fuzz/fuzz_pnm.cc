// Fuzzes DecodePnm (P4-P6 and PAM), with and without reduce_16_to_8 and keep_alpha: no crash, no leak, no sanitizer
// report, and a decoded image is consistent (1..4 channels, grey or RGB without keep_alpha, 1..65535 per side, at
// most kMaxPixels, data the size the header says). The options only widen what is accepted: an image read
// without one is read the same with it. A decoded image written as PAM (EncodePnm) reads back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "datasets/pnm.h"

namespace {

void CheckImage(const dcodec::Image& im, bool keep_alpha) {
  const bool channels_ok = keep_alpha ? im.channels >= 1 && im.channels <= 4 : im.channels == 1 || im.channels == 3;
  if (!channels_ok || im.width < 1 || im.height < 1 || im.width > dcodec::kMaxImageSide ||
      im.height > dcodec::kMaxImageSide || im.num_pixels() > dcodec::kMaxPixels ||
      im.data.size() != im.num_pixels() * im.channels || !im.metadata.empty()) {
    std::abort();
  }
}

dcodec::StatusOr<dcodec::Image> Decode(const uint8_t* data, size_t size, bool reduce, bool alpha) {
  dcodec::ImageReadOptions options;
  options.reduce_16_to_8 = reduce;
  options.keep_alpha = alpha;
  auto image = dcodec::DecodePnm(data, size, "fuzz.pnm", options);
  if (image.ok()) CheckImage(*image, alpha);
  return image;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto exact = Decode(data, size, /*reduce=*/false, /*alpha=*/true);
  auto reduced = Decode(data, size, /*reduce=*/true, /*alpha=*/true);
  auto opaque = Decode(data, size, /*reduce=*/false, /*alpha=*/false);
  if (exact.ok() && (!reduced.ok() || !(*reduced == *exact))) std::abort();
  if (opaque.ok() && (!exact.ok() || !(*exact == *opaque))) std::abort();
  if (reduced.ok()) {
    auto pam = dcodec::EncodePnm(*reduced, dcodec::PnmType::kPam);
    if (!pam.ok()) std::abort();
    auto again = Decode(pam->data(), pam->size(), /*reduce=*/false, /*alpha=*/true);
    if (!again.ok() || !(*again == *reduced)) std::abort();
  }
  return 0;
}
