#include "datasets/jpeg.h"

// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>

#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "datasets/read_options.h"

namespace dcodec {
namespace {

struct ErrorManager {
  jpeg_error_mgr base;  // first, so that a j_common_ptr's err is also an ErrorManager*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void ExitOnError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  err->base.format_message(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings that mean the pixels are not the file's (data missing or damaged) end the decode; the others (extra
// bytes between markers, unknown markers, odd JFIF versions) leave the pixels intact and are ignored.
void OnMessage(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
      ExitOnError(cinfo);
    default:
      break;
  }
}

bool StartsWith(const jpeg_saved_marker_ptr m, const char* prefix, size_t n) {
  return m->data_length >= n && std::memcmp(m->data, prefix, n) == 0;
}

// The ICC profile, EXIF, XMP and comments of a JPEG whose markers were saved. A CMYK profile does not describe
// the RGB samples the reader makes of a CMYK file: it is left out.
Metadata JpegMetadata(j_decompress_ptr cinfo, bool cmyk) {
  Metadata metadata;
  JOCTET* icc = nullptr;
  unsigned int icc_bytes = 0;
  if (jpeg_read_icc_profile(cinfo, &icc, &icc_bytes) && icc != nullptr) {
    if (!cmyk) metadata.items.push_back({MetadataKind::kIcc, "ICC Profile", std::vector<uint8_t>(icc, icc + icc_bytes)});
    std::free(icc);
  }
  static const char kExif[] = "Exif\0";  // and a second NUL: 6 bytes
  static const char kXmp[] = "http://ns.adobe.com/xap/1.0/";  // and its NUL: 29 bytes
  std::vector<MetadataItem> texts;
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != nullptr; m = m->next) {
    if (m->marker == JPEG_APP0 + 1 && StartsWith(m, kExif, 6) && !metadata.Find(MetadataKind::kExif)) {
      metadata.items.push_back({MetadataKind::kExif, "", std::vector<uint8_t>(m->data + 6, m->data + m->data_length)});
    } else if (m->marker == JPEG_APP0 + 1 && StartsWith(m, kXmp, sizeof(kXmp)) && !metadata.Find(MetadataKind::kXmp)) {
      metadata.items.push_back(
          {MetadataKind::kXmp, "", std::vector<uint8_t>(m->data + sizeof(kXmp), m->data + m->data_length)});
    } else if (m->marker == JPEG_COM) {
      // Kept when it is valid UTF-8, else read as Latin-1 (what JPEG comments usually are).
      texts.push_back({MetadataKind::kText, "Comment",
                       IsUtf8(m->data, m->data_length) ? std::vector<uint8_t>(m->data, m->data + m->data_length)
                                                       : Latin1ToUtf8(m->data, m->data_length)});
    }
  }
  metadata.items.insert(metadata.items.end(), texts.begin(), texts.end());
  return metadata;
}

}  // namespace

bool LooksLikeJpeg(const uint8_t* data, size_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

StatusOr<Image> DecodeJpeg(const uint8_t* data, size_t size, const std::string& name,
                           const ImageReadOptions& options) {
  if (size == 0) return InvalidInput(name + ": empty file");
  if (!LooksLikeJpeg(data, size)) return InvalidInput(name + ": not a JPEG file");
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  // Everything that must survive the longjmp lives here, before setjmp.
  Image image;
  std::vector<uint8_t> row;
  Status failure;
  cinfo.err = jpeg_std_error(&err.base);
  err.base.error_exit = ExitOnError;
  err.base.emit_message = OnMessage;
  err.message[0] = '\0';
  if (setjmp(err.jump)) {
    const int code = err.base.msg_code;
    jpeg_destroy_decompress(&cinfo);
    if (!failure.ok()) return failure;
    if (code == JERR_BAD_PRECISION || code == JERR_SOF_UNSUPPORTED || code == JERR_ARITH_NOTIMPL) {
      return Unsupported(name + ": " + err.message);
    }
    return InvalidInput(name + ": corrupt JPEG (" + err.message + ")");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  if (options.keep_metadata) {
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);  // EXIF, XMP
    jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);  // ICC profile chunks
    jpeg_save_markers(&cinfo, JPEG_COM, 0xFFFF);
  }
  if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
    failure = InvalidInput(name + ": corrupt JPEG (no image, only tables)");
    longjmp(err.jump, 1);
  }
  const uint64_t width = cinfo.image_width, height = cinfo.image_height;
  if (width == 0 || height == 0 || width > kMaxImageSide || height > kMaxImageSide || width * height > kMaxPixels) {
    failure = InvalidInput(name + ": image of " + std::to_string(width) + "x" + std::to_string(height) +
                           " pixels is larger than dcodec accepts");
    longjmp(err.jump, 1);
  }
  if (!cinfo.arith_code) {
    uint64_t blocks = 0;
    for (int c = 0; c < cinfo.num_components; ++c) {
      blocks += uint64_t{cinfo.comp_info[c].width_in_blocks} * cinfo.comp_info[c].height_in_blocks;
    }
    if (blocks / 8 > size) {
      failure = InvalidInput(name + ": corrupt JPEG (" + std::to_string(size) + " bytes cannot hold the " +
                             std::to_string(width) + "x" + std::to_string(height) + " image its header declares)");
      longjmp(err.jump, 1);
    }
  }
  bool cmyk = false;
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo.out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_YCbCr:
    case JCS_RGB:
      cinfo.out_color_space = JCS_RGB;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK;
      cmyk = true;
      break;
    default:
      failure = Unsupported(name + ": JPEG with " + std::to_string(cinfo.num_components) +
                            " colour components of an unknown colour space");
      longjmp(err.jump, 1);
  }
  if (options.keep_metadata) image.metadata = JpegMetadata(&cinfo, cmyk);
  jpeg_start_decompress(&cinfo);
  const int channels = cmyk ? 3 : cinfo.output_components;
  const size_t row_samples = static_cast<size_t>(cinfo.output_width) * cinfo.output_components;
  row.resize(row_samples);
  // Row by row, the image growing with what decodes: junk data fails at its first bad row, not after allocating.
  const bool inverted = cinfo.saw_Adobe_marker;  // Adobe CMYK stores 255 - ink
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[1] = {row.data()};
    jpeg_read_scanlines(&cinfo, rows, 1);
    if (!cmyk) {
      image.data.insert(image.data.end(), row.begin(), row.end());
      continue;
    }
    for (size_t x = 0; x < cinfo.output_width; ++x) {
      const uint8_t* p = &row[4 * x];
      const unsigned k = inverted ? p[3] : 255 - p[3];
      for (int c = 0; c < 3; ++c) {
        const unsigned v = inverted ? p[c] : 255 - p[c];
        image.data.push_back(static_cast<uint8_t>((v * k + 127) / 255));
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  image.width = static_cast<int>(cinfo.output_width);
  image.height = static_cast<int>(cinfo.output_height);
  image.channels = channels;
  jpeg_destroy_decompress(&cinfo);
  return image;
}

}  // namespace dcodec
