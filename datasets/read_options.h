// What dcodec's image readers (png.h, jpeg.h, pnm.h, and image_io.h over them) accept beyond plain 8-bit
// samples, and the size limits they share. Every reader checks the limits from the file's header, before it
// allocates the pixels.
#ifndef DCODEC_DATASETS_READ_OPTIONS_H_
#define DCODEC_DATASETS_READ_OPTIONS_H_

#include <cstdint>

namespace dcodec {

constexpr int kMaxImageSide = 65535;
constexpr uint64_t kMaxPixels = uint64_t{1} << 26;  // 64 Mpixel

struct ImageReadOptions {
  // Samples wider than 8 bits (16-bit PNG, PNM with maxval > 255) are accepted when every one is an 8-bit value
  // stored wide (v·257 for 16 bits, so nothing is lost); otherwise they are refused (kUnsupported) unless this is
  // set, which keeps the high byte of each 16-bit sample (PNM with another maxval: rounds to 8 bits).
  bool reduce_16_to_8 = false;
  // Keep transparency: an alpha channel, or palette/colour-key transparency (tRNS) expanded to one, gives an image
  // of 2 (grey + alpha) or 4 (RGBA) channels. Otherwise such images are refused (kUnsupported).
  bool keep_alpha = false;
  // Fill Image::metadata (datasets/metadata.h): the colour information, EXIF, XMP and text the file has. Off, they
  // are skipped (the trainer and `dcodec rd` code pixels only).
  bool keep_metadata = false;
  // Keep 16-bit samples whole: a 16-bit PNG or a PNM with maxval 65535 gives an image with Image::low (also when
  // every sample is v·257), so that it can be coded and written back exactly. PNM with another maxval above 255
  // stays as above. Takes precedence over reduce_16_to_8 for the files it keeps.
  bool keep_16_bit = false;
};

}  // namespace dcodec

#endif  // DCODEC_DATASETS_READ_OPTIONS_H_
