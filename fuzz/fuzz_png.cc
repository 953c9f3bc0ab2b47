// Fuzzes DecodePng (libpng behind dcodec's input checks): no crash, no leak, no sanitizer report, and a decoded
// image is consistent (grey or RGB, 1..65535 per side, at most kMaxPixels, data the size the header says).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "datasets/png.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto image = dcodec::DecodePng(data, size, "fuzz.png");
  if (!image.ok()) return 0;
  const dcodec::Image& im = *image;
  if ((im.channels != 1 && im.channels != 3) || im.width < 1 || im.height < 1 || im.width > dcodec::kMaxImageSide ||
      im.height > dcodec::kMaxImageSide || im.num_pixels() > dcodec::kMaxPixels ||
      im.data.size() != im.num_pixels() * im.channels) {
    std::abort();
  }
  return 0;
}
