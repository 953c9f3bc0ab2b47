#include "model/diffusion.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace dcodec::model {
namespace {

const torch::Device kCpu(torch::kCPU);

int TimeOf(const torch::Tensor& t) { return static_cast<int>(std::lround(t[0].item<double>())); }

// The ideal denoiser for a known x0: eps = (x_t - sqrt(ab_t) x0) / sqrt(1 - ab_t).
EpsModel Oracle(const NoiseSchedule& s, torch::Tensor x0) {
  return [&s, x0](const torch::Tensor& x, const torch::Tensor& t) {
    const double ab = s.alpha_bar(TimeOf(t));
    return (x - std::sqrt(ab) * x0) / std::sqrt(1 - ab);
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

}  // namespace
}  // namespace dcodec::model
