#include "eval/ppm.h"

#include <cctype>

#include "base/file_io.h"
#include "datasets/png.h"

namespace dcodec::eval {
namespace {

// Reads the next ASCII decimal header field, skipping whitespace and '#' comments. Returns -1 if malformed.
long ReadField(const uint8_t* data, size_t size, size_t* pos) {
  while (*pos < size) {
    if (std::isspace(data[*pos])) {
      ++*pos;
    } else if (data[*pos] == '#') {
      while (*pos < size && data[*pos] != '\n') ++*pos;
    } else {
      break;
    }
  }
  if (*pos >= size || !std::isdigit(data[*pos])) return -1;
  long value = 0;
  while (*pos < size && std::isdigit(data[*pos])) {
    value = value * 10 + (data[*pos] - '0');
    if (value > 1000000000L) return -1;
    ++*pos;
  }
  return value;
}

}  // namespace

StatusOr<std::vector<uint8_t>> EncodePpm(const Image& image) {
  if (image.channels != 1 && image.channels != 3) {
    return InvalidArgument("PPM: images must have 1 or 3 channels, not " + std::to_string(image.channels));
  }
  if (image.width <= 0 || image.height <= 0 || image.data.size() != image.num_pixels() * image.channels) {
    return InvalidArgument("PPM: empty or inconsistent image");
  }
  std::string header = std::string(image.channels == 3 ? "P6" : "P5") + "\n" + std::to_string(image.width) + " " +
                       std::to_string(image.height) + "\n255\n";
  std::vector<uint8_t> out(header.begin(), header.end());
  out.insert(out.end(), image.data.begin(), image.data.end());
  return out;
}

StatusOr<Image> DecodePpm(const uint8_t* data, size_t size, const std::string& name) {
  if (size < 2 || data[0] != 'P') return InvalidInput(name + ": not a PPM/PGM file");
  int channels;
  if (data[1] == '6') {
    channels = 3;
  } else if (data[1] == '5') {
    channels = 1;
  } else if (data[1] == '3' || data[1] == '2') {
    return Unsupported(name + ": ASCII PNM (P2/P3) is not supported");
  } else {
    return InvalidInput(name + ": not a binary PPM/PGM file");
  }
  size_t pos = 2;
  long width = ReadField(data, size, &pos);
  long height = ReadField(data, size, &pos);
  long maxval = ReadField(data, size, &pos);
  if (width <= 0 || height <= 0 || maxval <= 0) return InvalidInput(name + ": malformed PPM header");
  if (width > kMaxImageSide || height > kMaxImageSide || static_cast<uint64_t>(width) * height > kMaxPixels) {
    return InvalidInput(name + ": image too large");
  }
  if (maxval != 255) return Unsupported(name + ": PPM maxval " + std::to_string(maxval) + " (only 255)");
  if (pos >= size || !std::isspace(data[pos])) return InvalidInput(name + ": malformed PPM header");
  ++pos;
  Image image(static_cast<int>(width), static_cast<int>(height), channels);
  if (size - pos < image.data.size()) return Truncated(name + ": PPM raster ends early");
  std::copy(data + pos, data + pos + image.data.size(), image.data.begin());
  return image;
}

StatusOr<Image> ReadPpm(const std::string& path) {
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return DecodePpm(bytes.data(), bytes.size(), path);
}

Status WritePpm(const std::string& path, const Image& image, bool overwrite) {
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, EncodePpm(image));
  return WriteFileAtomic(path, bytes, overwrite);
}

}  // namespace dcodec::eval
