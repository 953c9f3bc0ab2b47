// dcodec encode / decode / info.
#include <cmath>
#include <cstdio>
#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "bitstream/container.h"
#include "cli/commands.h"
#include "codec/codec.h"
#include "codec/rate_control.h"
#include "cli/progress.h"
#include "eval/strip.h"
#include "datasets/image_io.h"
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
nlohmann::json AuditJson(const std::vector<codec::StageReport>& stages, size_t header_bytes, double pixels) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t j = 0; j < stages.size(); ++j) {
    const auto& s = stages[j];
    const double fixed = s.payload_bytes - s.ideal_bits / 8.0;
    nlohmann::json row = {{"stage", j + 1},
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
                          {"flush_bytes",
                           fixed - (j == 0 ? header_bytes : 0) - (s.side_bits + s.check_bits + s.portable_bits) / 8.0}};
    if (s.model_bits > 0) row["model_bits"] = s.model_bits;
    if (s.open_bits > 0 || s.timestep == 0) row["open_bits"] = s.open_bits;
    if (s.psnr != 0 && !std::isnan(s.psnr)) row["psnr"] = std::isinf(s.psnr) ? nlohmann::json("lossless") : nlohmann::json(s.psnr);
    out.push_back(row);
  }
  return out;
}

void PrintAudit(const nlohmann::json& rows, double pixels, FILE* f) {
  std::fprintf(f, "stage     t    bytes  cum.bytes  cum.bpp   ideal-bpp  side+check  portable  fixed-B  model-bpp  PSNR\n");
  double ideal = 0, fixed = 0;
  for (const auto& r : rows) {
    ideal += r["ideal_bits"].get<double>();
    fixed += r["fixed_bytes"].get<double>();
    std::string psnr = "-";
    if (r.contains("psnr")) psnr = r["psnr"].is_string() ? "lossless" : FormatPsnr(r["psnr"].get<double>());
    std::string model = r.contains("model_bits") ? std::to_string(r["model_bits"].get<double>() / pixels) : "-";
    if (model.size() > 7) model.resize(7);
    std::fprintf(f, "%5d  %4d  %7d  %9d  %7.4f  %10.4f  %6.1f bit  %4.0f bit  %7.2f  %9s  %s\n", r["stage"].get<int>(),
                 r["timestep"].get<int>(), r["bytes"].get<int>(), r["cumulative_bytes"].get<int>(),
                 r["cumulative_bpp"].get<double>(), r["ideal_bits"].get<double>() / pixels,
                 r["side_bits"].get<double>() + r["check_bits"].get<double>(), r.value("portable_bits", 0.0),
                 r["fixed_bytes"].get<double>(),
                 model.c_str(), psnr.c_str());
  }
  if (!rows.empty()) {
    std::fprintf(f, "total: %d bytes = %.1f ideal + %.1f fixed (header, side information, portability, checks, "
                 "flush)\n",
                 rows.back()["cumulative_bytes"].get<int>(), ideal / 8.0, fixed);
  }
}

// The decoded picture's format: --format, else the output's extension (png for stdout).
StatusOr<OutputFormat> ChooseOutputFormat(const std::string& output, const std::string& format) {
  if (!format.empty()) return ParseOutputFormat(format);
  if (IsStdio(output)) return OutputFormat::kPng;
  return OutputFormatForPath(output);
}

}  // namespace

Command AddEncodeCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string input, output, model, report;
    codec::EncodeOptions options;
    int quality = -1;
    double bpp = 0, psnr = 0;
    bool force = false, eight_bit = false, lossless = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("input", a->input, "image: PNG (8/16-bit grey or RGB, with or without alpha), JPEG or PNM "
                 "(PGM, PPM, PAM), told apart by its bytes; - reads standard input")
      ->required();
  app.add_option("--report", a->report, "write the rate audit (per stage: bytes, ideal bits, fixed bytes, the model's "
                 "own cost, PSNR) as JSON to this file");
  app.add_option("-o,--output", a->output, "output .dcd stream (- writes standard output)")->required();
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
  app.add_option("--stages", a->options.chain.stages, "stages K before the lossless pixel stage (0: the pixels "
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
  auto* quality = app.add_option("-q,--quality", a->quality, "quality 0..100: PSNR 25 + 0.15 q dB (100: lossless); "
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
  a->options.tiles.threads = 0;
  app.add_option("--threads", a->options.tiles.threads, "threads, 0 = all cores (tiles in parallel; the stream "
                 "does not depend on it)")
      ->check(WholeNumber(0, 1024))->capture_default_str();
  app.add_option("--tile", a->options.tiles.tile_size, "tile size in pixels")
      ->check(WholeNumber(16, 4096))
      ->capture_default_str();
  app.add_option("--seed", a->options.seed, "dither seed")
      ->check(WholeNumber(0, UINT64_MAX))
      ->capture_default_str();
  app.add_option("--portable-margin", a->options.portable_margin_bits,
                 "decodable where the network's output differs by less than 2^-BITS (each bit less doubles the "
                 "portability side information)")
      ->check(WholeNumber(8, 30))
      ->capture_default_str();
  app.add_flag("-f,--force", a->force, "overwrite the output file");
  app.add_flag("--8bit", a->eight_bit, "accept a 16-bit PNG or PNM by keeping the high byte of each sample (not "
               "lossless)");
  return [a, &global]() -> Status {
    if (!IsStdio(a->output) && !a->force && FileExists(a->output)) {
      return InvalidArgument(a->output + ": exists (use -f/--force to overwrite)");
    }
    if (!IsStdio(a->input) && !IsStdio(a->output) && SameFile(a->input, a->output)) {
      return InvalidArgument(a->output + ": is the input file; choose another output");
    }
    DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> input, ReadInputBytes(a->input));
    DCODEC_ASSIGN_OR_RETURN(Image image, DecodeImage(input.data(), input.size(), InputName(a->input),
                                                     ImageReadOptions{a->eight_bit, /*keep_alpha=*/true}));
    input = {};
    std::string model = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(auto codec, codec::Codec::Load(model));
    a->options.tiles.threads = ResolveThreads(a->options.tiles.threads);
    // The target: --lossless (or --stages 0, or -q 100) codes everything; --bpp, --psnr and -q (default 75)
    // search where the chain ends (codec/rate_control.h).
    const bool whole = a->lossless || a->options.chain.stages == 0;
    const codec::RateTarget target =
        codec::TargetFor(a->quality >= 0 ? a->quality : 75, a->bpp, a->psnr, whole);
    Progress progress("encoding", global.quiet);
    a->options.on_stage = [&progress](int done, int total) { progress.Update(done, total); };
    DCODEC_ASSIGN_OR_RETURN(codec::TargetResult r, codec::EncodeFor(*codec, image, a->options, target));
    const codec::EncodeResult& result = r.encoded;
    std::string what = "lossless";
    if (r.t_end > 0) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "%s, %zu stages to t = %d", FormatPsnr(result.stages.back().psnr).c_str(),
                    result.stages.size(), r.t_end);
      what = buf;
    }
    DCODEC_RETURN_IF_ERROR(WriteOutputBytes(a->output, result.stream, a->force));
    const nlohmann::json audit = AuditJson(result.stages, result.header_bytes, image.num_pixels());
    if (global.verbose) {
      PrintAudit(audit, image.num_pixels(), stderr);
      std::fprintf(stderr, "rate control: %d trial encode%s\n", r.trials, r.trials == 1 ? "" : "s");
    }
    if (!a->report.empty()) {
      const nlohmann::json report = {{"image", a->input},         {"width", image.width},
                                     {"height", image.height},    {"bytes", result.stream.size()},
                                     {"header_bytes", result.header_bytes}, {"stages", audit}};
      const std::string text = report.dump(1) + "\n";
      DCODEC_RETURN_IF_ERROR(WriteFileAtomic(a->report, std::vector<uint8_t>(text.begin(), text.end()), true));
    }
    if (!global.quiet) {
      std::fprintf(stderr, "Compressed to %zu bytes (%.3f bpp): %s\n", result.stream.size(),
                   result.stream.size() * 8.0 / image.num_pixels(), what.c_str());
    }
    return Status::Ok();
  };
}

Command AddDecodeCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string input, output, model, recon = "mean";
    size_t bytes = 0;
    double bpp = 0;
    int stage = -1;
    codec::DecodeOptions options;
    std::string all_stages, strip, format;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("input", a->input, ".dcd stream (or a prefix of one); - reads standard input")->required();
  app.add_option("-o,--output", a->output, "output image: .png, .ppm (RGB), .pgm (grey) or .pam (any), by its "
                 "extension; - writes standard output (PNG unless --format)")
      ->required();
  app.add_option("--format", a->format, "the output's format whatever its name: png | ppm | pgm | pam")
      ->check(CLI::IsMember({"png", "ppm", "pgm", "pam"}));
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
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
  app.add_option("--strip", a->strip, "also write the stages side by side, labelled with bpp (and PSNR against the "
                 "exact image when the whole stream is decoded), to this PNG");
  app.add_flag("-f,--force", a->force, "overwrite the output file");
  app.add_flag("--salvage", a->options.salvage,
               "a damaged stream: write the picture of the stages before the damage (and exit 0) instead of failing");
  return [a, &global]() -> Status {
    DCODEC_ASSIGN_OR_RETURN(const OutputFormat output_format, ChooseOutputFormat(a->output, a->format));
    if (!IsStdio(a->output) && !a->force && FileExists(a->output)) {
      return InvalidArgument(a->output + ": exists (use -f/--force to overwrite)");
    }
    if (!IsStdio(a->input) && !IsStdio(a->output) && SameFile(a->input, a->output)) {
      return InvalidArgument(a->output + ": is the input file; choose another output");
    }
    if (!a->strip.empty() && !a->force && FileExists(a->strip)) {
      return InvalidArgument(a->strip + ": exists (use -f/--force to overwrite)");
    }
    if (a->recon == "mean") a->options.recon = codec::Reconstruction::kMean;
    else if (a->recon == "ode") a->options.recon = codec::Reconstruction::kOde;
    else if (a->recon == "sample") a->options.recon = codec::Reconstruction::kSample;
    else return InvalidArgument("--recon '" + a->recon + "': expected mean, ode or sample");
    DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> data, ReadInputBytes(a->input));
    a->options.max_bytes = a->bytes;
    a->options.max_stages = a->stage;
    if (a->bpp > 0) {
      auto parsed = bitstream::ParseHeader(data.data(), data.size());
      if (!parsed.ok()) return parsed.status().Prefixed(a->input);
      double pixels = static_cast<double>(parsed->header.width) * parsed->header.height;
      a->options.max_bytes = std::max<size_t>(1, static_cast<size_t>(a->bpp * pixels / 8));
    }
    std::string model = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(auto codec, codec::Codec::Load(model));
    a->options.threads = ResolveThreads(a->options.threads);
    std::vector<Image> stages;  // the picture after each decoded stage
    if (!a->all_stages.empty() || !a->strip.empty()) {
      a->options.on_prefix = [&stages](int k, const Image& image) {
        if (k >= 1) {
          stages.resize(std::max<size_t>(stages.size(), k));
          stages[k - 1] = image;
        }
      };
    }
    Progress progress("decoding", global.quiet);
    a->options.on_stage = [&progress](int done, int total) { progress.Update(done, total); };
    auto result = codec->Decode(data.data(), data.size(), a->options);
    if (!result.ok()) {
      Status s = result.status().Prefixed(a->input);
      if (s.code() == StatusCode::kCorrupt && !a->options.salvage) {
        return Status(s.code(), s.message() + "; nothing written (--salvage writes the stages before the damage)");
      }
      return s;
    }
    auto picture = EncodeImage(result->image, output_format);  // RGBA as .ppm, say: refused before writing
    if (!picture.ok()) return picture.status().Prefixed(OutputName(a->output));
    DCODEC_RETURN_IF_ERROR(WriteOutputBytes(a->output, *picture, a->force));
    stages.resize(std::min<size_t>(stages.size(), result->stages_decoded));
    if (!a->all_stages.empty()) {
      struct stat st {};
      const bool is_dir = ::stat(a->all_stages.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      if (!is_dir && ::mkdir(a->all_stages.c_str(), 0777) != 0) {
        return IoError(a->all_stages + ": cannot create the directory");
      }
      for (size_t k = 0; k < stages.size(); ++k) {
        DCODEC_RETURN_IF_ERROR(
            WritePng(a->all_stages + "/stage_" + std::to_string(k + 1) + ".png", stages[k], /*overwrite=*/true));
      }
    }
    if (!a->strip.empty()) {
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
      DCODEC_RETURN_IF_ERROR(WritePng(a->strip, strip, a->force));
    }
    if (!result->damage.ok()) {  // --salvage: said even with --quiet, since the file is not what it should be
      std::fprintf(stderr, "warning: %s is damaged: %s; wrote the %d stages before the damage (--salvage)\n",
                   a->input.c_str(), result->damage.message().c_str(), result->stages_decoded);
    }
    if (!global.quiet) {
      std::fprintf(stderr, "Decoded %d of %d stages (%zu bytes, %.3f bpp)%s\n", result->stages_decoded,
                   result->schedule_stages, result->bytes_used,
                   result->bytes_used * 8.0 / result->image.num_pixels(), result->exact ? ": lossless" : "");
      const bool asked_for_less = a->bytes > 0 || a->bpp > 0 || a->stage >= 0;
      if (!asked_for_less && result->damage.ok() && result->stages_decoded < result->stages_total) {
        if (result->stream_bytes > 0) {
          std::fprintf(stderr, "note: %s is cut short: %zu of its %llu bytes, inside stage %d of %d (a prefix)\n",
                       a->input.c_str(), result->data_bytes, static_cast<unsigned long long>(result->stream_bytes),
                       result->stages_decoded + 1, result->stages_total);
        } else {
          std::fprintf(stderr,
                       "note: %s holds %d stages but ends inside stage %d (a prefix, or a damaged file: streams "
                       "older than format 5 do not say which)\n",
                       a->input.c_str(), result->stages_total, result->stages_decoded + 1);
        }
      }
    }
    return Status::Ok();
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
    nlohmann::json j = {{"file", a->input},           {"bytes", data.size()},
                        {"format_version", h.version},
                        {"width", h.width},           {"height", h.height},
                        {"channels", h.channels},     {"model_tag", tag},
                        {"stages_in_stream", h.stages}, {"dither_seed", p.dither_seed},
                        {"tile_size", p.tile_size},   {"tile_margin", p.tile_margin},
                        {"chain", h.explicit_params ? nlohmann::json{{"stages", p.chain_stages},
                                                                     {"t_max", p.chain_t_max},
                                                                     {"t_min", p.chain_t_min}}
                                                    : nlohmann::json("model")},
                        {"gaussian", {{"stages", models_g ? nlohmann::json("model") : nlohmann::json(p.gaussian_stages)},
                                      {"index_bits", p.gaussian_index_bits},
                                      {"block_quarters", p.gaussian_block_quarters}}},
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
        j["stages"] = AuditJson(result->stages, result->header_bytes, pixels);
        j["stages_complete"] = result->stages_decoded;
        j["lossless"] = result->exact;
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
                    : data.size() < stream_bytes ? ", cut short: a prefix of " + std::to_string(stream_bytes) + " bytes"
                                                 : ", " + std::to_string(data.size() - stream_bytes) +
                                                       " bytes of trailing garbage after its " +
                                                       std::to_string(stream_bytes);
    }
    std::printf("%s: dcodec stream (format %d), %u x %u, %s, %zu bytes (%.4f bpp)%s\n", a->input.c_str(),
                h.version, h.width, h.height, h.channels == 3 ? "RGB" : "grey", data.size(),
                data.size() * 8.0 / pixels, length_text.c_str());
    const std::string g_text = models_g ? "the model's" : std::to_string(p.gaussian_stages);
    char chain_text[80];
    if (h.explicit_params) {
      std::snprintf(chain_text, sizeof(chain_text), "of %u (chain K = %u, t = %u..%u", p.chain_stages + 1,
                    p.chain_stages, p.chain_t_max, p.chain_t_min);
    } else {
      std::snprintf(chain_text, sizeof(chain_text), "(the model's chain");
    }
    std::printf("model tag %s, %u stages %s; Gaussian stages first: %s, 2^%u candidates "
                "a block of %.2f bits), dither seed %llu, tiles %u+%u, header %zu bytes\n",
                tag, h.stages, chain_text, g_text.c_str(),
                p.gaussian_index_bits, p.gaussian_block_quarters / 4.0,
                static_cast<unsigned long long>(p.dither_seed), p.tile_size, p.tile_margin, parsed->header_bytes);
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
