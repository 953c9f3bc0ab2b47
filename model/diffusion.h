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
  int steps = 50;  // K network evaluations, on Respace(K) (or, with t_end > 0, RespaceLogSnr(K, t_end))
  SamplerKind kind = SamplerKind::kAncestral;
  double eta = 0.0;  // DDIM only
  uint64_t seed = 0;
  ClipX0 clip = ClipX0::kNone;
  // > 0: continuous time. The K evaluations are at times evenly spaced in log-SNR from T down to t_end (real, e.g.
  // 0.1 for noise of 0.4 grey levels; NoiseSchedule::alpha_bar_at), the last step going from t_end to 0.
  double t_end = 0.0;
};

// Which variance the reverse process p(x_{t-1} | x_t) uses in the bound.
enum class ReverseVariance {
  // sigma_t^2 = beta-tilde_t (the posterior variance, as the samplers use); beta-tilde_1 = 0, so the decoder L_0 uses
  // beta-tilde_2 instead (improved-diffusion's "fixed small" clipping).
  kPosterior,
  kBeta,  // sigma_t^2 = beta_t (the paper's other choice)
};

// How BoundBitsPerDim estimates the diffusion terms sum_{t=2..T} L_{t-1} of each image.
//
// Exact (num_timesteps == 0, or >= T - 1): every term, T - 1 network calls per batch of images.
//
// Importance-sampled (0 < num_timesteps = m < T - 1): the terms are concentrated at small t (for the shipped CIFAR
// model L_1 (t = 2) alone is 0.52 bits/dim, t = 3 0.25, t = 5 0.12), so a uniform or stratified draw of a few t
// misses most of the sum in a typical draw. Instead, each image i draws its own m timesteps t_1..t_m i.i.d. from a
// proposal q(t) over 2..T (from a stream seeded by splitmix64 of (seed, i), so it does not depend on batch_size) and
// estimates
//   D_i = (1/m) sum_k L_{t_k - 1}(i) / q(t_k),
// which is unbiased for the exact sum for any q with q(t) > 0 everywhere. The proposal follows the terms' expected
// size: with eps-prediction,
//   E L_{t-1} = dims size(t),  size(t) = KL_var(t) + 0.5 c_t mse(t),  c_t = coef_x0(t)^2 (1 - ab_t) / (ab_t sigma_t^2),
// where KL_var is the known variance part of the Gaussian KL (0 for ReverseVariance::kPosterior), c_t the known
// weight of the eps error, and mse(t) the network's mean squared eps error per element, the only unknown. A pilot
// measures mse(t) on the first min(N, 8) images at 16 timesteps spaced geometrically over 2..T (16 extra network
// calls on a batch of at most 8 images, with noise from its own stream), interpolates it linearly in t in between
// (constant beyond the ends), and sets
//   q(t) = 0.9 size(t) / sum_s size(s) + 0.1 / (T - 1),
// the uniform floor giving every t a positive probability (and bounding the weights 1/q(t) by 10 (T - 1)). The pilot
// only shapes q; the estimate's draws and noise are independent of it, so D_i stays unbiased.
//
// L_T (closed form) and L_0 (one x_1 sample per image) are always computed for every image. Every term uses one
// x_t sample per image, drawn from the image's own stream.
struct BoundOptions {
  int num_timesteps = 0;  // m: 0 = the exact sum over all T - 1 terms
  ReverseVariance variance = ReverseVariance::kPosterior;
  uint64_t seed = 0;    // per-image timestep draws and x_t noise, and the pilot's noise
  int batch_size = 16;  // images per network call
};

// Per image, in bits per dimension (nats / (C H W ln 2)), averaged over the batch's N images.
struct BoundBits {
  double total = 0.0;      // L_T + sum L_{t-1} + L_0
  double prior = 0.0;      // L_T = KL(q(x_T | x_0) || N(0, I))
  double diffusion = 0.0;  // sum_{t=2..T} L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)), exact or sampled
  double decoder = 0.0;    // L_0 = -log p(x_0 | x_1), the discretized Gaussian of eq. 13

  // Standard error of `total` as an estimate of the data's mean bound: the standard deviation of the N per-image
  // totals over sqrt(N). Each per-image total carries its own timestep (and x_t) sampling noise, so this is the
  // between-image spread combined with the within-image sampling variance. For N = 1 it is sampling_error alone.
  double standard_error = 0.0;
  double ci_low = 0.0;   // total - 1.96 standard_error: the 95% confidence interval
  double ci_high = 0.0;  // total + 1.96 standard_error
  // Standard error of `total` against the exact sum on these same N images, from timestep sampling alone:
  // sqrt(sum_i s_i^2 / m) / N, with s_i^2 the sample variance of image i's m weighted terms L / q. 0 when exact.
  double sampling_error = 0.0;
  int timesteps_per_image = 0;  // terms evaluated per image: T - 1 when exact, else m
  bool exact = true;            // all T - 1 terms evaluated
};

// Which images of a batch a data-parallel rank holds: [first, first + N) of `total` (0: the whole batch, N).
struct BatchSlice {
  int64_t first = 0;
  int64_t total = 0;
};

class Diffusion {
 public:
  explicit Diffusion(NoiseSchedule schedule);
  const NoiseSchedule& schedule() const { return schedule_; }

  // q(x_t | x_0) (eq. 4): sqrt(ab_t) x0 + sqrt(1 - ab_t) noise. t: int64 [N], per image, in 1..T (0 returns x0).
  torch::Tensor QSample(const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& noise) const;

  // Algorithm 1 / L_simple (eq. 14): t ~ U{1..T} per image, eps ~ N(0, I), mean over all elements of
  // (eps - eps_theta(x_t, t))^2. Returns the scalar loss (differentiable through `model`). Draws from `gen`.
  // With a BatchSlice, `x0` holds images [slice.first, slice.first + N) of a batch of slice.total: the draws are
  // made for the whole batch (so they do not depend on how data-parallel ranks split it) and the slice's are used;
  // the result is the mean over the slice's elements (0, without a graph, for an empty slice).
  // With continuous_time, t is drawn uniformly from the reals in (0, T] instead (x_t from alpha_bar_at), so the
  // network also learns the noise levels between the steps and below t = 1 (under one grey level).
  torch::Tensor LossSimple(const EpsModel& model, const torch::Tensor& x0, at::Generator& gen,
                           const BatchSlice& slice = {}, bool continuous_time = false) const;
  torch::Tensor LossSimple(const EpsModel& model, const torch::Tensor& x0, uint64_t seed) const;

  // L_simple on the inputs the codec feeds the network: each image draws a stage j of `chain` (timesteps in coding
  // order, strictly descending, within 1..T) uniformly and gets x_{chain[j]} from the dithered chain, which for
  // subtractive dither is exactly x_{τ_0} = sqrt(ab) x0 + Δ_0 U and x_s = posterior mean(x0, x_t) + Δ U with
  // Δ = sqrt(12 σ²) (σ² the posterior variance, U uniform on [-½, ½)) — the same moments as q, uniform instead of
  // Gaussian noise at every step. The target is the effective noise (x_t − sqrt(ab_t) x0) / sqrt(1 − ab_t), so the
  // loss is L_simple's weighting of the x_0 error at t. Draws from `gen`.
  // With gaussian_stages = G > 0 the chain's first G stages are Gaussian, as the codec's Gaussian stages
  // (codec/gaussian_stage.h) deliver them: x_{chain[j]}, j < G, has the Gaussian noise of q (drawn from `gen` after
  // the uniform draw of that position, which still advances `gen` as before).
  torch::Tensor LossChain(const EpsModel& model, const torch::Tensor& x0, const std::vector<int>& chain,
                          at::Generator& gen, const BatchSlice& slice = {}, int gaussian_stages = 0) const;

  // LossChain for a network with a scale head (UNetConfig::Output::kEpsilonAndLogScale): `net` returns the whole
  // output, eps in its first C channels and the log2-scale head ℓ in the next C. Besides the eps MSE, the codec's
  // relaxed coded rate of the step that each prediction serves, in bits per element:
  //  * at chain[j], j < K-1, the next dithered stage s = chain[j+1]: its symbol's belief is a logistic of scale
  //    σ = c0·2^(ℓ + ScaleOffsetLog2(t)) around c0·x̂_0 + ct·x_t on the grid of step Δ, so the symbol costs
  //    LogisticBinBits(c0 (x_0 − x̂_0)/Δ + ũ, σ/Δ) with ũ ~ U[-½, ½) the subtractive dither (for which the additive
  //    uniform noise relaxation is exact);
  //  * at chain[j] whose next stage is Gaussian (j + 1 < G): that stage's KL in bits, KL(N(μ̃, σ̃²) || N(c0·x̂_0 +
  //    ct·x_t, σ̃² + σ²)) with σ = c0·2^(ℓ + offset), which channel simulation pays plus a few bits a block;
  //  * at chain[K-1], the pixel stage: LogisticBinBits(127.5 (x_0 − x̂_0), 127.5 σ_0), σ_0 = 2^(ℓ + offset).
  // The dither ũ is drawn from `gen` after the chain's draws (for the whole batch, also for an empty slice).
  // Without the head (C output channels) rate is undefined; the MSE is LossChain's with the same draws.
  struct ChainLoss {
    torch::Tensor mse;   // as LossChain
    torch::Tensor rate;  // mean relaxed bits per element over the slice (0 for an empty slice; undefined
                         // without a scale head)
  };
  ChainLoss LossChainWithRate(const EpsModel& net, int64_t channels, const torch::Tensor& x0,
                              const std::vector<int>& chain, at::Generator& gen, const BatchSlice& slice = {},
                              int gaussian_stages = 0) const;

  // x0_hat = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t), optionally clamped to [-1, 1]. t in (0, T], real
  // (NoiseSchedule::x0_from_eps_at; exact at the integer steps).
  torch::Tensor PredictX0(const torch::Tensor& eps, const torch::Tensor& x_t, double t, ClipX0 clip) const;

  // Mean of q(x_s | x_t, x_0) for 0 <= s < t (NoiseSchedule::posterior_at): coef_x0 x0 + coef_xt x_t.
  torch::Tensor PosteriorMean(const torch::Tensor& x0, const torch::Tensor& x_t, double s, double t) const;

  // Draws x_0 of `shape` [N, C, H, W] with the chosen sampler; returns float32 on `device`, clamped to [-1, 1].
  // Deterministic for options.seed. kInvalidArgument for steps outside 1..T or a bad shape.
  StatusOr<torch::Tensor> Sample(const EpsModel& model, const std::vector<int64_t>& shape,
                                 const SamplerOptions& options, const torch::Device& device) const;

  // The variational bound (eq. 5) on -log p(x_0) in bits/dim for a uint8 NCHW batch (values 0..255), evaluated
  // under NoGradGuard on `device` (put a UNet in eval() first); the diffusion terms exact or importance-sampled as
  // BoundOptions describes. Each network call carries one timestep per image (t is an [N] tensor). Cost per batch
  // of images: T - 1 + 1 network calls when exact, m + 1 when sampled, plus the 16-call pilot on at most 8 images
  // once. kInvalidArgument for a non-uint8 or non-4D batch, num_timesteps < 0 or batch_size < 1.
  StatusOr<BoundBits> BoundBitsPerDim(const EpsModel& model, const torch::Tensor& x0_uint8, const BoundOptions& options,
                                      const torch::Device& device) const;

 private:
  ChainLoss ChainLossImpl(const EpsModel& net, int64_t channels, bool with_rate, const torch::Tensor& x0,
                          const std::vector<int>& chain, at::Generator& gen, const BatchSlice& slice,
                          int gaussian_stages) const;

  NoiseSchedule schedule_;
};

// The scale head's offset at timestep t (log2, in units of x_0): half the log2 of the noise-to-signal ratio
// (1 − ᾱ_t)/ᾱ_t, less one, so that a zero-initialised head starts near the error of x̂_0. The codec's per-stage
// scale multiplier absorbs it, so only training uses it.
double ScaleOffsetLog2(const NoiseSchedule& schedule, int t);

// −log2 P(bin) for a logistic of scale `sigma` whose bin [z − ½, z + ½) lies at offset z from its mean (z and
// sigma in units of the bin width), element-wise, stable in both tails; sigma > 0.
torch::Tensor LogisticBinBits(const torch::Tensor& z, const torch::Tensor& sigma);

// uint8 [0, 255] -> float32 [-1, 1] (p / 127.5 - 1) and back (rounded, clamped).
torch::Tensor PixelsToModel(const torch::Tensor& pixels_uint8);
torch::Tensor ModelToPixels(const torch::Tensor& x);

}  // namespace dcodec::model

#endif  // DCODEC_MODEL_DIFFUSION_H_
