// The DDPM process maths in LibTorch (Ho et al. 2020): forward noising, the training loss, x_0 / posterior
// estimates, ancestral and DDIM samplers on respaced chains, and the variational bound in bits/dim.
//
// Holds no weights: the network's only contract is EpsModel, eps_theta(x_t, t) with t a float [N] tensor of paper
// timesteps 1..T (AsEpsModel wraps a UNet). Images are float32 NCHW in [-1, 1] (pixel p -> p/127.5 - 1).
//
// Randomness: every random draw comes from an explicit at::Generator on the CPU (MakeGenerator(seed)) and is then
// moved to the data's device, so a seed gives the same noise on every device and every run.
#ifndef DCODEC_MODEL_DIFFUSION_H_
#define DCODEC_MODEL_DIFFUSION_H_

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "model/schedule.h"
#include "model/unet.h"

namespace dcodec::model {

using EpsModel = std::function<torch::Tensor(const torch::Tensor& x_t, const torch::Tensor& t)>;

// Calls net(x, t) and keeps the first in_channels output channels (the eps prediction).
EpsModel AsEpsModel(UNet net);

// A CPU generator seeded with `seed` (at::detail::createCPUGenerator).
at::Generator MakeGenerator(uint64_t seed);

// Standard normal noise of `shape` drawn on the CPU from `gen`, returned as float32 on `device`.
torch::Tensor RandomNormal(torch::IntArrayRef shape, at::Generator& gen, const torch::Device& device);

enum class ClipX0 { kNone, kClip };  // whether x_0 estimates are clamped to [-1, 1]

enum class SamplerKind {
  // Algorithm 2 on the chain Respace(steps) + [0]: x_s = posterior mean(x0_hat, x_t) + sigma z, sigma^2 the
  // posterior variance of q(x_s | x_t, x_0) (beta-tilde_t when adjacent). With steps == T and ClipX0::kNone this is
  // exactly the paper's Algorithm 2 with sigma_t^2 = beta-tilde_t.
  kAncestral,
  // DDIM (Song et al. 2021, eq. 12): x_s = sqrt(ab_s) x0_hat + sqrt(1 - ab_s - sigma^2) eps + sigma z with
  // sigma = eta sqrt((1 - ab_s)/(1 - ab_t)) sqrt(1 - ab_t/ab_s); eta = 0 is deterministic given x_T.
  kDdim,
};

struct SamplerOptions {
  int steps = 50;  // K network evaluations, on Respace(K)
  SamplerKind kind = SamplerKind::kAncestral;
  double eta = 0.0;  // DDIM only
  uint64_t seed = 0;
  ClipX0 clip = ClipX0::kNone;
};

// Which variance the reverse process p(x_{t-1} | x_t) uses in the bound.
enum class ReverseVariance {
  // sigma_t^2 = beta-tilde_t (the posterior variance, as the samplers use); beta-tilde_1 = 0, so the decoder L_0 uses
  // beta-tilde_2 instead (improved-diffusion's "fixed small" clipping).
  kPosterior,
  kBeta,  // sigma_t^2 = beta_t (the paper's other choice)
};

struct BoundOptions {
  // How many of the T - 1 terms L_{t-1}, t = 2..T, are evaluated: 0 = all of them (exact sum). Otherwise t = 2..T
  // is cut into `num_timesteps` equal strata, one t drawn uniformly from each (from `seed`), and each term is
  // weighted by its stratum's size: an unbiased, low-variance estimate of the full sum. L_T and L_0 are always exact.
  int num_timesteps = 0;
  ReverseVariance variance = ReverseVariance::kPosterior;
  uint64_t seed = 0;    // x_t noise and the strata draws
  int batch_size = 16;  // images per network call
};

// Per image, in bits per dimension (nats / (C H W ln 2)), averaged over the batch.
struct BoundBits {
  double total = 0.0;      // L_T + sum L_{t-1} + L_0
  double prior = 0.0;      // L_T = KL(q(x_T | x_0) || N(0, I))
  double diffusion = 0.0;  // sum_{t=2..T} L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))
  double decoder = 0.0;    // L_0 = -log p(x_0 | x_1), the discretized Gaussian of eq. 13
};

class Diffusion {
 public:
  explicit Diffusion(NoiseSchedule schedule);
  const NoiseSchedule& schedule() const { return schedule_; }

  // q(x_t | x_0) (eq. 4): sqrt(ab_t) x0 + sqrt(1 - ab_t) noise. t: int64 [N], per image, in 1..T (0 returns x0).
  torch::Tensor QSample(const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& noise) const;

  // Algorithm 1 / L_simple (eq. 14): t ~ U{1..T} per image, eps ~ N(0, I), mean over all elements of
  // (eps - eps_theta(x_t, t))^2. Returns the scalar loss (differentiable through `model`). Draws from `gen`.
  torch::Tensor LossSimple(const EpsModel& model, const torch::Tensor& x0, at::Generator& gen) const;
  torch::Tensor LossSimple(const EpsModel& model, const torch::Tensor& x0, uint64_t seed) const;

  // x0_hat = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t), optionally clamped to [-1, 1]. t in 1..T.
  torch::Tensor PredictX0(const torch::Tensor& eps, const torch::Tensor& x_t, int t, ClipX0 clip) const;

  // Mean of q(x_s | x_t, x_0) for 0 <= s < t (NoiseSchedule::posterior): coef_x0 x0 + coef_xt x_t.
  torch::Tensor PosteriorMean(const torch::Tensor& x0, const torch::Tensor& x_t, int s, int t) const;

  // Draws x_0 of `shape` [N, C, H, W] with the chosen sampler; returns float32 on `device`, clamped to [-1, 1].
  // Deterministic for options.seed. kInvalidArgument for steps outside 1..T or a bad shape.
  StatusOr<torch::Tensor> Sample(const EpsModel& model, const std::vector<int64_t>& shape,
                                 const SamplerOptions& options, const torch::Device& device) const;

  // The variational bound (eq. 5) on -log p(x_0) in bits/dim for a uint8 NCHW batch (values 0..255), evaluated
  // under NoGradGuard on `device` (put a UNet in eval() first). One x_t sample per term and image, drawn
  // independently per term from options.seed. Cost: (terms + 1) network calls per batch of images, where terms =
  // T - 1 or options.num_timesteps. kInvalidArgument for a non-uint8 or non-4D batch.
  StatusOr<BoundBits> BoundBitsPerDim(const EpsModel& model, const torch::Tensor& x0_uint8, const BoundOptions& options,
                                      const torch::Device& device) const;

 private:
  NoiseSchedule schedule_;
};

// uint8 [0, 255] -> float32 [-1, 1] (p / 127.5 - 1) and back (rounded, clamped).
torch::Tensor PixelsToModel(const torch::Tensor& pixels_uint8);
torch::Tensor ModelToPixels(const torch::Tensor& x);

}  // namespace dcodec::model

#endif  // DCODEC_MODEL_DIFFUSION_H_
