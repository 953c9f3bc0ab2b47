// Test-only: a toy stage input shared by the stage coders' tests (no LibTorch).
#ifndef DCODEC_CODEC_TEST_TOY_H_
#define DCODEC_CODEC_TEST_TOY_H_

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "codec/entropy_model.h"

namespace dcodec::codec::testing {

struct Toy {
  std::vector<float> x_t, x0_hat, x0;
  std::vector<uint8_t> pixels;
};

// x_0 in [-1, 1] (random pixels), a noisy x_t = 0.8 x_0 + 0.6 noise, and an imperfect estimate x̂_0 (error of std
// `err`, clamped to [-1, 1]).
inline Toy MakeToy(size_t n, double err, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> pixel(0, 255);
  Toy toy;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t p = static_cast<uint8_t>(pixel(rng));
    float x0 = PixelToUnit(p);
    toy.pixels.push_back(p);
    toy.x0.push_back(x0);
    toy.x0_hat.push_back(static_cast<float>(std::clamp(x0 + err * normal(rng), -1.0, 1.0)));
    toy.x_t.push_back(static_cast<float>(0.8 * x0 + 0.6 * normal(rng)));
  }
  return toy;
}

}  // namespace dcodec::codec::testing

#endif  // DCODEC_CODEC_TEST_TOY_H_
