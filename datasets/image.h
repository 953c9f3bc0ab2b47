// An 8-bit image in memory: the one pixel container shared by the image readers and writers, the data sets and the
// codec, with the file's metadata beside the pixels.
#ifndef DCODEC_DATASETS_IMAGE_H_
#define DCODEC_DATASETS_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "datasets/metadata.h"

namespace dcodec {

// Interleaved 8-bit samples, row-major: pixel (x, y) channel c is data[(y * width + x) * channels + c].
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;  // 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA); alpha is always the last channel
  std::vector<uint8_t> data;
  // What the file said besides the pixels (colour profile, EXIF, XMP, text): read only when asked
  // (ImageReadOptions::keep_metadata), written by the PNG writer, carried by the codec's streams.
  Metadata metadata;

  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), data(static_cast<size_t>(w) * h * c) {}
  uint8_t& at(int x, int y, int c) { return data[(static_cast<size_t>(y) * width + x) * channels + c]; }
  uint8_t at(int x, int y, int c) const { return data[(static_cast<size_t>(y) * width + x) * channels + c]; }
  size_t num_pixels() const { return static_cast<size_t>(width) * height; }
  // The same samples and the same metadata.
  bool operator==(const Image& o) const {
    return width == o.width && height == o.height && channels == o.channels && data == o.data &&
           metadata == o.metadata;
  }
};

}  // namespace dcodec

#endif  // DCODEC_DATASETS_IMAGE_H_
