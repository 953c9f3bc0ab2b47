// PNG reading and writing (libpng), with the input checks an image codec owes its users.
//
// Accepted: 8- and 16-bit (reduced to 8), grey, RGB, palette (expanded), interlaced. Refused with a clear
// message: alpha channels (dcodec codes opaque images only), sizes over kMaxPixels (checked from the header,
// before any allocation), anything that is not a valid PNG.
#ifndef DCODEC_DATASETS_PNG_H_
#define DCODEC_DATASETS_PNG_H_

#include <string>

#include "base/status.h"
#include "datasets/image.h"

namespace dcodec {

constexpr int kMaxImageSide = 65535;
constexpr uint64_t kMaxPixels = uint64_t{1} << 26;  // 64 Mpixel

// Errors name `name` (the file path) in their message.
StatusOr<Image> DecodePng(const uint8_t* data, size_t size, const std::string& name);
StatusOr<Image> ReadPng(const std::string& path);

StatusOr<std::vector<uint8_t>> EncodePng(const Image& image);
// Atomic: written to a temporary file and renamed; refuses to replace an existing file unless overwrite.
Status WritePng(const std::string& path, const Image& image, bool overwrite);

// Greyscale images become RGB with three equal channels; RGB images are returned as they are.
Image ToRgb(const Image& image);

}  // namespace dcodec

#endif  // DCODEC_DATASETS_PNG_H_
