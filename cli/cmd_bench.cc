// dcodec bench: encode and decode seconds (with where they went) and peak memory at a list of sizes (32², 256² and
// 768×512 by default; 4000×3000 for a phone photo), lossless or at a quality, printed as a table.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "cli/commands.h"
#include "codec/codec.h"
#include "codec/rate_control.h"
#include "datasets/image_io.h"
#include "datasets/png.h"
#include "datasets/training_data.h"

namespace dcodec::cli {
namespace {

// The peak resident memory since the last ResetPeakRss (Linux: VmHWM; elsewhere the process's peak).
double PeakRssMiB() {
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof(line), f)) {
      if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    }
    std::fclose(f);
    if (kib >= 0) return kib / 1024.0;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// Linux: "5" in /proc/self/clear_refs resets VmHWM to the current resident size.
void ResetPeakRss() {
  if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

// A test picture of the requested size: a resampled crop of `source` if given, else smooth synthetic content.
Image MakeBenchImage(const Image* source, int width, int height) {
  Image image(width, height, 3);
  if (source) {
    double scale = std::min(static_cast<double>(source->width) / width, static_cast<double>(source->height) / height);
    std::vector<uint8_t> planar(3 * static_cast<size_t>(std::max(width, height)) * std::max(width, height));
    int side = std::max(width, height);
    double s = std::min(scale, std::min(source->width, source->height) / static_cast<double>(side));
    CropResize(*source, 0, 0, s, side, false, planar.data());
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        for (int c = 0; c < 3; ++c) image.at(x, y, c) = planar[(static_cast<size_t>(c) * side + y) * side + x];
    return image;
  }
  std::mt19937 rng(1);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        image.at(x, y, c) = static_cast<uint8_t>(128 + 90 * std::sin(0.05 * x + c) * std::cos(0.07 * y) + rng() % 16);
  return image;
}

// "WxH" → (W, H), each 1..16384.
StatusOr<std::pair<int, int>> ParseSize(const std::string& text) {
  int w = 0, h = 0;
  char x = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &w, &x, &h, &extra) != 3 || x != 'x' || w < 1 || h < 1 || w > 16384 ||
      h > 16384) {
    return InvalidArgument("bench: sizes are WIDTHxHEIGHT (1..16384 each), not '" + text + "'");
  }
  return std::pair{w, h};
}

}  // namespace

Command AddBenchCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string model, image, device = "cpu";
    std::vector<std::string> sizes = {"32x32", "256x256", "768x512"};
    int threads = 2, repeats = 1, quality = 100;
    codec::EncodeOptions options;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
  app.add_option("--image", a->image, "image (PNG, JPEG, PNM) to crop the test pictures from (default: synthetic)");
  app.add_option("--threads", a->threads, "threads")->capture_default_str();
  app.add_option("--device", a->device, "where the network runs: cpu or cuda[:N]")->capture_default_str();
  app.add_option("--stages", a->options.chain.stages, "stages K (default: the model's)");
  app.add_option("--repeats", a->repeats, "runs per size (the fastest is reported)")->capture_default_str();
  app.add_option("--sizes", a->sizes, "picture sizes, WIDTHxHEIGHT (for a 12 MP row: 4000x3000)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("-q,--quality", a->quality, "quality 0..100 as in encode (100: lossless, checked bit for bit)")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  return [a, &global]() -> Status {
    SetThreads(a->threads);
    std::vector<std::pair<int, int>> sizes;
    for (const std::string& text : a->sizes) {
      DCODEC_ASSIGN_OR_RETURN(auto size, ParseSize(text));
      sizes.push_back(size);
    }
    std::string model = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(auto codec, codec::Codec::Load(model, a->device));
    Image source;
    if (!a->image.empty()) {
      DCODEC_ASSIGN_OR_RETURN(source, ReadImage(a->image));
      source = ToRgb(source);
    }
    a->options.tiles.threads = a->threads;
    const codec::RateTarget target = codec::TargetFor(a->quality, 0, 0, a->quality >= 100);
    std::printf("model %s, %s, %d threads, K = %d, quality %d\n", model.c_str(), a->device.c_str(), a->threads,
                codec->ResolveChain(a->options.chain).stages, a->quality);
    std::printf(
        "encode and decode: wall seconds (net: the denoiser; search: Gaussian candidates; rest: coder, "
        "beliefs, copies); peak: resident MiB during the row\n");
    std::printf("%-10s %7s %6s | %8s %7s %7s %7s | %8s %7s %7s %7s | %7s\n", "size", "bpp", "trials", "encode", "net",
                "search", "rest", "decode", "net", "search", "rest", "peak");
    for (auto [w, h] : sizes) {
      ResetPeakRss();
      Image image = MakeBenchImage(a->image.empty() ? nullptr : &source, w, h);
      codec::TimeBreakdown best_enc{0, 0, INFINITY}, best_dec{0, 0, INFINITY};
      size_t bytes = 0;
      int trials = 0;
      for (int r = 0; r < a->repeats; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        DCODEC_ASSIGN_OR_RETURN(codec::TargetResult enc, codec::EncodeFor(*codec, image, a->options, target));
        auto t1 = std::chrono::steady_clock::now();
        codec::DecodeOptions d;
        d.threads = a->threads;
        const std::vector<uint8_t>& stream = enc.encoded.stream;
        DCODEC_ASSIGN_OR_RETURN(codec::DecodeResult dec, codec->Decode(stream.data(), stream.size(), d));
        if (a->quality >= 100 && !(dec.image == image)) return Internal("bench: lossless roundtrip failed");
        bytes = stream.size();
        trials = enc.trials;
        // The encode's breakdown covers the whole search (EncodeToTarget); its total is the wall time.
        codec::TimeBreakdown e = enc.encoded.seconds;
        e.total = std::chrono::duration<double>(t1 - t0).count();
        if (e.total < best_enc.total) best_enc = e;
        if (dec.seconds.total < best_dec.total) best_dec = dec.seconds;
      }
      char size[32];
      std::snprintf(size, sizeof(size), "%dx%d", w, h);
      std::printf("%-10s %7.3f %6d | %8.2f %7.2f %7.2f %7.2f | %8.2f %7.2f %7.2f %7.2f | %7.0f\n", size,
                  bytes * 8.0 / (static_cast<double>(w) * h), trials, best_enc.total, best_enc.network, best_enc.search,
                  best_enc.total - best_enc.network - best_enc.search, best_dec.total, best_dec.network,
                  best_dec.search, best_dec.rest(), PeakRssMiB());
      std::fflush(stdout);
    }
    return Status::Ok();
  };
}

}  // namespace dcodec::cli
