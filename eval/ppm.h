// Minimal binary PNM: P6 (RGB) and P5 (grey), 8-bit (maxval 255), the format cjpeg reads and djpeg writes.
//
// Header: magic, width, height, maxval as ASCII decimals separated by whitespace, '#' comments allowed between
// fields, then exactly one whitespace byte and the raster, row-major, interleaved.
// Example: "P6\n2 1\n255\n" followed by 6 bytes r0 g0 b0 r1 g1 b1.
#ifndef DCODEC_EVAL_PPM_H_
#define DCODEC_EVAL_PPM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "datasets/image.h"

namespace dcodec::eval {

// P6 for 3-channel images, P5 for 1-channel ones. kInvalidArgument for any other channel count or an empty image.
StatusOr<std::vector<uint8_t>> EncodePpm(const Image& image);
// Accepts P5 and P6 with maxval 255 (kUnsupported for other maxvals and for ASCII P2/P3); kInvalidInput for
// malformed or truncated data. Errors name `name`.
StatusOr<Image> DecodePpm(const uint8_t* data, size_t size, const std::string& name);

StatusOr<Image> ReadPpm(const std::string& path);
// Atomic (base/file_io.h); replaces an existing file only if overwrite.
Status WritePpm(const std::string& path, const Image& image, bool overwrite);

}  // namespace dcodec::eval

#endif  // DCODEC_EVAL_PPM_H_
