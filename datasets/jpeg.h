// JPEG reading (libjpeg-turbo), with the same input checks as the PNG reader (png.h).
//
// Accepted: baseline, extended and progressive, Huffman or arithmetic coded, 8-bit; grey (1 channel), YCbCr and
// RGB (3 channels), any chroma subsampling. CMYK and YCCK (Adobe) JPEGs are converted to RGB the simple way:
// R = (255 - C)(255 - K) / 255 and so on, on the stored values (inverted first when the file has an Adobe marker,
// as Photoshop writes them); no colour profile is applied.
// The pixels are kept as stored, so a photo the camera marked "rotate 90°" is read unrotated; with
// ImageReadOptions::keep_metadata the ICC profile (APP2, its chunks joined; not a CMYK file's, which does not fit
// the RGB samples), EXIF (APP1, orientation included), XMP (APP1, the main packet) and comments (COM, as text
// "Comment") go into Image::metadata (datasets/metadata.h). image_io.h's AutoOrient rotates by the EXIF.
// Refused: 12-bit and lossless JPEG (kUnsupported); malformed data, files cut short (libjpeg's "premature end"),
// and Huffman data that libjpeg reports corrupt (kInvalidInput); sizes over kMaxPixels (checked from the header,
// before any allocation), and Huffman-coded files too short to hold the blocks their header declares (every block
// costs at least one bit for its DC coefficient), so a tiny file cannot make the reader allocate a huge image.
// Warnings libjpeg survives without losing data (extraneous bytes between markers, unknown markers) are ignored.
// Every error names the file.
#ifndef DCODEC_DATASETS_JPEG_H_
#define DCODEC_DATASETS_JPEG_H_

#include <cstdint>
#include <string>

#include "base/status.h"
#include "datasets/image.h"
#include "datasets/read_options.h"

namespace dcodec {

// The first bytes are a JPEG's start-of-image marker followed by another marker (FF D8 FF).
bool LooksLikeJpeg(const uint8_t* data, size_t size);

// Of the options, only keep_metadata applies (a JPEG has neither alpha nor 16-bit samples).
StatusOr<Image> DecodeJpeg(const uint8_t* data, size_t size, const std::string& name,
                           const ImageReadOptions& options = {});

}  // namespace dcodec

#endif  // DCODEC_DATASETS_JPEG_H_
