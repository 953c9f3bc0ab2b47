#include "model/trainer.h"

#include <torch/torch.h>
#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "base/file_io.h"
#include "datasets/training_data.h"
#include "model/diffusion.h"
#include "model/model_file.h"
#include "model/schedule.h"
#include "model/unet.h"

namespace dcodec::model {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t StepSeed(uint64_t seed, int64_t step) {
  // splitmix64 of (seed, step): independent streams per step.
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(step) + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

StatusOr<UNetConfig> PresetConfig(const std::string& preset) {
  if (preset == "small") return UNetConfig::Small();
  if (preset == "cifar") return UNetConfig::Cifar();
  if (preset == "tiny") return UNetConfig::Tiny();
  return InvalidArgument("--preset '" + preset + "': expected small, cifar or tiny");
}

nlohmann::json OptionsJson(const TrainOptions& o) {
  nlohmann::json j = {{"data", o.data},     {"crop", o.crop},          {"max_downscale", o.max_downscale},
          {"preset", o.preset}, {"schedule", o.schedule}, {"T", o.num_steps_diffusion},
          {"batch_size", o.batch_size}, {"lr", o.lr},     {"warmup", o.warmup},
          {"grad_clip", o.grad_clip},   {"ema_decay", o.ema_decay}, {"seed", o.seed},
          {"init", o.init_model}};
  if (!o.chain.empty() && o.chain_fraction > 0) {
    j["chain"] = o.chain;
    j["chain_fraction"] = o.chain_fraction;
  }
  return j;
}

std::string ToHex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The trainable state: network, EMA copy, optimizer.
struct State {
  UNet net;
  std::vector<torch::Tensor> ema;
  std::unique_ptr<torch::optim::Adam> optimizer;
  int64_t step = 0;
  double train_seconds = 0;  // wall time spent training, summed over resumed runs
  double loss = 0;           // running mean of the recent steps' L_simple
};

Status SaveCheckpoint(const TrainOptions& options, const UNetConfig& config, BetaSchedule schedule, State& s) {
  std::string path = options.run_dir + "/checkpoint.pt";
  std::string tmp = path + ".tmp";
  try {
    torch::serialize::OutputArchive archive;
    s.net->save(archive);
    torch::serialize::OutputArchive ema_archive;
    for (size_t i = 0; i < s.ema.size(); ++i) ema_archive.write(std::to_string(i), s.ema[i].to(torch::kCPU));
    archive.write("ema", ema_archive);
    torch::serialize::OutputArchive optim_archive;
    s.optimizer->save(optim_archive);
    archive.write("optimizer", optim_archive);
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    return IoError(tmp + ": cannot write checkpoint: " + e.what_without_backtrace());
  }
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(tmp));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return IoError(path + ": cannot rename checkpoint into place");
  nlohmann::json meta = {{"step", s.step},
                         {"xxh64", ToHex(XXH64(bytes.data(), bytes.size(), 0))},
                         {"options", OptionsJson(options)},
                         {"train_seconds", std::round(s.train_seconds)},
                         {"loss", s.loss}};
  std::string text = meta.dump(2);
  DCODEC_RETURN_IF_ERROR(WriteFileAtomic(options.run_dir + "/checkpoint.json",
                                         reinterpret_cast<const uint8_t*>(text.data()), text.size(), true));
  // The EMA weights as a model file.
  UNet export_net(config);
  {
    torch::NoGradGuard no_grad;
    auto params = export_net->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(s.ema[i].to(torch::kCPU));
  }
  ModelFile info;
  info.config = config;
  info.schedule = schedule;
  info.num_steps = options.num_steps_diffusion;
  info.metadata["training"] = meta.dump();
  return SaveModel(options.run_dir + "/model.safetensors", export_net, info);
}

Status LoadCheckpoint(const TrainOptions& options, State& s, const torch::Device& device) {
  std::string path = options.run_dir + "/checkpoint.pt";
  auto meta_bytes = ReadFileBytes(options.run_dir + "/checkpoint.json");
  if (!meta_bytes.ok()) return meta_bytes.status().Prefixed("--resume");
  nlohmann::json meta = nlohmann::json::parse(meta_bytes->begin(), meta_bytes->end(), nullptr, false);
  if (meta.is_discarded() || !meta.contains("step") || !meta.contains("xxh64")) {
    return Corrupt(options.run_dir + "/checkpoint.json: not a valid checkpoint description");
  }
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  if (ToHex(XXH64(bytes.data(), bytes.size(), 0)) != meta["xxh64"].get<std::string>()) {
    return Corrupt(path + ": checksum does not match checkpoint.json (corrupt checkpoint)");
  }
  if (meta["options"] != OptionsJson(options)) {
    return InvalidArgument(path + ": was written with other training options: " + meta["options"].dump());
  }
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    s.net->load(archive);
    torch::serialize::InputArchive ema_archive;
    archive.read("ema", ema_archive);
    for (size_t i = 0; i < s.ema.size(); ++i) {
      torch::Tensor t;
      ema_archive.read(std::to_string(i), t);
      s.ema[i] = t.to(device);
    }
    torch::serialize::InputArchive optim_archive;
    archive.read("optimizer", optim_archive);
    s.optimizer->load(optim_archive);
  } catch (const c10::Error& e) {
    return Corrupt(path + ": cannot read checkpoint: " + e.what_without_backtrace());
  }
  s.step = meta["step"].get<int64_t>();
  s.train_seconds = meta.value("train_seconds", 0.0);
  return Status::Ok();
}

// Copies a model file's weights into the network and its EMA (--init).
Status WarmStart(const TrainOptions& options, const UNetConfig& config, BetaSchedule schedule, State& s,
                 const torch::Device& device) {
  DCODEC_ASSIGN_OR_RETURN(LoadedModel init, LoadModel(options.init_model));
  if (init.info.config != config) {
    return InvalidArgument("--init " + options.init_model + ": its UNet config " + init.info.config.ToJson().dump() +
                           " is not --preset " + options.preset + "'s");
  }
  if (init.info.schedule != schedule || init.info.num_steps != options.num_steps_diffusion) {
    return InvalidArgument("--init " + options.init_model + ": trained with another noise schedule");
  }
  torch::NoGradGuard no_grad;
  auto params = s.net->parameters();
  auto source = init.net->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].copy_(source[i].to(device));
    s.ema[i] = params[i].detach().clone();
  }
  return Status::Ok();
}

}  // namespace

Status Train(const TrainOptions& options, const std::function<void(const TrainProgress&)>& on_progress,
             const std::atomic<bool>* stop) {
  if (options.run_dir.empty()) return InvalidArgument("--run DIR is required");
  if (options.batch_size < 1 || options.steps < 1) return InvalidArgument("--batch and --steps must be positive");
  DCODEC_ASSIGN_OR_RETURN(UNetConfig config, PresetConfig(options.preset));
  DCODEC_ASSIGN_OR_RETURN(BetaSchedule schedule_kind, ParseBetaSchedule(options.schedule));
  torch::Device device(torch::kCPU);
  if (options.device == "cuda") {
    if (!torch::cuda::is_available()) return InvalidArgument("--device cuda: no CUDA device in this LibTorch build");
    device = torch::Device(torch::kCUDA);
  } else if (options.device != "cpu") {
    return InvalidArgument("--device '" + options.device + "': expected cpu or cuda");
  }
  if (!(options.chain_fraction >= 0 && options.chain_fraction <= 1)) {
    return InvalidArgument("--chain-fraction must be in [0, 1]");
  }
  for (size_t j = 0; j < options.chain.size(); ++j) {
    if (options.chain[j] < 1 || options.chain[j] > options.num_steps_diffusion ||
        (j > 0 && options.chain[j] >= options.chain[j - 1])) {
      return InvalidArgument("--chain: timesteps must be strictly descending within 1.." +
                             std::to_string(options.num_steps_diffusion));
    }
  }
  if (options.chain_fraction > 0 && options.chain.empty()) {
    return InvalidArgument("--chain-fraction needs --chain");
  }
  DCODEC_ASSIGN_OR_RETURN(auto data, OpenTrainingData(options.data, {options.crop, options.max_downscale}));
  if (std::system(("mkdir -p '" + options.run_dir + "'").c_str()) != 0) {
    return IoError(options.run_dir + ": cannot create run directory");
  }
  NoiseSchedule schedule = NoiseSchedule::Make(schedule_kind, options.num_steps_diffusion);
  Diffusion diffusion(schedule);

  torch::manual_seed(options.seed);
  State s{UNet(config), {}, nullptr, 0};
  s.net->to(device);
  for (auto& p : s.net->parameters()) s.ema.push_back(p.detach().clone());
  s.optimizer = std::make_unique<torch::optim::Adam>(s.net->parameters(), torch::optim::AdamOptions(options.lr));
  if (options.resume) {
    DCODEC_RETURN_IF_ERROR(LoadCheckpoint(options, s, device));
  } else if (!options.init_model.empty()) {
    DCODEC_RETURN_IF_ERROR(WarmStart(options, config, schedule_kind, s, device));
  }

  const int crop = data->crop();
  std::vector<uint8_t> batch(static_cast<size_t>(options.batch_size) * 3 * crop * crop);
  std::deque<double> recent;
  double recent_sum = 0;
  int64_t skipped = 0, consecutive_bad = 0;
  auto last_checkpoint = Clock::now();
  const auto run_start = Clock::now();
  const double seconds_before = s.train_seconds;
  auto window_start = Clock::now();
  int64_t window_images = 0;
  s.net->train();
  while (s.step < options.steps) {
    std::mt19937_64 rng(StepSeed(options.seed, s.step));
    torch::manual_seed(StepSeed(options.seed ^ 0x5bd1e995ull, s.step));
    data->Sample(options.batch_size, rng, batch.data());
    torch::Tensor x0 = torch::from_blob(batch.data(), {options.batch_size, 3, crop, crop}, torch::kUInt8)
                           .to(device)
                           .to(torch::kFloat32)
                           .div(127.5)
                           .sub(1.0);
    double lr = options.lr * std::min(1.0, static_cast<double>(s.step + 1) / std::max<int64_t>(1, options.warmup));
    for (auto& group : s.optimizer->param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);

    s.optimizer->zero_grad();
    const int64_t n_chain = static_cast<int64_t>(std::lround(options.chain_fraction * options.batch_size));
    torch::Tensor loss;
    if (n_chain == 0) {
      loss = diffusion.LossSimple(AsEpsModel(s.net), x0, StepSeed(options.seed ^ 0x10ull, s.step));
    } else {
      at::Generator gen = MakeGenerator(StepSeed(options.seed ^ 0x10ull, s.step));
      const int64_t n_simple = options.batch_size - n_chain;
      loss = diffusion.LossChain(AsEpsModel(s.net), x0.narrow(0, n_simple, n_chain), options.chain, gen) *
             (static_cast<double>(n_chain) / options.batch_size);
      if (n_simple > 0) {
        loss = loss + diffusion.LossSimple(AsEpsModel(s.net), x0.narrow(0, 0, n_simple), gen) *
                          (static_cast<double>(n_simple) / options.batch_size);
      }
    }
    loss.backward();
    double grad_norm = torch::nn::utils::clip_grad_norm_(s.net->parameters(), options.grad_clip);
    double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value) || !std::isfinite(grad_norm)) {
      ++skipped;
      if (++consecutive_bad >= 20) {
        return Internal("training diverged: 20 consecutive steps with a non-finite loss at step " +
                        std::to_string(s.step) + " (lower --lr?)");
      }
      ++s.step;  // skip: a fresh batch next time, no parameter update
      continue;
    }
    consecutive_bad = 0;
    s.optimizer->step();
    {
      torch::NoGradGuard no_grad;
      auto params = s.net->parameters();
      // Early in training the EMA follows closely (decay ramps up as in improved-diffusion's warm start).
      double decay = std::min(options.ema_decay, (1.0 + s.step) / (10.0 + s.step));
      for (size_t i = 0; i < params.size(); ++i) s.ema[i].mul_(decay).add_(params[i].detach(), 1.0 - decay);
    }
    ++s.step;
    window_images += options.batch_size;
    recent.push_back(loss_value);
    recent_sum += loss_value;
    if (recent.size() > 100) {
      recent_sum -= recent.front();
      recent.pop_front();
    }
    bool want_stop = stop && stop->load();
    double since = std::chrono::duration<double>(Clock::now() - last_checkpoint).count();
    bool checkpoint = s.step % options.checkpoint_every == 0 || s.step == options.steps || want_stop ||
                      since >= options.checkpoint_seconds;
    if (checkpoint) {
      s.train_seconds = seconds_before + std::chrono::duration<double>(Clock::now() - run_start).count();
      s.loss = recent_sum / recent.size();
      DCODEC_RETURN_IF_ERROR(SaveCheckpoint(options, config, schedule_kind, s));
      last_checkpoint = Clock::now();
    }
    double window_seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
    TrainProgress progress{s.step, options.steps, recent_sum / recent.size(),
                           window_seconds > 0 ? window_images / window_seconds : 0.0, lr, checkpoint, skipped};
    if (window_seconds > 30) {
      window_start = Clock::now();
      window_images = 0;
    }
    if (on_progress) on_progress(progress);
    if (want_stop) break;
  }
  return Status::Ok();
}

}  // namespace dcodec::model
