// dcodec encode / decode / info.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "bitstream/container.h"
#include "cli/commands.h"
#include "codec/codec.h"
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

}  // namespace

Command AddEncodeCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string input, output, model;
    codec::EncodeOptions options;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("input", a->input, "PNG image (8/16-bit grey or RGB)")->required();
  app.add_option("-o,--output", a->output, "output .dcd stream")->required();
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
  app.add_option("--stages", a->options.chain.stages, "dithered stages K before the lossless pixel stage")
      ->capture_default_str();
  app.add_option("--t-max", a->options.chain.t_max, "first timestep of the coding chain")->capture_default_str();
  app.add_option("--t-min", a->options.chain.t_min, "last timestep of the coding chain")->capture_default_str();
  auto* bpp = app.add_option("--bpp", a->options.target_bpp, "keep the stages that fit in X bits per pixel");
  app.add_option("--psnr", a->options.target_psnr, "end at the first stage reaching this PSNR (dB)")->excludes(bpp);
  a->options.tiles.threads = 0;
  app.add_option("--threads", a->options.tiles.threads, "threads, 0 = all cores (tiles in parallel; the stream "
                 "does not depend on it)")->capture_default_str();
  app.add_option("--tile", a->options.tiles.tile_size, "tile size in pixels")->capture_default_str();
  app.add_option("--seed", a->options.seed, "dither seed")->capture_default_str();
  app.add_flag("-f,--force", a->force, "overwrite the output file");
  return [a, &global]() -> Status {
    if (!a->force && FileExists(a->output)) {
      return InvalidArgument(a->output + ": exists (use -f/--force to overwrite)");
    }
    DCODEC_ASSIGN_OR_RETURN(Image image, ReadPng(a->input));
    std::string model = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(auto codec, codec::Codec::Load(model));
    a->options.tiles.threads = ResolveThreads(a->options.tiles.threads);
    DCODEC_ASSIGN_OR_RETURN(codec::EncodeResult result, codec->Encode(image, a->options));
    DCODEC_RETURN_IF_ERROR(WriteFileAtomic(a->output, result.stream, a->force));
    if (global.verbose) {
      std::fprintf(stderr, "stage  t     bytes   bpp      ideal-bpp  PSNR\n");
      for (size_t j = 0; j < result.stages.size(); ++j) {
        const auto& s = result.stages[j];
        std::fprintf(stderr, "%5zu  %4d  %7zu  %7.4f  %8.4f  %s\n", j + 1, s.timestep, s.prefix_bytes, s.bpp,
                     s.ideal_bits / image.num_pixels(), FormatPsnr(s.psnr).c_str());
      }
    }
    if (!global.quiet) {
      std::fprintf(stderr, "Compressed to %zu bytes (%.3f bpp)\n", result.stream.size(),
                   result.stream.size() * 8.0 / image.num_pixels());
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
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("input", a->input, ".dcd stream (or a prefix of one)")->required();
  app.add_option("-o,--output", a->output, "output PNG")->required();
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
  auto* bytes = app.add_option("--bytes", a->bytes, "decode the stages complete within the first N bytes");
  auto* bpp = app.add_option("--bpp", a->bpp, "decode the stages complete within X bits per pixel")->excludes(bytes);
  app.add_option("--stage", a->stage, "decode the first K stages")->excludes(bytes)->excludes(bpp);
  app.add_option("--recon", a->recon, "reconstruction of a lossy prefix: mean | ode | sample")->capture_default_str();
  app.add_option("--recon-steps", a->options.recon_steps, "network evaluations for ode / sample")
      ->capture_default_str();
  app.add_option("--seed", a->options.recon_seed, "noise seed for --recon sample")->capture_default_str();
  a->options.threads = 0;
  app.add_option("--threads", a->options.threads, "threads, 0 = all cores (the picture does not depend on it)")
      ->capture_default_str();
  app.add_flag("-f,--force", a->force, "overwrite the output file");
  return [a, &global]() -> Status {
    if (!a->force && FileExists(a->output)) {
      return InvalidArgument(a->output + ": exists (use -f/--force to overwrite)");
    }
    if (a->recon == "mean") a->options.recon = codec::Reconstruction::kMean;
    else if (a->recon == "ode") a->options.recon = codec::Reconstruction::kOde;
    else if (a->recon == "sample") a->options.recon = codec::Reconstruction::kSample;
    else return InvalidArgument("--recon '" + a->recon + "': expected mean, ode or sample");
    DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> data, ReadFileBytes(a->input));
    a->options.max_bytes = a->bytes;
    a->options.max_stages = a->stage;
    if (a->bpp > 0) {
      auto parsed = bitstream::ParseStream(data.data(), data.size());
      if (!parsed.ok()) return parsed.status().Prefixed(a->input);
      double pixels = static_cast<double>(parsed->header.width) * parsed->header.height;
      a->options.max_bytes = std::max<size_t>(1, static_cast<size_t>(a->bpp * pixels / 8));
    }
    std::string model = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(auto codec, codec::Codec::Load(model));
    a->options.threads = ResolveThreads(a->options.threads);
    auto result = codec->Decode(data.data(), data.size(), a->options);
    if (!result.ok()) return result.status().Prefixed(a->input);
    DCODEC_RETURN_IF_ERROR(WritePng(a->output, result->image, a->force));
    if (!global.quiet) {
      std::fprintf(stderr, "Decoded %d of %d stages (%zu bytes, %.3f bpp)%s\n", result->stages_decoded,
                   result->schedule_stages, result->bytes_used,
                   result->bytes_used * 8.0 / result->image.num_pixels(), result->exact ? ": lossless" : "");
    }
    return Status::Ok();
  };
}

Command AddInfoCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string input;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("input", a->input, ".dcd stream")->required();
  app.add_flag("--json", a->json, "print JSON");
  return [a]() -> Status {
    DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> data, ReadFileBytes(a->input));
    auto parsed = bitstream::ParseStream(data.data(), data.size());
    if (!parsed.ok()) return parsed.status().Prefixed(a->input);
    const auto& h = parsed->header;
    double pixels = static_cast<double>(h.width) * h.height;
    size_t prefix = parsed->payloads.empty() ? data.size() : parsed->payloads[0].first - data.data();
    size_t header_bytes = prefix;
    char id[17];
    std::snprintf(id, sizeof(id), "%016llx", static_cast<unsigned long long>(h.model_id));
    nlohmann::json j = {{"file", a->input},        {"bytes", data.size()},    {"width", h.width},
                        {"height", h.height},      {"channels", h.channels}, {"model_id", id},
                        {"method", h.method},      {"dither_seed", h.dither_seed},
                        {"tile_size", h.tile_size}, {"tile_margin", h.tile_margin},
                        {"schedule", h.schedule},  {"header_bytes", header_bytes},
                        {"truncated", parsed->truncated}};
    j["stages"] = nlohmann::json::array();
    for (size_t s = 0; s < h.stages.size(); ++s) {
      bool complete = s < parsed->payloads.size();
      if (complete) prefix += h.stages[s].num_bytes;
      j["stages"].push_back({{"stage", s + 1},
                             {"timestep", h.stages[s].timestep},
                             {"bytes", h.stages[s].num_bytes},
                             {"complete", complete},
                             {"cumulative_bytes", prefix},
                             {"cumulative_bpp", prefix * 8.0 / pixels}});
    }
    if (a->json) {
      std::printf("%s\n", j.dump(2).c_str());
      return Status::Ok();
    }
    std::printf("%s: dcodec stream, %u x %u, %s, %zu bytes (%.4f bpp)\n", a->input.c_str(), h.width, h.height,
                h.channels == 3 ? "RGB" : "grey", data.size(), data.size() * 8.0 / pixels);
    std::printf("model %s, dither seed %llu, tiles %u+%u, header %zu bytes%s\n", id,
                static_cast<unsigned long long>(h.dither_seed), h.tile_size, h.tile_margin, header_bytes,
                parsed->truncated ? ", truncated" : "");
    std::printf("stage  timestep  bytes     cumulative  bpp\n");
    for (const auto& s : j["stages"]) {
      std::printf("%5d  %8d  %8d  %10d  %.4f%s\n", s["stage"].get<int>(), s["timestep"].get<int>(),
                  s["bytes"].get<int>(), s["cumulative_bytes"].get<int>(), s["cumulative_bpp"].get<double>(),
                  s["complete"].get<bool>() ? "" : "  (missing)");
    }
    return Status::Ok();
  };
}

}  // namespace dcodec::cli
