// Test-only helper: writes a small randomly initialised model file, so codec tests need no trained weights.
#ifndef DCODEC_TESTS_TEST_MODELS_H_
#define DCODEC_TESTS_TEST_MODELS_H_

#include <cstdint>
#include <string>

namespace dcodec::testing {

// A tiny UNet (base 8 channels, two levels) with weights drawn from `seed`, saved at `path`. With `scale_head`
// it has the per-pixel scale output (UNetConfig::Output::kEpsilonAndLogScale), and its output layer, which
// training initialises to zero, is drawn at random too so that ε and the head vary over the image.
void WriteRandomModel(const std::string& path, uint64_t seed, bool scale_head = false);

// A fresh path under the test temp dir.
std::string TempPath(const std::string& name);

}  // namespace dcodec::testing

#endif  // DCODEC_TESTS_TEST_MODELS_H_
