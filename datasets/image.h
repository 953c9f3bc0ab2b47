// An image in memory: the one pixel container shared by the image readers and writers, the data sets and the
// codec, with the file's metadata beside the pixels. Samples are 8-bit, or 16-bit as a high and a low byte plane.
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
  // A 16-bit image's low bytes, laid out as `data`, which then holds the high bytes: sample = 256·data[i] + low[i].
  // Empty for an 8-bit image. Readers fill it only when asked (ImageReadOptions::keep_16_bit); everything that
  // works on 8 bits (the model, previews, PSNR) sees the high bytes.
  std::vector<uint8_t> low;
  // What the file said besides the pixels (colour profile, EXIF, XMP, text): read only when asked
  // (ImageReadOptions::keep_metadata), written by the PNG writer, carried by the codec's streams.
  Metadata metadata;

  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), data(static_cast<size_t>(w) * h * c) {}
  uint8_t& at(int x, int y, int c) { return data[(static_cast<size_t>(y) * width + x) * channels + c]; }
  uint8_t at(int x, int y, int c) const { return data[(static_cast<size_t>(y) * width + x) * channels + c]; }
  size_t num_pixels() const { return static_cast<size_t>(width) * height; }
  bool sixteen_bit() const { return !low.empty(); }
  // The same samples (and depth) and the same metadata.
  bool operator==(const Image& o) const {
    return width == o.width && height == o.height && channels == o.channels && data == o.data && low == o.low &&
           metadata == o.metadata;
  }
};

}  // namespace dcodec

#endif  // DCODEC_DATASETS_IMAGE_H_
