// dcodec encode / decode / info.
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "bitstream/container.h"
#include "cli/batch.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "codec/codec.h"
#include "codec/rate_control.h"
#ifndef DCODEC_NO_EVAL
#include "eval/strip.h"
#endif
#include "datasets/image_io.h"
#include "datasets/metadata.h"
#include "datasets/png.h"

namespace dcodec::cli {
namespace {

std::string FormatPsnr(double psnr) {
  if (std::isinf(psnr)) return "lossless";
  if (std::isnan(psnr)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f dB", psnr);
  return buf;
}

// The rate audit (docs/rate_audit.md): per stage its real bytes against what its symbols ideally cost, and the
// fixed bytes (header, side information, checks, coder flush) that make up the difference.
// The metadata section (format 6) counts with stage 2's bytes, or with the only stage's: its own column there.
nlohmann::json AuditJson(const std::vector<codec::StageReport>& stages, size_t header_bytes, double pixels,
                         size_t metadata_bytes = 0, uint32_t stages_in_stream = 0) {
  nlohmann::json out = nlohmann::json::array();
  const size_t metadata_row = stages_in_stream == 1 ? 0 : 1;
  for (size_t j = 0; j < stages.size(); ++j) {
    const auto& s = stages[j];
    const size_t meta = j == metadata_row ? metadata_bytes : 0;
    const double fixed = s.payload_bytes - s.ideal_bits / 8.0 - static_cast<double>(meta);
    nlohmann::json row = {
        {"stage", j + 1},
        {"timestep", s.timestep},
        {"bytes", s.payload_bytes},
        {"cumulative_bytes", s.prefix_bytes},
        {"cumulative_bpp", s.bpp},
        {"ideal_bits", s.ideal_bits},
        {"side_bits", s.side_bits},
        {"check_bits", s.check_bits},
        {"portable_bits", s.portable_bits},
        {"header_bytes", j == 0 ? header_bytes : 0},
        {"fixed_bytes", fixed},
        {"flush_bytes", fixed - (j == 0 ? header_bytes : 0) - (s.side_bits + s.check_bits + s.portable_bits) / 8.0}};
    if (s.model_bits > 0) row["model_bits"] = s.model_bits;
    if (s.own_index_bits > 0) {  // a Gaussian stage's own settings (format 9)
      row["index_bits"] = s.own_index_bits;
      row["block_bits"] = s.own_block_quarters / 4.0;
    }
    if (meta > 0) row["metadata_bytes"] = meta;
    if (s.open_bits > 0 || s.timestep == 0) row["open_bits"] = s.open_bits;
    if (s.psnr != 0 && !std::isnan(s.psnr))
      row["psnr"] = std::isinf(s.psnr) ? nlohmann::json("lossless") : nlohmann::json(s.psnr);
    out.push_back(row);
  }
  return out;
}

void PrintAudit(const nlohmann::json& rows, double pixels, FILE* f) {
  std::fprintf(
      f, "stage     t    bytes  cum.bytes  cum.bpp   ideal-bpp  side+check  portable  fixed-B  model-bpp  PSNR\n");
  double ideal = 0, fixed = 0;
  size_t metadata = 0;
  for (const auto& r : rows) {
    ideal += r["ideal_bits"].get<double>();
    fixed += r["fixed_bytes"].get<double>();
    metadata += r.value("metadata_bytes", size_t{0});
    std::string psnr = "-";
    if (r.contains("psnr")) psnr = r["psnr"].is_string() ? "lossless" : FormatPsnr(r["psnr"].get<double>());
    std::string model = r.contains("model_bits") ? std::to_string(r["model_bits"].get<double>() / pixels) : "-";
    if (model.size() > 7) model.resize(7);
    std::fprintf(f, "%5d  %4d  %7d  %9d  %7.4f  %10.4f  %6.1f bit  %4.0f bit  %7.2f  %9s  %s\n", r["stage"].get<int>(),
                 r["timestep"].get<int>(), r["bytes"].get<int>(), r["cumulative_bytes"].get<int>(),
                 r["cumulative_bpp"].get<double>(), r["ideal_bits"].get<double>() / pixels,
                 r["side_bits"].get<double>() + r["check_bits"].get<double>(), r.value("portable_bits", 0.0),
                 r["fixed_bytes"].get<double>(), model.c_str(), psnr.c_str());
  }
  if (!rows.empty()) {
    const std::string meta = metadata > 0 ? " + " + std::to_string(metadata) + " metadata" : "";
    std::fprintf(f,
                 "total: %d bytes = %.1f ideal%s + %.1f fixed (header, side information, portability, checks, "
                 "flush)\n",
                 rows.back()["cumulative_bytes"].get<int>(), ideal / 8.0, meta.c_str(), fixed);
  }
  for (const auto& r : rows) {
    if (!r.contains("index_bits")) continue;
    std::fprintf(f, "stage %d: its own 2^%d candidates a block of %.2f bits\n", r["stage"].get<int>(),
                 r["index_bits"].get<int>(), r["block_bits"].get<double>());
  }
}

// "ICC profile, EXIF, 2 text items": what the metadata holds, for messages.
std::string MetadataSummary(const Metadata& metadata) {
  std::string out;
  for (int k = 1; k <= kMetadataKinds; ++k) {
    const auto kind = static_cast<MetadataKind>(k);
    size_t n = 0;
    for (const MetadataItem& item : metadata.items) n += item.kind == kind;
    if (n == 0) continue;
    if (!out.empty()) out += ", ";
    out += n == 1 ? std::string(MetadataKindName(kind))
                  : std::to_string(n) + " " + MetadataKindName(kind) + (kind == MetadataKind::kText ? " items" : "s");
  }
  return out;
}

// The decoded picture's format: --format, else the output's extension (png for stdout).
StatusOr<OutputFormat> ChooseOutputFormat(const std::string& output, const std::string& format) {
  if (!format.empty()) return ParseOutputFormat(format);
  if (IsStdio(output)) return OutputFormat::kPng;
  return OutputFormatForPath(output);
}

struct EncodeArgs {
  std::string device = "cpu";
  std::vector<std::string> inputs;
  std::string output, out_dir, model, report;
  codec::EncodeOptions options;
  int quality = -1;
  double bpp = 0, psnr = 0;
  size_t proxy_pixels = codec::kProxyPixels;
  std::string tail = "auto";
  bool force = false, eight_bit = false, lossless = false, strip = false, auto_orient = false;
};

// Encodes one file; *report gets what to print on stderr (the audit with -v, "Compressed to ...", what metadata is
// kept; nothing more with --quiet).
Status EncodeFile(const codec::Codec& codec, const EncodeArgs& a, const codec::EncodeOptions& options,
                  const std::string& in, const std::string& out, const GlobalOptions& global, std::string* report) {
  if (!IsStdio(out) && !a.force && FileExists(out)) {
    return InvalidArgument(out + ": exists (use -f/--force to overwrite)");
  }
  if (!IsStdio(in) && !IsStdio(out) && SameFile(in, out)) {
    return InvalidArgument(out + ": is the input file; choose another output");
  }
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> input, ReadInputBytes(in));
  DCODEC_ASSIGN_OR_RETURN(Image image, DecodeImage(input.data(), input.size(), InputName(in),
                                                   ImageReadOptions{a.eight_bit, /*keep_alpha=*/true,
                                                                    /*keep_metadata=*/true,
                                                                    /*keep_16_bit=*/!a.eight_bit}));
  input = {};
  const int oriented = a.auto_orient ? AutoOrient(image) : 1;
  Metadata stripped;
  if (a.strip) std::swap(stripped, image.metadata);
  // The target: --lossless (or --stages 0, or -q 100) codes everything; --bpp, --psnr and -q (default 75)
  // search where the chain ends (codec/rate_control.h).
  const bool whole = a.lossless || options.chain.stages == 0;
  codec::RateTarget target = codec::TargetFor(a.quality >= 0 ? a.quality : 75, a.bpp, a.psnr, whole);
  target.proxy_pixels = a.proxy_pixels;
  if (a.tail != "auto") target.tail = a.tail == "gaussian" ? codec::CutTail::kGaussian : codec::CutTail::kDithered;
  auto encoded = codec::EncodeFor(codec, image, options, target);
  if (!encoded.ok()) return encoded.status().Prefixed(InputName(in));
  const codec::TargetResult& r = *encoded;
  const codec::EncodeResult& result = r.encoded;
  // "lossless" only when the pixels and the colour information come back as they were.
  std::string what = image.sixteen_bit() ? "lossless, 16-bit" : "lossless";
  if (oriented != 1) what += " (turned upright: EXIF orientation " + std::to_string(oriented) + ")";
  if (!stripped.empty()) {
    what = (stripped.HasColour() ? "lossless pixels, but not their colours: the " : "lossless pixels; the ") +
           MetadataSummary(stripped) + " left out (--strip)";
  }
  if (r.t_end > 0) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), "%s, %zu stages to t = %d%s", FormatPsnr(result.stages.back().psnr).c_str(),
                  result.stages.size(), r.t_end, r.tail == codec::CutTail::kGaussian ? ", Gaussian to the end" : "");
    what = buf;
  }
  DCODEC_RETURN_IF_ERROR(WriteOutputBytes(out, result.stream, a.force));
  const nlohmann::json audit = AuditJson(result.stages, result.header_bytes, image.num_pixels(), result.metadata_bytes,
                                         static_cast<uint32_t>(result.stages.size()));
  std::string& text = *report;
  if (global.verbose) {
    char* buffer = nullptr;
    size_t size = 0;
    if (FILE* f = open_memstream(&buffer, &size)) {
      PrintAudit(audit, image.num_pixels(), f);
      std::fprintf(f, "rate control: %d trial%s, %d chain stages coded", r.trials, r.trials == 1 ? "" : "s",
                   r.stages_coded);
      for (size_t i = 0; i < r.tried.size(); ++i) {
        std::fprintf(f, "%s t=%d%s: %.3f dB %.3f bpp", i == 0 ? " (cuts tried:" : ",", r.tried[i].t,
                     r.tried[i].tail == codec::CutTail::kGaussian ? " Gaussian" : "", r.tried[i].psnr, r.tried[i].bpp);
      }
      std::fprintf(f, "%s", r.tried.empty() ? "" : ")");
      if (r.proxy_trials > 0) {
        std::fprintf(f, "; %d of them on a proxy of sampled squares", r.proxy_trials);
      }
      std::fprintf(f, "\n");
      std::fclose(f);
      text.assign(buffer, size);
    }
    std::free(buffer);
  }
  if (!a.report.empty()) {
    const nlohmann::json json_report = {{"image", in},
                                        {"width", image.width},
                                        {"height", image.height},
                                        {"bytes", result.stream.size()},
                                        {"header_bytes", result.header_bytes},
                                        {"metadata", DescribeMetadata(image.metadata)},
                                        {"metadata_bytes", result.metadata_bytes},
                                        {"stages", audit}};
    const std::string json = json_report.dump(1) + "\n";
    DCODEC_RETURN_IF_ERROR(WriteFileAtomic(a.report, std::vector<uint8_t>(json.begin(), json.end()), true));
  }
  if (global.quiet) return Status::Ok();
  char line[256];
  std::snprintf(line, sizeof(line), "Compressed to %zu bytes (%.3f bpp): ", result.stream.size(),
                result.stream.size() * 8.0 / image.num_pixels());
  text += line + what + "\n";
  if (result.metadata_bytes > 0) {
    std::snprintf(line, sizeof(line), " (%zu bytes, %zu in the stream)\n", image.metadata.payload_bytes(),
                  result.metadata_bytes);
    text += "metadata kept: " + MetadataSummary(image.metadata) + line;
  }
  return Status::Ok();
}

// printf into a string.
void Appendf(std::string* out, const char* format, ...) __attribute__((format(printf, 2, 3)));
void Appendf(std::string* out, const char* format, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  if (n > 0) out->append(buffer, std::min<size_t>(static_cast<size_t>(n), sizeof(buffer) - 1));
}

struct DecodeArgs {
  std::string device = "cpu";
  std::vector<std::string> inputs;
  std::string output, out_dir, model, recon = "mean";
  size_t bytes = 0;
  double bpp = 0;
  int stage = -1;
  codec::DecodeOptions options;
  std::string all_stages, strip, format;
  bool force = false;
};

// Decodes one file to `out`; *report gets what to print on stderr (warnings even with --quiet).
Status DecodeFile(const codec::Codec& codec, const DecodeArgs& a, codec::DecodeOptions options, const std::string& in,
                  const std::string& out, OutputFormat output_format, const GlobalOptions& global,
                  std::string* report) {
  if (!IsStdio(out) && !a.force && FileExists(out)) {
    return InvalidArgument(out + ": exists (use -f/--force to overwrite)");
  }
  if (!IsStdio(in) && !IsStdio(out) && SameFile(in, out)) {
    return InvalidArgument(out + ": is the input file; choose another output");
  }
  if (!a.strip.empty() && !a.force && FileExists(a.strip)) {
    return InvalidArgument(a.strip + ": exists (use -f/--force to overwrite)");
  }
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> data, ReadInputBytes(in));
  options.max_bytes = a.bytes;
  options.max_stages = a.stage;
  if (a.bpp > 0) {
    auto parsed = bitstream::ParseHeader(data.data(), data.size());
    if (!parsed.ok()) return parsed.status().Prefixed(InputName(in));
    double pixels = static_cast<double>(parsed->header.width) * parsed->header.height;
    options.max_bytes = std::max<size_t>(1, static_cast<size_t>(a.bpp * pixels / 8));
  }
  std::vector<Image> stages;  // the picture after each decoded stage
  if (!a.all_stages.empty() || !a.strip.empty()) {
    options.on_prefix = [&stages](int k, const Image& image) {
      if (k >= 1) {
        stages.resize(std::max<size_t>(stages.size(), k));
        stages[k - 1] = image;
      }
    };
  }
  auto result = codec.Decode(data.data(), data.size(), options);
  if (!result.ok()) {
    Status s = result.status().Prefixed(InputName(in));
    if (s.code() == StatusCode::kCorrupt && !options.salvage) {
      return Status(s.code(), s.message() + "; nothing written (--salvage writes the stages before the damage)");
    }
    return s;
  }
  auto picture = EncodeImage(result->image, output_format);  // RGBA as .ppm, say: refused before writing
  if (!picture.ok()) return picture.status().Prefixed(OutputName(out));
  DCODEC_RETURN_IF_ERROR(WriteOutputBytes(out, *picture, a.force));
  // PNM has no place for metadata: said even with --quiet when colour information is lost.
  const bool metadata_lost = !result->image.metadata.empty() && !HoldsMetadata(output_format);
  if (metadata_lost && (!global.quiet || result->image.metadata.HasColour())) {
    Appendf(report, "warning: %s cannot hold the stream's metadata (%s): not written%s; decode to .png to keep it\n",
            OutputName(out).c_str(), MetadataSummary(result->image.metadata).c_str(),
            result->image.metadata.HasColour() ? ", so its colours are read as sRGB" : "");
  }
  stages.resize(std::min<size_t>(stages.size(), result->stages_decoded));
  if (!a.all_stages.empty()) {
    DCODEC_RETURN_IF_ERROR(MakeDirectory(a.all_stages));
    for (size_t k = 0; k < stages.size(); ++k) {
      DCODEC_RETURN_IF_ERROR(
          WritePng(a.all_stages + "/stage_" + std::to_string(k + 1) + ".png", stages[k], /*overwrite=*/true));
    }
  }
  if (!a.strip.empty()) {
#ifdef DCODEC_NO_EVAL
    return Unsupported("--strip: this build has no drawing library (DCODEC_DEVICE_BUILD)");
#else
    std::vector<eval::StripPanel> panels;
    for (size_t k = 0; k < stages.size(); ++k) {
      char label[96];
      const double bpp = result->stages[k].bpp;
      const bool last_exact = result->exact && k + 1 == stages.size();
      if (last_exact) {
        std::snprintf(label, sizeof(label), "lossless · %.2f bpp", bpp);
      } else if (result->exact) {
        std::snprintf(label, sizeof(label), "stage %zu · %.2f bpp · %.1f dB", k + 1, bpp,
                      codec::Psnr(stages[k], result->image));
      } else {
        std::snprintf(label, sizeof(label), "stage %zu · %.2f bpp", k + 1, bpp);
      }
      panels.push_back({stages[k], label});
    }
    DCODEC_ASSIGN_OR_RETURN(Image strip, eval::DrawStrip(panels));
    DCODEC_RETURN_IF_ERROR(WritePng(a.strip, strip, a.force));
#endif
  }
  if (!result->damage.ok()) {  // --salvage: said even with --quiet, since the file is not what it should be
    Appendf(report, "warning: %s is damaged: %s; wrote the %d stages before the damage (--salvage)\n",
            InputName(in).c_str(), result->damage.message().c_str(), result->stages_decoded);
  }
  if (global.quiet) return Status::Ok();
  const bool wide = result->image.sixteen_bit();
  const char* exact = !result->exact  ? ""
                      : metadata_lost ? (wide ? ": lossless 16-bit pixels (the metadata not written)"
                                              : ": lossless pixels (the metadata not written)")
                                      : (wide ? ": lossless, 16-bit" : ": lossless");
  Appendf(report, "Decoded %d of %d stages (%zu bytes, %.3f bpp)%s\n", result->stages_decoded, result->schedule_stages,
          result->bytes_used, result->bytes_used * 8.0 / result->image.num_pixels(), exact);
  const bool asked_for_less = a.bytes > 0 || a.bpp > 0 || a.stage >= 0;
  if (!asked_for_less && result->damage.ok() && result->stages_decoded < result->stages_total) {
    if (result->stream_bytes > 0) {
      Appendf(report, "note: %s is cut short: %zu of its %llu bytes, inside stage %d of %d (a prefix)\n",
              InputName(in).c_str(), result->data_bytes, static_cast<unsigned long long>(result->stream_bytes),
              result->stages_decoded + 1, result->stages_total);
    } else {
      Appendf(report,
              "note: %s holds %d stages but ends inside stage %d (a prefix, or a damaged file: streams older than "
              "format 5 do not say which)\n",
              InputName(in).c_str(), result->stages_total, result->stages_decoded + 1);
    }
  }
  return Status::Ok();
}

}  // namespace

Command AddEncodeCommand(CLI::App& app, const GlobalOptions& global) {
  auto a = std::make_shared<EncodeArgs>();
  app.add_option("input", a->inputs,
                 "images: PNG (8/16-bit grey or RGB, with or without alpha), JPEG or PNM "
                 "(PGM, PPM, PAM), told apart by their bytes; - reads standard input")
      ->required();
  app.add_option("--report", a->report,
                 "write the rate audit (per stage: bytes, ideal bits, fixed bytes, the model's "
                 "own cost, PSNR) as JSON to this file");
  auto* output = app.add_option("-o,--output", a->output, "output .dcd stream (- writes standard output)");
  app.add_option("--out-dir", a->out_dir,
                 "write each input's stream to DIR/NAME.dcd (several inputs: the model "
                 "loads once, files run in parallel within --threads, a bad file does not stop the others)")
      ->excludes(output);
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
  app.add_option(
         "--device", a->device,
         "where the network runs: cpu, or cuda[:N] where LibTorch has CUDA (the stream is the same; decodes on either)")
      ->capture_default_str();
  app.add_option("--stages", a->options.chain.stages,
                 "stages K before the lossless pixel stage (0: the pixels "
                 "alone; default: the model's, 4 unless its file says otherwise)")
      ->check(WholeNumber(0, 63));
  app.add_option("--t-max", a->options.chain.t_max, "first timestep of the coding chain (default: the model's, 400)")
      ->check(WholeNumber(1, 65535));
  app.add_option("--t-min", a->options.chain.t_min, "last timestep of the coding chain (default: the model's, 10)")
      ->check(WholeNumber(1, 65535));
  app.add_option("--gaussian-stages", a->options.gaussian.stages,
                 "the chain's first stages coded as samples by channel simulation (0: all dithered; -1: the model's, "
                 "as many as it was trained with unless its file says otherwise)")
      ->check(CLI::Range(-1, 63))
      ->capture_default_str();
  app.add_option("--gaussian-bits", a->options.gaussian.index_bits,
                 "2^bits candidates a block of a Gaussian stage (0: by image size, 16 to 10)")
      ->check(WholeNumber(0, 16))
      ->capture_default_str();
  app.add_option("--gaussian-block", a->options.gaussian.block_quarters,
                 "a Gaussian stage's block: its expected KL in quarter bits (0: by image size, 56 to 32)")
      ->check(WholeNumber(0, 255))
      ->capture_default_str();
  app.add_option("--gaussian-first-bits", a->options.gaussian.first_index_bits,
                 "the first Gaussian stage's own 2^bits candidates a block (format 9; 0: auto, as the others' unless "
                 "its blocks starve, docs/rate_audit.md 'The first stage'; -1: the others')")
      ->check(CLI::Range(-1, 16))
      ->capture_default_str();
  app.add_option("--gaussian-first-block", a->options.gaussian.first_block_quarters,
                 "the first Gaussian stage's own block in quarter bits (format 9; 0: auto, the others' or half of it "
                 "where the first stage starves; -1: the others')")
      ->check(CLI::Range(-1, 255))
      ->capture_default_str();
  app.add_option("--gaussian-map", a->options.gaussian.region_map,
                 "region maps: each Gaussian stage's blocks weighed by the real KL of each 32x32 region (formats "
                 "12/13; 0: auto, above 4096 pixels; 1: always; -1: never, docs/rate_audit.md 'The region map')")
      ->check(CLI::Range(-1, 1))
      ->capture_default_str();
  app.add_option("--gaussian-map-offset", a->options.gaussian.region_map_offset,
                 "the encoder's region classes: round(2 log2(real / expected KL) + offset)")
      ->check(CLI::Range(-16.0, 16.0))
      ->capture_default_str();
  auto* quality = app.add_option("-q,--quality", a->quality,
                                 "quality 0..100: PSNR 25 + 0.15 q dB (100: lossless); "
                                 "the default is 75 (36.25 dB)")
                      ->check(WholeNumber(0, 100));
  auto* lossless = app.add_flag("--lossless", a->lossless, "the whole stream: every stage, then the exact pixels")
                       ->excludes(quality);
  auto* bpp = app.add_option("--bpp", a->bpp, "the largest progressive stream within X bits per pixel (within 5%)")
                  ->check(FiniteNumber(0, 1e6))
                  ->excludes(quality)
                  ->excludes(lossless);
  app.add_option("--psnr", a->psnr, "the smallest progressive stream whose picture reaches this PSNR (dB)")
      ->check(FiniteNumber(0, 200))
      ->excludes(bpp)
      ->excludes(quality)
      ->excludes(lossless);
  app.add_option("--proxy-pixels", a->proxy_pixels,
                 "pictures over twice this many pixels search their cut on a proxy of about this many (0: never)")
      ->check(CLI::Range(size_t{0}, size_t{1} << 26));
  app.add_option("--tail", a->tail,
                 "the last stages of a stream at a quality or rate: auto (Gaussian to the end, then the model's "
                 "dithered ones against it; the smaller stream kept), gaussian (one search, faster) or dithered "
                 "(the model's)")
      ->check(CLI::IsMember({"auto", "dithered", "gaussian"}))
      ->capture_default_str();
  a->options.tiles.threads = 0;
  app.add_option("--threads", a->options.tiles.threads,
                 "threads, 0 = all cores (tiles in parallel; the stream "
                 "does not depend on it)")
      ->check(WholeNumber(0, 1024))
      ->capture_default_str();
  app.add_option("--tile", a->options.tiles.tile_size, "tile size in pixels")
      ->check(WholeNumber(16, 4096))
      ->capture_default_str();
  app.add_option("--seed", a->options.seed, "dither seed")->check(WholeNumber(0, UINT64_MAX))->capture_default_str();
  app.add_option("--portable-margin", a->options.portable_margin_bits,
                 "decodable where the network's output differs by less than 2^-BITS (each bit less doubles the "
                 "portability side information)")
      ->check(WholeNumber(8, 30))
      ->capture_default_str();
  app.add_flag("-f,--force", a->force, "overwrite the output file");
  app.add_flag("--8bit", a->eight_bit,
               "code a 16-bit PNG or PNM as 8 bits, the high byte of each sample (not "
               "lossless)");
  app.add_flag("--strip", a->strip,
               "leave the image's metadata out of the stream (colour profile and colour "
               "chunks, EXIF, XMP, text): by default all of it is kept and written back on decode");
  app.add_flag("--auto-orient", a->auto_orient,
               "turn the pixels upright as the EXIF orientation says (and set it "
               "to 1) instead of keeping the orientation as metadata");
  return [a, &global]() -> Status {
    const size_t n = a->inputs.size();
    if (a->out_dir.empty() && a->output.empty()) return InvalidArgument("-o OUT.dcd (or --out-dir DIR) is required");
    if (a->out_dir.empty() && n > 1) {
      return InvalidArgument(std::to_string(n) +
                             " inputs: name a directory for their streams with --out-dir DIR "
                             "(-o names one output)");
    }
    if (n > 1 && !a->report.empty()) return InvalidArgument("--report takes one input (use -v for each file's audit)");
    std::vector<std::string> outputs = {a->output};
    if (!a->out_dir.empty()) {
      DCODEC_ASSIGN_OR_RETURN(outputs, BatchOutputs(a->inputs, a->out_dir, "dcd"));
    }
    std::string model = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(auto codec, codec::Codec::Load(model, a->device));
    const int threads = ResolveThreads(a->options.tiles.threads);
    if (a->out_dir.empty()) {
      Progress progress("encoding", global.quiet);
      codec::EncodeOptions options = a->options;
      options.tiles.threads = threads;
      options.on_stage = [&progress](int done, int total) { progress.Update(done, total); };
      std::string report;
      Status s = EncodeFile(*codec, *a, options, a->inputs[0], outputs[0], global, &report);
      std::fputs(report.c_str(), stderr);
      return s;
    }
    return RunFiles("encode", "encoding", a->inputs, outputs, threads, global.quiet,
                    [&](size_t i, int threads_per_file, std::string* report) {
                      codec::EncodeOptions options = a->options;
                      options.tiles.threads = threads_per_file;
                      return EncodeFile(*codec, *a, options, a->inputs[i], outputs[i], global, report);
                    });
  };
}

Command AddDecodeCommand(CLI::App& app, const GlobalOptions& global) {
  auto a = std::make_shared<DecodeArgs>();
  app.add_option("input", a->inputs, ".dcd streams (or prefixes of them); - reads standard input")->required();
  auto* output = app.add_option("-o,--output", a->output,
                                "output image: .png, .ppm (RGB), .pgm (grey) or .pam "
                                "(any), by its extension; - writes standard output (PNG unless --format)");
  app.add_option("--out-dir", a->out_dir,
                 "write each input's picture to DIR/NAME.png (or --format's extension; "
                 "several inputs: the model loads once, files run in parallel within --threads, a bad file does not "
                 "stop the others)")
      ->excludes(output);
  app.add_option("--format", a->format, "the output's format whatever its name: png | ppm | pgm | pam")
      ->check(CLI::IsMember({"png", "ppm", "pgm", "pam"}));
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
  app.add_option(
         "--device", a->device,
         "where the network runs: cpu, or cuda[:N] where LibTorch has CUDA (the stream is the same; decodes on either)")
      ->capture_default_str();
  auto* bytes = app.add_option("--bytes", a->bytes, "decode the stages complete within the first N bytes")
                    ->check(WholeNumber(1, uint64_t{1} << 40));
  auto* bpp = app.add_option("--bpp", a->bpp, "decode the stages complete within X bits per pixel")
                  ->check(FiniteNumber(0, 1e6))
                  ->excludes(bytes);
  app.add_option("--stage", a->stage, "decode the first K stages")
      ->check(WholeNumber(1, 64))
      ->excludes(bytes)
      ->excludes(bpp);
  app.add_option("--recon", a->recon, "reconstruction of a lossy prefix: mean | ode | sample")->capture_default_str();
  app.add_option("--recon-steps", a->options.recon_steps, "network evaluations for ode / sample")
      ->check(WholeNumber(1, 10000))
      ->capture_default_str();
  app.add_option("--seed", a->options.recon_seed, "noise seed for --recon sample")
      ->check(WholeNumber(0, UINT64_MAX))
      ->capture_default_str();
  a->options.threads = 0;
  app.add_option("--threads", a->options.threads, "threads, 0 = all cores (the picture does not depend on it)")
      ->check(WholeNumber(0, 1024))
      ->capture_default_str();
  app.add_option("--all-stages", a->all_stages, "also write every decoded stage's picture to DIR/stage_K.png");
  app.add_option("--strip", a->strip,
                 "also write the stages side by side, labelled with bpp (and PSNR against the "
                 "exact image when the whole stream is decoded), to this PNG");
  app.add_flag("-f,--force", a->force, "overwrite the output file");
  app.add_flag("--salvage", a->options.salvage,
               "a damaged stream: write the picture of the stages before the damage (and exit 0) instead of failing");
  return [a, &global]() -> Status {
    const size_t n = a->inputs.size();
    if (a->out_dir.empty() && a->output.empty()) return InvalidArgument("-o OUT (or --out-dir DIR) is required");
    if (a->out_dir.empty() && n > 1) {
      return InvalidArgument(std::to_string(n) +
                             " inputs: name a directory for their pictures with --out-dir DIR "
                             "(-o names one output)");
    }
    if (!a->out_dir.empty() && (!a->all_stages.empty() || !a->strip.empty())) {
      return InvalidArgument("--all-stages and --strip take one input and -o");
    }
    if (a->recon == "mean")
      a->options.recon = codec::Reconstruction::kMean;
    else if (a->recon == "ode")
      a->options.recon = codec::Reconstruction::kOde;
    else if (a->recon == "sample")
      a->options.recon = codec::Reconstruction::kSample;
    else
      return InvalidArgument("--recon '" + a->recon + "': expected mean, ode or sample");
    std::vector<std::string> outputs = {a->output};
    OutputFormat format = OutputFormat::kPng;
    if (!a->out_dir.empty()) {
      const std::string ext = a->format.empty() ? "png" : a->format;
      DCODEC_ASSIGN_OR_RETURN(format, ParseOutputFormat(ext));
      DCODEC_ASSIGN_OR_RETURN(outputs, BatchOutputs(a->inputs, a->out_dir, ext));
    } else {
      DCODEC_ASSIGN_OR_RETURN(format, ChooseOutputFormat(a->output, a->format));
    }
    std::string model = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(auto codec, codec::Codec::Load(model, a->device));
    const int threads = ResolveThreads(a->options.threads);
    if (a->out_dir.empty()) {
      Progress progress("decoding", global.quiet);
      codec::DecodeOptions options = a->options;
      options.threads = threads;
      options.on_stage = [&progress](int done, int total) { progress.Update(done, total); };
      std::string report;
      Status s = DecodeFile(*codec, *a, options, a->inputs[0], a->output, format, global, &report);
      std::fputs(report.c_str(), stderr);
      return s;
    }
    return RunFiles("decode", "decoding", a->inputs, outputs, threads, global.quiet,
                    [&](size_t i, int threads_per_file, std::string* report) {
                      codec::DecodeOptions options = a->options;
                      options.threads = threads_per_file;
                      return DecodeFile(*codec, *a, options, a->inputs[i], outputs[i], format, global, report);
                    });
  };
}

Command AddInfoCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string input, model;
    bool json = false, header_only = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("input", a->input, ".dcd stream")->required();
  app.add_option("--model", a->model, "the stream's model, to list its stages (default: the shipped photo model)");
  app.add_flag("--header", a->header_only, "print the header only (no model needed)");
  app.add_flag("--json", a->json, "print JSON");
  return [a, &global]() -> Status {
    DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> data, ReadFileBytes(a->input));
    auto parsed = bitstream::ParseHeader(data.data(), data.size());
    if (!parsed.ok()) return parsed.status().Prefixed(a->input);
    const auto& h = parsed->header;
    const auto& p = h.params;
    const double pixels = static_cast<double>(h.width) * h.height;
    char tag[8];
    std::snprintf(tag, sizeof(tag), "%02x", h.model_tag);
    const bool models_g = p.gaussian_stages == bitstream::kModelsGaussianStages;
    nlohmann::json j = {{"file", a->input},
                        {"bytes", data.size()},
                        {"format_version", h.version},
                        {"width", h.width},
                        {"height", h.height},
                        {"channels", h.channels},
                        {"model_tag", tag},
                        {"stages_in_stream", h.stages},
                        {"dither_seed", p.dither_seed},
                        {"tile_size", p.tile_size},
                        {"tile_margin", p.tile_margin},
                        {"chain", h.explicit_params ? nlohmann::json{{"stages", p.chain_stages},
                                                                     {"t_max", p.chain_t_max},
                                                                     {"t_min", p.chain_t_min},
                                                                     {"t_end", p.chain_t_end}}
                                                    : nlohmann::json("model")},
                        {"gaussian",
                         {{"stages", models_g ? nlohmann::json("model") : nlohmann::json(p.gaussian_stages)},
                          {"index_bits", p.gaussian_index_bits},
                          {"block_quarters", p.gaussian_block_quarters},
                          {"region_maps", h.has_region_maps()}}},
                        {"header_bytes", parsed->header_bytes}};
    // Format 5 gives the file's length: the file is whole, cut short (a prefix), or longer (trailing garbage).
    const uint64_t stream_bytes = parsed->stream_bytes();
    j["stream_bytes"] = stream_bytes > 0 ? nlohmann::json(stream_bytes) : nlohmann::json(nullptr);
    j["complete"] = stream_bytes > 0 ? nlohmann::json(data.size() == stream_bytes) : nlohmann::json(nullptr);
    Status decode_status;
    if (stream_bytes > 0 && data.size() > stream_bytes) {
      decode_status = InvalidInput(a->input + ": trailing garbage: " + std::to_string(data.size() - stream_bytes) +
                                   " bytes after the stream's end (its header says it has " +
                                   std::to_string(stream_bytes) + " bytes)");
    }
    if (!a->header_only && decode_status.ok()) {
      // The stages' boundaries live inside the entropy-coded stream: listing them means decoding it.
      std::string model = a->model.empty() ? DefaultModelPath() : a->model;
      auto codec = codec::Codec::Load(model);
      if (!codec.ok()) return codec.status();
      codec::DecodeOptions options;
      options.threads = ResolveThreads(0);
      options.audit = true;
      auto result = (*codec)->Decode(data.data(), data.size(), options);
      if (result.ok()) {
        j["stages"] = AuditJson(result->stages, result->header_bytes, pixels, result->metadata_bytes, h.stages);
        j["stages_complete"] = result->stages_decoded;
        j["stages_planned"] = result->schedule_stages;
        j["lossless"] = result->exact;
        if (h.has_depth()) j["sample_bits"] = result->sample_bits;
        if (h.has_metadata()) {
          j["metadata"] = result->metadata_read ? nlohmann::json(DescribeMetadata(result->image.metadata))
                                                : nlohmann::json(nullptr);
          j["metadata_bytes"] = result->metadata_bytes;
        }
      } else {
        decode_status = result.status().Prefixed(a->input);
        j["error"] = decode_status.message();
      }
    }
    if (a->json) {
      std::printf("%s\n", j.dump(2).c_str());
      return decode_status;
    }
    std::string length_text;
    if (stream_bytes > 0) {
      length_text = data.size() == stream_bytes ? ", complete"
                    : data.size() < stream_bytes
                        ? ", cut short: a prefix of " + std::to_string(stream_bytes) + " bytes"
                        : ", " + std::to_string(data.size() - stream_bytes) + " bytes of trailing garbage after its " +
                              std::to_string(stream_bytes);
    }
    const bool sixteen = j.contains("sample_bits") && j["sample_bits"].get<int>() == 16;
    std::printf("%s: dcodec stream (format %d), %u x %u, %s%s, %zu bytes (%.4f bpp)%s\n", a->input.c_str(), h.version,
                h.width, h.height, h.channels == 3 ? "RGB" : "grey", sixteen ? ", 16-bit" : "", data.size(),
                data.size() * 8.0 / pixels, length_text.c_str());
    const std::string g_text = models_g ? "the model's" : std::to_string(p.gaussian_stages);
    char chain_text[120];
    if (h.explicit_params && p.chain_t_end != 0) {
      // The stages a cut chain plans are known with the model's schedule only (codec/chain.h): the decode's.
      const std::string planned =
          j.contains("stages_planned") ? "of " + std::to_string(j["stages_planned"].get<int>()) + " " : "";
      std::snprintf(chain_text, sizeof(chain_text), "%s(chain K = %u, t = %u..%u cut at t = %u", planned.c_str(),
                    p.chain_stages, p.chain_t_max, p.chain_t_min, p.chain_t_end);
    } else if (h.explicit_params) {
      std::snprintf(chain_text, sizeof(chain_text), "of %u (chain K = %u, t = %u..%u", p.chain_stages + 1,
                    p.chain_stages, p.chain_t_max, p.chain_t_min);
    } else {
      std::snprintf(chain_text, sizeof(chain_text), "(the model's chain");
    }
    std::printf(
        "model tag %s, %u stages %s; Gaussian stages first: %s, 2^%u candidates "
        "a block of %.2f bits%s), dither seed %llu, tiles %u+%u, header %zu bytes\n",
        tag, h.stages, chain_text, g_text.c_str(), p.gaussian_index_bits, p.gaussian_block_quarters / 4.0,
        h.has_region_maps() ? ", weighed by region maps" : "", static_cast<unsigned long long>(p.dither_seed),
        p.tile_size, p.tile_margin, parsed->header_bytes);
    if (j.contains("metadata")) {
      if (j["metadata"].is_null()) {
        std::printf("metadata: not in this prefix (it follows stage 1)\n");
      } else if (j["metadata"].empty()) {
        std::printf("metadata: none\n");
      } else {
        std::printf("metadata (%zu bytes in the stream):\n", j["metadata_bytes"].get<size_t>());
        for (const auto& line : j["metadata"]) std::printf("  %s\n", line.get<std::string>().c_str());
      }
    }
    if (j.contains("stages")) {
      PrintAudit(j["stages"], pixels, stdout);
      if (j["stages_complete"].get<int>() < static_cast<int>(h.stages)) {
        std::printf("the file ends inside stage %d (%s)\n", j["stages_complete"].get<int>() + 1,
                    stream_bytes > 0 ? "a prefix" : "a prefix, or a damaged file: format 3 and 4 do not say which");
      }
    }
    return decode_status;
  };
}

}  // namespace dcodec::cli
