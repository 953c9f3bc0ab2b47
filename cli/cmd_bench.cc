// dcodec bench: encode and decode seconds and peak memory at 32², 256² and 768×512, printed as a table.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "cli/commands.h"
#include "codec/codec.h"
#include "datasets/image_io.h"
#include "datasets/png.h"
#include "datasets/training_data.h"

namespace dcodec::cli {
namespace {

double PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
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

}  // namespace

Command AddBenchCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string model, image;
    int threads = 2, repeats = 1;
    codec::EncodeOptions options;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
  app.add_option("--image", a->image, "image (PNG, JPEG, PNM) to crop the test pictures from (default: synthetic)");
  app.add_option("--threads", a->threads, "threads")->capture_default_str();
  app.add_option("--stages", a->options.chain.stages, "stages K (default: the model's)");
  app.add_option("--repeats", a->repeats, "runs per size (the fastest is reported)")->capture_default_str();
  return [a, &global]() -> Status {
    SetThreads(a->threads);
    std::string model = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(auto codec, codec::Codec::Load(model));
    Image source;
    if (!a->image.empty()) {
      DCODEC_ASSIGN_OR_RETURN(source, ReadImage(a->image));
      source = ToRgb(source);
    }
    a->options.tiles.threads = a->threads;
    std::printf("model %s, %d threads, K = %d\n", model.c_str(), a->threads, codec->ResolveChain(a->options.chain).stages);
    std::printf("%-9s  %9s  %9s  %9s  %9s  %13s\n", "size", "bpp", "encode s", "decode s", "Mpx/s dec",
                "peak RSS MiB");
    for (auto [w, h] : {std::pair{32, 32}, {256, 256}, {768, 512}}) {
      Image image = MakeBenchImage(a->image.empty() ? nullptr : &source, w, h);
      double best_enc = INFINITY, best_dec = INFINITY;
      size_t bytes = 0;
      for (int r = 0; r < a->repeats; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        DCODEC_ASSIGN_OR_RETURN(codec::EncodeResult enc, codec->Encode(image, a->options));
        auto t1 = std::chrono::steady_clock::now();
        codec::DecodeOptions d;
        d.threads = a->threads;
        DCODEC_ASSIGN_OR_RETURN(codec::DecodeResult dec, codec->Decode(enc.stream.data(), enc.stream.size(), d));
        auto t2 = std::chrono::steady_clock::now();
        if (!(dec.image == image)) return Internal("bench: lossless roundtrip failed");
        bytes = enc.stream.size();
        best_enc = std::min(best_enc, std::chrono::duration<double>(t1 - t0).count());
        best_dec = std::min(best_dec, std::chrono::duration<double>(t2 - t1).count());
      }
      char size[32];
      std::snprintf(size, sizeof(size), "%dx%d", w, h);
      std::printf("%-9s  %9.3f  %9.3f  %9.3f  %9.3f  %13.0f\n", size, bytes * 8.0 / (w * h), best_enc, best_dec,
                  w * h / best_dec / 1e6, PeakRssMiB());
      std::fflush(stdout);
    }
    return Status::Ok();
  };
}

}  // namespace dcodec::cli
