// dcodec sample / nll / set-defaults: the diffusion model as a generative model, and its codec record.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "cli/commands.h"
#include "codec/denoiser.h"
#include "datasets/cifar10.h"
#include "datasets/png.h"
#include "datasets/training_data.h"
#include "model/diffusion.h"
#include "model/model_file.h"

namespace dcodec::cli {
namespace {

StatusOr<torch::Device> ParseDevice(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda") {
    if (!torch::cuda::is_available()) return InvalidArgument("--device cuda: no CUDA device in this LibTorch build");
    return torch::Device(torch::kCUDA);
  }
  return InvalidArgument("--device '" + name + "': expected cpu or cuda");
}

// Tiles N images (N x 3 x H x W uint8) into a near-square grid with a 2-pixel border.
Image MakeGrid(const torch::Tensor& pixels) {
  int n = pixels.size(0), h = pixels.size(2), w = pixels.size(3);
  int cols = static_cast<int>(std::ceil(std::sqrt(n))), rows = (n + cols - 1) / cols;
  const int pad = 2;
  Image grid(cols * (w + pad) + pad, rows * (h + pad) + pad, 3);
  std::fill(grid.data.begin(), grid.data.end(), 255);
  auto acc = pixels.accessor<uint8_t, 4>();
  for (int i = 0; i < n; ++i) {
    int gx = pad + (i % cols) * (w + pad), gy = pad + (i / cols) * (h + pad);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) grid.at(gx + x, gy + y, c) = acc[i][c][y][x];
  }
  return grid;
}

}  // namespace

Command AddSampleCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string model, output, sampler = "ancestral", device = "cpu";
    int n = 16, size = 32, threads = 0;
    bool force = false;
    model::SamplerOptions options;
  };
  auto a = std::make_shared<Args>();
  a->options.steps = 100;
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
  app.add_option("-n", a->n, "number of samples")->capture_default_str();
  app.add_option("-o,--output", a->output, "output PNG grid")->required();
  app.add_option("--size", a->size, "sample size in pixels")->capture_default_str();
  app.add_option("--steps", a->options.steps, "network evaluations (respaced chain)")->capture_default_str();
  app.add_option("--sampler", a->sampler, "ancestral | ddim")->capture_default_str();
  app.add_option("--eta", a->options.eta, "DDIM eta")->capture_default_str();
  app.add_option("--t-end", a->options.t_end,
                 "continuous time: the steps evenly spaced in log-SNR from T down to this real t (e.g. 0.1), then 0; "
                 "0 = the integer respaced chain")
      ->check(FiniteNumber(0, 1e6))
      ->capture_default_str();
  app.add_option("--seed", a->options.seed, "random seed")->capture_default_str();
  app.add_option("--threads", a->threads, "CPU threads (0 = all cores)")->capture_default_str();
  app.add_option("--device", a->device, "cpu | cuda")->capture_default_str();
  app.add_flag("-f,--force", a->force, "overwrite the output file");
  return [a, &global]() -> Status {
    SetThreads(a->threads);
    if (a->n < 1 || a->size < 8) return InvalidArgument("-n must be >= 1 and --size >= 8");
    if (a->sampler == "ancestral")
      a->options.kind = model::SamplerKind::kAncestral;
    else if (a->sampler == "ddim")
      a->options.kind = model::SamplerKind::kDdim;
    else
      return InvalidArgument("--sampler '" + a->sampler + "': expected ancestral or ddim");
    DCODEC_ASSIGN_OR_RETURN(torch::Device device, ParseDevice(a->device));
    std::string path = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(model::LoadedModel loaded, model::LoadModel(path));
    loaded.net->to(device);
    model::Diffusion diffusion(model::NoiseSchedule::Make(loaded.info.schedule, loaded.info.num_steps));
    torch::NoGradGuard no_grad;
    DCODEC_ASSIGN_OR_RETURN(torch::Tensor x, diffusion.Sample(model::AsEpsModel(loaded.net),
                                                              {a->n, 3, a->size, a->size}, a->options, device));
    torch::Tensor pixels = model::ModelToPixels(x).to(torch::kCPU).contiguous();
    DCODEC_RETURN_IF_ERROR(WritePng(a->output, MakeGrid(pixels), a->force));
    if (!global.quiet) std::fprintf(stderr, "wrote %d samples to %s\n", a->n, a->output.c_str());
    return Status::Ok();
  };
}

Command AddNllCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string model, data, device = "cpu";
    int limit = 100, crop = 64, threads = 0;
    model::BoundOptions options;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
  app.add_option("--data", a->data, "cifar10:DIR (its held-out images) or images:DIR (centre crops)")->required();
  app.add_option("--limit", a->limit, "number of images")->capture_default_str();
  app.add_option("--crop", a->crop, "images: centre crop size")->capture_default_str();
  app.add_option("--timesteps", a->options.num_timesteps,
                 "0 = the exact sum over all T - 1 diffusion terms; N = an importance-sampled estimate from N "
                 "timesteps per image, with its confidence interval")
      ->capture_default_str();
  app.add_option("--seed", a->options.seed, "random seed")->capture_default_str();
  app.add_option("--threads", a->threads, "CPU threads (0 = all cores)")->capture_default_str();
  app.add_option("--device", a->device, "cpu | cuda")->capture_default_str();
  return [a, &global]() -> Status {
    SetThreads(a->threads);
    DCODEC_ASSIGN_OR_RETURN(torch::Device device, ParseDevice(a->device));
    std::string path = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(model::LoadedModel loaded, model::LoadModel(path));
    loaded.net->to(device);
    std::vector<uint8_t> planar;
    int size = 0, count = 0;
    auto colon = a->data.find(':');
    std::string kind = a->data.substr(0, colon), dir = colon == std::string::npos ? "" : a->data.substr(colon + 1);
    if (kind == "cifar10") {
      DCODEC_ASSIGN_OR_RETURN(CifarImages all, LoadCifar10(dir));
      CifarImages held = SelectSplit(all, CifarSplit::kHoldout);
      count = std::min(a->limit, held.count());
      size = 32;
      planar.assign(held.planar.begin(), held.planar.begin() + static_cast<size_t>(count) * 3072);
    } else if (kind == "images") {
      DCODEC_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListPngs(dir));
      size = a->crop;
      for (const auto& p : paths) {
        if (count >= a->limit) break;
        DCODEC_ASSIGN_OR_RETURN(Image image, ReadPng(p));
        if (image.width < size || image.height < size) continue;
        planar.resize(planar.size() + 3 * size * size);
        CropResize(image, (image.width - size) / 2, (image.height - size) / 2, 1.0, size, false,
                   planar.data() + planar.size() - 3 * size * size);
        ++count;
      }
    } else {
      return InvalidArgument("--data '" + a->data + "': expected cifar10:DIR or images:DIR");
    }
    if (count == 0) return InvalidInput(a->data + ": no images");
    torch::Tensor x = torch::from_blob(planar.data(), {count, 3, size, size}, torch::kUInt8).clone();
    model::Diffusion diffusion(model::NoiseSchedule::Make(loaded.info.schedule, loaded.info.num_steps));
    torch::NoGradGuard no_grad;
    DCODEC_ASSIGN_OR_RETURN(model::BoundBits bound,
                            diffusion.BoundBitsPerDim(model::AsEpsModel(loaded.net), x, a->options, device));
    char how[128];
    if (bound.exact) {
      std::snprintf(how, sizeof(how), "exact, all %d timesteps", bound.timesteps_per_image);
    } else {
      std::snprintf(how, sizeof(how), "sampled with %d timesteps per image, sampling SE %.4f",
                    bound.timesteps_per_image, bound.sampling_error);
    }
    std::printf(
        "%d images %dx%d: bound %.4f bits/dim (95%% CI %.4f\u2013%.4f over images; diffusion %.4f, L_0 %.4f, "
        "prior %.4f; %s)\n",
        count, size, size, bound.total, bound.ci_low, bound.ci_high, bound.diffusion, bound.decoder, bound.prior, how);
    return Status::Ok();
  };
}

Command AddSetDefaultsCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string model, output;
    int stages = -1, t_max = -1, t_min = -1, gaussian = -1;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--model", a->model, "model file")->required();
  app.add_option("-o,--output", a->output, "the copy to write")->required();
  app.add_option("--stages", a->stages, "stages K of the default chain (-1: keep)")->capture_default_str();
  app.add_option("--t-max", a->t_max, "its first timestep (-1: keep)")->capture_default_str();
  app.add_option("--t-min", a->t_min, "its last timestep (-1: keep)")->capture_default_str();
  app.add_option("--gaussian-stages", a->gaussian, "its Gaussian stages (-1: keep)")->capture_default_str();
  app.add_flag("-f,--force", a->force, "overwrite the output");
  return [a, &global]() -> Status {
    if (!a->force && FileExists(a->output)) {
      return InvalidArgument(a->output + ": exists (use -f/--force to overwrite)");
    }
    DCODEC_ASSIGN_OR_RETURN(model::LoadedModel loaded, model::LoadModel(a->model));
    DCODEC_ASSIGN_OR_RETURN(codec::CodecDefaults d, codec::ReadCodecDefaults(loaded.info.metadata, loaded.info.num_steps));
    if (a->stages >= 0) d.chain_stages = a->stages;
    if (a->t_max >= 0) d.chain_t_max = a->t_max;
    if (a->t_min >= 0) d.chain_t_min = a->t_min;
    if (a->gaussian >= 0) d.gaussian_stages = a->gaussian;
    const nlohmann::json record = {{"chain_stages", d.chain_stages},
                                   {"chain_t_max", d.chain_t_max},
                                   {"chain_t_min", d.chain_t_min},
                                   {"gaussian_stages", d.gaussian_stages}};
    loaded.info.metadata[codec::kCodecRecordKey] = record.dump();
    auto checked = codec::ReadCodecDefaults(loaded.info.metadata, loaded.info.num_steps);
    if (!checked.ok()) return checked.status().Prefixed(a->output);
    DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, model::SerializeModel(loaded.net, loaded.info));
    DCODEC_RETURN_IF_ERROR(WriteFileAtomic(a->output, bytes, a->force));
    if (!global.quiet) {
      std::fprintf(stderr, "%s: streams default to %d stages from t = %d to %d, %d of them Gaussian\n",
                   a->output.c_str(), d.chain_stages, d.chain_t_max, d.chain_t_min, d.gaussian_stages);
    }
    return Status::Ok();
  };
}

}  // namespace dcodec::cli
