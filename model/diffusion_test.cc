#include "model/diffusion.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace dcodec::model {
namespace {

const torch::Device kCpu(torch::kCPU);

// f(t_i) for each image's timestep t_i (t: float [N]), as a float32 [N, 1, 1, 1] tensor to broadcast over images.
torch::Tensor PerImage(const torch::Tensor& t, const std::function<double(int)>& f) {
  std::vector<float> values;
  for (int64_t i = 0; i < t.size(0); ++i) values.push_back(f(static_cast<int>(std::lround(t[i].item<double>()))));
  return torch::tensor(values).view({-1, 1, 1, 1});
}

// The ideal denoiser for a known x0, plus offset(t) on every element: eps = (x_t - sqrt(ab_t) x0) / sqrt(1 - ab_t)
// + offset(t). Each image has its own t.
EpsModel Oracle(const NoiseSchedule& s, torch::Tensor x0, std::function<double(int)> offset = nullptr) {
  return [&s, x0, offset](const torch::Tensor& x, const torch::Tensor& t) {
    auto sqrt_ab = PerImage(t, [&](int i) { return std::sqrt(s.alpha_bar(i)); });
    auto sqrt_one_minus_ab = PerImage(t, [&](int i) { return std::sqrt(1 - s.alpha_bar(i)); });
    auto eps = (x - sqrt_ab * x0) / sqrt_one_minus_ab;
    return offset ? eps + PerImage(t, offset) : eps;
  };
}

// A fixed smooth nonlinear stand-in for a network.
torch::Tensor ToyEps(const torch::Tensor& x, const torch::Tensor& t) {
  return 0.5 * torch::tanh(x) + 0.001 * t.view({-1, 1, 1, 1});
}

// Four smooth 16x16 RGB images (uint8).
torch::Tensor TrainingImages() {
  auto yy = torch::arange(16, torch::kFloat32).view({16, 1}).expand({16, 16});
  auto xx = torch::arange(16, torch::kFloat32).view({1, 16}).expand({16, 16});
  std::vector<torch::Tensor> images;
  for (int k = 0; k < 4; ++k) {
    std::vector<torch::Tensor> channels;
    for (int c = 0; c < 3; ++c) {
      channels.push_back(127.5 + 110 * torch::sin(0.2 * (k + 1) * xx + 0.3 * c * yy + k + 2 * c));
    }
    images.push_back(torch::stack(channels));
  }
  return torch::stack(images).round().clamp(0, 255).to(torch::kUInt8);
}

TEST(DiffusionTest, QSamplePredictX0AndPosteriorMeanFollowSchedule) {
  Diffusion d(NoiseSchedule::Make(BetaSchedule::kLinear, 1000));
  const auto& s = d.schedule();
  auto x0 = torch::rand({2, 3, 4, 5}) * 2 - 1;
  auto noise = torch::randn({2, 3, 4, 5});
  auto x_t = d.QSample(x0, torch::tensor({10, 700}), noise);
  EXPECT_TRUE(torch::allclose(x_t[1], std::sqrt(s.alpha_bar(700)) * x0[1] + std::sqrt(1 - s.alpha_bar(700)) * noise[1],
                              1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(d.PredictX0(noise[0], x_t[0], 10, ClipX0::kNone), x0[0], 1e-4, 1e-4));
  EXPECT_LE(d.PredictX0(noise[1] * 0, x_t[1], 700, ClipX0::kClip).abs().max().item<float>(), 1.0f);
  const auto p = s.posterior(300, 700);
  EXPECT_TRUE(torch::allclose(d.PosteriorMean(x0, x_t, 300, 700), p.coef_x0 * x0 + p.coef_xt * x_t));
}

// With K = T, kAncestral is the paper's Algorithm 2 (sigma_t^2 = beta-tilde_t), written out literally here.
// The dithered chain keeps q's moments: with a model that predicts zero, the loss is the effective noise's second
// moment, 1 at every stage; the oracle (which knows x0) gets 0, and the timesteps it is called with are the chain's.
TEST(DiffusionTest, ChainLossHasUnitNoiseAndUsesChainTimesteps) {
  NoiseSchedule s = NoiseSchedule::Make(BetaSchedule::kLinear, 1000);
  Diffusion d(s);
  torch::manual_seed(3);
  auto x0 = torch::rand({64, 3, 8, 8}) * 2 - 1;
  const std::vector<int> chain = {400, 162, 45, 10};
  std::vector<int> seen;
  EpsModel zero = [&](const torch::Tensor& x, const torch::Tensor& t) {
    for (int64_t i = 0; i < t.size(0); ++i) seen.push_back(static_cast<int>(std::lround(t[i].item<double>())));
    return torch::zeros_like(x);
  };
  at::Generator gen = MakeGenerator(5);
  double loss = d.LossChain(zero, x0, chain, gen).item<double>();
  EXPECT_NEAR(loss, 1.0, 0.05);
  ASSERT_EQ(seen.size(), 64u);
  std::vector<int> counts(4, 0);
  for (int t : seen) {
    auto it = std::find(chain.begin(), chain.end(), t);
    ASSERT_NE(it, chain.end()) << t;
    ++counts[it - chain.begin()];
  }
  for (int c : counts) EXPECT_GT(c, 4);  // every stage is drawn
  at::Generator gen2 = MakeGenerator(5);
  EXPECT_LT(d.LossChain(Oracle(s, x0), x0, chain, gen2).item<double>(), 1e-8);
}

// --gaussian-stages: the chain's first G positions carry q's Gaussian noise (kurtosis 3; the dithered ones', uniform
// noise composed with Gaussian-free steps, stay flatter), and with an oracle x̂_0 a position whose next stage is
// Gaussian is charged that stage's KL at zero error, ½·log2(12 var_p) + 1/(24 var_p ln 2) − 1/(2 ln 2) in units of Δ.
TEST(DiffusionTest, GaussianChainStagesHaveGaussianNoiseAndTheirKlAsRate) {
  NoiseSchedule s = NoiseSchedule::Make(BetaSchedule::kLinear, 1000);
  Diffusion d(s);
  torch::manual_seed(6);
  auto x0 = torch::rand({1, 3, 16, 16}) * 2 - 1;
  const std::vector<int> chain = {400, 162};
  auto x0_many = x0.expand({512, 3, 16, 16}).contiguous();
  for (int g : {0, 2}) {
    torch::Tensor seen_x, seen_t;
    EpsModel spy = [&](const torch::Tensor& x, const torch::Tensor& t) {
      seen_x = x;
      seen_t = t;
      return torch::zeros_like(x);
    };
    at::Generator gen = MakeGenerator(9);
    d.LossChain(spy, x0_many, chain, gen, {}, g);
    auto first = (seen_t == 400).nonzero().squeeze(1);
    ASSERT_GT(first.size(0), 100);
    const double ab = s.alpha_bar(400);
    auto noise = (seen_x.index_select(0, first) - std::sqrt(ab) * x0_many.narrow(0, 0, first.size(0))) /
                 std::sqrt(1 - ab);
    const double m2 = noise.pow(2).mean().item<double>(), m4 = noise.pow(4).mean().item<double>();
    EXPECT_NEAR(m2, 1.0, 0.02) << "G = " << g;
    EXPECT_NEAR(m4 / (m2 * m2), g == 2 ? 3.0 : 1.8, 0.1) << "G = " << g;
  }
  EpsModel oracle_head = [&](const torch::Tensor& x, const torch::Tensor& t) {
    auto eps = Oracle(s, x0_many)(x, t);
    return torch::cat({eps, torch::zeros_like(eps)}, 1);
  };
  at::Generator gen = MakeGenerator(3);
  auto both = d.LossChainWithRate(oracle_head, 3, x0_many, chain, gen, {}, 2);
  // Half the images serve the Gaussian stage 162 (x̂_0 = x_0: the KL at zero error), half the pixels.
  const auto p = s.posterior(162, 400);
  const double step = std::sqrt(12 * p.variance);
  const double sigma = p.coef_x0 * std::exp2(ScaleOffsetLog2(s, 400)) / step, var_p = 1.0 / 12 + sigma * sigma;
  const double kl = (0.5 * std::log(12 * var_p) + 1.0 / (24 * var_p) - 0.5) / std::log(2.0);
  const double pixel_bits =
      LogisticBinBits(torch::zeros({1}), torch::full({1}, static_cast<float>(127.5 * std::exp2(ScaleOffsetLog2(s, 162)))))
          .item<double>();
  EXPECT_NEAR(both.rate.item<double>(), 0.5 * (kl + pixel_bits), 0.1 * (kl + pixel_bits));
}

// −log2 of a logistic's mass on [z − ½, z + ½), against long double arithmetic, in the body and far in both tails;
// and the masses of all bins sum to one.
TEST(DiffusionTest, LogisticBinBitsIsExactAndNormalised) {
  const std::vector<float> zs = {0.0f, 0.3f, -0.7f, 2.5f, -12.0f, 40.0f, 0.2f, 1e-4f};
  const std::vector<float> sigmas = {1.0f, 0.2f, 3.0f, 0.5f, 1.5f, 2.0f, 40.0f, 1e-3f};
  auto bits = LogisticBinBits(torch::tensor(zs), torch::tensor(sigmas));
  for (size_t i = 0; i < zs.size(); ++i) {
    auto cdf = [&](long double x) { return 1.0L / (1.0L + std::exp(-x / static_cast<long double>(sigmas[i]))); };
    // The left-tail form of the same difference (the logistic is symmetric), in long double.
    const long double z = -std::fabs(static_cast<long double>(zs[i]));
    const long double p = cdf(z + 0.5L) - cdf(z - 0.5L);
    const double expected = static_cast<double>(-std::log2(p));
    EXPECT_NEAR(bits[i].item<double>(), expected, 1e-4 * std::max(1.0, expected)) << "z " << zs[i];
  }
  auto k = torch::arange(-400, 401, torch::kFloat32) + 0.37f;
  const double total = torch::exp2(-LogisticBinBits(k, torch::full_like(k, 7.0f))).sum().item<double>();
  EXPECT_NEAR(total, 1.0, 1e-4);
}

// LossChainWithRate: its MSE part draws exactly as LossChain (with or without a head); without a head it has no
// rate; with an oracle's eps (x̂_0 = x_0) the dithered stages' rate is that of the dither alone, and the gradient
// reaches the head.
TEST(DiffusionTest, ChainRateLossMatchesLossChainAndTrainsTheHead) {
  NoiseSchedule s = NoiseSchedule::Make(BetaSchedule::kLinear, 1000);
  Diffusion d(s);
  torch::manual_seed(4);
  auto x0 = (torch::randint(0, 256, {16, 3, 8, 8}) / 127.5 - 1).to(torch::kFloat32);
  const std::vector<int> chain = {400, 162, 45, 10};
  at::Generator g1 = MakeGenerator(8), g2 = MakeGenerator(8), g3 = MakeGenerator(8);
  const double plain = d.LossChain(ToyEps, x0, chain, g1).item<double>();
  auto no_head = d.LossChainWithRate(ToyEps, 3, x0, chain, g2);
  EXPECT_EQ(no_head.mse.item<double>(), plain);
  EXPECT_FALSE(no_head.rate.defined());
  auto head_param = torch::zeros({1, 3, 1, 1}, torch::requires_grad());
  EpsModel with_head = [&](const torch::Tensor& x, const torch::Tensor& t) {
    return torch::cat({ToyEps(x, t), head_param.expand({x.size(0), 3, x.size(2), x.size(3)})}, 1);
  };
  auto head = d.LossChainWithRate(with_head, 3, x0, chain, g3);
  EXPECT_EQ(head.mse.item<double>(), plain);
  ASSERT_TRUE(head.rate.defined());
  EXPECT_GT(head.rate.item<double>(), 0.0);
  head.rate.backward();
  EXPECT_GT(head_param.grad().abs().sum().item<double>(), 0.0);

  // The oracle: r = 0, so a dithered stage's symbol lies at offset ũ from the mean; with the head at ℓ the scale is
  // σ = c0 2^(ℓ + offset(t)) / Δ.
  const std::vector<int> two = {162, 45};
  at::Generator g4 = MakeGenerator(2);
  auto x0_one = x0.narrow(0, 0, 1).expand({256, 3, 8, 8}).contiguous();
  EpsModel oracle_head = [&](const torch::Tensor& x, const torch::Tensor& t) {
    auto eps = Oracle(s, x0_one)(x, t);
    return torch::cat({eps, torch::zeros_like(eps)}, 1);
  };
  auto oracle = d.LossChainWithRate(oracle_head, 3, x0_one, two, g4);
  // Half the images code stage 45 (dithered, ũ uniform), half the pixels with r = 0.
  const auto p = s.posterior(45, 162);
  const double step = std::sqrt(12 * p.variance);
  const double sigma_dither = p.coef_x0 * std::exp2(ScaleOffsetLog2(s, 162)) / step;
  const double sigma_pixels = 127.5 * std::exp2(ScaleOffsetLog2(s, 45));
  auto u = torch::linspace(-0.5 + 1.0 / 2000, 0.5 - 1.0 / 2000, 1000);
  const double dither_bits = LogisticBinBits(u, torch::full_like(u, sigma_dither)).mean().item<double>();
  const double pixel_bits =
      LogisticBinBits(torch::zeros({1}), torch::full({1}, static_cast<float>(sigma_pixels))).item<double>();
  EXPECT_NEAR(oracle.rate.item<double>(), 0.5 * (dither_bits + pixel_bits), 0.1 * (dither_bits + pixel_bits));
}

TEST(DiffusionTest, AncestralWithAllStepsIsAlgorithm2) {
  const int T = 50;
  Diffusion d(NoiseSchedule::Make(BetaSchedule::kLinear, T));
  const auto& s = d.schedule();
  const std::vector<int64_t> shape = {2, 3, 6, 7};
  SamplerOptions options;
  options.steps = T;
  options.seed = 1234;
  auto sampled = d.Sample(ToyEps, shape, options, kCpu);
  ASSERT_TRUE(sampled.ok());

  at::Generator gen = MakeGenerator(1234);
  auto x = RandomNormal(shape, gen, kCpu);
  for (int t = T; t >= 1; --t) {
    const double beta = s.beta(t), alpha = 1 - beta, ab = s.alpha_bar(t);
    auto eps = ToyEps(x, torch::full({2}, static_cast<float>(t)));
    auto mean = (x - beta / std::sqrt(1 - ab) * eps) / std::sqrt(alpha);
    x = t > 1 ? mean + std::sqrt((1 - s.alpha_bar(t - 1)) / (1 - ab) * beta) * RandomNormal(shape, gen, kCpu) : mean;
  }
  EXPECT_TRUE(torch::allclose(*sampled, x.clamp(-1, 1), 1e-4, 1e-4))
      << (*sampled - x.clamp(-1, 1)).abs().max().item<float>();
}

TEST(DiffusionTest, SamplersRecoverDataWithOracle) {
  Diffusion d(NoiseSchedule::Make(BetaSchedule::kCosine, 1000));
  auto x0 = (torch::rand({1, 3, 5, 4}, MakeGenerator(3)) * 1.6 - 0.8);
  for (auto [kind, steps, eta] : {std::tuple{SamplerKind::kAncestral, 1000, 0.0},
                                  {SamplerKind::kAncestral, 10, 0.0},
                                  {SamplerKind::kDdim, 10, 0.0},
                                  {SamplerKind::kDdim, 7, 1.0}}) {
    SamplerOptions options{steps, kind, eta, /*seed=*/5, ClipX0::kClip};
    auto out = d.Sample(Oracle(d.schedule(), x0), {1, 3, 5, 4}, options, kCpu);
    ASSERT_TRUE(out.ok());
    EXPECT_TRUE(torch::allclose(*out, x0, 1e-3, 1e-3)) << steps << " " << (*out - x0).abs().max().item<float>();
  }
  EXPECT_FALSE(d.Sample(ToyEps, {1, 3, 4, 4}, SamplerOptions{0}, kCpu).ok());
  EXPECT_FALSE(d.Sample(ToyEps, {1, 3, 4}, SamplerOptions{}, kCpu).ok());
}

// The ideal denoiser for a known x0 at real-valued times (NoiseSchedule::alpha_bar_at); records the times.
EpsModel ContinuousOracle(const NoiseSchedule& s, torch::Tensor x0, std::vector<double>* seen) {
  return [&s, x0, seen](const torch::Tensor& x, const torch::Tensor& t) {
    std::vector<float> a, b;
    for (int64_t i = 0; i < t.size(0); ++i) {
      const double ti = t[i].item<double>();
      if (seen) seen->push_back(ti);
      a.push_back(static_cast<float>(std::sqrt(s.alpha_bar_at(ti))));
      b.push_back(static_cast<float>(std::sqrt(1 - s.alpha_bar_at(ti))));
    }
    return (x - torch::tensor(a).view({-1, 1, 1, 1}) * x0) / torch::tensor(b).view({-1, 1, 1, 1});
  };
}

// Continuous-time sampling: both samplers recover the data with the oracle on times spaced in log-SNR down to a
// fraction of a grey level; and L_simple over real t trains on real-valued times in (0, T].
TEST(DiffusionTest, ContinuousTimeSamplingAndTraining) {
  Diffusion d(NoiseSchedule::Make(BetaSchedule::kLinear, 1000));
  auto x0 = (torch::rand({1, 3, 5, 4}, MakeGenerator(3)) * 1.6 - 0.8);
  for (auto kind : {SamplerKind::kAncestral, SamplerKind::kDdim}) {
    std::vector<double> seen;
    SamplerOptions options{12, kind, 0.0, /*seed=*/5, ClipX0::kClip, /*t_end=*/0.1};
    auto out = d.Sample(ContinuousOracle(d.schedule(), x0, &seen), {1, 3, 5, 4}, options, kCpu);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_TRUE(torch::allclose(*out, x0, 1e-3, 1e-3)) << (*out - x0).abs().max().item<float>();
    ASSERT_EQ(seen.size(), 12u);
    EXPECT_EQ(seen.front(), 1000.0);
    EXPECT_NEAR(seen.back(), 0.1, 1e-6);
    EXPECT_NE(seen[5], std::round(seen[5]));  // between the integer steps
  }
  SamplerOptions bad;
  bad.t_end = 1000;
  EXPECT_FALSE(d.Sample(ToyEps, {1, 3, 4, 4}, bad, kCpu).ok());

  auto batch = (torch::rand({64, 3, 4, 4}, MakeGenerator(4)) * 2 - 1);
  std::vector<double> seen;
  at::Generator gen = MakeGenerator(6);
  EXPECT_LT(d.LossSimple(ContinuousOracle(d.schedule(), batch, &seen), batch, gen, {}, true).item<double>(), 1e-6);
  ASSERT_EQ(seen.size(), 64u);
  int fractional = 0;
  for (double t : seen) {
    EXPECT_GT(t, 0.0);
    EXPECT_LE(t, 1000.0);
    fractional += t != std::round(t);
  }
  EXPECT_GT(fractional, 60);
  at::Generator gen2 = MakeGenerator(6);
  EpsModel zero = [](const torch::Tensor& x, const torch::Tensor&) { return torch::zeros_like(x); };
  EXPECT_NEAR(d.LossSimple(zero, batch, gen2, {}, true).item<double>(), 1.0, 0.15);
}

TEST(DiffusionTest, SamplerDeterministicBySeed) {
  torch::manual_seed(7);
  UNet net(UNetConfig::Tiny());
  net->eval();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) p.add_(0.05 * torch::randn_like(p));
  }
  Diffusion d(NoiseSchedule::Make(BetaSchedule::kLinear, 1000));
  for (auto kind : {SamplerKind::kAncestral, SamplerKind::kDdim}) {
    SamplerOptions options{8, kind, 0.5, /*seed=*/42};
    auto a = d.Sample(AsEpsModel(net), {2, 3, 9, 11}, options, kCpu);
    auto b = d.Sample(AsEpsModel(net), {2, 3, 9, 11}, options, kCpu);
    options.seed = 43;
    auto c = d.Sample(AsEpsModel(net), {2, 3, 9, 11}, options, kCpu);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_TRUE(torch::equal(*a, *b));
    EXPECT_FALSE(torch::allclose(*a, *c));
    EXPECT_LE(a->abs().max().item<float>(), 1.0f);
  }
  EXPECT_EQ(d.LossSimple(AsEpsModel(net), torch::zeros({2, 3, 8, 8}), 9).item<float>(),
            d.LossSimple(AsEpsModel(net), torch::zeros({2, 3, 8, 8}), 9).item<float>());
}

// With the ideal denoiser every L_{t-1} vanishes; L_T and L_0 have closed forms.
TEST(DiffusionTest, BoundWithOracleMatchesClosedForm) {
  Diffusion d(NoiseSchedule::Make(BetaSchedule::kLinear, 1000));
  const auto& s = d.schedule();
  auto pixels = torch::randint(1, 255, {2, 3, 4, 4}, MakeGenerator(11)).to(torch::kUInt8);  // no edge bins
  auto x0 = PixelsToModel(pixels);
  BoundOptions options;
  options.num_timesteps = 20;
  auto bits = d.BoundBitsPerDim(Oracle(s, x0), pixels, options, kCpu);
  ASSERT_TRUE(bits.ok()) << bits.status().ToString();

  const double ab_T = s.alpha_bar(1000), ln2 = std::log(2.0);
  double prior = 0;
  for (float v : std::vector<float>(x0.data_ptr<float>(), x0.data_ptr<float>() + x0.numel())) {
    prior += 0.5 * (-1 - std::log(1 - ab_T) + (1 - ab_T) + ab_T * v * v);
  }
  prior /= x0.numel() * ln2;
  const double sigma = std::sqrt(s.posterior(1, 2).variance);  // beta-tilde_2 stands in for beta-tilde_1 = 0
  const double bin_probability = std::erf(1.0 / 255 / sigma / std::sqrt(2.0));  // Phi(h/sigma) - Phi(-h/sigma)
  EXPECT_NEAR(bits->prior, prior, 1e-9);
  EXPECT_NEAR(bits->diffusion, 0.0, 1e-4);
  EXPECT_NEAR(bits->decoder, -std::log2(bin_probability), 1e-4);
  EXPECT_NEAR(bits->total, bits->prior + bits->diffusion + bits->decoder, 1e-12);

  EXPECT_EQ(d.BoundBitsPerDim(ToyEps, x0, options, kCpu).status().code(), StatusCode::kInvalidArgument);
}

// Training on four images: L_simple falls many-fold and the bound on those images falls with it, while an untrained
// network on uniformly random pixels cannot beat 8 bits/dim.
TEST(DiffusionTest, TinyModelOverfitsAndBoundFalls) {
  torch::manual_seed(0);
  UNet net(UNetConfig::Tiny());
  Diffusion d(NoiseSchedule::Make(BetaSchedule::kLinear, 1000));
  const auto pixels = TrainingImages();
  const auto x0 = PixelsToModel(pixels);
  auto eval_loss = [&] {
    torch::NoGradGuard no_grad;
    net->eval();
    double total = 0;
    for (uint64_t seed = 0; seed < 8; ++seed) total += d.LossSimple(AsEpsModel(net), x0, 1000 + seed).item<double>();
    return total / 8;
  };
  BoundOptions bound_options;
  bound_options.num_timesteps = 24;
  net->eval();
  auto random_pixels = torch::randint(0, 256, {4, 3, 16, 16}, MakeGenerator(5)).to(torch::kUInt8);
  auto random_bits = d.BoundBitsPerDim(AsEpsModel(net), random_pixels, bound_options, kCpu);
  auto before_bits = d.BoundBitsPerDim(AsEpsModel(net), pixels, bound_options, kCpu);
  const double before = eval_loss();
  ASSERT_TRUE(random_bits.ok() && before_bits.ok());

  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(5e-3));
  at::Generator gen = MakeGenerator(99);
  auto train_x0 = x0.repeat({2, 1, 1, 1});  // two timesteps per image per step
  net->train();
  for (int step = 0; step < 200; ++step) {
    optimizer.zero_grad();
    auto loss = d.LossSimple(AsEpsModel(net), train_x0, gen);
    loss.backward();
    optimizer.step();
  }
  const double after = eval_loss();
  auto after_bits = d.BoundBitsPerDim(AsEpsModel(net), pixels, bound_options, kCpu);
  ASSERT_TRUE(after_bits.ok());
  std::printf(
      "L_simple %.4f -> %.4f; bound on random data %.2f bits/dim; on the training images %.2f -> %.2f "
      "(prior %.5f, diffusion %.2f, decoder %.2f)\n",
      before, after, random_bits->total, before_bits->total, after_bits->total, after_bits->prior,
      after_bits->diffusion, after_bits->decoder);
  EXPECT_LT(after, before / 5);
  EXPECT_TRUE(std::isfinite(random_bits->total));
  EXPECT_GT(random_bits->total, 8.0);
  EXPECT_LT(after_bits->total, 0.75 * before_bits->total);
}

// An oracle off by a known offset(t) makes every term L_{t-1} deterministic: 0.5 c_t^2 / beta-tilde_t (1 - ab_t) /
// ab_t offset(t)^2 per element. The exact sum must match it, and the importance-sampled estimates (whose proposal
// cannot follow the offset's jumps between neighbouring t) must be unbiased over seeds and agree within their CI.
TEST(DiffusionTest, SampledBoundIsUnbiasedForKnownTerms) {
  const int T = 100;
  Diffusion d(NoiseSchedule::Make(BetaSchedule::kLinear, T));
  const auto& s = d.schedule();
  auto pixels = torch::randint(1, 255, {3, 3, 4, 4}, MakeGenerator(12)).to(torch::kUInt8);
  auto offset = [](int t) { return t % 3 == 0 ? 0.15 : 0.1; };
  auto model = Oracle(s, PixelsToModel(pixels), offset);
  double expected = 0;  // bits/dim
  for (int t = 2; t <= T; ++t) {
    const auto q = s.posterior(t - 1, t);
    const double ab = s.alpha_bar(t);
    expected += 0.5 * q.coef_x0 * q.coef_x0 / q.variance * (1 - ab) / ab * offset(t) * offset(t) / std::log(2.0);
  }
  BoundOptions options;
  auto exact = d.BoundBitsPerDim(model, pixels, options, kCpu);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_TRUE(exact->exact);
  EXPECT_EQ(exact->timesteps_per_image, T - 1);
  EXPECT_EQ(exact->sampling_error, 0.0);
  EXPECT_NEAR(exact->diffusion, expected, 1e-4 * expected);

  options.num_timesteps = 8;
  const int kSeeds = 40;
  double mean = 0, mean_variance = 0;
  int covered = 0;
  for (int seed = 0; seed < kSeeds; ++seed) {
    options.seed = seed;
    auto sampled = d.BoundBitsPerDim(model, pixels, options, kCpu);
    ASSERT_TRUE(sampled.ok());
    EXPECT_FALSE(sampled->exact);
    EXPECT_EQ(sampled->timesteps_per_image, 8);
    EXPECT_NEAR(sampled->prior, exact->prior, 1e-9);
    EXPECT_GT(sampled->sampling_error, 1e-4 * expected);  // the offset's jumps are not in the proposal
    EXPECT_LT(sampled->sampling_error, 0.15 * expected);  // but the terms' decay is
    EXPECT_LE(sampled->ci_low, sampled->total);
    EXPECT_GE(sampled->ci_high, sampled->total);
    covered += std::abs(sampled->diffusion - expected) < 1.96 * sampled->sampling_error;
    mean += sampled->diffusion / kSeeds;
    mean_variance += sampled->sampling_error * sampled->sampling_error / (kSeeds * kSeeds);
  }
  EXPECT_GE(covered, kSeeds * 8 / 10);
  EXPECT_NEAR(mean, expected, 4 * std::sqrt(mean_variance));
  std::printf("known terms: exact %.5f, mean of %d sampled %.5f (SE of the mean %.5f), %d%% of 95%% CIs cover\n",
              expected, kSeeds, mean, std::sqrt(mean_variance), 100 * covered / kSeeds);
}

// A randomly initialised network on a short chain (T = 100): the importance-sampled bound with 10 timesteps per
// image agrees with the exact sum within its sampling CI for most seeds, is unbiased in the mean over seeds, and its
// interval is narrow.
TEST(DiffusionTest, SampledBoundAgreesWithExactOnNetwork) {
  torch::manual_seed(3);
  UNet net(UNetConfig::Tiny());
  net->eval();
  const int T = 100;
  Diffusion d(NoiseSchedule::Make(BetaSchedule::kLinear, T));
  const auto pixels = TrainingImages();
  BoundOptions options;
  auto exact = d.BoundBitsPerDim(AsEpsModel(net), pixels, options, kCpu);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_TRUE(exact->exact);
  EXPECT_GT(exact->standard_error, 0.0);
  EXPECT_NEAR(exact->total, exact->prior + exact->diffusion + exact->decoder, 1e-12);

  options.num_timesteps = 10;
  const int kSeeds = 12;
  double mean = 0, mean_variance = 0;
  int covered = 0;
  for (int seed = 0; seed < kSeeds; ++seed) {
    options.seed = 100 + seed;
    auto sampled = d.BoundBitsPerDim(AsEpsModel(net), pixels, options, kCpu);
    ASSERT_TRUE(sampled.ok());
    EXPECT_GT(sampled->sampling_error, 0.0);
    EXPECT_LT(sampled->sampling_error, 0.1 * exact->diffusion);
    EXPECT_GT(sampled->standard_error, 0.0);
    EXPECT_NEAR(sampled->ci_high - sampled->ci_low, 2 * 1.96 * sampled->standard_error, 1e-12);
    covered += std::abs(sampled->total - exact->total) < 1.96 * sampled->sampling_error;
    mean += sampled->total / kSeeds;
    mean_variance += sampled->sampling_error * sampled->sampling_error / (kSeeds * kSeeds);
  }
  std::printf("network: exact %.4f (diffusion %.4f), mean of %d sampled %.4f (SE of the mean %.4f), %d%% cover\n",
              exact->total, exact->diffusion, kSeeds, mean, std::sqrt(mean_variance), 100 * covered / kSeeds);
  EXPECT_GE(covered, kSeeds * 7 / 10);
  EXPECT_NEAR(mean, exact->total, 4 * std::sqrt(mean_variance));
}

}  // namespace
}  // namespace dcodec::model
