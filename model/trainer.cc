#include "model/trainer.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "base/file_io.h"
#include "datasets/training_data.h"
#include "model/diffusion.h"
#include "model/model_file.h"
#include "model/schedule.h"
#include "model/unet.h"

namespace dcodec::model {
namespace {

using Clock = std::chrono::steady_clock;

// bfloat16 autocast for the forward pass on `device` while it lives (TrainOptions::precision); LibTorch 2.4 renamed
// the per-device calls.
class AutocastScope {
 public:
  AutocastScope(bool on, c10::DeviceType device) : on_(on), device_(device) {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    was_enabled_ = at::autocast::is_autocast_enabled(device_);
    at::autocast::set_autocast_enabled(device_, true);
    at::autocast::set_autocast_dtype(device_, at::kBFloat16);
#else
    if (device_ == c10::DeviceType::CUDA) {
      was_enabled_ = at::autocast::is_enabled();
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    } else {
      was_enabled_ = at::autocast::is_cpu_enabled();
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    }
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(device_, was_enabled_);
#else
    if (device_ == c10::DeviceType::CUDA) {
      at::autocast::set_enabled(was_enabled_);
    } else {
      at::autocast::set_cpu_enabled(was_enabled_);
    }
#endif
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_;
  c10::DeviceType device_;
  bool was_enabled_ = false;
};

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

}  // namespace

double LearningRate(const TrainOptions& options, int64_t step) {
  const int64_t warmup = std::max<int64_t>(1, options.warmup);
  if (step + 1 < warmup) return options.lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (options.lr_schedule != "cosine" || options.steps <= warmup) return options.lr;
  const double progress =
      std::min(1.0, static_cast<double>(step + 1 - warmup) / static_cast<double>(options.steps - warmup));
  return options.lr_min + (options.lr - options.lr_min) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

namespace {

nlohmann::json OptionsJson(const TrainOptions& o) {
  nlohmann::json j = {{"data", o.data},
                      {"crop", o.crop},
                      {"max_downscale", o.max_downscale},
                      {"preset", o.preset},
                      {"schedule", o.schedule},
                      {"T", o.num_steps_diffusion},
                      {"batch_size", o.batch_size},
                      {"lr", o.lr},
                      {"warmup", o.warmup},
                      {"grad_clip", o.grad_clip},
                      {"ema_decay", o.ema_decay},
                      {"seed", o.seed},
                      {"init", o.init_model}};
  if (o.lr_schedule != "constant") {
    j["lr_schedule"] = o.lr_schedule;
    j["lr_min"] = o.lr_min;
  }
  if (!o.chain.empty() && o.chain_fraction > 0) {
    j["chain"] = o.chain;
    j["chain_fraction"] = o.chain_fraction;
    if (o.gaussian_stages > 0) j["gaussian_stages"] = o.gaussian_stages;
  }
  if (o.continuous_time) j["continuous_time"] = true;
  if (o.scale_head) {
    j["scale_head"] = true;
    j["rate_weight"] = o.rate_weight;
  }
  return j;
}

// Whether two --data specs name the same data: equal, or the same KIND: prefix and the same directory however it
// is written (a relative path from here, an absolute one, a symlink).
bool SameData(const std::string& a, const std::string& b) {
  if (a == b) return true;
  const size_t ca = a.find(':'), cb = b.find(':');
  if (ca == std::string::npos || cb == std::string::npos || a.substr(0, ca) != b.substr(0, cb)) return false;
  std::error_code error;
  const bool same = std::filesystem::equivalent(a.substr(ca + 1), b.substr(cb + 1), error);
  return !error && same;
}

// The options a checkpoint was written with against these: "" if they agree, else the keys that differ with both
// values. --data may be written differently if it names the same directory.
std::string OptionsDiffer(const nlohmann::json& written, const nlohmann::json& now) {
  std::string out;
  std::set<std::string> keys;
  for (const auto& [key, value] : written.items()) keys.insert(key);
  for (const auto& [key, value] : now.items()) keys.insert(key);
  for (const std::string& key : keys) {
    const nlohmann::json a = written.contains(key) ? written[key] : nlohmann::json(nullptr);
    const nlohmann::json b = now.contains(key) ? now[key] : nlohmann::json(nullptr);
    if (a == b) continue;
    if (key == "data" && a.is_string() && b.is_string() && SameData(a.get<std::string>(), b.get<std::string>())) {
      continue;
    }
    out += (out.empty() ? "" : "; ") + key + ": " + a.dump() + " in the checkpoint, " + b.dump() + " now";
  }
  return out;
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

Status SaveCheckpoint(const TrainOptions& options, const UNetConfig& config, BetaSchedule schedule, State& s,
                      int world_size) {
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
                         {"loss", s.loss},
                         {"world_size", world_size},
                         {"global_batch", options.batch_size}};
  // The precision of the latest part of the run (not an option a resume must repeat: it may change).
  if (options.precision != "fp32") meta["precision"] = options.precision;
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

// Rank 0: the checkpoint's description and archive, checked against each other and against these options.
Status ReadCheckpoint(const TrainOptions& options, std::vector<uint8_t>* meta_text, std::vector<uint8_t>* archive) {
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
  const std::string differ = OptionsDiffer(meta["options"], OptionsJson(options));
  if (!differ.empty()) return InvalidArgument(path + ": was written with other training options (" + differ + ")");
  *meta_text = std::move(*meta_bytes);
  *archive = std::move(bytes);
  return Status::Ok();
}

// Every rank: the state from what ReadCheckpoint read (on rank 0, or sent from it).
Status LoadCheckpoint(const TrainOptions& options, const std::vector<uint8_t>& meta_text,
                      const std::vector<uint8_t>& bytes, State& s, const torch::Device& device) {
  std::string path = options.run_dir + "/checkpoint.pt";
  nlohmann::json meta = nlohmann::json::parse(meta_text.begin(), meta_text.end(), nullptr, false);
  if (meta.is_discarded() || !meta.contains("step")) return Corrupt(path + ": bad checkpoint description");
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(reinterpret_cast<const char*>(bytes.data()), bytes.size(), device);
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

// A float64 checksum of the weights and their EMA: equal on every rank unless they have diverged.
double WeightChecksum(State& s) {
  torch::NoGradGuard no_grad;
  double sum = 0;
  auto params = s.net->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    sum += params[i].to(torch::kFloat64).mul(static_cast<double>(i % 7 + 1)).sum().item<double>();
    sum += s.ema[i].to(torch::kFloat64).sum().item<double>();
  }
  return sum;
}

// Copies a model file's weights into the network and its EMA (--init).
Status WarmStart(const TrainOptions& options, const UNetConfig& config, BetaSchedule schedule, State& s,
                 const torch::Device& device) {
  DCODEC_ASSIGN_OR_RETURN(LoadedModel init, LoadModel(options.init_model));
  // The same network without the scale head: its output layer fills the eps channels, the head starts at zero.
  UNetConfig without_head = config;
  without_head.output = UNetConfig::Output::kEpsilon;
  const bool add_head = config.output != UNetConfig::Output::kEpsilon && init.info.config == without_head;
  if (init.info.config != config && !add_head) {
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
    if (params[i].sizes() == source[i].sizes()) {
      params[i].copy_(source[i].to(device));
    } else {  // the output layer (add_head): [2C, ...] from [C, ...]
      params[i].zero_();
      params[i].narrow(0, 0, source[i].size(0)).copy_(source[i].to(device));
    }
    s.ema[i] = params[i].detach().clone();
  }
  return Status::Ok();
}

}  // namespace

Status Train(const TrainOptions& options, const std::function<void(const TrainProgress&)>& on_progress,
             const std::atomic<bool>* stop) {
  if (options.run_dir.empty()) return InvalidArgument("--run DIR is required");
  if (options.batch_size < 1 || options.steps < 1) return InvalidArgument("--batch and --steps must be positive");
  if (options.lr_schedule != "constant" && options.lr_schedule != "cosine") {
    return InvalidArgument("--lr-schedule '" + options.lr_schedule + "': expected constant or cosine");
  }
  if (!(options.lr_min >= 0 && options.lr_min <= options.lr)) return InvalidArgument("--lr-min must be in [0, --lr]");
  DCODEC_ASSIGN_OR_RETURN(UNetConfig config, PresetConfig(options.preset));
  if (options.scale_head) {
    if (options.chain.empty() || options.chain_fraction <= 0) {
      return InvalidArgument("--scale-head trains on the coding chain: it needs --chain and --chain-fraction > 0");
    }
    if (!(options.rate_weight >= 0)) return InvalidArgument("--rate-weight must be >= 0");
    config.output = UNetConfig::Output::kEpsilonAndLogScale;
  }
  DCODEC_ASSIGN_OR_RETURN(BetaSchedule schedule_kind, ParseBetaSchedule(options.schedule));
  const DistributedOptions& dist = options.distributed;
  if (options.batch_size < dist.world_size) {
    return InvalidArgument("--batch " + std::to_string(options.batch_size) +
                           " (the global batch) is smaller than the " + std::to_string(dist.world_size) + " ranks");
  }
  torch::Device device(torch::kCPU);
  if (options.device == "cuda") {
    if (!torch::cuda::is_available()) return InvalidArgument("--device cuda: no CUDA device in this LibTorch build");
    const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(dist.local_rank % std::max<int64_t>(1, count)));
  } else if (options.device != "cpu") {
    return InvalidArgument("--device '" + options.device + "': expected cpu or cuda");
  }
  if (options.precision != "fp32" && options.precision != "bf16") {
    return InvalidArgument("--precision '" + options.precision + "': expected fp32 or bf16");
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
  if (options.gaussian_stages < 0 || options.gaussian_stages > static_cast<int>(options.chain.size())) {
    return InvalidArgument("--gaussian-stages must be 0.." + std::to_string(options.chain.size()) +
                           " (the chain's length)");
  }
  DCODEC_ASSIGN_OR_RETURN(auto data, OpenTrainingData(options.data, {options.crop, options.max_downscale}));
  DCODEC_ASSIGN_OR_RETURN(std::unique_ptr<ProcessGroup> group, ProcessGroup::Connect(dist, options.device));
  const int rank = group->rank(), world = group->world_size();
  const bool leader = rank == 0;
  if (leader && std::system(("mkdir -p '" + options.run_dir + "'").c_str()) != 0) {
    return IoError(options.run_dir + ": cannot create run directory");
  }
  NoiseSchedule schedule = NoiseSchedule::Make(schedule_kind, options.num_steps_diffusion);
  Diffusion diffusion(schedule);

  torch::manual_seed(options.seed);
  State s{UNet(config), {}, nullptr, 0};
  s.net->to(device);
  for (auto& p : s.net->parameters()) s.ema.push_back(p.detach().clone());
  s.optimizer = std::make_unique<torch::optim::Adam>(s.net->parameters(), torch::optim::AdamOptions(options.lr));

  // Rank 0 reads the checkpoint or the warm start; the others receive the state from it (they need no access to
  // the run directory or the --init file).
  Status setup;
  std::vector<uint8_t> meta_text, archive;
  if (leader) {
    if (options.resume) {
      setup = ReadCheckpoint(options, &meta_text, &archive);
    } else if (!options.init_model.empty()) {
      setup = WarmStart(options, config, schedule_kind, s, device);
    }
  }
  if (world > 1) {
    auto failed = torch::tensor({setup.ok() ? 0 : 1}, torch::kInt32);
    DCODEC_RETURN_IF_ERROR(group->Broadcast(failed, 0));
    if (failed.item<int>() != 0 && !leader) {
      return Unavailable("rank " + std::to_string(rank) + ": rank 0 could not set the run up (see its message)");
    }
  }
  DCODEC_RETURN_IF_ERROR(setup);
  if (options.resume) {
    DCODEC_RETURN_IF_ERROR(group->BroadcastBytes(&meta_text, 0));
    DCODEC_RETURN_IF_ERROR(group->BroadcastBytes(&archive, 0));
    DCODEC_RETURN_IF_ERROR(LoadCheckpoint(options, meta_text, archive, s, device));
  } else if (world > 1) {
    torch::NoGradGuard no_grad;
    auto params = s.net->parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      DCODEC_RETURN_IF_ERROR(group->Broadcast(params[i], 0));
      DCODEC_RETURN_IF_ERROR(group->Broadcast(s.ema[i], 0));
    }
  }
  GradientReducer reducer(*group, s.net->parameters());

  // This rank's images of every global batch.
  const int64_t global_batch = options.batch_size;
  const int64_t r0 = global_batch * rank / world, r1 = global_batch * (rank + 1) / world, count = r1 - r0;
  const int crop = data->crop();
  std::vector<uint8_t> batch(static_cast<size_t>(count) * 3 * crop * crop);
  const int64_t n_chain = static_cast<int64_t>(std::lround(options.chain_fraction * global_batch));
  const int64_t n_simple = global_batch - n_chain;
  const uint64_t dropout_seed = options.seed ^ 0x5bd1e995ull ^ (static_cast<uint64_t>(rank) * 0x9E3779B97F4A7C15ull);
  std::deque<double> recent, recent_rate;
  double recent_sum = 0, recent_rate_sum = 0;
  int64_t skipped = 0, consecutive_bad = 0;
  auto last_checkpoint = Clock::now();
  const auto run_start = Clock::now();
  const double seconds_before = s.train_seconds;
  auto window_start = Clock::now();
  int64_t window_images = 0;
  // The network as the losses call it: in bf16 autocast when asked (float32 out), the whole output or its ε part.
  const bool bf16 = options.precision == "bf16";
  UNet net = s.net;
  auto forward = [net, bf16, device](const torch::Tensor& x, const torch::Tensor& t, bool eps_only) mutable {
    torch::Tensor out;
    {
      AutocastScope autocast(bf16, device.type());
      out = net->forward(x, t);
    }
    out = out.to(torch::kFloat32);
    const int64_t c = net->config().in_channels;
    return eps_only && out.size(1) != c ? out.narrow(1, 0, c) : out;
  };
  const EpsModel eps_model = [&forward](const torch::Tensor& x, const torch::Tensor& t) { return forward(x, t, true); };
  s.net->train();
  while (s.step < options.steps) {
    std::mt19937_64 rng(StepSeed(options.seed, s.step));
    torch::manual_seed(StepSeed(dropout_seed, s.step));
    data->SampleSlice(static_cast<int>(global_batch), static_cast<int>(r0), static_cast<int>(count), rng, batch.data());
    torch::Tensor x0 = torch::from_blob(batch.data(), {count, 3, crop, crop}, torch::kUInt8)
                           .to(device)
                           .to(torch::kFloat32)
                           .div(127.5)
                           .sub(1.0);
    const double lr = LearningRate(options, s.step);
    for (auto& group_options : s.optimizer->param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group_options.options()).lr(lr);
    }

    s.optimizer->zero_grad();
    reducer.Prepare();
    // Each part's loss is the mean over this rank's images of it, weighted by their share of the global batch.
    auto weight = [&](int64_t n) { return static_cast<double>(n) / static_cast<double>(global_batch); };
    // The batch's images [0, n_simple) are the L_simple part, [n_simple, B) the chain part; the chain's draws come
    // first from the step's generator.
    at::Generator gen = MakeGenerator(StepSeed(options.seed ^ 0x10ull, s.step));
    torch::Tensor loss;
    double rate_value = 0;  // this rank's share of the chain's mean relaxed bits per element
    auto add = [&loss](const torch::Tensor& part) { loss = loss.defined() ? loss + part : part; };
    if (n_chain > 0) {
      const int64_t c_begin = std::clamp(n_simple, r0, r1), c_count = r1 - c_begin;
      const BatchSlice slice{c_count > 0 ? c_begin - n_simple : 0, n_chain};
      const torch::Tensor chain_x0 = x0.narrow(0, c_begin - r0, c_count);
      if (options.scale_head) {
        auto whole = [&forward](const torch::Tensor& x, const torch::Tensor& t) { return forward(x, t, false); };
        Diffusion::ChainLoss part = diffusion.LossChainWithRate(whole, config.in_channels, chain_x0, options.chain, gen,
                                                                slice, options.gaussian_stages);
        // (The config has the head, so the rate is defined.)
        rate_value = part.rate.item<double>() * static_cast<double>(c_count) / static_cast<double>(n_chain);
        add((part.mse + options.rate_weight * part.rate) * weight(c_count));
      } else {
        add(diffusion.LossChain(eps_model, chain_x0, options.chain, gen, slice, options.gaussian_stages) *
            weight(c_count));
      }
    }
    if (n_simple > 0) {
      const int64_t s_count = std::clamp(n_simple, r0, r1) - r0;
      add(diffusion.LossSimple(eps_model, x0.narrow(0, 0, s_count), gen, {s_count > 0 ? r0 : 0, n_simple},
                               options.continuous_time) *
          weight(s_count));
    }
    loss.backward();
    DCODEC_RETURN_IF_ERROR(reducer.Finish());
    // One small all-reduce agrees on the step: the global loss, a stop request from any rank, and (rank 0's clock)
    // whether a timed checkpoint is due.
    const bool local_stop = stop && stop->load();
    const double since = std::chrono::duration<double>(Clock::now() - last_checkpoint).count();
    auto agreed = torch::tensor({loss.item<double>(), local_stop ? 1.0 : 0.0,
                                 leader && since >= options.checkpoint_seconds ? 1.0 : 0.0, rate_value},
                                torch::kFloat64);
    DCODEC_RETURN_IF_ERROR(group->AllReduceSum(agreed));
    const double loss_value = agreed[0].item<double>();
    const bool want_stop = agreed[1].item<double>() > 0;
    const bool time_due = agreed[2].item<double>() > 0;
    const double step_rate = agreed[3].item<double>();
    double grad_norm = torch::nn::utils::clip_grad_norm_(s.net->parameters(), options.grad_clip);
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
    window_images += global_batch;
    recent.push_back(loss_value);
    recent_sum += loss_value;
    recent_rate.push_back(step_rate);
    recent_rate_sum += step_rate;
    if (recent.size() > 100) {
      recent_sum -= recent.front();
      recent.pop_front();
      recent_rate_sum -= recent_rate.front();
      recent_rate.pop_front();
    }
    bool checkpoint = s.step % options.checkpoint_every == 0 || s.step == options.steps || want_stop || time_due;
    if (checkpoint) {
      if (world > 1) {  // every rank must hold the same weights: compare checksums before saving rank 0's
        const double sum = WeightChecksum(s);
        auto range = torch::tensor({sum, -sum}, torch::kFloat64);
        DCODEC_RETURN_IF_ERROR(group->AllReduceMax(range));
        if (range[0].item<double>() != -range[1].item<double>()) {
          return Internal("rank " + std::to_string(rank) + ": the ranks' weights have diverged at step " +
                          std::to_string(s.step) + " (checksums " + std::to_string(-range[1].item<double>()) + " .. " +
                          std::to_string(range[0].item<double>()) + ")");
        }
      }
      s.train_seconds = seconds_before + std::chrono::duration<double>(Clock::now() - run_start).count();
      s.loss = recent_sum / recent.size();
      if (leader) DCODEC_RETURN_IF_ERROR(SaveCheckpoint(options, config, schedule_kind, s, world));
      last_checkpoint = Clock::now();
    }
    double window_seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
    TrainProgress progress{s.step,
                           options.steps,
                           recent_sum / recent.size(),
                           recent_rate_sum / recent.size(),
                           window_seconds > 0 ? window_images / window_seconds : 0.0,
                           lr,
                           checkpoint,
                           skipped,
                           world};
    if (window_seconds > 30) {
      window_start = Clock::now();
      window_images = 0;
    }
    if (on_progress && leader) on_progress(progress);
    if (want_stop) break;
  }
  return Status::Ok();
}

}  // namespace dcodec::model
