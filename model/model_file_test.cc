#include "model/model_file.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "base/file_io.h"

namespace dcodec::model {
namespace {

UNetConfig Tiny() {
  UNetConfig c = UNetConfig::Tiny();
  c.attention_levels = {1};  // cover the attention block too
  return c;
}

UNet RandomTinyNet(uint64_t seed) {
  torch::manual_seed(seed);
  UNet net(Tiny());
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.add_(0.1 * torch::randn_like(p));  // no zero-initialised tensors left
  return net;
}

ModelFile Info() {
  ModelFile info;
  info.config = Tiny();
  info.schedule = BetaSchedule::kCosine;
  info.num_steps = 500;
  info.metadata = {{"calibration", "[1,2,3]"}, {"trained_on", "tiny"}};
  return info;
}

std::string TempPath(const std::string& name) { return testing::TempDir() + "/model_file_test_" + name; }

// Splits a serialized file into its header JSON and data, applies `edit` to the header, and reassembles it.
std::vector<uint8_t> EditHeader(const std::vector<uint8_t>& bytes, const std::function<void(nlohmann::json&)>& edit) {
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + n);
  edit(header);
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t size = text.size();
  std::vector<uint8_t> out(8 + text.size() + (bytes.size() - 8 - n));
  std::memcpy(out.data(), &size, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::copy(bytes.begin() + 8 + n, bytes.end(), out.begin() + 8 + text.size());
  return out;
}

TEST(ModelFileTest, RoundTripIsBitExactAndIdStable) {
  UNet net = RandomTinyNet(3);
  const std::string path = TempPath("roundtrip.safetensors");
  ASSERT_TRUE(SaveModel(path, net, Info()).ok());
  auto loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->info.config, Tiny());
  EXPECT_EQ(loaded->info.schedule, BetaSchedule::kCosine);
  EXPECT_EQ(loaded->info.num_steps, 500);
  EXPECT_EQ(loaded->info.metadata, Info().metadata);
  EXPECT_FALSE(loaded->net->is_training());

  auto original = net->named_parameters();
  auto restored = loaded->net->named_parameters();
  ASSERT_EQ(original.size(), restored.size());
  for (const auto& item : original) {
    ASSERT_TRUE(restored.contains(item.key())) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), restored[item.key()])) << item.key();
  }
  EXPECT_EQ(net->named_buffers().size(), loaded->net->named_buffers().size());

  // Saving the loaded weights again gives the same bytes, hence the same model_id.
  const std::string again = TempPath("roundtrip2.safetensors");
  ASSERT_TRUE(SaveModel(again, loaded->net, loaded->info).ok());
  auto reloaded = LoadModel(again);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->model_id, loaded->model_id);
  EXPECT_EQ(*ReadFileBytes(again), *ReadFileBytes(path));

  // Different weights, different id.
  UNet other = RandomTinyNet(4);
  ASSERT_TRUE(SaveModel(again, other, Info()).ok());
  EXPECT_NE(LoadModel(again)->model_id, loaded->model_id);
}

TEST(ModelFileTest, Float16StorageIsSmallerAndClose) {
  UNet net = RandomTinyNet(5);
  auto f32 = SerializeModel(net, Info());
  auto f16 = SerializeModel(net, Info(), SaveOptions{WeightStorage::kF16});
  ASSERT_TRUE(f32.ok() && f16.ok());
  EXPECT_LT(f16->size(), f32->size() * 6 / 10);
  auto loaded = ParseModel(*f16);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto restored = loaded->net->named_parameters();
  for (const auto& item : net->named_parameters()) {
    EXPECT_TRUE(torch::allclose(item.value(), restored[item.key()], 1e-3, 1e-4)) << item.key();
  }
}

TEST(ModelFileTest, RejectsBadFiles) {
  UNet net = RandomTinyNet(6);
  auto good = SerializeModel(net, Info());
  ASSERT_TRUE(good.ok());
  const std::vector<uint8_t>& bytes = *good;
  uint64_t header_size;
  std::memcpy(&header_size, bytes.data(), 8);

  auto missing = LoadModel(TempPath("does_not_exist.safetensors"));
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_NE(missing.status().message().find("does_not_exist"), std::string::npos);

  for (size_t cut : {size_t{0}, size_t{5}, size_t{8 + header_size / 2}, bytes.size() - 1}) {
    const std::string path = TempPath("cut.safetensors");
    ASSERT_TRUE(WriteFileAtomic(path, bytes.data(), cut, true).ok());
    auto loaded = LoadModel(path);
    EXPECT_EQ(loaded.status().code(), StatusCode::kTruncated) << cut << ": " << loaded.status().ToString();
    EXPECT_NE(loaded.status().message().find("cut.safetensors"), std::string::npos);
  }

  auto expect_invalid = [](const std::vector<uint8_t>& b, const std::string& words) {
    auto loaded = ParseModel(b);
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidInput) << loaded.status().ToString();
    EXPECT_NE(loaded.status().message().find(words), std::string::npos) << loaded.status().ToString();
  };
  std::vector<uint8_t> garbled = bytes;
  garbled[8] = 'x';
  expect_invalid(garbled, "JSON");
  std::vector<uint8_t> huge = bytes;
  huge[7] = 0x7f;
  expect_invalid(huge, "implausible");
  std::vector<uint8_t> trailing = bytes;
  trailing.push_back(0);
  expect_invalid(trailing, "trailing");
  expect_invalid(EditHeader(bytes, [](nlohmann::json& h) { h.erase("conv_in.weight"); }), "missing tensor");
  expect_invalid(EditHeader(bytes, [](nlohmann::json& h) { h["extra.weight"] = h["conv_in.bias"]; }), "unexpected");
  expect_invalid(EditHeader(bytes, [](nlohmann::json& h) { h["conv_in.bias"]["shape"] = {4, 2}; }), "shape mismatch");
  expect_invalid(EditHeader(bytes, [](nlohmann::json& h) { h["conv_in.bias"]["dtype"] = "I8"; }), "dtype");
  expect_invalid(EditHeader(bytes, [](nlohmann::json& h) { h["__metadata__"].erase("dcodec.unet"); }), "dcodec.unet");
  expect_invalid(EditHeader(bytes,
                            [](nlohmann::json& h) {
                              auto config = Tiny().ToJson();
                              config["base_channels"] = 16;
                              h["__metadata__"]["dcodec.unet"] = config.dump();
                            }),
                 "shape mismatch");
  auto bad_format = ParseModel(EditHeader(bytes, [](nlohmann::json& h) { h["__metadata__"]["dcodec.format"] = "v9"; }));
  EXPECT_EQ(bad_format.status().code(), StatusCode::kUnsupported);

  ModelFile reserved = Info();
  reserved.metadata["dcodec.unet"] = "{}";
  EXPECT_EQ(SaveModel(TempPath("reserved.safetensors"), net, reserved).code(), StatusCode::kInvalidArgument);
  ModelFile mismatch = Info();
  mismatch.config.base_channels = 16;
  EXPECT_EQ(SaveModel(TempPath("mismatch.safetensors"), net, mismatch).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dcodec::model
