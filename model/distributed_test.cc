#include "model/distributed.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include <torch/torch.h>

namespace dcodec::model {
namespace {

TEST(DistributedTest, EnvironmentDefaultsToOneProcessAndRejectsBadValues) {
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("RANK");
  auto alone = DistributedFromEnvironment();
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ(alone->world_size, 1);
  ::setenv("WORLD_SIZE", "4", 1);
  EXPECT_FALSE(DistributedFromEnvironment().ok());  // RANK missing
  ::setenv("RANK", "4", 1);
  auto out_of_range = DistributedFromEnvironment();
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.status().message().find("RANK"), std::string::npos);
  ::setenv("RANK", "2", 1);
  ::setenv("MASTER_PORT", "70000", 1);
  EXPECT_FALSE(DistributedFromEnvironment().ok());
  ::setenv("MASTER_PORT", "29511", 1);
  ::setenv("MASTER_ADDR", "10.0.0.7", 1);
  auto ok = DistributedFromEnvironment();
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->rank, 2);
  EXPECT_EQ(ok->local_rank, 2);
  EXPECT_EQ(ok->world_size, 4);
  EXPECT_EQ(ok->master_port, 29511);
  EXPECT_EQ(ok->master_addr, "10.0.0.7");
  for (const char* v : {"WORLD_SIZE", "RANK", "MASTER_PORT", "MASTER_ADDR"}) ::unsetenv(v);
}

// A group of one needs no network and leaves gradients as they are.
TEST(DistributedTest, GroupOfOneIsTheIdentity) {
  DistributedOptions o;
  auto group = ProcessGroup::Connect(o, "cpu");
  ASSERT_TRUE(group.ok());
  auto t = torch::arange(5, torch::kFloat32);
  ASSERT_TRUE((*group)->AllReduceSum(t).ok());
  EXPECT_TRUE(torch::equal(t, torch::arange(5, torch::kFloat32)));
  auto w = torch::ones({3}, torch::requires_grad());
  GradientReducer reducer(**group, {w});
  reducer.Prepare();
  (w * torch::tensor({1.f, 2.f, 3.f})).sum().backward();
  ASSERT_TRUE(reducer.Finish().ok());
  EXPECT_TRUE(torch::equal(w.grad(), torch::tensor({1.f, 2.f, 3.f})));
}

// Two ranks as threads of this process, each with its own copy of a small network and its own input: after
// backward and Finish both hold the sum of the two gradients, and the buckets went out while backward ran.
TEST(DistributedTest, ReducerSumsGradientsAcrossRanksDuringBackward) {
  if (!DistributedAvailable()) GTEST_SKIP() << "built without Gloo";
  const int port = PickFreePort();
  std::vector<torch::Tensor> grads[2], expected[2];
  Status status[2];
  int overlapped[2] = {0, 0}, buckets[2] = {0, 0};
  auto rank_main = [&](int rank) {
    DistributedOptions o;
    o.rank = rank;
    o.world_size = 2;
    o.master_port = port;
    o.timeout_seconds = 30;
    auto group = ProcessGroup::Connect(o, "cpu");
    if (!group.ok()) {
      status[rank] = group.status();
      return;
    }
    torch::manual_seed(1);  // same weights on both ranks
    torch::nn::Sequential net(torch::nn::Linear(8, 64), torch::nn::Tanh(), torch::nn::Linear(64, 64), torch::nn::Tanh(),
                              torch::nn::Linear(64, 3));
    auto params = net->parameters();
    // Small buckets: several, so the ordering and the overlap are exercised.
    GradientReducer reducer(**group, params, 4096);
    buckets[rank] = reducer.num_buckets();
    for (int step = 0; step < 2; ++step) {
      auto input = torch::full({4, 8}, 0.1f * (rank + 1) + step);
      for (auto& p : params) p.mutable_grad() = torch::Tensor();
      // This rank's own gradient, for the expected sum.
      net->forward(input).pow(2).sum().backward();
      for (auto& p : params) expected[rank].push_back(p.grad().clone());
      for (auto& p : params) p.mutable_grad() = torch::Tensor();
      reducer.Prepare();
      net->forward(input).pow(2).sum().backward();
      status[rank] = reducer.Finish();
      if (!status[rank].ok()) return;
      for (auto& p : params) grads[rank].push_back(p.grad().clone());
      overlapped[rank] = reducer.buckets_started_in_backward();
    }
  };
  std::thread a(rank_main, 0), b(rank_main, 1);
  a.join();
  b.join();
  ASSERT_TRUE(status[0].ok()) << status[0].ToString();
  ASSERT_TRUE(status[1].ok()) << status[1].ToString();
  EXPECT_GE(buckets[0], 3);
  ASSERT_EQ(grads[0].size(), expected[0].size());
  for (size_t i = 0; i < grads[0].size(); ++i) {
    auto sum = expected[0][i] + expected[1][i];
    EXPECT_TRUE(torch::allclose(grads[0][i], sum, 1e-5, 1e-6)) << "parameter " << i;
    EXPECT_TRUE(torch::equal(grads[0][i], grads[1][i])) << "the ranks disagree on parameter " << i;
  }
  EXPECT_GE(overlapped[0], buckets[0] - 1);  // all but possibly the last bucket started inside backward
}

}  // namespace
}  // namespace dcodec::model
