#include "model/diffusion.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>

namespace dcodec::model {

namespace {

constexpr double kHalfBin = 1.0 / 255.0;  // half the width of one pixel level in [-1, 1]

std::string ShapeString(torch::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

torch::Tensor FullT(int64_t n, double t, const torch::Device& device) {
  return torch::full({n}, t, torch::TensorOptions().dtype(torch::kFloat32).device(device));
}

// log Phi-difference of the standard normal, stable in both tails (double precision).
torch::Tensor LogNormalCdfDifference(const torch::Tensor& lower, const torch::Tensor& upper) {
  // Phi(b) - Phi(a) = 0.5 (erfc(-b/sqrt2) - erfc(-a/sqrt2)) = 0.5 (erfc(a/sqrt2) - erfc(b/sqrt2)); take the form
  // whose erfc arguments are positive so neither term is close to 1.
  const double r = 1.0 / std::sqrt(2.0);
  auto positive = 0.5 * (torch::erfc(lower * r) - torch::erfc(upper * r));
  auto negative = 0.5 * (torch::erfc(-upper * r) - torch::erfc(-lower * r));
  auto diff = torch::where(lower > 0, positive, negative);
  return torch::log(diff.clamp_min(1e-300));
}

// log p(x0 | mean, sigma) of the discretized Gaussian decoder (eq. 13), elementwise, double precision: the bin
// [x - 1/255, x + 1/255], extended to -inf at x = -1 and +inf at x = 1.
torch::Tensor DiscretizedGaussianLogLikelihood(const torch::Tensor& x0, const torch::Tensor& mean, double sigma) {
  auto centered = (x0 - mean) / sigma;
  auto upper = centered + kHalfBin / sigma;
  auto lower = centered - kHalfBin / sigma;
  const double r = 1.0 / std::sqrt(2.0);
  auto log_cdf_upper = torch::log((0.5 * torch::erfc(-upper * r)).clamp_min(1e-300));  // log Phi(upper)
  auto log_sf_lower = torch::log((0.5 * torch::erfc(lower * r)).clamp_min(1e-300));    // log (1 - Phi(lower))
  auto mid = LogNormalCdfDifference(lower, upper);
  return torch::where(x0 < -0.999, log_cdf_upper, torch::where(x0 > 0.999, log_sf_lower, mid));
}

// splitmix64's output function: a well-mixed 64-bit value from any input, for independent per-image seeds.
uint64_t SplitMix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

EpsModel AsEpsModel(UNet net) {
  return [net](const torch::Tensor& x, const torch::Tensor& t) mutable {
    auto out = net->forward(x, t);
    const int64_t c = net->config().in_channels;
    return out.size(1) == c ? out : out.narrow(1, 0, c);
  };
}

at::Generator MakeGenerator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

torch::Tensor RandomNormal(torch::IntArrayRef shape, at::Generator& gen, const torch::Device& device) {
  return torch::randn(shape, gen, torch::TensorOptions().dtype(torch::kFloat32)).to(device);
}

torch::Tensor PixelsToModel(const torch::Tensor& pixels_uint8) {
  return pixels_uint8.to(torch::kFloat32) / 127.5 - 1.0;
}

torch::Tensor ModelToPixels(const torch::Tensor& x) {
  return ((x.to(torch::kFloat32) + 1.0) * 127.5).round().clamp(0, 255).to(torch::kUInt8);
}

Diffusion::Diffusion(NoiseSchedule schedule) : schedule_(std::move(schedule)) {}

torch::Tensor Diffusion::QSample(const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& noise) const {
  const int T = schedule_.num_steps();
  std::vector<double> sqrt_ab(T + 1), sqrt_one_minus_ab(T + 1);
  for (int i = 0; i <= T; ++i) {
    sqrt_ab[i] = std::sqrt(schedule_.alpha_bar(i));
    sqrt_one_minus_ab[i] = std::sqrt(1.0 - schedule_.alpha_bar(i));
  }
  auto idx = t.to(torch::kCPU, torch::kInt64).reshape({-1});
  auto a = torch::tensor(sqrt_ab, torch::kFloat64).index_select(0, idx).to(x0.device(), x0.scalar_type());
  auto b = torch::tensor(sqrt_one_minus_ab, torch::kFloat64).index_select(0, idx).to(x0.device(), x0.scalar_type());
  std::vector<int64_t> bshape(x0.dim(), 1);
  bshape[0] = -1;
  return a.view(bshape) * x0 + b.view(bshape) * noise;
}

namespace {

// The batch's shape with the slice's image count replaced by the whole batch's.
std::vector<int64_t> WholeBatchShape(const torch::Tensor& x0, const BatchSlice& slice) {
  std::vector<int64_t> shape(x0.sizes().begin(), x0.sizes().end());
  shape[0] = slice.total > 0 ? slice.total : x0.size(0);
  return shape;
}

}  // namespace

torch::Tensor Diffusion::LossSimple(const EpsModel& model, const torch::Tensor& x0, at::Generator& gen,
                                    const BatchSlice& slice, bool continuous_time) const {
  const auto whole = WholeBatchShape(x0, slice);
  const int64_t n = x0.size(0);
  if (continuous_time) {
    // u in [0, 1): t = T (1 − u) in (0, T].
    auto u = torch::rand({whole[0]}, gen, torch::TensorOptions().dtype(torch::kFloat64)).narrow(0, slice.first, n);
    auto noise = RandomNormal(whole, gen, x0.device()).narrow(0, slice.first, n);
    if (n == 0) return torch::zeros({}, x0.options());
    std::vector<double> a(n), b(n), ts(n);
    for (int64_t i = 0; i < n; ++i) {
      ts[i] = schedule_.num_steps() * (1.0 - u[i].item<double>());
      const double ab = schedule_.alpha_bar_at(ts[i]);
      a[i] = std::sqrt(ab);
      b[i] = std::sqrt(1.0 - ab);
    }
    std::vector<int64_t> bshape(x0.dim(), 1);
    bshape[0] = -1;
    auto as = torch::tensor(a, torch::kFloat64).to(x0.device(), x0.scalar_type()).view(bshape);
    auto bs = torch::tensor(b, torch::kFloat64).to(x0.device(), x0.scalar_type()).view(bshape);
    auto t = torch::tensor(ts, torch::kFloat64).to(x0.device(), torch::kFloat32);
    auto eps = model(as * x0 + bs * noise, t);
    return torch::mse_loss(eps, noise);
  }
  auto t = torch::randint(1, schedule_.num_steps() + 1, {whole[0]}, gen, torch::TensorOptions().dtype(torch::kInt64))
               .narrow(0, slice.first, n);
  auto noise = RandomNormal(whole, gen, x0.device()).narrow(0, slice.first, n);
  if (n == 0) return torch::zeros({}, x0.options());
  auto x_t = QSample(x0, t, noise);
  auto eps = model(x_t, t.to(x0.device(), torch::kFloat32));
  return torch::mse_loss(eps, noise);
}

torch::Tensor Diffusion::LossSimple(const EpsModel& model, const torch::Tensor& x0, uint64_t seed) const {
  at::Generator gen = MakeGenerator(seed);
  return LossSimple(model, x0, gen);
}

torch::Tensor Diffusion::LossChain(const EpsModel& model, const torch::Tensor& x0, const std::vector<int>& chain,
                                   at::Generator& gen, const BatchSlice& slice, int gaussian_stages) const {
  return ChainLossImpl(model, x0.size(1), /*with_rate=*/false, x0, chain, gen, slice, gaussian_stages).mse;
}

Diffusion::ChainLoss Diffusion::LossChainWithRate(const EpsModel& net, int64_t channels, const torch::Tensor& x0,
                                                  const std::vector<int>& chain, at::Generator& gen,
                                                  const BatchSlice& slice, int gaussian_stages) const {
  return ChainLossImpl(net, channels, /*with_rate=*/true, x0, chain, gen, slice, gaussian_stages);
}

double ScaleOffsetLog2(const NoiseSchedule& schedule, int t) {
  const double ab = schedule.alpha_bar(t);
  return 0.5 * std::log2((1.0 - ab) / ab) - 1.0;
}

torch::Tensor LogisticBinBits(const torch::Tensor& z, const torch::Tensor& sigma) {
  // The logistic is symmetric: put the bin on the left tail, where sigmoid has no cancellation, then
  // log P = log sigmoid(a) + log(1 − exp(log sigmoid(b) − log sigmoid(a))), b < a.
  auto left = -z.abs();
  auto a = torch::log_sigmoid((left + 0.5) / sigma);
  auto b = torch::log_sigmoid((left - 0.5) / sigma);
  auto log_p = a + torch::log((-torch::expm1(b - a)).clamp_min(1e-30));
  return log_p * (-1.0 / std::log(2.0));
}

Diffusion::ChainLoss Diffusion::ChainLossImpl(const EpsModel& net, int64_t channels, bool with_rate,
                                              const torch::Tensor& x0, const std::vector<int>& chain,
                                              at::Generator& gen, const BatchSlice& slice,
                                              int gaussian_stages) const {
  const auto whole = WholeBatchShape(x0, slice);
  const int64_t n = x0.size(0);
  const int64_t k = static_cast<int64_t>(chain.size());
  auto options = torch::TensorOptions().dtype(torch::kFloat32);
  auto stage = torch::randint(0, k, {whole[0]}, gen, torch::TensorOptions().dtype(torch::kInt64)).narrow(0, slice.first, n);
  std::vector<torch::Tensor> xs;
  torch::Tensor x_t;
  for (int64_t j = 0; j < k; ++j) {
    const int s = chain[j];
    const auto p = j == 0 ? NoiseSchedule::Posterior{std::sqrt(schedule_.alpha_bar(s)), 0.0,
                                                      1.0 - schedule_.alpha_bar(s)}
                          : schedule_.posterior(s, chain[j - 1]);
    auto u = (torch::rand(whole, gen, options).narrow(0, slice.first, n) - 0.5).to(x0.device());
    const bool gaussian = j < gaussian_stages;
    auto g = gaussian ? torch::randn(whole, gen, options).narrow(0, slice.first, n).to(x0.device()) : torch::Tensor();
    if (n == 0) continue;  // the draws still advance `gen` as the whole batch's do
    auto mean = j == 0 ? p.coef_x0 * x0 : p.coef_x0 * x0 + p.coef_xt * x_t;
    x_t = gaussian ? mean + std::sqrt(p.variance) * g : mean + std::sqrt(12.0 * p.variance) * u;
    xs.push_back(x_t);
  }
  // The dither of the step each prediction serves, drawn for the whole batch as the draws above.
  torch::Tensor dither;
  if (with_rate) dither = (torch::rand(whole, gen, options).narrow(0, slice.first, n) - 0.5).to(x0.device());
  ChainLoss result;
  if (n == 0) {
    result.mse = torch::zeros({}, x0.options());
    if (with_rate) result.rate = torch::zeros({}, x0.options());
    return result;
  }
  auto stacked = torch::stack(xs, 1);  // [N, K, C, H, W]
  auto index = stage.to(x0.device());
  auto picked = stacked.index({torch::arange(n, torch::TensorOptions().dtype(torch::kInt64).device(x0.device())),
                               index});
  // Per chain position: timestep, sqrt(ab), sqrt(1 - ab), and the step it serves (the next dithered stage's c0
  // and Δ; for the last, the pixel stage: c0 = 127.5, Δ = 1), and the scale head's offset.
  std::vector<float> ts(k), a(k), b(k), c0(k), step(k), offset(k), next_gaussian(k, 0.0f);
  for (int64_t j = 0; j < k; ++j) {
    ts[j] = static_cast<float>(chain[j]);
    a[j] = static_cast<float>(std::sqrt(schedule_.alpha_bar(chain[j])));
    b[j] = static_cast<float>(std::sqrt(1.0 - schedule_.alpha_bar(chain[j])));
    if (j + 1 < k) {
      const auto p = schedule_.posterior(chain[j + 1], chain[j]);
      c0[j] = static_cast<float>(p.coef_x0);
      step[j] = static_cast<float>(std::sqrt(12.0 * p.variance));
      next_gaussian[j] = j + 1 < gaussian_stages ? 1.0f : 0.0f;
    } else {
      c0[j] = 127.5f;
      step[j] = 1.0f;
    }
    offset[j] = static_cast<float>(ScaleOffsetLog2(schedule_, chain[j]));
  }
  auto pick = [&](const std::vector<float>& v) {
    return torch::tensor(v, options).index_select(0, stage).to(x0.device());
  };
  std::vector<int64_t> bshape(x0.dim(), 1);
  bshape[0] = -1;
  auto target = (picked - pick(a).view(bshape) * x0) / pick(b).view(bshape);
  auto out = net(picked, pick(ts));
  const bool has_head = out.size(1) == 2 * channels;
  auto eps = has_head ? out.narrow(1, 0, channels) : out;
  result.mse = torch::mse_loss(eps, target);
  if (!with_rate || !has_head) return result;
  // The next step's dither: none at the pixel stage.
  auto is_dithered = (stage < k - 1).to(x0.device(), torch::kFloat32).view(bshape);
  auto x0_hat = (picked - pick(b).view(bshape) * eps) / pick(a).view(bshape);
  auto c = pick(c0).view(bshape), d = pick(step).view(bshape);
  auto log_scale = out.narrow(1, channels, channels) + pick(offset).view(bshape);
  auto z = c * (x0 - x0_hat) / d + is_dithered * dither;
  auto sigma = c * torch::exp2(log_scale.clamp(-20.0, 4.0)) / d;
  auto bits = LogisticBinBits(z, sigma);
  if (gaussian_stages > 1) {
    // In units of Δ the next stage's q has variance 1/12 (σ̃² = Δ²/12), the belief σ̃² + σ², the error c0 (x_0 − x̂_0)/Δ.
    auto err = c * (x0 - x0_hat) / d;
    auto var_p = 1.0 / 12.0 + sigma * sigma;
    auto kl = (0.5 * torch::log(var_p * 12.0) + (1.0 / 12.0 + err * err) / (2.0 * var_p) - 0.5) / std::log(2.0);
    auto use_kl = pick(next_gaussian).view(bshape);
    bits = use_kl * kl + (1.0 - use_kl) * bits;
  }
  result.rate = bits.mean();
  return result;
}

torch::Tensor Diffusion::PredictX0(const torch::Tensor& eps, const torch::Tensor& x_t, double t, ClipX0 clip) const {
  const auto c = schedule_.x0_from_eps_at(t);
  auto x0 = c.coef_xt * x_t + c.coef_eps * eps;
  return clip == ClipX0::kClip ? x0.clamp(-1.0, 1.0) : x0;
}

torch::Tensor Diffusion::PosteriorMean(const torch::Tensor& x0, const torch::Tensor& x_t, double s, double t) const {
  const auto p = schedule_.posterior_at(s, t);
  return p.coef_x0 * x0 + p.coef_xt * x_t;
}

StatusOr<torch::Tensor> Diffusion::Sample(const EpsModel& model, const std::vector<int64_t>& shape,
                                          const SamplerOptions& options, const torch::Device& device) const {
  const int T = schedule_.num_steps();
  if (options.steps < 1 || options.steps > T) {
    return InvalidArgument("Sample: steps must be in 1.." + std::to_string(T) + ", got " +
                           std::to_string(options.steps));
  }
  if (shape.size() != 4 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 || shape[3] < 1) {
    return InvalidArgument("Sample: shape must be [N, C, H, W] with positive sizes, got " + ShapeString(shape));
  }
  if (options.kind == SamplerKind::kDdim && !(options.eta >= 0.0)) {
    return InvalidArgument("Sample: DDIM eta must be >= 0");
  }
  if (!(options.t_end >= 0.0 && options.t_end < T)) {
    return InvalidArgument("Sample: t_end must be in [0, " + std::to_string(T) + ")");
  }
  torch::NoGradGuard no_grad;
  at::Generator gen = MakeGenerator(options.seed);
  // The times, real-valued; the discrete chain's are integers, for which every *_at function is exact.
  std::vector<double> chain;
  if (options.t_end > 0) {
    chain = schedule_.RespaceLogSnr(options.steps, options.t_end);
  } else {
    for (int t : schedule_.Respace(options.steps)) chain.push_back(t);
  }
  chain.push_back(0);
  auto x = RandomNormal(shape, gen, device);
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    const double t = chain[i], s = chain[i + 1];
    auto eps = model(x, FullT(shape[0], t, device));
    auto x0 = PredictX0(eps, x, t, options.clip);
    switch (options.kind) {
      case SamplerKind::kAncestral: {
        auto mean = PosteriorMean(x0, x, s, t);
        x = s > 0 ? mean + std::sqrt(schedule_.posterior_at(s, t).variance) * RandomNormal(shape, gen, device) : mean;
        break;
      }
      case SamplerKind::kDdim: {
        const double ab_t = schedule_.alpha_bar_at(t), ab_s = schedule_.alpha_bar_at(s);
        if (options.clip == ClipX0::kClip) eps = (x - std::sqrt(ab_t) * x0) / std::sqrt(1.0 - ab_t);
        const double sigma = options.eta * std::sqrt((1.0 - ab_s) / (1.0 - ab_t) * (1.0 - ab_t / ab_s));
        const double dir = std::sqrt(std::max(0.0, 1.0 - ab_s - sigma * sigma));
        x = std::sqrt(ab_s) * x0 + dir * eps;
        if (s > 0 && sigma > 0.0) x = x + sigma * RandomNormal(shape, gen, device);
        break;
      }
    }
  }
  return x.clamp(-1.0, 1.0);
}

StatusOr<BoundBits> Diffusion::BoundBitsPerDim(const EpsModel& model, const torch::Tensor& x0_uint8,
                                               const BoundOptions& options, const torch::Device& device) const {
  if (x0_uint8.scalar_type() != torch::kUInt8 || x0_uint8.dim() != 4 || x0_uint8.numel() == 0) {
    return InvalidArgument("BoundBitsPerDim: expected a non-empty uint8 [N, C, H, W] batch, got " +
                           std::string(c10::toString(x0_uint8.scalar_type())) + " " + ShapeString(x0_uint8.sizes()));
  }
  if (options.num_timesteps < 0 || options.batch_size < 1) {
    return InvalidArgument("BoundBitsPerDim: num_timesteps must be >= 0 and batch_size >= 1");
  }
  torch::NoGradGuard no_grad;
  const int T = schedule_.num_steps();
  const int64_t n = x0_uint8.size(0), dims = x0_uint8[0].numel();
  const int num_terms = std::max(T - 1, 0);
  const bool exact = options.num_timesteps == 0 || options.num_timesteps >= num_terms;
  const int m = exact ? num_terms : options.num_timesteps;

  // Per-timestep constants, index t in 0..T. L_{t-1} = kl_var dims + 0.5 weight ||x0 - x0_hat||^2: the KL between
  // q(x_{t-1} | x_t, x0) and p(x_{t-1} | x_t), two Gaussians whose means are posterior means of x0 and x0_hat.
  auto reverse_variance = [&](int t) {  // sigma_t^2 of p(x_{t-1} | x_t)
    if (options.variance == ReverseVariance::kBeta) return schedule_.beta(t);
    if (t == 1) return T >= 2 ? schedule_.posterior(1, 2).variance : schedule_.beta(1);
    return schedule_.posterior(t - 1, t).variance;
  };
  std::vector<double> sqrt_ab(T + 1), sqrt_one_minus_ab(T + 1), kl_var(T + 1, 0.0), weight(T + 1, 0.0);
  for (int t = 0; t <= T; ++t) {
    sqrt_ab[t] = std::sqrt(schedule_.alpha_bar(t));
    sqrt_one_minus_ab[t] = std::sqrt(1.0 - schedule_.alpha_bar(t));
    if (t < 2) continue;
    const auto q = schedule_.posterior(t - 1, t);
    const double pv = reverse_variance(t);
    kl_var[t] = 0.5 * (std::log(pv / q.variance) + q.variance / pv - 1.0);
    weight[t] = q.coef_x0 * q.coef_x0 / pv;
  }
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor sqrt_ab_table = torch::tensor(sqrt_ab, f64),
                      sqrt_one_minus_ab_table = torch::tensor(sqrt_one_minus_ab, f64);
  const torch::Tensor kl_var_table = torch::tensor(kl_var, f64), weight_table = torch::tensor(weight, f64);
  auto per_image = [&](const torch::Tensor& table, const torch::Tensor& t) {  // [len, 1, 1, 1] on device
    return table.index_select(0, t).view({-1, 1, 1, 1}).to(device);
  };
  // x0_hat (float64) from one network call at per-image timesteps t (int64 [len], CPU) with noise [len, C, H, W].
  auto predict_x0 = [&](const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& noise) {
    auto a = per_image(sqrt_ab_table, t), b = per_image(sqrt_one_minus_ab_table, t);
    auto x_t = (a * x0.to(torch::kFloat64) + b * noise.to(torch::kFloat64)).to(torch::kFloat32);
    auto eps = model(x_t, t.to(device, torch::kFloat32)).to(torch::kFloat64);
    return (x_t.to(torch::kFloat64) - b * eps) / a;
  };

  // The proposal q(t), t in 2..T (index t), as BoundOptions describes; its cumulative sums for inverse-CDF draws.
  std::vector<double> proposal(T + 1, 0.0), cdf(T + 1, 0.0);
  if (!exact) {
    constexpr int kPilotImages = 8, kPilotTimesteps = 16;
    constexpr double kFloor = 0.1;
    std::vector<int> grid;
    for (int k = 0; k < kPilotTimesteps; ++k) {
      const int t = static_cast<int>(std::lround(2.0 * std::pow(T / 2.0, k / (kPilotTimesteps - 1.0))));
      if (grid.empty() || t > grid.back()) grid.push_back(std::min(t, T));
    }
    const int64_t len = std::min<int64_t>(kPilotImages, n);
    auto x0 = PixelsToModel(x0_uint8.narrow(0, 0, len)).to(device);
    at::Generator gen = MakeGenerator(SplitMix64(options.seed ^ 0x70696c6f74ull));  // "pilot"
    std::vector<double> mse;
    for (int t : grid) {
      auto noise = RandomNormal(x0.sizes(), gen, device);
      auto ts = torch::full({len}, static_cast<int64_t>(t), torch::kInt64);
      auto x0_hat = predict_x0(x0, ts, noise);
      // ||x0 - x0_hat||^2 = (1 - ab_t) / ab_t ||eps - eps_hat||^2.
      const double to_eps = sqrt_ab[t] * sqrt_ab[t] / (1.0 - sqrt_ab[t] * sqrt_ab[t]);
      mse.push_back(to_eps * (x0.to(torch::kFloat64) - x0_hat).square().mean().item<double>());
    }
    double sum = 0.0;
    size_t g = 0;
    for (int t = 2; t <= T; ++t) {
      while (g + 1 < grid.size() && grid[g + 1] <= t) ++g;
      double e = mse[g];
      if (g + 1 < grid.size() && t > grid[g]) {
        const double f = static_cast<double>(t - grid[g]) / (grid[g + 1] - grid[g]);
        e = (1.0 - f) * mse[g] + f * mse[g + 1];
      }
      const double ab = sqrt_ab[t] * sqrt_ab[t];
      proposal[t] = kl_var[t] + 0.5 * weight[t] * (1.0 - ab) / ab * e;
      sum += proposal[t];
    }
    const bool usable = std::isfinite(sum) && sum > 0.0;
    double acc = 0.0;
    for (int t = 2; t <= T; ++t) {
      proposal[t] = usable ? (1.0 - kFloor) * proposal[t] / sum + kFloor / num_terms : 1.0 / num_terms;
      cdf[t] = acc += proposal[t];
    }
  }
  const torch::Tensor proposal_table = torch::tensor(proposal, f64);
  // Inverse-CDF draw of one t in 2..T from a uniform u in [0, 1).
  auto draw = [&](std::mt19937_64& rng) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * cdf[T];
    const int t = static_cast<int>(std::upper_bound(cdf.begin() + 2, cdf.begin() + T + 1, u) - cdf.begin());
    return std::min(t, T);
  };

  // Per image, in nats: L_T, the (estimated) diffusion sum, L_0, and the sample variance of the m weighted terms.
  std::vector<double> prior(n), diffusion(n), decoder(n), term_variance(n, 0.0);
  for (int64_t start = 0; start < n; start += options.batch_size) {
    const int64_t len = std::min<int64_t>(options.batch_size, n - start);
    auto x0 = PixelsToModel(x0_uint8.narrow(0, start, len)).to(device);
    auto x0_64 = x0.to(torch::kFloat64);
    const auto image_shape = x0.sizes().slice(1);
    std::vector<at::Generator> noise_gens;
    std::vector<std::mt19937_64> t_rngs;
    for (int64_t i = start; i < start + len; ++i) {
      const uint64_t image_seed = SplitMix64(options.seed ^ SplitMix64(static_cast<uint64_t>(i) + 1));
      t_rngs.emplace_back(image_seed);
      noise_gens.push_back(MakeGenerator(SplitMix64(image_seed)));
    }
    auto noise = [&] {
      std::vector<torch::Tensor> per_image_noise;
      for (auto& gen : noise_gens) per_image_noise.push_back(RandomNormal(image_shape, gen, torch::kCPU));
      return torch::stack(per_image_noise).to(device);
    };

    // L_T: KL(N(sqrt(ab_T) x0, 1 - ab_T) || N(0, 1)) per element.
    const double ab_T = schedule_.alpha_bar(T), var_T = 1.0 - ab_T;
    auto kl_T = (0.5 * (-1.0 - std::log(var_T) + var_T + ab_T * x0_64.square())).flatten(1).sum(1).cpu();

    // L_{t-1}, t = 2..T: every t for every image, or m draws per image weighted by 1 / (m q(t)).
    auto sum = torch::zeros({len}, f64), sum_sq = torch::zeros({len}, f64);
    for (int k = 0; k < m; ++k) {
      std::vector<int64_t> t_of_image(len, k + 2);
      if (!exact) {
        for (int64_t j = 0; j < len; ++j) t_of_image[j] = draw(t_rngs[j]);
      }
      auto ts = torch::tensor(t_of_image, torch::kInt64);
      auto x0_hat = predict_x0(x0, ts, noise());
      auto sq = (x0_64 - x0_hat).square().flatten(1).sum(1).cpu();
      auto term =
          kl_var_table.index_select(0, ts) * static_cast<double>(dims) + 0.5 * weight_table.index_select(0, ts) * sq;
      if (!exact) term = term / proposal_table.index_select(0, ts);
      sum += term;
      sum_sq += term.square();
    }

    // L_0 = -log p(x0 | x_1), the mean mu_theta(x_1, 1) being x0_hat at t = 1.
    auto mean = predict_x0(x0, torch::ones({len}, torch::kInt64), noise());
    auto log_lik = DiscretizedGaussianLogLikelihood(x0_64, mean, std::sqrt(reverse_variance(1)));
    auto nll_0 = (-log_lik.flatten(1).sum(1)).cpu();

    for (int64_t j = 0; j < len; ++j) {
      const double s = sum[j].item<double>(), s2 = sum_sq[j].item<double>();
      prior[start + j] = kl_T[j].item<double>();
      decoder[start + j] = nll_0[j].item<double>();
      diffusion[start + j] = exact ? s : s / m;  // exact: every term once; sampled: the mean of L / q
      if (!exact && m >= 2) term_variance[start + j] = std::max(0.0, (s2 - s * s / m) / (m - 1));
    }
  }

  const double to_bits = 1.0 / (static_cast<double>(dims) * std::log(2.0));
  BoundBits bits;
  bits.exact = exact;
  bits.timesteps_per_image = m;
  std::vector<double> totals(n);
  double sampling_variance = 0.0;  // of the sum over images, in bits^2
  for (int64_t i = 0; i < n; ++i) {
    bits.prior += prior[i] * to_bits / n;
    bits.diffusion += diffusion[i] * to_bits / n;
    bits.decoder += decoder[i] * to_bits / n;
    totals[i] = (prior[i] + diffusion[i] + decoder[i]) * to_bits;
    if (!exact && m > 0) sampling_variance += term_variance[i] * to_bits * to_bits / m;
  }
  bits.total = bits.prior + bits.diffusion + bits.decoder;
  bits.sampling_error = std::sqrt(sampling_variance) / n;
  if (n >= 2) {
    double spread = 0.0;
    for (double v : totals) spread += (v - bits.total) * (v - bits.total);
    bits.standard_error = std::sqrt(spread / (n - 1) / n);
  } else {
    bits.standard_error = bits.sampling_error;
  }
  bits.ci_low = bits.total - 1.96 * bits.standard_error;
  bits.ci_high = bits.total + 1.96 * bits.standard_error;
  return bits;
}

}  // namespace dcodec::model
