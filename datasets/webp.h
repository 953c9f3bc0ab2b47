// WebP reading (libwebp, libwebpdemux), with the same input checks as the PNG reader (png.h).
//
// Accepted: a still WebP, lossy (VP8) or lossless (VP8L), simple or extended (VP8X), with or without alpha. It
// decodes to RGB (3 channels), or RGBA (4) when the file has alpha and ImageReadOptions::keep_alpha is set (without
// it, alpha is refused with kUnsupported, as PNG's is). With keep_metadata, the extended format's ICCP, EXIF and
// XMP chunks go into Image::metadata (datasets/metadata.h): the ICC profile under the key "ICC Profile", EXIF as
// TIFF (a leading "Exif\0\0" some writers add is dropped), XMP as its packet.
// Refused: animations (kUnsupported: dcodec codes one picture); anything libwebp cannot parse or decode, files cut
// short (kInvalidInput); sizes over kMaxPixels (checked from the header, before any allocation). Every error names
// the file.
#ifndef DCODEC_DATASETS_WEBP_H_
#define DCODEC_DATASETS_WEBP_H_

#include <cstdint>
#include <string>

#include "base/status.h"
#include "datasets/image.h"
#include "datasets/read_options.h"

namespace dcodec {

// "RIFF", a 4-byte size, then "WEBP".
bool LooksLikeWebp(const uint8_t* data, size_t size);

// Of the options, keep_alpha and keep_metadata apply (WebP samples are 8-bit).
StatusOr<Image> DecodeWebp(const uint8_t* data, size_t size, const std::string& name,
                           const ImageReadOptions& options = {});

}  // namespace dcodec

#endif  // DCODEC_DATASETS_WEBP_H_
