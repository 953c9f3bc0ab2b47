#include "codec/low_byte_coder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "bitstream/leaky_quantizer.h"
#include "codec/adaptive_model.h"

namespace dcodec::codec {
namespace {

// 16-bit samples as a high and a low plane.
struct Planes {
  int w, h, c;
  std::vector<uint8_t> high, low;
};

// A smooth 16-bit ramp with a little noise (`noise` in 16-bit units), per channel a different slope.
Planes Smooth(int w, int h, int c, double noise, uint64_t seed) {
  Planes p{w, h, c, std::vector<uint8_t>(size_t(w) * h * c), std::vector<uint8_t>(size_t(w) * h * c)};
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int k = 0; k < c; ++k) {
        double v = 9000.0 + 40.0 * (k + 1) * x + 30.0 * y + 3000.0 * std::sin(0.02 * (x + y * k)) + noise * n(rng);
        const int s = static_cast<int>(std::clamp(std::lround(v), 0L, 65535L));
        const size_t i = (size_t(y) * w + x) * c + k;
        p.high[i] = static_cast<uint8_t>(s >> 8);
        p.low[i] = static_cast<uint8_t>(s & 255);
      }
    }
  }
  return p;
}

struct Coded {
  std::vector<uint8_t> bytes;
  double bits = 0;
};

Coded Encode(const Planes& p) {
  bitstream::AnsEncoder enc;
  Coded c;
  EncodeLowBytes(enc, p.high.data(), p.low.data(), p.w, p.h, p.c, &c.bits);
  bitstream::EncodeUniform(enc, 77, 100);  // a sentinel after the low bytes
  c.bytes = enc.Finish();
  return c;
}

// Decodes what Encode wrote; returns its measured cost in bits a sample.
double ExpectRoundtrip(const Planes& p) {
  Coded c = Encode(p);
  bitstream::AnsDecoder dec(c.bytes.data(), c.bytes.size());
  std::vector<uint8_t> low(p.low.size(), 0xA5);
  double bits = 0;
  Status s = DecodeLowBytes(dec, p.high.data(), p.w, p.h, p.c, low.data(), &bits);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(low, p.low);
  EXPECT_DOUBLE_EQ(bits, c.bits);
  auto sentinel = bitstream::DecodeUniform(dec, 100);
  EXPECT_TRUE(sentinel.ok());
  if (sentinel.ok()) EXPECT_EQ(*sentinel, 77u);
  EXPECT_TRUE(dec.Finish().ok());
  return c.bits / static_cast<double>(p.low.size());
}

TEST(LowByteCoderTest, DepthFlagRoundtripsAndCostsNextToNothingFor8Bits) {
  for (SampleDepth d : {SampleDepth::k8, SampleDepth::k16Wide, SampleDepth::k16}) {
    bitstream::AnsEncoder enc;
    double bits = 0;
    EncodeDepth(enc, d, &bits);
    if (d == SampleDepth::k8) EXPECT_LT(bits, 0.002);
    std::vector<uint8_t> bytes = enc.Finish();
    bitstream::AnsDecoder dec(bytes.data(), bytes.size());
    auto back = DecodeDepth(dec);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, d);
  }
  const uint8_t high[3] = {1, 2, 3}, same[3] = {1, 2, 3}, other[3] = {1, 2, 4};
  EXPECT_EQ(DepthOf(high, nullptr, 3), SampleDepth::k8);
  EXPECT_EQ(DepthOf(high, same, 3), SampleDepth::k16Wide);
  EXPECT_EQ(DepthOf(high, other, 3), SampleDepth::k16);
}

TEST(LowByteCoderTest, RoundtripsEveryLayoutAndSize) {
  for (int c = 1; c <= 4; ++c) {
    ExpectRoundtrip(Smooth(1, 1, c, 0, 1));
    ExpectRoundtrip(Smooth(9, 1, c, 30, 2));
    ExpectRoundtrip(Smooth(1, 7, c, 30, 3));
    ExpectRoundtrip(Smooth(23, 17, c, 200, 4));
  }
  // Every low byte value next to every high byte, including the cells' edges where the prediction is clamped.
  Planes p{256, 16, 1, std::vector<uint8_t>(256 * 16), std::vector<uint8_t>(256 * 16)};
  std::mt19937_64 rng(5);
  for (size_t i = 0; i < p.high.size(); ++i) {
    p.high[i] = static_cast<uint8_t>(i % 256 ^ (i / 256) * 37);
    p.low[i] = static_cast<uint8_t>(rng());
  }
  ExpectRoundtrip(p);
}

TEST(LowByteCoderTest, CostFollowsWhatTheLowBytesHold) {
  // Noise in the low bytes cannot be compressed (the test can fail: it bounds from below).
  Planes noise = Smooth(64, 48, 3, 0, 6);
  std::mt19937_64 rng(7);
  for (auto& v : noise.low) v = static_cast<uint8_t>(rng());
  const double noise_bits = ExpectRoundtrip(noise);
  EXPECT_GT(noise_bits, 7.9);
  EXPECT_LT(noise_bits, 8.2);  // the adaptive models cost little over the 8 bits
  // A smooth 16-bit image with noise of σ = 2 (16-bit units): the plane predictor's error has σ = 4, about 4 bits.
  const double smooth_bits = ExpectRoundtrip(Smooth(64, 48, 3, 2, 8));
  EXPECT_LT(smooth_bits, 5.0);
  // Sources of fewer bits stored as 16: only the values they use are coded. A 12-bit one stored as v·16 (16 values
  // a cell), a 10-bit one scaled to 16 bits (v·65535/1023: 4 values a cell), an 8-bit one as v·256 (one value a
  // cell: the value set alone).
  Planes twelve = Smooth(64, 48, 3, 2, 8);
  for (auto& v : twelve.low) v &= 0xF0;
  EXPECT_LT(ExpectRoundtrip(twelve), smooth_bits - 2.5);
  Planes ten = Smooth(64, 48, 3, 2, 8);
  for (size_t i = 0; i < ten.low.size(); ++i) {
    const int v10 = (ten.high[i] << 8 | ten.low[i]) >> 6;
    const int v16 = (v10 * 65535 + 511) / 1023;
    ten.high[i] = static_cast<uint8_t>(v16 >> 8);
    ten.low[i] = static_cast<uint8_t>(v16 & 255);
  }
  EXPECT_LT(ExpectRoundtrip(ten), 2.2);
  Planes eight = Smooth(64, 48, 3, 2, 8);
  std::fill(eight.low.begin(), eight.low.end(), 0);
  EXPECT_LT(ExpectRoundtrip(eight), 0.05);
}

TEST(LowByteCoderTest, TruncationIsReported) {
  Planes p = Smooth(64, 64, 3, 500, 9);
  Coded c = Encode(p);
  c.bytes.resize(c.bytes.size() / 2 / 4 * 4);
  bitstream::AnsDecoder dec(c.bytes.data(), c.bytes.size());
  std::vector<uint8_t> low(p.low.size());
  EXPECT_EQ(DecodeLowBytes(dec, p.high.data(), p.w, p.h, p.c, low.data()).code(), StatusCode::kTruncated);
}

TEST(AdaptiveSymbolsTest, TablesSumToTheTotalAndAdapt) {
  AdaptiveSymbols m(9);
  bitstream::AnsEncoder enc;
  double first = 0, last = 0;
  std::vector<int> sent;
  std::mt19937_64 rng(10);
  for (int i = 0; i < 5000; ++i) {
    const int s = rng() % 10 == 0 ? static_cast<int>(rng() % 9) : 3;  // mostly 3
    double bits = 0;
    m.Put(enc, s, &bits);
    if (i == 0) first = bits;
    if (s == 3) last = bits;
    sent.push_back(s);
  }
  EXPECT_NEAR(first, std::log2(9.0), 1e-3);  // uniform at the start
  EXPECT_LT(last, 0.3);                      // and it learns that 3 is frequent
  std::vector<uint8_t> bytes = enc.Finish();
  bitstream::AnsDecoder dec(bytes.data(), bytes.size());
  AdaptiveSymbols d(9);
  for (int s : sent) {
    auto got = d.Get(dec, nullptr);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(*got, s);
  }
  EXPECT_TRUE(dec.Finish().ok());
}

}  // namespace
}  // namespace dcodec::codec
