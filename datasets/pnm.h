// Netpbm images, binary forms: PBM (P4), PGM (P5), PPM (P6) and PAM (P7), read and written without LibTorch.
//
// Header (P4-P6): magic, width, height and (not P4) maxval as ASCII decimals separated by whitespace, '#' comments
// allowed between fields, then exactly one whitespace byte and the raster, row-major, interleaved; samples are one
// byte when maxval < 256, else two, big-endian. Example: "P6\n2 1\n255\n" then 6 bytes r0 g0 b0 r1 g1 b1.
// PAM (P7): lines "WIDTH w", "HEIGHT h", "DEPTH d", "MAXVAL m", "TUPLTYPE t" in any order, '#' comment lines,
// closed by "ENDHDR\n"; then the raster as above. Example: "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\n
// TUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n" then 2 bytes grey, alpha.
//
// Read: P4 (1 bit, 1 = black: grey 0, 0 = white: grey 255), P5 (grey), P6 (RGB), P7 with TUPLTYPE GRAYSCALE, RGB,
// BLACKANDWHITE, GRAYSCALE_ALPHA, RGB_ALPHA, BLACKANDWHITE_ALPHA (or no TUPLTYPE: from DEPTH 1-4). Samples become 8
// bits: maxval 255 as they are; maxval 1..254 scaled to 0..255 (rounded; different values stay different, so
// nothing is lost); maxval 65535 kept whole with keep_16_bit (Image::low); maxval 256..65535 otherwise like 16-bit
// PNG (read_options.h): accepted when every sample is an 8-bit value scaled to maxval (v·257 for 65535), refused
// with kUnsupported otherwise unless reduce_16_to_8 (65535: the high byte; other maxvals: rounded). Alpha only with keep_alpha (else kUnsupported). The first image of the file
// is read; bytes after its raster are ignored (Netpbm allows several images in one file).
// Refused: plain (ASCII) P1-P3 and other TUPLTYPEs (kUnsupported); malformed headers, samples above maxval, a
// raster shorter than the header says, sizes over kMaxPixels or kMaxImageSide (kInvalidInput, checked from the
// header before the pixels are allocated). Every error names the file.
#ifndef DCODEC_DATASETS_PNM_H_
#define DCODEC_DATASETS_PNM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "datasets/image.h"
#include "datasets/read_options.h"

namespace dcodec {

// The first bytes are a Netpbm magic number, P1 to P7, followed by whitespace.
bool LooksLikePnm(const uint8_t* data, size_t size);

StatusOr<Image> DecodePnm(const uint8_t* data, size_t size, const std::string& name,
                          const ImageReadOptions& options = {});

enum class PnmType {
  kPpm,  // P6: RGB only
  kPgm,  // P5: grey only
  kPam,  // P7: 1 to 4 channels, TUPLTYPE GRAYSCALE, GRAYSCALE_ALPHA, RGB or RGB_ALPHA
};
// Maxval 255, or 65535 for a 16-bit image (Image::low). kInvalidArgument when the image's channels do not fit the type (RGBA as PPM, say), or the
// image is empty or inconsistent.
StatusOr<std::vector<uint8_t>> EncodePnm(const Image& image, PnmType type);

}  // namespace dcodec

#endif  // DCODEC_DATASETS_PNM_H_
