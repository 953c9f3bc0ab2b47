#include "codec/alpha_coder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "bitstream/leaky_quantizer.h"

namespace dcodec::codec {
namespace {

struct Coded {
  std::vector<uint8_t> bytes;
  double bits = 0;
};

Coded Encode(const std::vector<uint8_t>* alpha, int w, int h) {
  bitstream::AnsEncoder enc;
  Coded c;
  EncodeAlpha(enc, alpha ? alpha->data() : nullptr, w, h, &c.bits);
  bitstream::EncodeUniform(enc, 77, 100);  // a sentinel after the plane
  c.bytes = enc.Finish();
  return c;
}

void ExpectRoundtrip(const std::vector<uint8_t>* alpha, int w, int h) {
  Coded c = Encode(alpha, w, h);
  bitstream::AnsDecoder dec(c.bytes.data(), c.bytes.size());
  double bits = 0;
  auto decoded = DecodeAlpha(dec, w, h, &bits);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->has_value(), alpha != nullptr);
  if (alpha) EXPECT_EQ(**decoded, *alpha);
  EXPECT_DOUBLE_EQ(bits, c.bits);
  auto sentinel = bitstream::DecodeUniform(dec, 100);
  ASSERT_TRUE(sentinel.ok());
  EXPECT_EQ(*sentinel, 77u);
  EXPECT_TRUE(dec.Finish().ok());
}

TEST(AlphaCoderTest, RoundtripsEveryKindOfPlane) {
  ExpectRoundtrip(nullptr, 5, 4);
  std::vector<uint8_t> opaque(40 * 30, 255), clear(7 * 3, 0), one = {17};
  ExpectRoundtrip(&opaque, 40, 30);
  ExpectRoundtrip(&clear, 7, 3);
  ExpectRoundtrip(&one, 1, 1);
  // A disc with an anti-aliased edge, and pure noise (every value, including the ones the coder excludes).
  std::vector<uint8_t> disc(64 * 48), noise(33 * 17);
  for (int y = 0; y < 48; ++y) {
    for (int x = 0; x < 64; ++x) {
      double d = std::hypot(x - 30.0, y - 22.0) - 15.0;
      disc[y * 64 + x] = static_cast<uint8_t>(std::clamp(128.0 - 128.0 * d, 0.0, 255.0));
    }
  }
  std::mt19937_64 rng(4);
  for (auto& v : noise) v = static_cast<uint8_t>(rng());
  ExpectRoundtrip(&disc, 64, 48);
  ExpectRoundtrip(&noise, 33, 17);
}

TEST(AlphaCoderTest, OpaqueCostsNextToNothing) {
  Coded none = Encode(nullptr, 768, 512);
  EXPECT_LT(none.bits, 0.01);  // an image without alpha pays the flag only
  std::vector<uint8_t> opaque(768 * 512, 255);
  Coded c = Encode(&opaque, 768, 512);
  EXPECT_LT(c.bits, 64.0);
  std::vector<uint8_t> noise(64 * 64);
  std::mt19937_64 rng(5);
  for (auto& v : noise) v = static_cast<uint8_t>(rng());
  EXPECT_GT(Encode(&noise, 64, 64).bits, 64 * 64 * 7.9);  // noise cannot be compressed: the test can fail
}

TEST(AlphaCoderTest, TruncationIsReported) {
  std::vector<uint8_t> noise(64 * 64);
  std::mt19937_64 rng(6);
  for (auto& v : noise) v = static_cast<uint8_t>(rng());
  Coded c = Encode(&noise, 64, 64);
  c.bytes.resize(c.bytes.size() / 2 / 4 * 4);
  bitstream::AnsDecoder dec(c.bytes.data(), c.bytes.size());
  EXPECT_EQ(DecodeAlpha(dec, 64, 64).status().code(), StatusCode::kTruncated);
}

}  // namespace
}  // namespace dcodec::codec
