// PNG reading and writing (libpng), with the input checks an image codec owes its users.
//
// Accepted: 8-bit, grey, RGB, palette (expanded), interlaced; 16-bit kept whole when the caller asks
// (ImageReadOptions::keep_16_bit: Image::low holds the low bytes), else accepted when every sample is an 8-bit value
// stored wide (v·257, so nothing is lost) or when the caller asks to reduce it (the low byte is dropped). Refused
// with a clear message: other 16-bit images (kUnsupported: coding them as 8 bits would not be lossless), alpha channels
// unless the caller keeps them (PngReadOptions::keep_alpha), sizes over kMaxPixels (checked from the header, before any allocation),
// anything that is not a valid PNG.
//
// Metadata (datasets/metadata.h), read with ImageReadOptions::keep_metadata and always written: iCCP (the profile
// decompressed, its name the key; libpng drops a profile that does not fit the image, a grey one for RGB samples
// and the reverse), sRGB, gAMA, cHRM, cICP and eXIf as their chunk data, byte for byte, and text chunks (tEXt and
// zTXt read as Latin-1, iTXt as UTF-8; "XML:com.adobe.xmp" is the XMP). The writer puts every item before the
// image data: tEXt for ASCII text (zTXt over 1 KB), iTXt for XMP and other text. Reading a written file gives
// back the same items, in the order colour items, EXIF, XMP, text.
#ifndef DCODEC_DATASETS_PNG_H_
#define DCODEC_DATASETS_PNG_H_

#include <string>

#include "base/status.h"
#include "datasets/image.h"
#include "datasets/read_options.h"

namespace dcodec {

// The options and size limits are shared with the other readers (datasets/read_options.h).
using PngReadOptions = ImageReadOptions;

// Errors name `name` (the file path) in their message.
StatusOr<Image> DecodePng(const uint8_t* data, size_t size, const std::string& name,
                          const PngReadOptions& options = {});
StatusOr<Image> ReadPng(const std::string& path, const PngReadOptions& options = {});

// 1 to 4 channels: grey, grey + alpha, RGB, RGBA; 16-bit samples when the image has them (Image::low); with the
// image's metadata (kInvalidArgument when libpng refuses
// an item, such as an ICC profile that is not one).
StatusOr<std::vector<uint8_t>> EncodePng(const Image& image);
// Atomic: written to a temporary file and renamed; refuses to replace an existing file unless overwrite.
Status WritePng(const std::string& path, const Image& image, bool overwrite);

// Greyscale images become RGB with three equal channels (16-bit ones with their low bytes); RGB images are returned
// as they are.
Image ToRgb(const Image& image);

}  // namespace dcodec

#endif  // DCODEC_DATASETS_PNG_H_
