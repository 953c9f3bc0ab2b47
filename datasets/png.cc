#include "datasets/png.h"

#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>
#include <memory>

#include "base/file_io.h"

namespace dcodec {
namespace {

struct MemoryReader {
  const uint8_t* data;
  size_t size;
  size_t pos;
};

void ReadFromMemory(png_structp png, png_bytep out, png_size_t length) {
  auto* r = static_cast<MemoryReader*>(png_get_io_ptr(png));
  if (r->pos + length > r->size) png_error(png, "file ends early");
  std::memcpy(out, r->data + r->pos, length);
  r->pos += length;
}

void ErrorHandler(png_structp png, png_const_charp message) {
  auto* buffer = static_cast<std::string*>(png_get_error_ptr(png));
  if (buffer) *buffer = message;
  longjmp(png_jmpbuf(png), 1);
}

void WarningHandler(png_structp, png_const_charp) {}

void WriteToVector(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}

void FlushNothing(png_structp) {}

// The colour chunks and eXIf are read and written as they are (libpng's "unknown" chunks), so that they come back
// byte for byte and only when the file had them (libpng's own handling would derive gAMA and cHRM from sRGB).
constexpr png_byte kRawChunks[] = "sRGB\0gAMA\0cHRM\0cICP\0eXIf";
constexpr int kRawChunkCount = 5;
constexpr MetadataKind kRawKinds[kRawChunkCount] = {MetadataKind::kSrgb, MetadataKind::kGama, MetadataKind::kChrm,
                                                    MetadataKind::kCicp, MetadataKind::kExif};
constexpr char kXmpKeyword[] = "XML:com.adobe.xmp";

// Appends what `info` holds (after png_read_info, or the chunks after the image data after png_read_end).
void CollectMetadata(png_structp png, png_infop info, Metadata& colour, Metadata& rest) {
  png_charp name = nullptr;
  int compression = 0;
  png_bytep profile = nullptr;
  png_uint_32 profile_bytes = 0;
  if (png_get_iCCP(png, info, &name, &compression, &profile, &profile_bytes) && !colour.Find(MetadataKind::kIcc)) {
    colour.items.push_back({MetadataKind::kIcc, name ? name : "", std::vector<uint8_t>(profile, profile + profile_bytes)});
  }
  png_unknown_chunkp chunks = nullptr;
  const int num_chunks = png_get_unknown_chunks(png, info, &chunks);
  for (int k = 0; k < kRawChunkCount; ++k) {  // in a fixed order: the colour chunks, then eXIf
    for (int i = 0; i < num_chunks; ++i) {
      if (std::memcmp(chunks[i].name, kRawChunks + 5 * k, 4) != 0) continue;
      Metadata& to = kRawKinds[k] == MetadataKind::kExif ? rest : colour;
      if (to.Find(kRawKinds[k])) continue;  // a repeated chunk: the first one counts
      to.items.push_back({kRawKinds[k], "", std::vector<uint8_t>(chunks[i].data, chunks[i].data + chunks[i].size)});
    }
  }
  png_textp text = nullptr;
  const int num_text = png_get_text(png, info, &text, nullptr);
  for (int i = 0; i < num_text; ++i) {
    const bool itxt = text[i].compression >= PNG_ITXT_COMPRESSION_NONE;
    const size_t bytes = itxt ? text[i].itxt_length : text[i].text_length;
    const auto* p = reinterpret_cast<const uint8_t*>(text[i].text);
    if (itxt && std::strcmp(text[i].key, kXmpKeyword) == 0) {
      if (!rest.Find(MetadataKind::kXmp)) rest.items.push_back({MetadataKind::kXmp, "", std::vector<uint8_t>(p, p + bytes)});
      continue;
    }
    rest.items.push_back({MetadataKind::kText, text[i].key,
                          itxt ? std::vector<uint8_t>(p, p + bytes) : Latin1ToUtf8(p, bytes)});
  }
}

}  // namespace

StatusOr<Image> DecodePng(const uint8_t* data, size_t size, const std::string& name, const PngReadOptions& options) {
  if (size == 0) return InvalidInput(name + ": empty file");
  if (size < 8 || png_sig_cmp(data, 0, 8) != 0) return InvalidInput(name + ": not a PNG file");
  std::string error;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &error, ErrorHandler, WarningHandler);
  if (!png) return Internal("libpng: cannot create read struct");
  png_infop info = png_create_info_struct(png);
  png_infop end_info = info ? png_create_info_struct(png) : nullptr;
  if (!info || !end_info) {
    png_destroy_read_struct(&png, &info, nullptr);
    return Internal("libpng: cannot create info struct");
  }
  MemoryReader reader{data, size, 0};
  // Everything that must survive the longjmp lives here, before setjmp.
  Image image;
  std::vector<png_bytep> rows;
  std::vector<uint8_t> wide;        // 16-bit samples before the check
  std::vector<uint8_t> row_buffer;  // one row of a non-interlaced image
  Status failure;
  Metadata colour, rest;  // the colour items first, then EXIF, XMP and text
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, &end_info);
    if (!failure.ok()) return failure;
    return InvalidInput(name + ": corrupt PNG (" + error + ")");
  }
  png_set_read_fn(png, &reader, ReadFromMemory);
  png_set_user_limits(png, kMaxImageSide, kMaxImageSide);
  if (options.keep_metadata) png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, kRawChunks, kRawChunkCount);
  png_read_info(png, info);
  if (options.keep_metadata) CollectMetadata(png, info, colour, rest);
  png_uint_32 width = png_get_image_width(png, info);
  png_uint_32 height = png_get_image_height(png, info);
  int color_type = png_get_color_type(png, info);
  int bit_depth = png_get_bit_depth(png, info);
  if (static_cast<uint64_t>(width) * height > kMaxPixels) {
    failure = InvalidInput(name + ": image of " + std::to_string(width) + "x" + std::to_string(height) +
                           " pixels is larger than dcodec accepts");
    longjmp(png_jmpbuf(png), 1);
  }
  // deflate expands at most 1032:1 (a 258-byte match in 2 bits), so a file this short cannot hold the samples its
  // header announces: refuse it before allocating the image (a 69-byte file could otherwise claim 192 MiB).
  const uint64_t sample_bytes = static_cast<uint64_t>(height) * png_get_rowbytes(png, info);
  if (sample_bytes / 1032 > size) {
    failure = InvalidInput(name + ": corrupt PNG (" + std::to_string(size) + " bytes cannot hold the " +
                           std::to_string(width) + "x" + std::to_string(height) + " image its header declares)");
    longjmp(png_jmpbuf(png), 1);
  }
  const bool transparency = png_get_valid(png, info, PNG_INFO_tRNS);
  if (((color_type & PNG_COLOR_MASK_ALPHA) || transparency) && !options.keep_alpha) {
    failure = Unsupported(name + ": the image has an alpha channel (transparency), which this reader does not keep");
    longjmp(png_jmpbuf(png), 1);
  }
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (transparency) png_set_tRNS_to_alpha(png);  // palette or colour-key transparency: an alpha channel
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int channels = png_get_channels(png, info);
  if (channels < 1 || channels > 4) {
    failure = Unsupported(name + ": unsupported PNG colour layout");
    longjmp(png_jmpbuf(png), 1);
  }
  const size_t row_samples = static_cast<size_t>(width) * channels;
  const size_t sample_size = bit_depth == 16 ? 2 : 1;
  const bool interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
  std::vector<uint8_t>& target = bit_depth == 16 ? wide : image.data;
  if (interlaced) {
    // Adam7 needs the whole image in memory while it decodes (the size check above bounds it by the file size).
    target.resize(sample_size * row_samples * height);
    rows.resize(height);
    for (png_uint_32 y = 0; y < height; ++y) rows[y] = target.data() + sample_size * row_samples * y;
    png_read_image(png, rows.data());
  } else {
    // Row by row, the buffer growing with what decodes: a large header over junk data fails at its first bad row
    // instead of after allocating the whole image.
    std::vector<uint8_t>& row = row_buffer;
    row.resize(sample_size * row_samples);
    for (png_uint_32 y = 0; y < height; ++y) {
      png_read_row(png, row.data(), nullptr);
      target.insert(target.end(), row.begin(), row.end());
    }
  }
  png_read_end(png, options.keep_metadata ? end_info : nullptr);
  if (options.keep_metadata) CollectMetadata(png, end_info, colour, rest);
  png_destroy_read_struct(&png, &info, &end_info);
  image.metadata.items = std::move(colour.items);
  image.metadata.items.insert(image.metadata.items.end(), rest.items.begin(), rest.items.end());
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.channels = channels;
  if (bit_depth == 16) {
    image.data.resize(row_samples * height);
    if (options.keep_16_bit) image.low.resize(row_samples * height);
    bool exact = true;
    for (size_t i = 0; i < image.data.size(); ++i) {  // PNG samples are big-endian
      image.data[i] = wide[2 * i];
      if (options.keep_16_bit) image.low[i] = wide[2 * i + 1];
      exact = exact && wide[2 * i + 1] == wide[2 * i];
    }
    if (!exact && !options.reduce_16_to_8 && !options.keep_16_bit) {
      return Unsupported(name + ": 16-bit samples; dcodec codes 8 bits, so coding this image would not be lossless "
                         "(pass --8bit to keep the high byte of each sample)");
    }
  }
  return image;
}

StatusOr<Image> ReadPng(const std::string& path, const PngReadOptions& options) {
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  return DecodePng(bytes.data(), bytes.size(), path, options);
}

StatusOr<std::vector<uint8_t>> EncodePng(const Image& image) {
  if (image.channels < 1 || image.channels > 4) return InvalidArgument("PNG writer: channels must be 1 to 4");
  if (image.width <= 0 || image.height <= 0 || image.data.size() != image.num_pixels() * image.channels ||
      (image.sixteen_bit() && image.low.size() != image.data.size())) {
    return InvalidArgument("PNG writer: inconsistent image dimensions");
  }
  std::string error;
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &error, ErrorHandler, WarningHandler);
  if (!png) return Internal("libpng: cannot create write struct");
  png_infop info = png_create_info_struct(png);
  std::vector<png_const_bytep> rows(image.height);
  std::vector<uint8_t> wide;  // a 16-bit image's samples, big-endian
  if (image.sixteen_bit()) {
    wide.resize(2 * image.data.size());
    for (size_t i = 0; i < image.data.size(); ++i) {
      wide[2 * i] = image.data[i];
      wide[2 * i + 1] = image.low[i];
    }
  }
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    if (!image.metadata.empty()) {
      return InvalidArgument("PNG writer: libpng refused the image or its metadata (" + error + ")");
    }
    return Internal("libpng: write failed (" + error + ")");
  }
  png_set_write_fn(png, &out, WriteToVector, FlushNothing);
  png_set_IHDR(png, info, image.width, image.height, image.sixteen_bit() ? 16 : 8,
               image.channels == 4   ? PNG_COLOR_TYPE_RGB_ALPHA
               : image.channels == 3 ? PNG_COLOR_TYPE_RGB
               : image.channels == 2 ? PNG_COLOR_TYPE_GRAY_ALPHA
                                     : PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  // The metadata (metadata.h) before the image data. libpng copies what png_set_* are given.
  std::vector<png_unknown_chunk> raw;
  std::vector<png_text> texts;
  std::vector<std::string> keys;  // png_text wants mutable C strings
  keys.reserve(image.metadata.items.size());
  for (const MetadataItem& item : image.metadata.items) {
    auto* value = const_cast<png_bytep>(item.value.data());
    const int k = static_cast<int>(std::find(kRawKinds, kRawKinds + kRawChunkCount, item.kind) - kRawKinds);
    if (item.kind == MetadataKind::kIcc) {
      png_set_iCCP(png, info, item.key.empty() ? "ICC Profile" : item.key.c_str(), PNG_COMPRESSION_TYPE_BASE, value,
                   static_cast<png_uint_32>(item.value.size()));
    } else if (k < kRawChunkCount) {
      png_unknown_chunk chunk{};
      std::memcpy(chunk.name, kRawChunks + 5 * k, 5);
      chunk.data = value;
      chunk.size = item.value.size();
      chunk.location = PNG_HAVE_IHDR;
      raw.push_back(chunk);
    } else {
      const bool xmp = item.kind == MetadataKind::kXmp;
      keys.push_back(xmp ? kXmpKeyword : item.key);
      bool ascii = true;
      for (uint8_t b : item.value) ascii = ascii && b < 0x80 && b != 0;
      png_text t{};
      t.key = keys.back().data();
      t.text = reinterpret_cast<png_charp>(value);
      // Plain text as tEXt (zTXt when long); XMP and anything beyond ASCII as iTXt, which is UTF-8.
      if (ascii && !xmp) {
        t.compression = item.value.size() > 1024 ? PNG_TEXT_COMPRESSION_zTXt : PNG_TEXT_COMPRESSION_NONE;
        t.text_length = item.value.size();
      } else {
        t.compression = PNG_ITXT_COMPRESSION_NONE;
        t.itxt_length = item.value.size();
      }
      texts.push_back(t);
    }
  }
  // png_text's values must be NUL-terminated: the items' bytes are copied with a terminator.
  std::vector<std::vector<char>> text_bytes;
  text_bytes.reserve(texts.size());
  for (png_text& t : texts) {
    const size_t n = t.compression >= PNG_ITXT_COMPRESSION_NONE ? t.itxt_length : t.text_length;
    text_bytes.emplace_back(t.text, t.text + n);
    text_bytes.back().push_back('\0');
    t.text = text_bytes.back().data();
  }
  if (!raw.empty()) {
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, kRawChunks, kRawChunkCount);
    png_set_unknown_chunks(png, info, raw.data(), static_cast<int>(raw.size()));
  }
  if (!texts.empty()) png_set_text(png, info, texts.data(), static_cast<int>(texts.size()));
  png_write_info(png, info);
  const uint8_t* samples = image.sixteen_bit() ? wide.data() : image.data.data();
  const size_t row_bytes = static_cast<size_t>(image.width) * image.channels * (image.sixteen_bit() ? 2 : 1);
  for (int y = 0; y < image.height; ++y) rows[y] = samples + static_cast<size_t>(y) * row_bytes;
  png_write_rows(png, const_cast<png_bytepp>(rows.data()), image.height);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

Status WritePng(const std::string& path, const Image& image, bool overwrite) {
  auto bytes = EncodePng(image);
  if (!bytes.ok()) return bytes.status().Prefixed(path);
  return WriteFileAtomic(path, *bytes, overwrite);
}

Image ToRgb(const Image& image) {
  if (image.channels == 3) return image;
  Image rgb(image.width, image.height, 3);
  if (image.sixteen_bit()) rgb.low.resize(rgb.data.size());
  for (size_t i = 0; i < image.num_pixels(); ++i) {
    rgb.data[3 * i] = rgb.data[3 * i + 1] = rgb.data[3 * i + 2] = image.data[i];
    if (image.sixteen_bit()) rgb.low[3 * i] = rgb.low[3 * i + 1] = rgb.low[3 * i + 2] = image.low[i];
  }
  return rgb;
}

}  // namespace dcodec
