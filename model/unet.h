// epsilon_theta(x_t, t): the DDPM noise-prediction U-Net (Ho et al. 2020, Appendix B; PixelCNN++-style backbone).
//
// Sinusoidal timestep embedding -> MLP; per resolution level num_res_blocks ResBlocks (GroupNorm -> SiLU -> conv,
// + time embedding, GroupNorm -> SiLU -> dropout -> conv, 1x1 skip when channels change), optional single-head
// self-attention, strided-conv downsampling; a middle ResBlock [-> attention] -> ResBlock; a mirrored upsampling
// path (nearest x2 + conv) that concatenates every skip; GroupNorm -> SiLU -> zero-initialised conv out.
//
// The network is fully convolutional: forward() pads the input (replicate) to a multiple of DownsampleFactor() and
// crops the output back, so any H x W works. Attention is global over the level's pixels (O((HW)^2) work), so
// configs meant for large photos have attention_levels empty.
//
// Data convention for the whole model/ folder: images are float32 NCHW in [-1, 1]; pixel p maps to p/127.5 - 1.
// forward() also takes channels-last inputs (and weights), the faster layout for oneDNN's convolutions on a CPU; at
// inference its GroupNorm statistics are then taken in double, so that the result equals the NCHW one up to the
// float rounding that differs between CPU kernels anyway (unet.cc, NormSiLU; the codec relies on it).
#ifndef DCODEC_MODEL_UNET_H_
#define DCODEC_MODEL_UNET_H_

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "base/status.h"

namespace dcodec::model {

struct UNetConfig {
  int in_channels = 3;
  int base_channels = 32;
  std::vector<int> channel_mult = {1, 2, 2};  // level l has base_channels * channel_mult[l] channels
  int num_res_blocks = 1;
  // Level indices (0 = full resolution) whose ResBlocks get self-attention; if the deepest level is listed, the
  // middle block gets attention too.
  std::vector<int> attention_levels = {};
  double dropout = 0.0;
  int groups = 8;  // GroupNorm groups (must divide every level's channels)
  // kEpsilon: in_channels outputs (eps). kEpsilonAndLogScale: 2 * in_channels, eps then a per-pixel log-scale that
  // the network predicts but model/ does not interpret (room for a learned scale for the codec).
  enum class Output { kEpsilon, kEpsilonAndLogScale } output = Output::kEpsilon;

  // {"in_channels":3,"base_channels":32,"channel_mult":[1,2,2],"num_res_blocks":1,"attention_levels":[],
  //  "dropout":0.0,"groups":8,"output":"epsilon"}   ("output": "epsilon" | "epsilon_and_log_scale")
  nlohmann::json ToJson() const;
  // Every key above is required; unknown keys are rejected (kInvalidInput); the result is Validate()d.
  static StatusOr<UNetConfig> FromJson(const nlohmann::json& j);
  // kInvalidArgument unless channels, levels, groups and dropout are consistent.
  Status Validate() const;

  static UNetConfig Small();  // ~1M params, no attention: fast on CPU, any image size (the photo default)
  static UNetConfig Cifar();  // a few M params, attention at 16x16 for 32x32 inputs (DDPM's CIFAR-10 layout, smaller)
  static UNetConfig Tiny();   // base 8, two levels: for tests and smoke runs

  int DownsampleFactor() const;  // 2^(levels - 1)
  int OutputChannels() const;    // in_channels or 2 * in_channels
};

bool operator==(const UNetConfig& a, const UNetConfig& b);
inline bool operator!=(const UNetConfig& a, const UNetConfig& b) { return !(a == b); }

struct UNetImpl : torch::nn::Module {
  // Precondition: config.Validate().ok() (otherwise throws c10::Error); MakeUNet checks it and returns a Status.
  explicit UNetImpl(const UNetConfig& config);

  // x: [N, in_channels, H, W] float in [-1, 1]; t: float [N] (or one element, broadcast) of paper timesteps 1..T.
  // Returns [N, OutputChannels(), H, W]: eps (and log-scale) predictions.
  torch::Tensor forward(torch::Tensor x, torch::Tensor t);

  const UNetConfig& config() const { return config_; }
  int64_t NumParameters() const;

 private:
  struct Layers;  // the typed submodules, defined in unet.cc
  UNetConfig config_;
  std::shared_ptr<Layers> layers_;
};
TORCH_MODULE(UNet);

// Validates the config, then constructs the network (weights from torch's global RNG; seed it with torch::manual_seed
// for reproducible initialisation).
StatusOr<UNet> MakeUNet(const UNetConfig& config);

}  // namespace dcodec::model

#endif  // DCODEC_MODEL_UNET_H_
