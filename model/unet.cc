#include "model/unet.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace dcodec::model {

namespace F = torch::nn::functional;

namespace {

constexpr int64_t kTimeEmbeddingMaxPeriod = 10000;
// Attention is computed in query chunks so that one chunk's score matrix holds at most this many floats (256 MB).
constexpr int64_t kMaxAttentionScores = int64_t{1} << 26;

const char* OutputName(UNetConfig::Output o) {
  return o == UNetConfig::Output::kEpsilon ? "epsilon" : "epsilon_and_log_scale";
}

torch::nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}

torch::nn::GroupNorm Norm(int64_t groups, int64_t channels) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels));
}

// GroupNorm in float32 whatever its input: under bf16 autocast in training (TrainOptions::precision) a conv's
// output is bf16, which LibTorch 1.13's CPU kernel does not take with float32 weights, and statistics are better
// taken in float32 anyway. In float32 (inference, the codec) this is the plain call.
torch::Tensor Normalize(torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  return norm(x.scalar_type() == torch::kFloat32 ? x : x.to(torch::kFloat32));
}

// SiLU(GroupNorm(x)). At inference (no autograd) on a float32 channels-last CPU tensor, the group statistics are
// accumulated in double here: LibTorch 1.13's channels-last GroupNorm kernel takes them in float with enough
// cancellation to move ε by up to 2.5e-5 from the NCHW kernel's (measured on the photo model), past the codec's
// portable margin (2^-17 ≈ 7.6e-6, codec/portable.h), so that streams would depend on the layout. Computed this way,
// channels-last ε stays within 5.2e-6 of NCHW's on every kernel measured (oneDNN AVX-512, AVX2, SSE4.1; ATen's
// default and AVX2), as the NCHW kernels are of each other (docs/format.md). Everything else (training, NCHW
// inputs, other devices) is the plain call.
torch::Tensor NormSiLU(torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  if (torch::GradMode::is_enabled() || !x.device().is_cpu() || x.scalar_type() != torch::kFloat32 || x.dim() != 4 ||
      x.size(2) * x.size(3) < 2 || !x.is_contiguous(at::MemoryFormat::ChannelsLast) || !norm->options.affine()) {
    return torch::silu(Normalize(norm, x));
  }
  const int64_t n = x.size(0), channels = x.size(1), pixels = x.size(2) * x.size(3);
  const int64_t groups = norm->options.num_groups(), per_group = channels / groups;
  const torch::Tensor gamma_t = norm->weight.contiguous(), beta_t = norm->bias.contiguous();
  const float* gamma = gamma_t.data_ptr<float>();
  const float* beta = beta_t.data_ptr<float>();
  torch::Tensor scale = torch::empty({n, channels, 1, 1}, x.options());
  torch::Tensor shift = torch::empty({n, channels, 1, 1}, x.options());
  std::vector<double> sum(channels), squares(channels);
  for (int64_t b = 0; b < n; ++b) {
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(squares.begin(), squares.end(), 0.0);
    const float* p = x.data_ptr<float>() + b * pixels * channels;  // [pixels][channels]
    for (int64_t i = 0; i < pixels; ++i, p += channels) {
      for (int64_t c = 0; c < channels; ++c) {
        const double v = p[c];
        sum[c] += v;
        squares[c] += v * v;
      }
    }
    float* sc = scale.data_ptr<float>() + b * channels;
    float* sh = shift.data_ptr<float>() + b * channels;
    const double count = static_cast<double>(pixels * per_group);
    for (int64_t g = 0; g < groups; ++g) {
      double s = 0, s2 = 0;
      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        s += sum[c];
        s2 += squares[c];
      }
      const double mean = s / count, variance = std::max(0.0, s2 / count - mean * mean);
      const double rstd = 1.0 / std::sqrt(variance + norm->options.eps());
      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        sc[c] = static_cast<float>(rstd * gamma[c]);
        sh[c] = static_cast<float>(beta[c] - mean * rstd * gamma[c]);
      }
    }
  }
  torch::Tensor y = torch::addcmul(shift, x, scale);
  return torch::silu_(y);
}

void ZeroInit(torch::nn::Conv2d& conv) {
  torch::NoGradGuard no_grad;
  conv->weight.zero_();
  if (conv->bias.defined()) conv->bias.zero_();
}

// Transformer sinusoidal embedding of the (float) timestep: [sin(t w_i), cos(t w_i)], w_i = 10000^(-i/half).
torch::Tensor TimestepEmbedding(const torch::Tensor& t, int64_t dim) {
  const int64_t half = dim / 2;
  auto freqs = torch::exp(-std::log(static_cast<double>(kTimeEmbeddingMaxPeriod)) *
                          torch::arange(half, t.options().dtype(torch::kFloat32)) / static_cast<double>(half));
  auto args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  auto emb = torch::cat({torch::sin(args), torch::cos(args)}, 1);
  if (dim % 2) emb = F::pad(emb, F::PadFuncOptions({0, 1}));
  return emb;
}

}  // namespace

// ResBlock (DDPM Appendix B): h = conv(SiLU(GN(x))); h += Linear(SiLU(temb)); h = conv(dropout(SiLU(GN(h))));
// return skip(x) + h.
struct ResBlockImpl : torch::nn::Module {
  ResBlockImpl(int64_t in, int64_t out, int64_t temb_dim, double dropout, int64_t groups)
      : norm1(register_module("norm1", Norm(groups, in))),
        conv1(register_module("conv1", Conv(in, out, 3))),
        temb_proj(register_module("temb_proj", torch::nn::Linear(temb_dim, out))),
        norm2(register_module("norm2", Norm(groups, out))),
        drop(register_module("dropout", torch::nn::Dropout(dropout))),
        conv2(register_module("conv2", Conv(out, out, 3))) {
    ZeroInit(conv2);  // each block starts as the identity (improved-diffusion)
    if (in != out) skip = register_module("skip", Conv(in, out, 1));
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb) {
    auto h = conv1(NormSiLU(norm1, x));
    h = h + temb_proj(torch::silu(temb)).unsqueeze(-1).unsqueeze(-1);
    h = conv2(drop(NormSiLU(norm2, h)));
    return (skip ? skip(x) : x) + h;
  }

  torch::nn::GroupNorm norm1;
  torch::nn::Conv2d conv1;
  torch::nn::Linear temb_proj;
  torch::nn::GroupNorm norm2;
  torch::nn::Dropout drop;
  torch::nn::Conv2d conv2;
  torch::nn::Conv2d skip{nullptr};
};
TORCH_MODULE(ResBlock);

// Single-head self-attention over all pixels: x + proj(softmax(q^T k / sqrt(C)) v), q, k, v = 1x1 conv(GN(x)).
struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int64_t channels, int64_t groups)
      : norm(register_module("norm", Norm(groups, channels))),
        qkv(register_module("qkv", Conv(channels, 3 * channels, 1))),
        proj(register_module("proj", Conv(channels, channels, 1))) {
    ZeroInit(proj);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), len = h * w;
    auto qkv_flat = qkv(Normalize(norm, x)).reshape({n, 3 * c, len});
    auto parts = qkv_flat.chunk(3, 1);
    auto q = parts[0].transpose(1, 2) * (1.0 / std::sqrt(static_cast<double>(c)));  // [n, len, c]
    auto k = parts[1];                                                              // [n, c, len]
    auto v = parts[2].transpose(1, 2);                                              // [n, len, c]
    const int64_t chunk = std::max<int64_t>(1, kMaxAttentionScores / std::max<int64_t>(1, n * len));
    std::vector<torch::Tensor> outs;
    for (int64_t start = 0; start < len; start += chunk) {
      auto qc = q.narrow(1, start, std::min(chunk, len - start));
      outs.push_back(torch::bmm(torch::softmax(torch::bmm(qc, k), -1), v));  // [n, chunk, c]
    }
    auto out = torch::cat(outs, 1).transpose(1, 2).reshape({n, c, h, w});
    return x + proj(out);
  }

  torch::nn::GroupNorm norm;
  torch::nn::Conv2d qkv;
  torch::nn::Conv2d proj;
};
TORCH_MODULE(Attention);

// One step of the down or up path: an optional ResBlock [+ attention], then an optional resampling.
struct StageImpl : torch::nn::Module {
  enum class Resample { kNone, kDown, kUp };

  torch::Tensor forward(torch::Tensor h, const torch::Tensor& temb) {
    if (res) h = res->forward(h, temb);
    if (attn) h = attn->forward(h);
    if (resample_kind == Resample::kDown) h = resample(h);
    if (resample_kind == Resample::kUp) {
      h = F::interpolate(
          h,
          F::InterpolateFuncOptions().size(std::vector<int64_t>{2 * h.size(2), 2 * h.size(3)}).mode(torch::kNearest));
      h = resample(h);
    }
    return h;
  }

  ResBlock res{nullptr};
  Attention attn{nullptr};
  torch::nn::Conv2d resample{nullptr};
  Resample resample_kind = Resample::kNone;
};
TORCH_MODULE(Stage);

struct UNetImpl::Layers {
  torch::nn::Linear time1{nullptr}, time2{nullptr};
  torch::nn::Conv2d conv_in{nullptr};
  std::vector<Stage> down;  // each output is a skip
  ResBlock mid1{nullptr};
  Attention mid_attn{nullptr};
  ResBlock mid2{nullptr};
  std::vector<Stage> up;  // each input is concatenated with the last unused skip
  torch::nn::GroupNorm out_norm{nullptr};
  torch::nn::Conv2d out_conv{nullptr};
};

UNetImpl::UNetImpl(const UNetConfig& config) : config_(config), layers_(std::make_shared<Layers>()) {
  const Status valid = config.Validate();
  TORCH_CHECK(valid.ok(), valid.ToString());
  Layers& L = *layers_;
  const int64_t base = config.base_channels, temb_dim = 4 * base, groups = config.groups;
  const int num_levels = static_cast<int>(config.channel_mult.size());
  const std::set<int> attn_levels(config.attention_levels.begin(), config.attention_levels.end());

  L.time1 = register_module("time_mlp1", torch::nn::Linear(base, temb_dim));
  L.time2 = register_module("time_mlp2", torch::nn::Linear(temb_dim, temb_dim));
  L.conv_in = register_module("conv_in", Conv(config.in_channels, base, 3));

  auto down_list = register_module("down", torch::nn::ModuleList());
  std::vector<int64_t> skip_channels = {base};
  int64_t ch = base;
  for (int level = 0; level < num_levels; ++level) {
    const int64_t out = base * config.channel_mult[level];
    for (int r = 0; r < config.num_res_blocks; ++r) {
      Stage stage;
      stage->res = stage->register_module("res", ResBlock(ch, out, temb_dim, config.dropout, groups));
      if (attn_levels.count(level)) stage->attn = stage->register_module("attn", Attention(out, groups));
      ch = out;
      down_list->push_back(stage);
      L.down.push_back(stage);
      skip_channels.push_back(ch);
    }
    if (level != num_levels - 1) {
      Stage stage;
      stage->resample = stage->register_module("resample", Conv(ch, ch, 3, 2));
      stage->resample_kind = StageImpl::Resample::kDown;
      down_list->push_back(stage);
      L.down.push_back(stage);
      skip_channels.push_back(ch);
    }
  }

  L.mid1 = register_module("mid1", ResBlock(ch, ch, temb_dim, config.dropout, groups));
  if (attn_levels.count(num_levels - 1)) L.mid_attn = register_module("mid_attn", Attention(ch, groups));
  L.mid2 = register_module("mid2", ResBlock(ch, ch, temb_dim, config.dropout, groups));

  auto up_list = register_module("up", torch::nn::ModuleList());
  for (int level = num_levels - 1; level >= 0; --level) {
    const int64_t out = base * config.channel_mult[level];
    for (int r = 0; r <= config.num_res_blocks; ++r) {
      const int64_t skip = skip_channels.back();
      skip_channels.pop_back();
      Stage stage;
      stage->res = stage->register_module("res", ResBlock(ch + skip, out, temb_dim, config.dropout, groups));
      if (attn_levels.count(level)) stage->attn = stage->register_module("attn", Attention(out, groups));
      ch = out;
      if (level != 0 && r == config.num_res_blocks) {
        stage->resample = stage->register_module("resample", Conv(ch, ch, 3));
        stage->resample_kind = StageImpl::Resample::kUp;
      }
      up_list->push_back(stage);
      L.up.push_back(stage);
    }
  }

  L.out_norm = register_module("out_norm", Norm(groups, ch));
  L.out_conv = register_module("out_conv", Conv(ch, config.OutputChannels(), 3));
  ZeroInit(L.out_conv);
}

torch::Tensor UNetImpl::forward(torch::Tensor x, torch::Tensor t) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == config_.in_channels, "UNet: expected x of shape [N, ", config_.in_channels,
              ", H, W], got ", x.sizes());
  const int64_t n = x.size(0), height = x.size(2), width = x.size(3);
  TORCH_CHECK(t.numel() == n || t.numel() == 1, "UNet: t must have N = ", n, " or 1 elements, got ", t.numel());
  t = t.reshape({-1}).to(x.device(), torch::kFloat32).expand({n});
  Layers& L = *layers_;

  const int64_t f = config_.DownsampleFactor();
  const int64_t pad_h = (f - height % f) % f, pad_w = (f - width % f) % f;
  if (pad_h || pad_w) {
    const bool channels_last = x.is_contiguous(at::MemoryFormat::ChannelsLast);
    x = F::pad(x, F::PadFuncOptions({0, pad_w, 0, pad_h}).mode(torch::kReplicate));
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);  // keep the caller's layout
  }

  auto temb = L.time2(torch::silu(L.time1(TimestepEmbedding(t, config_.base_channels))));
  auto h = L.conv_in(x);
  std::vector<torch::Tensor> skips = {h};
  for (Stage& stage : L.down) {
    h = stage->forward(h, temb);
    skips.push_back(h);
  }
  h = L.mid1->forward(h, temb);
  if (L.mid_attn) h = L.mid_attn->forward(h);
  h = L.mid2->forward(h, temb);
  for (Stage& stage : L.up) {
    h = torch::cat({h, skips.back()}, 1);
    skips.pop_back();
    h = stage->forward(h, temb);
  }
  h = L.out_conv(NormSiLU(L.out_norm, h));
  if (pad_h || pad_w) h = h.narrow(2, 0, height).narrow(3, 0, width);
  return h;
}

int64_t UNetImpl::NumParameters() const {
  int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  return total;
}

StatusOr<UNet> MakeUNet(const UNetConfig& config) {
  DCODEC_RETURN_IF_ERROR(config.Validate());
  return UNet(config);
}

// ---- UNetConfig ----

nlohmann::json UNetConfig::ToJson() const {
  return nlohmann::json{{"in_channels", in_channels},
                        {"base_channels", base_channels},
                        {"channel_mult", channel_mult},
                        {"num_res_blocks", num_res_blocks},
                        {"attention_levels", attention_levels},
                        {"dropout", dropout},
                        {"groups", groups},
                        {"output", OutputName(output)}};
}

StatusOr<UNetConfig> UNetConfig::FromJson(const nlohmann::json& j) {
  static const char* const kKeys[] = {"in_channels",      "base_channels", "channel_mult", "num_res_blocks",
                                      "attention_levels", "dropout",       "groups",       "output"};
  if (!j.is_object()) return InvalidInput("UNet config: expected a JSON object");
  for (const char* key : kKeys) {
    if (!j.contains(key)) return InvalidInput(std::string("UNet config: missing key '") + key + "'");
  }
  for (const auto& item : j.items()) {
    if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return item.key() == k; }) ==
        std::end(kKeys)) {
      return InvalidInput("UNet config: unknown key '" + item.key() + "'");
    }
  }
  UNetConfig c;
  try {
    c.in_channels = j.at("in_channels").get<int>();
    c.base_channels = j.at("base_channels").get<int>();
    c.channel_mult = j.at("channel_mult").get<std::vector<int>>();
    c.num_res_blocks = j.at("num_res_blocks").get<int>();
    c.attention_levels = j.at("attention_levels").get<std::vector<int>>();
    c.dropout = j.at("dropout").get<double>();
    c.groups = j.at("groups").get<int>();
    const std::string output = j.at("output").get<std::string>();
    if (output == OutputName(Output::kEpsilon)) {
      c.output = Output::kEpsilon;
    } else if (output == OutputName(Output::kEpsilonAndLogScale)) {
      c.output = Output::kEpsilonAndLogScale;
    } else {
      return InvalidInput("UNet config: unknown output '" + output + "'");
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidInput(std::string("UNet config: ") + e.what());
  }
  Status valid = c.Validate();
  if (!valid.ok()) return InvalidInput(valid.message());
  return c;
}

Status UNetConfig::Validate() const {
  if (in_channels < 1) return InvalidArgument("UNet config: in_channels must be >= 1");
  if (base_channels < 1) return InvalidArgument("UNet config: base_channels must be >= 1");
  if (channel_mult.empty() || channel_mult.size() > 8) {
    return InvalidArgument("UNet config: channel_mult must have 1..8 levels");
  }
  if (num_res_blocks < 1) return InvalidArgument("UNet config: num_res_blocks must be >= 1");
  if (groups < 1) return InvalidArgument("UNet config: groups must be >= 1");
  if (!(dropout >= 0.0 && dropout < 1.0)) return InvalidArgument("UNet config: dropout must be in [0, 1)");
  if (base_channels % groups) return InvalidArgument("UNet config: groups must divide base_channels");
  for (int m : channel_mult) {
    if (m < 1) return InvalidArgument("UNet config: channel_mult entries must be >= 1");
    if ((base_channels * m) % groups) {
      return InvalidArgument("UNet config: groups (" + std::to_string(groups) + ") must divide every level's " +
                             "channels (" + std::to_string(base_channels * m) + ")");
    }
  }
  for (int level : attention_levels) {
    if (level < 0 || level >= static_cast<int>(channel_mult.size())) {
      return InvalidArgument("UNet config: attention level " + std::to_string(level) + " out of range");
    }
  }
  return Status::Ok();
}

UNetConfig UNetConfig::Small() {
  UNetConfig c;
  c.base_channels = 32;
  c.channel_mult = {1, 2, 2};
  c.num_res_blocks = 1;
  c.attention_levels = {};
  c.dropout = 0.0;
  c.groups = 8;
  return c;
}

UNetConfig UNetConfig::Cifar() {
  UNetConfig c;
  c.base_channels = 64;
  c.channel_mult = {1, 2, 2};
  c.num_res_blocks = 2;
  c.attention_levels = {1};
  c.dropout = 0.1;
  c.groups = 32;
  return c;
}

UNetConfig UNetConfig::Tiny() {
  UNetConfig c = Small();
  c.base_channels = 8;
  c.channel_mult = {1, 2};
  c.groups = 4;
  return c;
}

int UNetConfig::DownsampleFactor() const { return 1 << (static_cast<int>(channel_mult.size()) - 1); }

int UNetConfig::OutputChannels() const { return output == Output::kEpsilon ? in_channels : 2 * in_channels; }

bool operator==(const UNetConfig& a, const UNetConfig& b) {
  return a.in_channels == b.in_channels && a.base_channels == b.base_channels && a.channel_mult == b.channel_mult &&
         a.num_res_blocks == b.num_res_blocks && a.attention_levels == b.attention_levels && a.dropout == b.dropout &&
         a.groups == b.groups && a.output == b.output;
}

}  // namespace dcodec::model
