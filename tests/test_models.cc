#include "tests/test_models.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include "model/model_file.h"
#include "model/unet.h"

namespace dcodec::testing {

void WriteRandomModel(const std::string& path, uint64_t seed) {
  torch::manual_seed(seed);
  model::UNetConfig config = model::UNetConfig::Tiny();
  model::UNet net(config);
  model::ModelFile info;
  info.config = config;
  Status s = model::SaveModel(path, net, info);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/dcodec_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace dcodec::testing
