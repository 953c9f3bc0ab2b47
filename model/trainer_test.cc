#include "model/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>

#include "base/file_io.h"
#include "datasets/png.h"
#include "model/model_file.h"
#include "model/unet.h"

namespace dcodec::model {
namespace {

std::string MakeImageDir() {
  std::string dir = ::testing::TempDir() + "/trainer_imgs" + std::to_string(::getpid());
  EXPECT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  std::mt19937 rng(3);
  for (int i = 0; i < 3; ++i) {
    Image image(24, 20, 3);
    for (auto& v : image.data) v = rng() & 255;
    EXPECT_TRUE(WritePng(dir + "/" + std::to_string(i) + ".png", image, true).ok());
  }
  return dir;
}

TrainOptions TinyOptions(const std::string& data_dir, const std::string& run) {
  TrainOptions o;
  o.data = "images:" + data_dir;
  o.crop = 16;
  o.max_downscale = 1.2;
  o.preset = "tiny";
  o.num_steps_diffusion = 100;
  o.batch_size = 4;
  o.steps = 4;
  o.warmup = 2;
  o.lr = 1e-3;
  o.checkpoint_every = 2;
  o.run_dir = run;
  o.seed = 9;
  return o;
}

nlohmann::json ReadJson(const std::string& path) {
  auto bytes = ReadFileBytes(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? nlohmann::json::parse(bytes->begin(), bytes->end()) : nlohmann::json();
}

// Every parameter of the two model files is bit-identical.
void ExpectSameWeights(const std::string& path_a, const std::string& path_b) {
  auto a = LoadModel(path_a);
  auto b = LoadModel(path_b);
  ASSERT_TRUE(a.ok() && b.ok());
  auto pa = a->net->named_parameters(), pb = b->net->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i].value(), pb[i].value())) << pa[i].key();
}

TEST(TrainerTest, ResumedRunTakesTheSameStepsAsAnUninterruptedOne) {
  std::string data = MakeImageDir();
  std::string a = ::testing::TempDir() + "/run_a" + std::to_string(::getpid());
  std::string b = ::testing::TempDir() + "/run_b" + std::to_string(::getpid());
  int progress_calls = 0;
  ASSERT_TRUE(Train(TinyOptions(data, a), [&](const TrainProgress&) { ++progress_calls; }).ok());
  EXPECT_EQ(progress_calls, 4);

  TrainOptions first = TinyOptions(data, b);
  first.steps = 2;  // "killed" after the checkpoint at step 2
  ASSERT_TRUE(Train(first, nullptr).ok());
  TrainOptions resumed = TinyOptions(data, b);
  resumed.resume = true;
  Status s = Train(resumed, nullptr);
  ASSERT_TRUE(s.ok()) << s.ToString();

  // The weights after step 4 are bit-identical (the archives themselves may order their records differently).
  ExpectSameWeights(a + "/model.safetensors", b + "/model.safetensors");
  // ...and training did change them (the EMA after 4 steps differs from a fresh initialisation's).
  auto model_a = LoadModel(a + "/model.safetensors");
  ASSERT_TRUE(model_a.ok());
  auto pa = model_a->net->named_parameters();
  bool moved = false;
  torch::manual_seed(9);
  UNet fresh(model_a->info.config);
  for (size_t i = 0; i < pa.size(); ++i) moved |= !torch::equal(pa[i].value(), fresh->named_parameters()[i].value());
  EXPECT_TRUE(moved);

  // The checkpoint records the step, the running loss and the wall time for model cards.
  auto meta_bytes = ReadFileBytes(b + "/checkpoint.json");
  ASSERT_TRUE(meta_bytes.ok());
  auto meta = nlohmann::json::parse(meta_bytes->begin(), meta_bytes->end());
  EXPECT_EQ(meta["step"].get<int64_t>(), 4);
  EXPECT_GT(meta["loss"].get<double>(), 0.0);
  EXPECT_GE(meta["train_seconds"].get<double>(), 0.0);

  // A damaged checkpoint is refused on resume, naming the file.
  auto bytes = *ReadFileBytes(b + "/checkpoint.pt");
  bytes[bytes.size() / 2] ^= 1;
  ASSERT_TRUE(WriteFileAtomic(b + "/checkpoint.pt", bytes, true).ok());
  resumed.steps = 6;
  Status corrupt = Train(resumed, nullptr);
  EXPECT_EQ(corrupt.code(), StatusCode::kCorrupt);
  EXPECT_NE(corrupt.message().find("checkpoint.pt"), std::string::npos);

  // Resuming with other options is refused too.
  TrainOptions other = TinyOptions(data, a);
  other.resume = true;
  other.lr = 5e-4;
  other.steps = 6;
  const Status refused = Train(other, nullptr);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("lr: 0.001"), std::string::npos) << refused.ToString();  // names what differs
  // The same data directory written another way is the same data: the run resumes.
  TrainOptions respelled = TinyOptions(data + "/.", a);
  respelled.resume = true;
  respelled.steps = 5;
  EXPECT_TRUE(Train(respelled, nullptr).ok());
}

TEST(TrainerTest, InitStartsFromAModelFileAndRefusesAnotherConfig) {
  std::string data = MakeImageDir();
  std::string a = ::testing::TempDir() + "/run_init_a" + std::to_string(::getpid());
  std::string b = ::testing::TempDir() + "/run_init_b" + std::to_string(::getpid());
  TrainOptions first = TinyOptions(data, a);
  ASSERT_TRUE(Train(first, nullptr).ok());

  // With a zero learning rate the warm-started run's weights (and so its EMA) stay exactly the init's.
  TrainOptions warm = TinyOptions(data, b);
  warm.init_model = a + "/model.safetensors";
  warm.seed = 1234;  // another initialisation would differ
  warm.lr = 0;
  warm.steps = 2;
  Status s = Train(warm, nullptr);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectSameWeights(a + "/model.safetensors", b + "/model.safetensors");

  TrainOptions other = TinyOptions(data, b + "_other");
  other.init_model = a + "/model.safetensors";
  other.preset = "small";
  Status mismatch = Train(other, nullptr);
  EXPECT_EQ(mismatch.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.message().find("--init"), std::string::npos);
}

// --scale-head warm-started from a model without the head: the eps channels start as the init's, the head at zero;
// the model file records the head; training moves the head (its only signal is the coded rate).
TEST(TrainerTest, ScaleHeadStartsFromAModelWithoutOneAndLearns) {
  std::string data = MakeImageDir();
  std::string a = ::testing::TempDir() + "/run_head_a" + std::to_string(::getpid());
  std::string b = ::testing::TempDir() + "/run_head_b" + std::to_string(::getpid());
  ASSERT_TRUE(Train(TinyOptions(data, a), nullptr).ok());
  TrainOptions head = TinyOptions(data, b);
  head.init_model = a + "/model.safetensors";
  head.scale_head = true;
  head.chain = {60, 20, 5};
  head.chain_fraction = 0.5;
  head.lr = 1e-3;
  head.steps = 6;
  std::vector<double> rates;
  Status s = Train(head, [&](const TrainProgress& p) { rates.push_back(p.rate); });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(rates.size(), 6u);
  EXPECT_GT(rates[0], 0.0);
  auto init = LoadModel(a + "/model.safetensors");
  auto trained = LoadModel(b + "/model.safetensors");
  ASSERT_TRUE(init.ok() && trained.ok());
  EXPECT_EQ(trained->info.config.output, UNetConfig::Output::kEpsilonAndLogScale);
  EXPECT_EQ(trained->net->forward(torch::zeros({1, 3, 16, 16}), torch::full({1}, 20.0f)).size(1), 6);
  auto out = trained->net->named_parameters()["out_conv.bias"];
  EXPECT_EQ(out.size(0), 6);
  EXPECT_GT(out.narrow(0, 3, 3).abs().max().item<float>(), 0.0f);  // the head moved off zero

  // Without a chain there is no coded rate to train the head on.
  TrainOptions no_chain = TinyOptions(data, b + "_no_chain");
  no_chain.scale_head = true;
  EXPECT_EQ(Train(no_chain, nullptr).code(), StatusCode::kInvalidArgument);
}

// bf16 autocast changes the arithmetic of the forward pass, not what is trained or saved: the same steps from the
// same seed give float32 weights near the float32 run's (not equal to them), the loss follows the same course, and a
// float32 run resumed from a bf16 checkpoint goes on (the precision is not an option a resume must repeat).
TEST(TrainerTest, Bf16AutocastTrainsTheSameModelInFloat32Weights) {
  std::string data = MakeImageDir();
  std::string a = ::testing::TempDir() + "/run_fp32_" + std::to_string(::getpid());
  std::string b = ::testing::TempDir() + "/run_bf16_" + std::to_string(::getpid());
  std::vector<double> loss_a, loss_b;
  ASSERT_TRUE(Train(TinyOptions(data, a), [&](const TrainProgress& p) { loss_a.push_back(p.loss); }).ok());
  TrainOptions bf16 = TinyOptions(data, b);
  bf16.precision = "bf16";
  Status s = Train(bf16, [&](const TrainProgress& p) { loss_b.push_back(p.loss); });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(loss_a.size(), loss_b.size());
  for (size_t i = 0; i < loss_a.size(); ++i) EXPECT_NEAR(loss_b[i], loss_a[i], 0.05 * loss_a[i]) << i;
  auto fa = LoadModel(a + "/model.safetensors"), fb = LoadModel(b + "/model.safetensors");
  ASSERT_TRUE(fa.ok() && fb.ok());
  auto pa = fa->net->named_parameters(), pb = fb->net->named_parameters();
  double max_diff = 0;
  bool any_diff = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pb[i].value().scalar_type(), torch::kFloat32) << pb[i].key();
    any_diff = any_diff || !torch::equal(pa[i].value(), pb[i].value());
    max_diff = std::max(max_diff, (pa[i].value() - pb[i].value()).abs().max().item<double>());
  }
  EXPECT_TRUE(any_diff);      // autocast really ran in bf16
  EXPECT_LT(max_diff, 2e-2);  // four Adam steps of 1e-3 each, from the same start
  auto meta = ReadJson(b + "/checkpoint.json");
  EXPECT_EQ(meta["precision"], "bf16");
  TrainOptions more = bf16;
  more.precision = "fp32";
  more.resume = true;
  more.steps = 6;
  ASSERT_TRUE(Train(more, nullptr).ok());
  EXPECT_FALSE(ReadJson(b + "/checkpoint.json").contains("precision"));
}

TEST(TrainerTest, LearningRateWarmsUpThenFollowsItsSchedule) {
  TrainOptions o;
  o.lr = 1e-3;
  o.warmup = 10;
  o.steps = 110;
  EXPECT_DOUBLE_EQ(LearningRate(o, 0), 1e-4);
  EXPECT_DOUBLE_EQ(LearningRate(o, 4), 5e-4);
  EXPECT_DOUBLE_EQ(LearningRate(o, 9), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRate(o, 109), 1e-3);  // constant
  o.lr_schedule = "cosine";
  o.lr_min = 1e-5;
  EXPECT_DOUBLE_EQ(LearningRate(o, 4), 5e-4);                    // the warm-up is the same
  EXPECT_DOUBLE_EQ(LearningRate(o, 9), 1e-3);                    // the cosine starts at lr
  EXPECT_NEAR(LearningRate(o, 59), 0.5 * (1e-3 + 1e-5), 1e-12);  // half way
  EXPECT_DOUBLE_EQ(LearningRate(o, 109), 1e-5);                  // and ends at lr_min on the last step
  EXPECT_DOUBLE_EQ(LearningRate(o, 500), 1e-5);  // past --steps (a resumed run's old steps) it stays there
  for (int64_t step = 10; step < 109; ++step) EXPECT_LT(LearningRate(o, step + 1), LearningRate(o, step)) << step;
}

TEST(TrainerTest, BadOptionsAreRefused) {
  TrainOptions o;
  o.data = "cifar10:/no/such/dir";
  o.run_dir = ::testing::TempDir() + "/run_bad";
  EXPECT_FALSE(Train(o, nullptr).ok());
  o.preset = "huge";
  EXPECT_EQ(Train(o, nullptr).code(), StatusCode::kInvalidArgument);
  o.preset = "small";
  o.lr_schedule = "step";
  EXPECT_EQ(Train(o, nullptr).code(), StatusCode::kInvalidArgument);
  o.lr_schedule = "cosine";
  o.lr_min = 2 * o.lr;
  EXPECT_EQ(Train(o, nullptr).code(), StatusCode::kInvalidArgument);
  o.lr_min = 0;
  o.precision = "fp16";
  EXPECT_EQ(Train(o, nullptr).code(), StatusCode::kInvalidArgument);
  o.precision = "fp32";
  o.run_dir = "";
  EXPECT_EQ(Train(o, nullptr).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dcodec::model
