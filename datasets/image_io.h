// Images in the formats people have them: read by what the bytes are (PNG, JPEG, PNM or WebP, whatever the file is
// called), written in the format the output's name asks for (.png, .ppm, .pgm, .pam).
//
// Sniffing: the PNG signature (89 'PNG' 0D 0A 1A 0A), JPEG's FF D8 FF, or a Netpbm magic 'P1'..'P7' followed by
// whitespace, or RIFF....WEBP. Anything else is kInvalidInput "not a PNG, JPEG, PNM or WebP image", naming the file. What each reader
// accepts and refuses is in png.h, jpeg.h, pnm.h and webp.h; they share ImageReadOptions and the size limits
// (read_options.h). The result has 8-bit samples (16-bit with ImageReadOptions::keep_16_bit, from PNG and PNM) and 1
// to 4 channels (alpha last).
#ifndef DCODEC_DATASETS_IMAGE_IO_H_
#define DCODEC_DATASETS_IMAGE_IO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "datasets/image.h"
#include "datasets/read_options.h"

namespace dcodec {

enum class ImageFormat { kPng, kJpeg, kPnm, kWebp };

// The format the bytes are in, or nullopt when they are none of the readable ones.
std::optional<ImageFormat> SniffImageFormat(const uint8_t* data, size_t size);

// Errors name `name` (the file path, or "<stdin>").
StatusOr<Image> DecodeImage(const uint8_t* data, size_t size, const std::string& name,
                            const ImageReadOptions& options = {});
StatusOr<Image> ReadImage(const std::string& path, const ImageReadOptions& options = {});

enum class OutputFormat {
  kPng,  // 1 to 4 channels
  kPpm,  // P6: RGB, or grey widened to three equal channels
  kPgm,  // P5: grey only
  kPam,  // P7: 1 to 4 channels
};

// "png", "ppm", "pgm" or "pam"; anything else is kInvalidArgument naming it and the choices.
StatusOr<OutputFormat> ParseOutputFormat(const std::string& name);
// From the file name's extension, case-insensitively (.png, .ppm, .pgm, .pam); another extension, or none, is
// kInvalidArgument naming it, so a usage error is reported rather than a file of the wrong kind written.
StatusOr<OutputFormat> OutputFormatForPath(const std::string& path);
const char* OutputFormatName(OutputFormat format);  // "png", ...

// kInvalidArgument when the image's channels do not fit the format without loss (alpha as PPM or PGM, RGB as
// PGM), saying which formats would hold it.
StatusOr<std::vector<uint8_t>> EncodeImage(const Image& image, OutputFormat format);
// Whether the format keeps Image::metadata (PNG does; PNM has no place for it, and its writers leave it out).
bool HoldsMetadata(OutputFormat format);

// Rotates and mirrors the pixels as the EXIF orientation says (1..8; a camera held sideways writes 6 or 8) and
// sets the orientation to 1, so that the pixels are upright with the rest of the metadata kept. No EXIF, or no
// orientation in it: nothing changes. Returns the orientation it applied (1 when there was none).
int AutoOrient(Image& image);

// EncodeImage, then atomic (base/file_io.h): the file appears whole or not at all, and an existing one is replaced
// only if overwrite. Nothing is written when the image does not fit the format. Errors name `path`.
Status WriteImage(const std::string& path, const Image& image, OutputFormat format, bool overwrite);

}  // namespace dcodec

#endif  // DCODEC_DATASETS_IMAGE_IO_H_
