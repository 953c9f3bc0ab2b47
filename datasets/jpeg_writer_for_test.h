// Test-only: writes JPEGs with libjpeg in memory, so that reader tests make their own inputs.
#ifndef DCODEC_DATASETS_JPEG_WRITER_FOR_TEST_H_
#define DCODEC_DATASETS_JPEG_WRITER_FOR_TEST_H_

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "datasets/image.h"

namespace dcodec {

struct JpegWriteOptionsForTest {
  int quality = 95;
  bool progressive = false;
  bool arithmetic = false;
  bool cmyk = false;           // image has 4 channels, written as Adobe CMYK
  std::string app1;            // written as an APP1 marker (EXIF) when not empty
  std::vector<uint8_t> icc;    // an ICC profile (APP2 chunks) when not empty
  std::string xmp;             // an XMP packet (APP1 with the Adobe namespace) when not empty
  std::string comment;         // a COM marker when not empty
};

// Channels 1 (grey), 3 (RGB, stored as YCbCr 4:2:0) or 4 with cmyk.
inline std::vector<uint8_t> EncodeJpegForTest(const Image& image, const JpegWriteOptionsForTest& options = {}) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = image.width;
  cinfo.image_height = image.height;
  cinfo.input_components = image.channels;
  cinfo.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : options.cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, options.quality, TRUE);
  if (options.progressive) jpeg_simple_progression(&cinfo);
  if (options.arithmetic) cinfo.arith_code = TRUE;
  jpeg_start_compress(&cinfo, TRUE);
  if (!options.app1.empty()) {
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(options.app1.data()),
                      static_cast<unsigned>(options.app1.size()));
  }
  if (!options.icc.empty()) {
    jpeg_write_icc_profile(&cinfo, options.icc.data(), static_cast<unsigned>(options.icc.size()));
  }
  if (!options.xmp.empty()) {
    const std::string xmp = std::string("http://ns.adobe.com/xap/1.0/", 29) + options.xmp;
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(xmp.data()),
                      static_cast<unsigned>(xmp.size()));
  }
  if (!options.comment.empty()) {
    jpeg_write_marker(&cinfo, JPEG_COM, reinterpret_cast<const JOCTET*>(options.comment.data()),
                      static_cast<unsigned>(options.comment.size()));
  }
  std::vector<uint8_t> row;
  while (cinfo.next_scanline < cinfo.image_height) {
    const uint8_t* start = image.data.data() + static_cast<size_t>(cinfo.next_scanline) * image.width * image.channels;
    row.assign(start, start + static_cast<size_t>(image.width) * image.channels);
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::vector<uint8_t> out(buffer, buffer + size);
  std::free(buffer);
  return out;
}

}  // namespace dcodec

#endif  // DCODEC_DATASETS_JPEG_WRITER_FOR_TEST_H_
