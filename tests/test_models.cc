#include "tests/test_models.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include "model/model_file.h"
#include "model/unet.h"

namespace dcodec::testing {

void WriteRandomModel(const std::string& path, uint64_t seed, bool scale_head) {
  torch::manual_seed(seed);
  model::UNetConfig config = model::UNetConfig::Tiny();
  if (scale_head) config.output = model::UNetConfig::Output::kEpsilonAndLogScale;
  model::UNet net(config);
  if (scale_head) {
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters()) {
      if (p.key().rfind("out_conv", 0) == 0) p.value().normal_(0.0, 0.3);
    }
  }
  model::ModelFile info;
  info.config = config;
  Status s = model::SaveModel(path, net, info);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/dcodec_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace dcodec::testing
