// The C API (dcodec.h) over codec::Codec.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "api/dcodec.h"
#include "base/allocator.h"
#include "bitstream/container.h"
#include "codec/codec.h"
#include "codec/rate_control.h"

struct dcodec_model {
  std::unique_ptr<dcodec::codec::Codec> codec;
};
struct dcodec_metadata {
  dcodec::Metadata metadata;
};

namespace {

thread_local std::string last_error;

dcodec_status Fail(dcodec_status code, std::string message) {
  last_error = std::move(message);
  return code;
}

dcodec_status FromStatus(const dcodec::Status& s) {
  using dcodec::StatusCode;
  if (s.ok()) return DCODEC_OK;
  dcodec_status code = DCODEC_INTERNAL;
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      code = DCODEC_INVALID_ARGUMENT;
      break;
    case StatusCode::kIoError:
      code = DCODEC_IO_ERROR;
      break;
    case StatusCode::kInvalidInput:
    case StatusCode::kTruncated:
      code = DCODEC_INVALID_INPUT;
      break;
    case StatusCode::kCorrupt:
      code = DCODEC_CORRUPT;
      break;
    case StatusCode::kModelMismatch:
      code = DCODEC_MODEL_MISMATCH;
      break;
    case StatusCode::kUnsupported:
      code = DCODEC_UNSUPPORTED;
      break;
    default:
      break;
  }
  return Fail(code, s.message());
}

uint8_t* Copy(const std::vector<uint8_t>& v) {
  auto* out = static_cast<uint8_t*>(std::malloc(v.empty() ? 1 : v.size()));
  if (out && !v.empty()) std::memcpy(out, v.data(), v.size());
  return out;
}

// What dcodec_encode and dcodec_encode16 share: the checks, the options and the encode of `image` (its samples
// already copied in).
dcodec_status EncodeImage(const char* who, const dcodec_model* model, dcodec::Image& image,
                          const dcodec_encode_options* options, uint8_t** stream, size_t* size) {
  dcodec_encode_options o;
  dcodec_encode_options_init(&o);
  if (options) o = *options;
  if (o.quality < 0 || o.quality > 100 || o.threads < 1 || !(o.bpp >= 0) || !(o.psnr >= 0)) {
    return Fail(DCODEC_INVALID_ARGUMENT, std::string(who) + ": quality 0..100, threads >= 1, bpp and psnr >= 0");
  }
  if (o.metadata) image.metadata = o.metadata->metadata;
  dcodec::codec::EncodeOptions eo;
  eo.tiles.threads = o.threads;
  eo.seed = o.seed;
  const dcodec::codec::RateTarget target = dcodec::codec::TargetFor(o.quality, o.bpp, o.psnr, o.lossless != 0);
  auto r = dcodec::codec::EncodeFor(*model->codec, image, eo, target);
  if (!r.ok()) return FromStatus(r.status());
  const dcodec::codec::EncodeResult& result = r->encoded;
  *stream = Copy(result.stream);
  if (!*stream) return Fail(DCODEC_INTERNAL, std::string(who) + ": out of memory");
  *size = result.stream.size();
  return DCODEC_OK;
}

dcodec_status CheckEncodeArguments(const char* who, const dcodec_model* model, const void* pixels, int width,
                                   int height, int channels, uint8_t** stream, size_t* size) {
  if (!model || !pixels || !stream || !size) return Fail(DCODEC_INVALID_ARGUMENT, std::string(who) + ": null argument");
  if (width < 1 || height < 1 || channels < 1 || channels > 4) {
    return Fail(DCODEC_INVALID_ARGUMENT, std::string(who) + ": width and height must be positive, channels 1..4");
  }
  return DCODEC_OK;
}

// What dcodec_decode and dcodec_decode16 share: the checks, the options and the decode into *result. DCODEC_OK or
// DCODEC_SALVAGED (result filled), else an error.
dcodec_status DecodeStream(const char* who, const dcodec_model* model, const uint8_t* stream, size_t size,
                           const dcodec_decode_options* options, dcodec::codec::DecodeResult* result) {
  dcodec_decode_options o;
  dcodec_decode_options_init(&o);
  if (options) o = *options;
  if (o.threads < 1) return Fail(DCODEC_INVALID_ARGUMENT, std::string(who) + ": threads >= 1");
  dcodec::codec::DecodeOptions d;
  d.max_bytes = o.max_bytes;
  d.max_stages = o.max_stages;
  d.threads = o.threads;
  d.salvage = o.salvage != 0;
  if (o.metadata) o.metadata->metadata = {};
  auto r = model->codec->Decode(stream, size, d);
  if (!r.ok()) return FromStatus(r.status());
  *result = std::move(*r);
  if (o.metadata) o.metadata->metadata = std::move(result->image.metadata);
  return result->damage.ok() ? DCODEC_OK : DCODEC_SALVAGED;
}

}  // namespace

extern "C" {

const char* dcodec_version(void) { return "0.1.0"; }
int dcodec_format_version(void) { return dcodec::bitstream::kFormatVersion; }
const char* dcodec_last_error(void) { return last_error.c_str(); }
void dcodec_free(void* buffer) { std::free(buffer); }
int dcodec_reuse_freed_memory(void) { return dcodec::ReuseFreedMemory() ? 1 : 0; }

dcodec_status dcodec_model_open(const char* path, dcodec_model** model) {
  return dcodec_model_open_on(path, "cpu", model);
}

dcodec_status dcodec_model_open_on(const char* path, const char* device, dcodec_model** model) {
  if (!path || !device || !model) return Fail(DCODEC_INVALID_ARGUMENT, "dcodec_model_open: null argument");
  *model = nullptr;
  try {
    auto codec = dcodec::codec::Codec::Load(path, device);
    if (!codec.ok()) return FromStatus(codec.status());
    *model = new dcodec_model{std::move(*codec)};
  } catch (const std::exception& e) {
    return Fail(DCODEC_INTERNAL, e.what());
  }
  return DCODEC_OK;
}

void dcodec_model_close(dcodec_model* model) { delete model; }

dcodec_metadata* dcodec_metadata_new(void) { return new (std::nothrow) dcodec_metadata{}; }
void dcodec_metadata_free(dcodec_metadata* metadata) { delete metadata; }

dcodec_status dcodec_metadata_add(dcodec_metadata* m, int kind, const char* key, const uint8_t* value, size_t size) {
  if (!m || (!value && size)) return Fail(DCODEC_INVALID_ARGUMENT, "dcodec_metadata_add: null argument");
  if (kind < 1 || kind > dcodec::kMetadataKinds) {
    return Fail(DCODEC_INVALID_ARGUMENT, "dcodec_metadata_add: unknown kind " + std::to_string(kind) + " (1..8)");
  }
  const size_t key_size = key ? std::strlen(key) : 0;
  if (m->metadata.items.size() >= dcodec::kMaxMetadataItems ||
      m->metadata.payload_bytes() + key_size + size > dcodec::kMaxMetadataBytes) {
    return Fail(DCODEC_INVALID_ARGUMENT, "dcodec_metadata_add: more than 4096 items or 64 MiB");
  }
  try {
    m->metadata.items.push_back({static_cast<dcodec::MetadataKind>(kind), std::string(key ? key : ""),
                                 std::vector<uint8_t>(value, value + size)});
  } catch (const std::exception& e) {
    return Fail(DCODEC_INTERNAL, e.what());
  }
  return DCODEC_OK;
}

size_t dcodec_metadata_count(const dcodec_metadata* m) { return m ? m->metadata.items.size() : 0; }

dcodec_status dcodec_metadata_get(const dcodec_metadata* m, size_t index, int* kind, const char** key,
                                  const uint8_t** value, size_t* size) {
  if (!m) return Fail(DCODEC_INVALID_ARGUMENT, "dcodec_metadata_get: null argument");
  if (index >= m->metadata.items.size()) {
    return Fail(DCODEC_INVALID_ARGUMENT, "dcodec_metadata_get: index " + std::to_string(index) + " of " +
                                             std::to_string(m->metadata.items.size()) + " items");
  }
  const dcodec::MetadataItem& item = m->metadata.items[index];
  if (kind) *kind = static_cast<int>(item.kind);
  if (key) *key = item.key.c_str();
  if (value) *value = item.value.data();
  if (size) *size = item.value.size();
  return DCODEC_OK;
}

void dcodec_encode_options_init(dcodec_encode_options* o) {
  if (!o) return;
  *o = dcodec_encode_options{};
  o->quality = 75;
  o->threads = 1;
}

void dcodec_decode_options_init(dcodec_decode_options* o) {
  if (!o) return;
  *o = dcodec_decode_options{};
  o->max_stages = -1;
  o->threads = 1;
}

dcodec_status dcodec_encode(const dcodec_model* model, const uint8_t* pixels, int width, int height, int channels,
                            const dcodec_encode_options* options, uint8_t** stream, size_t* size) {
  const dcodec_status checked =
      CheckEncodeArguments("dcodec_encode", model, pixels, width, height, channels, stream, size);
  if (checked != DCODEC_OK) return checked;
  try {
    dcodec::Image image(width, height, channels);
    std::memcpy(image.data.data(), pixels, image.data.size());
    return EncodeImage("dcodec_encode", model, image, options, stream, size);
  } catch (const std::exception& e) {
    return Fail(DCODEC_INTERNAL, e.what());
  }
}

dcodec_status dcodec_encode16(const dcodec_model* model, const uint16_t* pixels, int width, int height, int channels,
                              const dcodec_encode_options* options, uint8_t** stream, size_t* size) {
  const dcodec_status checked =
      CheckEncodeArguments("dcodec_encode16", model, pixels, width, height, channels, stream, size);
  if (checked != DCODEC_OK) return checked;
  try {
    dcodec::Image image(width, height, channels);
    image.low.resize(image.data.size());
    for (size_t i = 0; i < image.data.size(); ++i) {
      image.data[i] = static_cast<uint8_t>(pixels[i] >> 8);
      image.low[i] = static_cast<uint8_t>(pixels[i] & 0xff);
    }
    return EncodeImage("dcodec_encode16", model, image, options, stream, size);
  } catch (const std::exception& e) {
    return Fail(DCODEC_INTERNAL, e.what());
  }
}

dcodec_status dcodec_decode(const dcodec_model* model, const uint8_t* stream, size_t size,
                            const dcodec_decode_options* options, uint8_t** pixels, int* width, int* height,
                            int* channels, int* exact, int* stages) {
  if (!model || (!stream && size) || !pixels || !width || !height || !channels) {
    return Fail(DCODEC_INVALID_ARGUMENT, "dcodec_decode: null argument");
  }
  try {
    dcodec::codec::DecodeResult r;
    const dcodec_status status = DecodeStream("dcodec_decode", model, stream, size, options, &r);
    if (status != DCODEC_OK && status != DCODEC_SALVAGED) return status;
    *pixels = Copy(r.image.data);
    if (!*pixels) return Fail(DCODEC_INTERNAL, "dcodec_decode: out of memory");
    *width = r.image.width;
    *height = r.image.height;
    *channels = r.image.channels;
    // The high bytes of 16-bit samples are not the encoder's input: only dcodec_decode16 gives it back.
    if (exact) *exact = r.exact && !r.image.sixteen_bit() ? 1 : 0;
    if (stages) *stages = r.stages_decoded;
    if (status == DCODEC_SALVAGED) return Fail(DCODEC_SALVAGED, r.damage.message());
  } catch (const std::exception& e) {
    return Fail(DCODEC_INTERNAL, e.what());
  }
  return DCODEC_OK;
}

dcodec_status dcodec_decode16(const dcodec_model* model, const uint8_t* stream, size_t size,
                              const dcodec_decode_options* options, uint16_t** pixels, int* width, int* height,
                              int* channels, int* sample_bits, int* exact, int* stages) {
  if (!model || (!stream && size) || !pixels || !width || !height || !channels) {
    return Fail(DCODEC_INVALID_ARGUMENT, "dcodec_decode16: null argument");
  }
  try {
    dcodec::codec::DecodeResult r;
    const dcodec_status status = DecodeStream("dcodec_decode16", model, stream, size, options, &r);
    if (status != DCODEC_OK && status != DCODEC_SALVAGED) return status;
    const std::vector<uint8_t>& high = r.image.data;
    *pixels = static_cast<uint16_t*>(std::malloc(std::max<size_t>(high.size(), 1) * sizeof(uint16_t)));
    if (!*pixels) return Fail(DCODEC_INTERNAL, "dcodec_decode16: out of memory");
    const bool wide = r.image.sixteen_bit();
    for (size_t i = 0; i < high.size(); ++i) {
      (*pixels)[i] = static_cast<uint16_t>(wide ? (high[i] << 8) | r.image.low[i] : high[i] * 257);
    }
    *width = r.image.width;
    *height = r.image.height;
    *channels = r.image.channels;
    if (sample_bits) *sample_bits = wide ? 16 : 8;
    if (exact) *exact = r.exact ? 1 : 0;
    if (stages) *stages = r.stages_decoded;
    if (status == DCODEC_SALVAGED) return Fail(DCODEC_SALVAGED, r.damage.message());
  } catch (const std::exception& e) {
    return Fail(DCODEC_INTERNAL, e.what());
  }
  return DCODEC_OK;
}

}  // extern "C"
