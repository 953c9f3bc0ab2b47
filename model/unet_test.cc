#include "model/unet.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

namespace dcodec::model {
namespace {

UNetConfig Tiny() {
  UNetConfig c = UNetConfig::Tiny();
  c.attention_levels = {1};  // cover the attention block too
  return c;
}

TEST(UNetTest, AnySizeKeepsShape) {
  torch::manual_seed(0);
  UNet net(UNetConfig::Small());
  net->eval();
  torch::NoGradGuard no_grad;
  auto out = net->forward(torch::randn({1, 3, 17, 23}), torch::full({1}, 500.0f));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 3, 17, 23}));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());

  UNetConfig c = Tiny();
  c.output = UNetConfig::Output::kEpsilonAndLogScale;
  UNet tiny(c);
  for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {9, 5}, {16, 16}, {3, 30}}) {
    auto y = tiny->forward(torch::randn({2, 3, h, w}), torch::full({1}, 7.0f));  // t broadcast to N
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 6, h, w}));
  }
}

TEST(UNetTest, OutputDependsOnInputAndTime) {
  torch::manual_seed(1);
  UNet net(Tiny());
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.add_(0.05 * torch::randn_like(p));  // leave the zero-initialised start
  auto x = torch::randn({1, 3, 8, 8});
  auto a = net->forward(x, torch::full({1}, 10.0f));
  EXPECT_FALSE(torch::allclose(a, net->forward(x, torch::full({1}, 900.0f))));
  EXPECT_FALSE(torch::allclose(a, net->forward(x + 0.1, torch::full({1}, 10.0f))));
  // Batch items are independent (GroupNorm, not BatchNorm).
  auto batch = net->forward(torch::cat({x, torch::randn({1, 3, 8, 8})}), torch::tensor({10.0f, 500.0f}));
  EXPECT_TRUE(torch::allclose(batch[0], a[0], 1e-5, 1e-5));
}

// At inference a channels-last input (the codec's CPU layout) gives the NCHW result up to float rounding, also where
// group statistics taken in float lose digits to cancellation (as LibTorch 1.13's own channels-last GroupNorm
// kernel does: it misses this tolerance many times over).
TEST(UNetTest, ChannelsLastInferenceMatchesNchw) {
  torch::manual_seed(3);
  UNet net(UNetConfig::Small());
  net->eval();
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.add_(0.05 * torch::randn_like(p));  // GroupNorm affine too
  // The first convolution's outputs sit near 30 with a spread of about 0.1: the first GroupNorm's statistics must
  // not lose the variance to cancellation.
  net->named_parameters()["conv_in.bias"].fill_(30.0);
  const auto t = torch::tensor({10.0f, 300.0f});
  const auto x = torch::randn({2, 3, 48, 40}), padded = torch::randn({2, 3, 45, 38});  // (padded to 48 x 40)
  const auto nchw = net->forward(x, t), nchw_padded = net->forward(padded, t);
  for (auto& p : net->parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
  const auto cl = net->forward(x.contiguous(at::MemoryFormat::ChannelsLast), t);
  const auto cl_padded = net->forward(padded.contiguous(at::MemoryFormat::ChannelsLast), t);
  EXPECT_TRUE(cl.is_contiguous(at::MemoryFormat::ChannelsLast));  // the layout is kept through the network
  const double scale = nchw.abs().max().item<double>();
  ASSERT_GT(scale, 0.1);
  EXPECT_LT((cl - nchw).abs().max().item<double>(), 2e-6 * scale);
  EXPECT_LT((cl_padded - nchw_padded).abs().max().item<double>(), 2e-6 * scale);
}

TEST(UNetTest, PresetSizes) {
  UNet small(UNetConfig::Small());
  UNet cifar(UNetConfig::Cifar());
  EXPECT_GT(small->NumParameters(), 500'000);
  EXPECT_LT(small->NumParameters(), 2'000'000);
  EXPECT_GT(cifar->NumParameters(), 2'000'000);
  EXPECT_LT(cifar->NumParameters(), 10'000'000);
  EXPECT_EQ(UNetConfig::Small().DownsampleFactor(), 4);
  EXPECT_TRUE(UNetConfig::Cifar().Validate().ok());
}

TEST(UNetTest, ConfigJsonRoundTripAndValidation) {
  UNetConfig c = UNetConfig::Cifar();
  c.output = UNetConfig::Output::kEpsilonAndLogScale;
  auto back = UNetConfig::FromJson(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, c);

  nlohmann::json j = c.ToJson();
  j.erase("groups");
  EXPECT_EQ(UNetConfig::FromJson(j).status().code(), StatusCode::kInvalidInput);
  j = c.ToJson();
  j["extra"] = 1;
  EXPECT_EQ(UNetConfig::FromJson(j).status().code(), StatusCode::kInvalidInput);
  j = c.ToJson();
  j["groups"] = 7;
  EXPECT_EQ(UNetConfig::FromJson(j).status().code(), StatusCode::kInvalidInput);
  j = c.ToJson();
  j["channel_mult"] = "wide";
  EXPECT_EQ(UNetConfig::FromJson(j).status().code(), StatusCode::kInvalidInput);

  UNetConfig bad = Tiny();
  bad.attention_levels = {2};
  EXPECT_EQ(bad.Validate().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(MakeUNet(bad).ok());
}

}  // namespace
}  // namespace dcodec::model
