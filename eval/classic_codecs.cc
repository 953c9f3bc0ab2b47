#include "eval/classic_codecs.h"

#include <sys/stat.h>

#include <chrono>

#include "base/file_io.h"
#include "datasets/png.h"
#include "eval/ppm.h"
#include "eval/subprocess.h"

namespace dcodec::eval {
namespace {

struct CodecSpec {
  const char* name;
  const char* encoder;
  const char* decoder;
  int min_quality;
  int max_quality;
  bool ppm_io;  // the tools read/write PPM rather than PNG
  const char* extension;
};

constexpr CodecSpec kCodecs[] = {
    {"jpeg", "cjpeg", "djpeg", 0, 100, true, "jpg"},
    {"webp", "cwebp", "dwebp", 0, 100, false, "webp"},
    {"jxl", "cjxl", "djxl", 0, 100, false, "jxl"},
    {"avif", "avifenc", "avifdec", 0, 63, false, "avif"},
};

const CodecSpec* FindCodec(const std::string& name) {
  for (const CodecSpec& spec : kCodecs) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

std::vector<std::string> EncodeCommand(const CodecSpec& spec, int q, const std::string& in, const std::string& out) {
  std::string qs = std::to_string(q);
  std::string name = spec.name;
  if (name == "jpeg") return {"cjpeg", "-quality", qs, "-optimize", "-outfile", out, in};
  if (name == "webp") return {"cwebp", "-quiet", "-q", qs, "-m", "6", in, "-o", out};
  if (name == "jxl") return {"cjxl", in, out, "-q", qs, "-e", "7", "--num_threads=1"};
  return {"avifenc", "--min", qs, "--max", qs, "-s", "6", "-j", "1", in, out};
}

std::vector<std::string> DecodeCommand(const CodecSpec& spec, const std::string& in, const std::string& out) {
  std::string name = spec.name;
  if (name == "jpeg") return {"djpeg", "-outfile", out, in};
  if (name == "webp") return {"dwebp", "-quiet", in, "-o", out};
  if (name == "jxl") return {"djxl", in, out, "--num_threads=1"};
  return {"avifdec", "-j", "1", "-d", "8", in, out};
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Image RgbToGrey(const Image& rgb) {
  Image grey(rgb.width, rgb.height, 1);
  for (size_t i = 0; i < rgb.num_pixels(); ++i) {
    int sum = rgb.data[3 * i] + rgb.data[3 * i + 1] + rgb.data[3 * i + 2];
    grey.data[i] = static_cast<uint8_t>((sum + 1) / 3);
  }
  return grey;
}

}  // namespace

std::vector<ClassicCodec> DefaultSweeps() {
  return {
      {"jpeg", {5, 10, 20, 35, 50, 65, 80, 90, 95}},
      {"webp", {0, 10, 25, 40, 55, 70, 80, 90, 100}},
      {"jxl", {5, 15, 30, 45, 60, 72, 82, 90, 95, 98}},
      {"avif", {60, 54, 47, 40, 33, 26, 20, 14, 8}},
  };
}

std::vector<std::string> ClassicCodecNames() {
  std::vector<std::string> names;
  for (const CodecSpec& spec : kCodecs) names.push_back(spec.name);
  return names;
}

bool IsAvailable(const std::string& name) {
  const CodecSpec* spec = FindCodec(name);
  return spec && IsOnPath(spec->encoder) && IsOnPath(spec->decoder);
}

bool LowerQualityValueIsBetter(const std::string& name) { return name == "avif"; }

StatusOr<ClassicResult> RunClassic(const std::string& name, int quality, const Image& image) {
  const CodecSpec* spec = FindCodec(name);
  if (!spec) return InvalidArgument("unknown classic codec '" + name + "' (expected jpeg, webp, jxl or avif)");
  if (quality < spec->min_quality || quality > spec->max_quality) {
    return InvalidArgument(name + ": quality " + std::to_string(quality) + " outside " +
                           std::to_string(spec->min_quality) + ".." + std::to_string(spec->max_quality));
  }
  if ((image.channels != 1 && image.channels != 3) || image.width <= 0 || image.height <= 0 ||
      image.data.size() != image.num_pixels() * image.channels) {
    return InvalidArgument(name + ": the image must be non-empty with 1 or 3 channels");
  }
  for (const char* tool : {spec->encoder, spec->decoder}) {
    if (!IsOnPath(tool)) return Unsupported(name + ": " + tool + " not found on PATH");
  }

  DCODEC_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create(std::string("dcodec-") + spec->name));
  Image rgb = ToRgb(image);
  std::string input = dir.File(spec->ppm_io ? "in.ppm" : "in.png");
  std::string compressed = dir.File(std::string("out.") + spec->extension);
  std::string output = dir.File(spec->ppm_io ? "out.ppm" : "out.png");
  if (spec->ppm_io) {
    DCODEC_RETURN_IF_ERROR(WritePpm(input, rgb, /*overwrite=*/false));
  } else {
    DCODEC_RETURN_IF_ERROR(WritePng(input, rgb, /*overwrite=*/false));
  }

  ClassicResult result;
  auto start = std::chrono::steady_clock::now();
  DCODEC_RETURN_IF_ERROR(RunTool(EncodeCommand(*spec, quality, input, compressed), dir.path()));
  result.encode_seconds = SecondsSince(start);

  struct stat st;
  if (::stat(compressed.c_str(), &st) != 0 || st.st_size <= 0) {
    return Internal(std::string(spec->encoder) + " wrote no output file");
  }
  result.bytes = static_cast<size_t>(st.st_size);

  start = std::chrono::steady_clock::now();
  DCODEC_RETURN_IF_ERROR(RunTool(DecodeCommand(*spec, compressed, output), dir.path()));
  result.decode_seconds = SecondsSince(start);

  StatusOr<Image> decoded = spec->ppm_io ? ReadPpm(output) : ReadPng(output);
  if (!decoded.ok()) {
    return Internal(std::string(spec->decoder) + " output unreadable: " + decoded.status().message());
  }
  Image out = ToRgb(*decoded);
  if (out.width != image.width || out.height != image.height) {
    return Internal(std::string(spec->decoder) + " decoded " + std::to_string(out.width) + "x" +
                    std::to_string(out.height) + ", expected " + std::to_string(image.width) + "x" +
                    std::to_string(image.height));
  }
  result.decoded = image.channels == 1 ? RgbToGrey(out) : std::move(out);
  return result;
}

}  // namespace dcodec::eval
