#include "datasets/webp.h"

#include <webp/decode.h>
#include <webp/demux.h>

#include <cstring>
#include <memory>

#include "datasets/metadata.h"

namespace dcodec {
namespace {

struct DemuxDeleter {
  void operator()(WebPDemuxer* d) const { WebPDemuxDelete(d); }
};

// The ICCP, EXIF and XMP chunks of an extended WebP.
void ReadWebpMetadata(const uint8_t* data, size_t size, Metadata* metadata) {
  WebPData whole{data, size};
  std::unique_ptr<WebPDemuxer, DemuxDeleter> demux(WebPDemux(&whole));
  if (!demux) return;
  const uint32_t flags = WebPDemuxGetI(demux.get(), WEBP_FF_FORMAT_FLAGS);
  auto chunk = [&](const char* fourcc, MetadataKind kind, const char* key) {
    WebPChunkIterator it;
    if (!WebPDemuxGetChunk(demux.get(), fourcc, 1, &it)) return;
    const uint8_t* bytes = it.chunk.bytes;
    size_t n = it.chunk.size;
    static const uint8_t kExifPrefix[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (kind == MetadataKind::kExif && n >= 6 && std::memcmp(bytes, kExifPrefix, 6) == 0) {
      bytes += 6;
      n -= 6;
    }
    if (n > 0) metadata->items.push_back({kind, key, std::vector<uint8_t>(bytes, bytes + n)});
    WebPDemuxReleaseChunkIterator(&it);
  };
  if (flags & ICCP_FLAG) chunk("ICCP", MetadataKind::kIcc, "ICC Profile");
  if (flags & EXIF_FLAG) chunk("EXIF", MetadataKind::kExif, "");
  if (flags & XMP_FLAG) chunk("XMP ", MetadataKind::kXmp, "");
}

}  // namespace

bool LooksLikeWebp(const uint8_t* data, size_t size) {
  return size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0;
}

StatusOr<Image> DecodeWebp(const uint8_t* data, size_t size, const std::string& name, const ImageReadOptions& options) {
  if (!LooksLikeWebp(data, size)) return InvalidInput(name + ": not a WebP file");
  WebPBitstreamFeatures features;
  const VP8StatusCode parsed = WebPGetFeatures(data, size, &features);
  if (parsed == VP8_STATUS_NOT_ENOUGH_DATA) return InvalidInput(name + ": WebP file cut short");
  if (parsed != VP8_STATUS_OK) return InvalidInput(name + ": not a valid WebP file (libwebp cannot parse it)");
  if (features.has_animation) {
    return Unsupported(name + ": an animated WebP; dcodec codes one picture (extract a frame first)");
  }
  if (features.width < 1 || features.height < 1 || features.width > kMaxImageSide || features.height > kMaxImageSide ||
      static_cast<uint64_t>(features.width) * static_cast<uint64_t>(features.height) > kMaxPixels) {
    return InvalidInput(name + ": image size " + std::to_string(features.width) + "x" +
                        std::to_string(features.height) + " is out of range");
  }
  if (features.has_alpha && !options.keep_alpha) {
    return Unsupported(name + ": the WebP has an alpha channel, which this reader was asked not to keep");
  }
  const int channels = features.has_alpha ? 4 : 3;
  Image image(features.width, features.height, channels);
  const size_t stride = static_cast<size_t>(features.width) * channels;
  const uint8_t* out =
      channels == 4 ? WebPDecodeRGBAInto(data, size, image.data.data(), image.data.size(), static_cast<int>(stride))
                    : WebPDecodeRGBInto(data, size, image.data.data(), image.data.size(), static_cast<int>(stride));
  if (!out) return InvalidInput(name + ": WebP data is corrupt or cut short (libwebp cannot decode it)");
  if (options.keep_metadata) ReadWebpMetadata(data, size, &image.metadata);
  return image;
}

}  // namespace dcodec
