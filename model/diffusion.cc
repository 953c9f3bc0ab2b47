#include "model/diffusion.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

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

torch::Tensor FullT(int64_t n, int t, const torch::Device& device) {
  return torch::full({n}, static_cast<double>(t), torch::TensorOptions().dtype(torch::kFloat32).device(device));
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

double PerImageSumToBits(const torch::Tensor& nats_per_image, int64_t dims) {
  return nats_per_image.sum().item<double>() / (static_cast<double>(dims) * std::log(2.0));
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

torch::Tensor Diffusion::LossSimple(const EpsModel& model, const torch::Tensor& x0, at::Generator& gen) const {
  const int64_t n = x0.size(0);
  auto t = torch::randint(1, schedule_.num_steps() + 1, {n}, gen, torch::TensorOptions().dtype(torch::kInt64));
  auto noise = RandomNormal(x0.sizes(), gen, x0.device());
  auto x_t = QSample(x0, t, noise);
  auto eps = model(x_t, t.to(x0.device(), torch::kFloat32));
  return torch::mse_loss(eps, noise);
}

torch::Tensor Diffusion::LossSimple(const EpsModel& model, const torch::Tensor& x0, uint64_t seed) const {
  at::Generator gen = MakeGenerator(seed);
  return LossSimple(model, x0, gen);
}

torch::Tensor Diffusion::PredictX0(const torch::Tensor& eps, const torch::Tensor& x_t, int t, ClipX0 clip) const {
  const auto c = schedule_.x0_from_eps(t);
  auto x0 = c.coef_xt * x_t + c.coef_eps * eps;
  return clip == ClipX0::kClip ? x0.clamp(-1.0, 1.0) : x0;
}

torch::Tensor Diffusion::PosteriorMean(const torch::Tensor& x0, const torch::Tensor& x_t, int s, int t) const {
  const auto p = schedule_.posterior(s, t);
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
  torch::NoGradGuard no_grad;
  at::Generator gen = MakeGenerator(options.seed);
  std::vector<int> chain = schedule_.Respace(options.steps);
  chain.push_back(0);
  auto x = RandomNormal(shape, gen, device);
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    const int t = chain[i], s = chain[i + 1];
    auto eps = model(x, FullT(shape[0], t, device));
    auto x0 = PredictX0(eps, x, t, options.clip);
    switch (options.kind) {
      case SamplerKind::kAncestral: {
        auto mean = PosteriorMean(x0, x, s, t);
        x = s > 0 ? mean + std::sqrt(schedule_.posterior(s, t).variance) * RandomNormal(shape, gen, device) : mean;
        break;
      }
      case SamplerKind::kDdim: {
        const double ab_t = schedule_.alpha_bar(t), ab_s = schedule_.alpha_bar(s);
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

  // The L_{t-1} terms to evaluate, t in 2..T, each with the number of terms it stands for.
  std::vector<std::pair<int, double>> terms;
  const int num_terms = T - 1;
  if (options.num_timesteps == 0 || options.num_timesteps >= num_terms) {
    for (int t = 2; t <= T; ++t) terms.emplace_back(t, 1.0);
  } else {
    std::mt19937_64 rng(options.seed);
    const int64_t m = options.num_timesteps;
    for (int64_t j = 0; j < m; ++j) {
      const int64_t lo = 2 + j * num_terms / m, hi = 2 + (j + 1) * num_terms / m;  // stratum [lo, hi)
      terms.emplace_back(static_cast<int>(lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo))),
                         static_cast<double>(hi - lo));
    }
  }
  // sigma_t^2 of p(x_{t-1} | x_t).
  auto reverse_variance = [&](int t) {
    if (options.variance == ReverseVariance::kBeta) return schedule_.beta(t);
    if (t == 1) return T >= 2 ? schedule_.posterior(1, 2).variance : schedule_.beta(1);
    return schedule_.posterior(t - 1, t).variance;
  };

  at::Generator gen = MakeGenerator(options.seed);
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  torch::Tensor prior = torch::zeros({n}, f64), diffusion = torch::zeros({n}, f64), decoder = torch::zeros({n}, f64);
  const double ab_T = schedule_.alpha_bar(T);
  for (int64_t start = 0; start < n; start += options.batch_size) {
    const int64_t len = std::min<int64_t>(options.batch_size, n - start);
    auto x0 = PixelsToModel(x0_uint8.narrow(0, start, len)).to(device);
    auto x0_64 = x0.to(torch::kFloat64);
    auto shape = x0.sizes();
    auto eps_at = [&](int t, torch::Tensor* x_t) {
      *x_t = std::sqrt(schedule_.alpha_bar(t)) * x0 +
             std::sqrt(1.0 - schedule_.alpha_bar(t)) * RandomNormal(shape, gen, device);
      return model(*x_t, FullT(len, t, device));
    };

    // L_T: KL(N(sqrt(ab_T) x0, 1 - ab_T) || N(0, 1)) per element.
    const double var_T = 1.0 - ab_T;
    auto kl_T = 0.5 * (-1.0 - std::log(var_T) + var_T + ab_T * x0_64.square());
    prior.narrow(0, start, len).copy_(kl_T.flatten(1).sum(1));

    // L_{t-1}: both Gaussians' means are posterior means, differing only through x0 vs x0_hat.
    for (const auto& [t, weight] : terms) {
      torch::Tensor x_t;
      auto eps = eps_at(t, &x_t);
      auto x0_hat = PredictX0(eps, x_t, t, ClipX0::kNone).to(torch::kFloat64);
      const auto q = schedule_.posterior(t - 1, t);
      const double pv = reverse_variance(t);
      const double kl_var = 0.5 * (std::log(pv / q.variance) + q.variance / pv - 1.0);
      auto sq = (q.coef_x0 * (x0_64 - x0_hat)).square().flatten(1).sum(1);
      diffusion.narrow(0, start, len).add_(weight * (kl_var * static_cast<double>(dims) + 0.5 * sq / pv));
    }

    // L_0 = -log p(x0 | x_1), the mean mu_theta(x_1, 1) being x0_hat at t = 1.
    torch::Tensor x_1;
    auto eps = eps_at(1, &x_1);
    auto mean = PredictX0(eps, x_1, 1, ClipX0::kNone).to(torch::kFloat64);
    auto log_lik = DiscretizedGaussianLogLikelihood(x0_64, mean, std::sqrt(reverse_variance(1)));
    decoder.narrow(0, start, len).copy_(-log_lik.flatten(1).sum(1));
  }

  BoundBits bits;
  bits.prior = PerImageSumToBits(prior, dims) / n;
  bits.diffusion = PerImageSumToBits(diffusion, dims) / n;
  bits.decoder = PerImageSumToBits(decoder, dims) / n;
  bits.total = bits.prior + bits.diffusion + bits.decoder;
  return bits;
}

}  // namespace dcodec::model
