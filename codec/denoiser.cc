#include "codec/denoiser.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "model/model_file.h"
#include "model/unet.h"

namespace dcodec::codec {

struct Denoiser::Impl {
  model::LoadedModel loaded;
  model::NoiseSchedule schedule;
  CodecDefaults defaults;
  torch::Device device{torch::kCPU};
  std::string device_name = "cpu";
};

namespace {

int TrainedGaussianStages(const std::map<std::string, std::string>& meta) {
  auto it = meta.find("training");
  if (it == meta.end()) return 0;
  const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("options") || !j["options"].is_object()) return 0;
  const auto& o = j["options"];
  return o.contains("gaussian_stages") && o["gaussian_stages"].is_number_integer()
             ? std::max(0, o["gaussian_stages"].get<int>())
             : 0;
}

}  // namespace

StatusOr<CodecDefaults> ReadCodecDefaults(const std::map<std::string, std::string>& meta, int num_steps) {
  CodecDefaults d;
  d.gaussian_stages = TrainedGaussianStages(meta);
  auto it = meta.find(kCodecRecordKey);
  if (it != meta.end()) {
    const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return InvalidInput("its codec record is not a JSON object: " + it->second);
    const std::map<std::string, int*> fields = {{"chain_stages", &d.chain_stages},
                                                {"chain_t_max", &d.chain_t_max},
                                                {"chain_t_min", &d.chain_t_min},
                                                {"gaussian_stages", &d.gaussian_stages}};
    for (const auto& [key, value] : j.items()) {
      auto field = fields.find(key);
      if (field == fields.end()) return InvalidInput("its codec record has an unknown field '" + key + "'");
      if (!value.is_number_integer()) return InvalidInput("its codec record's " + key + " is not an integer");
      *field->second = value.get<int>();
    }
  }
  if (d.chain_stages < 0 || d.chain_stages > 62 || d.chain_t_max < 1 || d.chain_t_max > num_steps ||
      d.chain_t_min < 1 || d.chain_t_min > d.chain_t_max || (d.chain_stages > 1 && d.chain_t_min == d.chain_t_max) ||
      d.gaussian_stages < 0 || d.gaussian_stages > 63) {
    return InvalidInput("its codec record asks for an impossible chain: " + std::to_string(d.chain_stages) +
                        " stages from t = " + std::to_string(d.chain_t_max) + " to " + std::to_string(d.chain_t_min) +
                        " (T = " + std::to_string(num_steps) + "), " + std::to_string(d.gaussian_stages) + " Gaussian");
  }
  return d;
}

Denoiser::Denoiser(std::unique_ptr<Impl> impl, std::string path) : impl_(std::move(impl)), path_(std::move(path)) {}
Denoiser::~Denoiser() = default;

StatusOr<std::unique_ptr<Denoiser>> Denoiser::Load(const std::string& model_path, const std::string& device) {
  torch::Device torch_device(torch::kCPU);
  if (device != "cpu") {
    if (device != "cuda" && device.rfind("cuda:", 0) != 0) {
      return InvalidArgument("--device must be cpu, cuda or cuda:N, not '" + device + "'");
    }
    if (!torch::cuda::is_available()) {
      return InvalidArgument("--device " + device + ": this build's LibTorch has no CUDA device (use --device cpu)");
    }
    try {
      torch_device = torch::Device(device);
    } catch (const c10::Error& e) {
      return InvalidArgument("--device " + device + ": " + e.what_without_backtrace());
    }
    // Float32 as on the CPU: no TF32 (10-bit mantissas would move ε far past the portable margin), and the same
    // cuDNN algorithms every run.
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setBenchmarkCuDNN(false);
    at::globalContext().setDeterministicCuDNN(true);
  }
  DCODEC_ASSIGN_OR_RETURN(model::LoadedModel loaded, model::LoadModel(model_path));
  if (loaded.info.config.in_channels != 3) return InvalidInput(model_path + ": the codec needs an RGB model");
  loaded.net->eval();
  try {
    loaded.net->to(torch_device);
    if (!torch_device.is_cuda()) {
      // Channels-last on the CPU: oneDNN's convolutions skip their layout conversions and buffers (a quarter less
      // peak memory; model/unet.h).
      torch::NoGradGuard no_grad;
      for (auto& p : loaded.net->parameters()) {
        if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
      }
    }
  } catch (const c10::Error& e) {
    return InvalidArgument("--device " + device + ": cannot place the model there: " + e.what_without_backtrace());
  }
  auto schedule = model::NoiseSchedule::Make(loaded.info.schedule, loaded.info.num_steps);
  auto defaults = ReadCodecDefaults(loaded.info.metadata, loaded.info.num_steps);
  if (!defaults.ok()) return defaults.status().Prefixed(model_path);
  auto impl = std::unique_ptr<Impl>(new Impl{std::move(loaded), schedule, *defaults, torch_device, device});
  return std::unique_ptr<Denoiser>(new Denoiser(std::move(impl), model_path));
}

const std::string& Denoiser::device() const { return impl_->device_name; }

uint64_t Denoiser::model_id() const { return impl_->loaded.model_id; }
bool Denoiser::has_scale_head() const {
  return impl_->loaded.info.config.output == model::UNetConfig::Output::kEpsilonAndLogScale;
}
const model::NoiseSchedule& Denoiser::schedule() const { return impl_->schedule; }

const CodecDefaults& Denoiser::codec_defaults() const { return impl_->defaults; }

Status Denoiser::PredictX0(const float* x_t, int width, int height, int t, const TileOptions& tiles,
                           float* x0_hat) const {
  DCODEC_RETURN_IF_ERROR(PredictEps(x_t, width, height, t, tiles, x0_hat));
  X0FromEps(t, x_t, x0_hat, 3 * static_cast<size_t>(width) * height, x0_hat);
  return Status::Ok();
}

void Denoiser::X0FromEps(int t, const float* x_t, const float* eps, size_t n, float* x0_hat) const {
  const X0Coefficients c = X0CoefficientsAt(t);
  for (size_t i = 0; i < n; ++i) {
    x0_hat[i] = static_cast<float>(std::clamp(c.coef_xt * x_t[i] - c.coef_eps * eps[i], -1.0, 1.0));
  }
}

Denoiser::X0Coefficients Denoiser::X0CoefficientsAt(int t) const {
  const double ab = impl_->schedule.alpha_bar(t);
  return {1.0 / std::sqrt(ab), std::sqrt(1.0 - ab) / std::sqrt(ab)};
}

Status Denoiser::PredictEps(const float* x_t, int width, int height, int t, const TileOptions& tiles, float* eps_out,
                            float* log_scale_out) const {
  if (t < 1 || t > impl_->schedule.num_steps()) return Internal("PredictX0: timestep out of range");
  if (tiles.tile_size < 16 || tiles.margin < 0 || tiles.threads < 1) return InvalidArgument("bad tile options");
  const int ts = tiles.tile_size;
  const int tiles_x = (width + ts - 1) / ts, tiles_y = (height + ts - 1) / ts;
  const int num_tiles = tiles_x * tiles_y;
  const size_t plane = static_cast<size_t>(width) * height;
  if (impl_->device.is_cuda()) return PredictEpsOnDevice(x_t, width, height, t, tiles, eps_out, log_scale_out);
  std::atomic<int> next{0};
  std::vector<std::string> errors(tiles.threads);

  auto worker = [&](int w) {
    at::set_num_threads(1);  // one thread per tile: results independent of --threads
    torch::NoGradGuard no_grad;
    for (int tile = next++; tile < num_tiles; tile = next++) {
      int tx = tile % tiles_x, ty = tile / tiles_x;
      int x0 = tx * ts, y0 = ty * ts;
      int x1 = std::min(width, x0 + ts), y1 = std::min(height, y0 + ts);
      int cx0 = std::max(0, x0 - tiles.margin), cy0 = std::max(0, y0 - tiles.margin);
      int cx1 = std::min(width, x1 + tiles.margin), cy1 = std::min(height, y1 + tiles.margin);
      int cw = cx1 - cx0, ch = cy1 - cy0;
      // Channels-last ([y][x][c] in memory), as the network's weights are (Load).
      torch::Tensor input = torch::empty(
          {1, 3, ch, cw}, torch::TensorOptions(torch::kFloat32).memory_format(at::MemoryFormat::ChannelsLast));
      float* in = input.data_ptr<float>();
      for (int y = 0; y < ch; ++y) {
        for (int x = 0; x < cw; ++x) {
          const size_t src = static_cast<size_t>(cy0 + y) * width + cx0 + x;
          float* dst = in + (static_cast<size_t>(y) * cw + x) * 3;
          dst[0] = x_t[src];
          dst[1] = x_t[plane + src];
          dst[2] = x_t[2 * plane + src];
        }
      }
      torch::Tensor out;
      try {
        torch::Tensor tt = torch::full({1}, static_cast<float>(t), torch::kFloat32);
        out = impl_->loaded.net->forward(input, tt).contiguous();
      } catch (const c10::Error& e) {
        errors[w] = e.what_without_backtrace();
        return;
      }
      const float* e = out.data_ptr<float>();
      const bool head = log_scale_out && out.size(1) == 6;
      for (int c = 0; c < 3; ++c) {
        for (int y = y0; y < y1; ++y) {
          for (int x = x0; x < x1; ++x) {
            size_t dst = c * plane + static_cast<size_t>(y) * width + x;
            const size_t src = (static_cast<size_t>(c) * ch + (y - cy0)) * cw + (x - cx0);
            eps_out[dst] = e[src];
            if (head) log_scale_out[dst] = e[src + 3 * static_cast<size_t>(ch) * cw];
          }
        }
      }
    }
  };
  int threads = std::min(tiles.threads, num_tiles);
  if (threads == 1) {
    // Run on a fresh thread as well, so that the intra-op setting of the caller's thread is untouched.
    std::thread(worker, 0).join();
  } else {
    std::vector<std::thread> pool;
    for (int w = 0; w < threads; ++w) pool.emplace_back(worker, w);
    for (auto& th : pool) th.join();
  }
  for (const auto& err : errors) {
    if (!err.empty()) return Internal("model evaluation failed: " + err);
  }
  return Status::Ok();
}

// The GPU: the same tiles (the same context around each, so the same values up to float rounding), those of one
// context size stacked into batches; one host thread drives the device.
Status Denoiser::PredictEpsOnDevice(const float* x_t, int width, int height, int t, const TileOptions& tiles,
                                    float* eps_out, float* log_scale_out) const {
  const int ts = tiles.tile_size;
  const int tiles_x = (width + ts - 1) / ts, tiles_y = (height + ts - 1) / ts;
  const size_t plane = static_cast<size_t>(width) * height;
  struct Tile {
    int x0, y0, x1, y1, cx0, cy0, cw, ch;
  };
  std::map<std::pair<int, int>, std::vector<Tile>> by_size;
  for (int ty = 0; ty < tiles_y; ++ty) {
    for (int tx = 0; tx < tiles_x; ++tx) {
      Tile tile;
      tile.x0 = tx * ts;
      tile.y0 = ty * ts;
      tile.x1 = std::min(width, tile.x0 + ts);
      tile.y1 = std::min(height, tile.y0 + ts);
      tile.cx0 = std::max(0, tile.x0 - tiles.margin);
      tile.cy0 = std::max(0, tile.y0 - tiles.margin);
      tile.cw = std::min(width, tile.x1 + tiles.margin) - tile.cx0;
      tile.ch = std::min(height, tile.y1 + tiles.margin) - tile.cy0;
      by_size[{tile.cw, tile.ch}].push_back(tile);
    }
  }
  // About 64 MB of input a batch: large enough to fill the device, small enough for any of them.
  torch::NoGradGuard no_grad;
  try {
    for (const auto& [size, group] : by_size) {
      const auto [cw, ch] = size;
      const size_t per_tile = 3 * static_cast<size_t>(cw) * ch;
      const size_t batch = std::clamp<size_t>((size_t{16} << 20) / per_tile, 1, 64);
      for (size_t first = 0; first < group.size(); first += batch) {
        const size_t count = std::min(batch, group.size() - first);
        torch::Tensor input = torch::empty({static_cast<int64_t>(count), 3, ch, cw}, torch::kFloat32);
        float* in = input.data_ptr<float>();
        for (size_t b = 0; b < count; ++b) {
          const Tile& tile = group[first + b];
          for (int c = 0; c < 3; ++c) {
            for (int y = 0; y < ch; ++y) {
              std::copy_n(x_t + c * plane + static_cast<size_t>(tile.cy0 + y) * width + tile.cx0, cw,
                          in + ((b * 3 + c) * ch + y) * static_cast<size_t>(cw));
            }
          }
        }
        torch::Tensor tt = torch::full({static_cast<int64_t>(count)}, static_cast<float>(t), torch::kFloat32);
        torch::Tensor out =
            impl_->loaded.net->forward(input.to(impl_->device), tt.to(impl_->device)).to(torch::kCPU).contiguous();
        const float* e = out.data_ptr<float>();
        const int64_t out_channels = out.size(1);
        const bool head = log_scale_out && out_channels == 6;
        for (size_t b = 0; b < count; ++b) {
          const Tile& tile = group[first + b];
          const float* eb = e + b * out_channels * static_cast<size_t>(ch) * cw;
          for (int c = 0; c < 3; ++c) {
            for (int y = tile.y0; y < tile.y1; ++y) {
              for (int x = tile.x0; x < tile.x1; ++x) {
                const size_t dst = c * plane + static_cast<size_t>(y) * width + x;
                const size_t src = (static_cast<size_t>(c) * ch + (y - tile.cy0)) * cw + (x - tile.cx0);
                eps_out[dst] = eb[src];
                if (head) log_scale_out[dst] = eb[src + 3 * static_cast<size_t>(ch) * cw];
              }
            }
          }
        }
      }
    }
  } catch (const c10::Error& e) {
    return Internal(std::string("model evaluation on ") + impl_->device_name +
                    " failed: " + e.what_without_backtrace());
  }
  return Status::Ok();
}

}  // namespace dcodec::codec
