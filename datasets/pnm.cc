#include "datasets/pnm.h"

#include <cstring>

namespace dcodec {
namespace {

bool IsSpace(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

// Skips whitespace and '#' comments (to the end of their line).
void SkipSpaceAndComments(const uint8_t* data, size_t size, size_t* pos) {
  while (*pos < size) {
    if (IsSpace(data[*pos])) {
      ++*pos;
    } else if (data[*pos] == '#') {
      while (*pos < size && data[*pos] != '\n') ++*pos;
    } else {
      break;
    }
  }
}

// An ASCII decimal at *pos; -1 if there is none or it is absurdly large.
long ReadNumber(const uint8_t* data, size_t size, size_t* pos) {
  if (*pos >= size || !IsDigit(data[*pos])) return -1;
  long value = 0;
  while (*pos < size && IsDigit(data[*pos])) {
    value = value * 10 + (data[*pos] - '0');
    if (value > 1000000000L) return -1;
    ++*pos;
  }
  return value;
}

// The next header field of P4-P6: whitespace and comments, then a decimal.
long ReadField(const uint8_t* data, size_t size, size_t* pos) {
  SkipSpaceAndComments(data, size, pos);
  return ReadNumber(data, size, pos);
}

struct Header {
  long width = -1, height = -1, depth = -1, maxval = -1;
  std::string tupltype;
  size_t raster = 0;  // offset of the first sample
};

// P7's header, from just after "P7". An empty string on success, else what is wrong.
std::string ParsePamHeader(const uint8_t* data, size_t size, Header* h) {
  size_t pos = 2;
  constexpr size_t kMaxHeader = 1 << 16;
  while (true) {
    SkipSpaceAndComments(data, size, &pos);
    if (pos >= size || pos > kMaxHeader) return "the header has no ENDHDR";
    size_t start = pos;
    while (pos < size && !IsSpace(data[pos])) ++pos;
    const std::string key(reinterpret_cast<const char*>(data + start), pos - start);
    if (key == "ENDHDR") {
      while (pos < size && data[pos] != '\n') {  // the raster starts after the ENDHDR line
        if (!IsSpace(data[pos])) return "text after ENDHDR";
        ++pos;
      }
      if (pos >= size) return "the file ends in the header";
      h->raster = pos + 1;
      return "";
    }
    while (pos < size && (data[pos] == ' ' || data[pos] == '\t')) ++pos;
    if (key == "TUPLTYPE") {
      size_t end = pos;
      while (end < size && data[end] != '\n' && data[end] != '\r') ++end;
      std::string value(reinterpret_cast<const char*>(data + pos), end - pos);
      while (!value.empty() && IsSpace(value.back())) value.pop_back();
      h->tupltype += (h->tupltype.empty() ? "" : " ") + value;
      pos = end;
      continue;
    }
    long* field = key == "WIDTH" ? &h->width : key == "HEIGHT" ? &h->height : key == "DEPTH" ? &h->depth
                : key == "MAXVAL" ? &h->maxval : nullptr;
    if (!field) return "unknown header line '" + key.substr(0, 32) + "'";
    *field = ReadNumber(data, size, &pos);
    if (*field < 0) return "bad " + key;
  }
}

std::string Describe(int channels) {
  switch (channels) {
    case 1: return "grey (1 channel)";
    case 2: return "grey + alpha (2 channels)";
    case 3: return "RGB (3 channels)";
    case 4: return "RGBA (4 channels)";
  }
  return std::to_string(channels) + " channels";
}

}  // namespace

bool LooksLikePnm(const uint8_t* data, size_t size) {
  return size >= 3 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7' && IsSpace(data[2]);
}

StatusOr<Image> DecodePnm(const uint8_t* data, size_t size, const std::string& name,
                          const ImageReadOptions& options) {
  if (size == 0) return InvalidInput(name + ": empty file");
  if (!LooksLikePnm(data, size)) return InvalidInput(name + ": not a PNM (PBM/PGM/PPM/PAM) file");
  const char kind = static_cast<char>(data[1]);
  if (kind <= '3') {
    return Unsupported(name + ": plain (ASCII) PNM P" + std::string(1, kind) +
                       " is not supported; binary P4, P5, P6 and P7 are");
  }
  auto malformed = [&](const std::string& what) {
    return InvalidInput(name + ": malformed P" + std::string(1, kind) + " header (" + what + ")");
  };
  Header h;
  int channels = 0;
  bool alpha = false;
  if (kind == '7') {
    const std::string error = ParsePamHeader(data, size, &h);
    if (!error.empty()) return malformed(error);
    if (h.width < 0 || h.height < 0 || h.depth < 0 || h.maxval < 0) {
      return malformed("WIDTH, HEIGHT, DEPTH and MAXVAL are all required");
    }
    struct Tuple {
      const char* name;
      int depth;
    };
    static constexpr Tuple kTuples[] = {{"GRAYSCALE", 1},       {"BLACKANDWHITE", 1},       {"RGB", 3},
                                        {"GRAYSCALE_ALPHA", 2}, {"BLACKANDWHITE_ALPHA", 2}, {"RGB_ALPHA", 4}};
    int expected = 0;
    for (const Tuple& t : kTuples) {
      if (h.tupltype == t.name) expected = t.depth;
    }
    if (h.tupltype.empty()) {
      if (h.depth < 1 || h.depth > 4) return Unsupported(name + ": PAM of depth " + std::to_string(h.depth));
      expected = static_cast<int>(h.depth);
    } else if (expected == 0) {
      return Unsupported(name + ": PAM TUPLTYPE '" + h.tupltype.substr(0, 64) +
                         "' (readable: GRAYSCALE, RGB, BLACKANDWHITE, each optionally _ALPHA)");
    }
    if (h.depth != expected) {
      return malformed("TUPLTYPE " + h.tupltype + " has depth " + std::to_string(expected) + ", not " +
                       std::to_string(h.depth));
    }
    channels = expected;
    alpha = channels == 2 || channels == 4;
  } else {
    size_t pos = 2;
    h.width = ReadField(data, size, &pos);
    h.height = ReadField(data, size, &pos);
    h.maxval = kind == '4' ? 1 : ReadField(data, size, &pos);
    if (h.width < 0 || h.height < 0 || h.maxval < 0) return malformed("width, height or maxval missing");
    if (pos >= size || !IsSpace(data[pos])) return malformed("no whitespace before the raster");
    h.raster = pos + 1;
    channels = kind == '6' ? 3 : 1;
  }
  if (h.width == 0 || h.height == 0) return InvalidInput(name + ": empty image (0 pixels wide or high)");
  if (h.maxval < 1 || h.maxval > 65535) return malformed("maxval " + std::to_string(h.maxval) + " not in 1..65535");
  if (h.width > kMaxImageSide || h.height > kMaxImageSide ||
      static_cast<uint64_t>(h.width) * static_cast<uint64_t>(h.height) > kMaxPixels) {
    return InvalidInput(name + ": image of " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                        " pixels is larger than dcodec accepts");
  }
  if (alpha && !options.keep_alpha) {
    return Unsupported(name + ": the image has an alpha channel (transparency), which this reader does not keep");
  }
  const size_t width = static_cast<size_t>(h.width), height = static_cast<size_t>(h.height);
  const size_t available = size - h.raster;
  if (kind == '4') {
    const size_t row_bytes = (width + 7) / 8;
    if (available / row_bytes < height) {
      return InvalidInput(name + ": the file ends early (" + std::to_string(available) + " raster bytes of " +
                          std::to_string(row_bytes * height) + ")");
    }
    Image image(static_cast<int>(width), static_cast<int>(height), 1);
    for (size_t y = 0; y < height; ++y) {
      const uint8_t* row = data + h.raster + y * row_bytes;
      for (size_t x = 0; x < width; ++x) {
        image.data[y * width + x] = (row[x / 8] >> (7 - x % 8)) & 1 ? 0 : 255;
      }
    }
    return image;
  }
  const size_t sample_bytes = h.maxval > 255 ? 2 : 1;
  const size_t samples = width * height * channels;
  if (available / sample_bytes < samples) {
    return InvalidInput(name + ": the file ends early (" + std::to_string(available) + " raster bytes of " +
                        std::to_string(samples * sample_bytes) + ")");
  }
  Image image(static_cast<int>(width), static_cast<int>(height), channels);
  const uint8_t* raster = data + h.raster;
  const uint32_t maxval = static_cast<uint32_t>(h.maxval);
  const bool keep_16 = maxval == 65535 && options.keep_16_bit;
  if (keep_16) image.low.resize(samples);
  bool exact = true;
  for (size_t i = 0; i < samples; ++i) {
    const uint32_t v = sample_bytes == 2 ? (uint32_t{raster[2 * i]} << 8) | raster[2 * i + 1] : raster[i];
    if (v > maxval) {
      return InvalidInput(name + ": sample " + std::to_string(v) + " above the maxval " + std::to_string(maxval));
    }
    uint32_t v8 = v;
    if (maxval == 65535) {
      v8 = v >> 8;
      exact = exact && (v & 0xff) == v8;
      if (keep_16) image.low[i] = static_cast<uint8_t>(v & 0xff);
    } else if (maxval != 255) {
      v8 = (v * 255 + maxval / 2) / maxval;
      exact = exact && (maxval < 255 || (v8 * maxval + 127) / 255 == v);
    }
    image.data[i] = static_cast<uint8_t>(v8);
  }
  if (!exact && !options.reduce_16_to_8 && !keep_16) {
    if (maxval != 65535 && options.keep_16_bit) {
      return Unsupported(name + ": samples of maxval " + std::to_string(maxval) +
                         "; dcodec keeps samples wider than 8 bits only as 16 bits (maxval 65535), so coding this "
                         "image would not be lossless (pass --8bit to round each sample to 8 bits)");
    }
    return Unsupported(name + ": 16-bit samples (maxval " + std::to_string(maxval) +
                       "); dcodec codes 8 bits, so coding this image would not be lossless (pass --8bit to " +
                       (maxval == 65535 ? "keep the high byte of each sample)" : "round each sample to 8 bits)"));
  }
  return image;
}

StatusOr<std::vector<uint8_t>> EncodePnm(const Image& image, PnmType type) {
  const char* what = type == PnmType::kPpm ? "PPM" : type == PnmType::kPgm ? "PGM" : "PAM";
  if (image.width <= 0 || image.height <= 0 || image.channels < 1 || image.channels > 4 ||
      image.data.size() != image.num_pixels() * image.channels ||
      (image.sixteen_bit() && image.low.size() != image.data.size())) {
    return InvalidArgument(std::string(what) + " writer: empty or inconsistent image");
  }
  const std::string maxval = image.sixteen_bit() ? "65535" : "255";
  std::string header;
  const std::string size = std::to_string(image.width) + " " + std::to_string(image.height);
  if (type == PnmType::kPpm) {
    if (image.channels != 3) {
      return InvalidArgument("a PPM holds RGB, and the image is " + Describe(image.channels) + ": write " +
                             (image.channels == 1 ? ".pgm, " : "") + ".pam or .png");
    }
    header = "P6\n" + size + "\n" + maxval + "\n";
  } else if (type == PnmType::kPgm) {
    if (image.channels != 1) {
      return InvalidArgument("a PGM holds grey, and the image is " + Describe(image.channels) + ": write " +
                             (image.channels == 3 ? ".ppm, " : "") + ".pam or .png");
    }
    header = "P5\n" + size + "\n" + maxval + "\n";
  } else {
    static const char* const kTuplTypes[] = {"GRAYSCALE", "GRAYSCALE_ALPHA", "RGB", "RGB_ALPHA"};
    header = "P7\nWIDTH " + std::to_string(image.width) + "\nHEIGHT " + std::to_string(image.height) + "\nDEPTH " +
             std::to_string(image.channels) + "\nMAXVAL " + maxval + "\nTUPLTYPE " + kTuplTypes[image.channels - 1] +
             "\nENDHDR\n";
  }
  std::vector<uint8_t> out(header.begin(), header.end());
  if (!image.sixteen_bit()) {
    out.insert(out.end(), image.data.begin(), image.data.end());
    return out;
  }
  out.reserve(out.size() + 2 * image.data.size());
  for (size_t i = 0; i < image.data.size(); ++i) {  // big-endian
    out.push_back(image.data[i]);
    out.push_back(image.low[i]);
  }
  return out;
}

}  // namespace dcodec
