#include "datasets/image_io.h"

#include <algorithm>
#include <cctype>

#include "base/file_io.h"
#include "datasets/jpeg.h"
#include "datasets/png.h"
#include "datasets/pnm.h"
#include "datasets/webp.h"

namespace dcodec {

std::optional<ImageFormat> SniffImageFormat(const uint8_t* data, size_t size) {
  static const uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (size >= 8 && std::equal(kPngSignature, kPngSignature + 8, data)) return ImageFormat::kPng;
  if (LooksLikeJpeg(data, size)) return ImageFormat::kJpeg;
  if (LooksLikePnm(data, size)) return ImageFormat::kPnm;
  if (LooksLikeWebp(data, size)) return ImageFormat::kWebp;
  return std::nullopt;
}

StatusOr<Image> DecodeImage(const uint8_t* data, size_t size, const std::string& name,
                            const ImageReadOptions& options) {
  if (size == 0) return InvalidInput(name + ": empty file");
  const std::optional<ImageFormat> format = SniffImageFormat(data, size);
  if (!format) return InvalidInput(name + ": not a PNG, JPEG, PNM or WebP image");
  switch (*format) {
    case ImageFormat::kPng: return DecodePng(data, size, name, options);
    case ImageFormat::kJpeg: return DecodeJpeg(data, size, name, options);
    case ImageFormat::kPnm: return DecodePnm(data, size, name, options);
    case ImageFormat::kWebp: return DecodeWebp(data, size, name, options);
  }
  return Internal("unknown image format");
}

StatusOr<Image> ReadImage(const std::string& path, const ImageReadOptions& options) {
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return DecodeImage(bytes.data(), bytes.size(), path, options);
}

StatusOr<OutputFormat> ParseOutputFormat(const std::string& name) {
  if (name == "png") return OutputFormat::kPng;
  if (name == "ppm") return OutputFormat::kPpm;
  if (name == "pgm") return OutputFormat::kPgm;
  if (name == "pam") return OutputFormat::kPam;
  return InvalidArgument("unknown image format '" + name + "' (expected png, ppm, pgm or pam)");
}

StatusOr<OutputFormat> OutputFormatForPath(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string file = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = file.find_last_of('.');
  if (dot == std::string::npos || dot == 0) {
    return InvalidArgument(path + ": no extension to choose the image format by (.png, .ppm, .pgm or .pam; or "
                           "--format)");
  }
  std::string ext = file.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto format = ParseOutputFormat(ext);
  if (!format.ok()) {
    return InvalidArgument(path + ": unknown image extension '." + file.substr(dot + 1) +
                           "' (dcodec writes .png, .ppm, .pgm or .pam; or choose with --format)");
  }
  return format;
}

const char* OutputFormatName(OutputFormat format) {
  switch (format) {
    case OutputFormat::kPng: return "png";
    case OutputFormat::kPpm: return "ppm";
    case OutputFormat::kPgm: return "pgm";
    case OutputFormat::kPam: return "pam";
  }
  return "?";
}

StatusOr<std::vector<uint8_t>> EncodeImage(const Image& image, OutputFormat format) {
  switch (format) {
    case OutputFormat::kPng: return EncodePng(image);
    case OutputFormat::kPpm:  // grey widens to three equal channels, which loses nothing
      return EncodePnm(image.channels == 1 ? ToRgb(image) : image, PnmType::kPpm);
    case OutputFormat::kPgm: return EncodePnm(image, PnmType::kPgm);
    case OutputFormat::kPam: return EncodePnm(image, PnmType::kPam);
  }
  return Internal("unknown output format");
}

bool HoldsMetadata(OutputFormat format) { return format == OutputFormat::kPng; }

int AutoOrient(Image& image) {
  MetadataItem* exif = image.metadata.Find(MetadataKind::kExif);
  const int o = exif ? ExifOrientation(exif->value) : 0;
  if (o <= 1) return 1;
  // Orientation o: where the stored pixel (x, y) of a w×h image goes (TIFF 6.0, tag 274). 5..8 swap the sides.
  const bool swap = o >= 5;
  const int w = image.width, h = image.height, c = image.channels;
  Image out(swap ? h : w, swap ? w : h, c);
  if (image.sixteen_bit()) out.low.resize(out.data.size());
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      int u = x, v = y;
      switch (o) {
        case 2: u = w - 1 - x; break;
        case 3: u = w - 1 - x; v = h - 1 - y; break;
        case 4: v = h - 1 - y; break;
        case 5: u = y; v = x; break;
        case 6: u = h - 1 - y; v = x; break;
        case 7: u = h - 1 - y; v = w - 1 - x; break;
        case 8: u = y; v = w - 1 - x; break;
      }
      const size_t from = (static_cast<size_t>(y) * w + x) * c, to = (static_cast<size_t>(v) * out.width + u) * c;
      for (int k = 0; k < c; ++k) out.data[to + k] = image.data[from + k];
      if (image.sixteen_bit()) std::copy_n(image.low.begin() + from, c, out.low.begin() + to);
    }
  }
  out.metadata = std::move(image.metadata);
  SetExifOrientation(out.metadata.Find(MetadataKind::kExif)->value, 1);
  image = std::move(out);
  return o;
}

Status WriteImage(const std::string& path, const Image& image, OutputFormat format, bool overwrite) {
  auto bytes = EncodeImage(image, format);
  if (!bytes.ok()) return bytes.status().Prefixed(path);
  return WriteFileAtomic(path, *bytes, overwrite);
}

}  // namespace dcodec
