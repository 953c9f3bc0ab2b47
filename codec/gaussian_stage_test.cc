#include "codec/gaussian_stage.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bitstream/leaky_quantizer.h"
#include "codec/entropy_model.h"
#include "codec/test_toy.h"

namespace dcodec::codec {
namespace {

TEST(GaussianStageTest, PortableLog2MatchesTheLibrary) {
  for (int e = -40; e <= 40; ++e) EXPECT_EQ(PortableLog2(std::ldexp(1.0, e)), e);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-30, 30);
  for (int i = 0; i < 10000; ++i) {
    const double x = std::exp2(u(rng));
    ASSERT_NEAR(PortableLog2(x), std::log2(x), 1e-13) << x;
  }
}

using testing::MakeToy;
using testing::Toy;

GaussianStage ToyStage(int index_bits, double block_bits) {
  return GaussianStage{0.5, 0.3, 0.4, DitherKey(7, 0), DitherKey(7, 1), index_bits, block_bits};
}

TEST(GaussianStageTest, BlocksCoverEverythingWithinTheirBudget) {
  const size_t n = 5000;
  Toy toy = MakeToy(n, 0.3, 1);
  const GaussianStage st = ToyStage(10, 8.0);
  const GaussianBelief b(st, 120, toy.x_t.data(), toy.x0_hat.data(), n);
  const std::vector<size_t> starts = GaussianBlocks(st, b);
  ASSERT_GE(starts.size(), 3u);
  EXPECT_EQ(starts.front(), 0u);
  EXPECT_EQ(starts.back(), n);
  double total = 0;
  for (size_t k = 0; k + 1 < starts.size(); ++k) {
    ASSERT_LT(starts[k], starts[k + 1]);
    double kl = 0;
    for (size_t e = starts[k]; e < starts[k + 1]; ++e) kl += 0.5 * std::log2(b.sigma(e) * b.sigma(e) / 0.16);
    EXPECT_LE(kl, 8.0 + 1e-9);
    if (k + 2 < starts.size()) {
      EXPECT_GT(kl, 7.0);  // full blocks: an element is far less than a bit
    }
    total += kl;
  }
  EXPECT_NEAR(total / (starts.size() - 1), 8.0, 0.5);
}

// The scale search finds the error's size: HeadScale(code, 0) near the RMS of x̂_0's error.
TEST(GaussianStageTest, ChosenScaleMatchesTheError) {
  for (double err : {0.05, 0.2, 0.6}) {
    Toy toy = MakeToy(20000, err, 2);
    double se = 0;
    for (size_t i = 0; i < toy.x0.size(); ++i) se += (toy.x0_hat[i] - toy.x0[i]) * (toy.x0_hat[i] - toy.x0[i]);
    const double rms = std::sqrt(se / toy.x0.size());
    const uint8_t code =
        ChooseGaussianScale(ToyStage(10, 8), toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), toy.pixels.size());
    EXPECT_NEAR(std::log2(HeadScale(code, 0)), std::log2(rms), 0.15) << err;
  }
}

// Roundtrip with sentinels, and what the decoder gets is close to a sample of q: x_s − μ̃ has about q's variance,
// far less than the belief's own draws would have.
TEST(GaussianStageTest, RoundtripIsExactAndSamplesQ) {
  const size_t n = 6000;
  const double err = 0.4;
  Toy toy = MakeToy(n, err, 3);
  const GaussianStage st = ToyStage(10, 8.0);
  const uint8_t code = ChooseGaussianScale(st, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), n);
  bitstream::AnsEncoder enc;
  enc.Put(0, 1 << 23);
  std::vector<float> xs(n), xs_dec(n);
  std::vector<uint32_t> idx, idx_dec;
  double ideal = 0, ideal_dec = 0;
  EncodeGaussianStage(st, code, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), n, enc, xs.data(), &idx, &ideal,
                      /*threads=*/2);
  enc.Put(1 << 23, 1 << 23);
  auto bytes = enc.Finish();
  EXPECT_EQ(ideal, 10.0 * idx.size());
  EXPECT_LT(bytes.size() * 8.0, ideal + 64);

  bitstream::AnsDecoder dec(bytes.data(), bytes.size());
  ASSERT_TRUE(dec.Advance(0, 1 << 23).ok());
  ASSERT_TRUE(
      DecodeGaussianStage(st, code, toy.x_t.data(), toy.x0_hat.data(), n, dec, xs_dec.data(), &idx_dec, &ideal_dec)
          .ok());
  ASSERT_EQ(dec.Peek() >> 23, 1u);
  ASSERT_TRUE(dec.Advance(1 << 23, 1 << 23).ok());
  EXPECT_TRUE(dec.Finish().ok());
  EXPECT_EQ(idx, idx_dec);
  EXPECT_EQ(xs, xs_dec);
  EXPECT_EQ(ideal, ideal_dec);

  // The same with one thread: the result does not depend on the thread count.
  bitstream::AnsEncoder enc1;
  std::vector<float> xs1(n);
  std::vector<uint32_t> idx1;
  EncodeGaussianStage(st, code, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), n, enc1, xs1.data(), &idx1,
                      nullptr, 1);
  EXPECT_EQ(idx1, idx);

  const GaussianBelief b(st, code, toy.x_t.data(), toy.x0_hat.data(), n);
  double se_q = 0, se_p = 0;
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal;
  for (size_t e = 0; e < n; ++e) {
    const double mq = st.coef_x0 * PixelToUnit(toy.pixels[e]) + st.coef_xt * toy.x_t[e];
    se_q += (xs[e] - mq) * (xs[e] - mq);
    const double draw = b.mean(e) + b.sigma(e) * normal(rng);
    se_p += (draw - mq) * (draw - mq);
  }
  const double var_q = st.sigma * st.sigma;
  // q's variance is 0.16; the belief's draws miss by σ_p² + (c0·err)² ≈ 0.20 + 0.04.
  EXPECT_LT(se_q / n, 1.15 * var_q);
  EXPECT_GT(se_q / n, 0.85 * var_q);
  EXPECT_GT(se_p / n, 1.35 * var_q);

  // A stream cut inside the indices reports truncation.
  bitstream::AnsEncoder cut;
  std::vector<float> tmp(n);
  std::vector<uint32_t> tmp_idx;
  EncodeGaussianStage(st, code, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), n, cut, tmp.data(), &tmp_idx,
                      nullptr);
  auto cut_bytes = cut.Finish();
  bitstream::AnsDecoder short_dec(cut_bytes.data(), cut_bytes.size() / 2);
  EXPECT_EQ(DecodeGaussianStage(st, code, toy.x_t.data(), toy.x0_hat.data(), n, short_dec, tmp.data(), &tmp_idx).code(),
            StatusCode::kTruncated);
}

// SignalTransfer: 1 for q's own mean, 0 for the belief's; a well-fed stage's sample carries most of q's pull, a
// starved one's (blocks of 8 expected bits, 2^3 candidates) much less.
TEST(GaussianStageTest, SignalTransferFallsWhereBlocksStarve) {
  const size_t n = 6000;
  Toy toy = MakeToy(n, 0.4, 3);
  const GaussianStage fed = ToyStage(12, 4.0), starved = ToyStage(3, 8.0);
  const uint8_t code = ChooseGaussianScale(fed, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), n);
  const GaussianBelief b(fed, code, toy.x_t.data(), toy.x0_hat.data(), n);
  std::vector<float> mq(n), mp(n);
  for (size_t e = 0; e < n; ++e) {
    mq[e] = static_cast<float>(fed.coef_x0 * PixelToUnit(toy.pixels[e]) + fed.coef_xt * toy.x_t[e]);
    mp[e] = static_cast<float>(b.mean(e));
  }
  auto transfer = [&](const GaussianStage& st, const std::vector<float>& xs) {
    return SignalTransfer(st, code, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), xs.data(), n);
  };
  EXPECT_NEAR(transfer(fed, mq), 1.0, 1e-6);
  EXPECT_NEAR(transfer(fed, mp), 0.0, 1e-6);
  double got[2];
  int k = 0;
  for (const GaussianStage& st : {fed, starved}) {
    bitstream::AnsEncoder enc;
    std::vector<float> xs(n);
    std::vector<uint32_t> idx;
    EncodeGaussianStage(st, code, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), n, enc, xs.data(), &idx,
                        nullptr);
    got[k++] = transfer(st, xs);
  }
  EXPECT_GT(got[0], 0.85);
  EXPECT_LT(got[1], 0.7 * got[0]);
}

// Format 9's per-stage settings: a stage with the stream's settings costs one bit, one with its own 1 + 4 + log2(255);
// both come back as written, with a sentinel after them; a stream cut inside them reports truncation.
TEST(GaussianStageTest, StageSettingsRoundtrip) {
  const StageSettings stream{10, 32};
  const std::vector<StageSettings> written = {stream, {12, 24}, {1, 1}, {16, 255}, {10, 33}, stream};
  bitstream::AnsEncoder enc;
  double bits = 0;
  for (const StageSettings& s : written) bits += EncodeStageSettings(enc, s, stream);
  bitstream::EncodeUniform(enc, 12345, 1 << 20);
  EXPECT_DOUBLE_EQ(bits, 2 * 1 + 4 * (5 + std::log2(255.0)));
  const auto bytes = enc.Finish();
  bitstream::AnsDecoder dec(bytes.data(), bytes.size());
  double read_bits = 0;
  for (const StageSettings& s : written) {
    double b = 0;
    auto got = DecodeStageSettings(dec, stream, &b);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, s);
    read_bits += b;
  }
  EXPECT_DOUBLE_EQ(read_bits, bits);
  EXPECT_EQ(*bitstream::DecodeUniform(dec, 1 << 20), 12345u);
  EXPECT_TRUE(dec.Finish().ok());

  bitstream::AnsEncoder one;
  EncodeStageSettings(one, {12, 24}, stream);
  const auto one_bytes = one.Finish();
  bitstream::AnsDecoder empty(one_bytes.data(), 0);
  EXPECT_EQ(DecodeStageSettings(empty, stream).status().code(), StatusCode::kTruncated);

  // WithSettings changes the candidates and the budget only.
  const GaussianStage st = WithSettings(ToyStage(10, 8.0), {12, 24});
  EXPECT_EQ(st.index_bits, 12);
  EXPECT_EQ(st.block_bits, 6.0);
  EXPECT_EQ(st.sigma, ToyStage(10, 8.0).sigma);
}

}  // namespace
}  // namespace dcodec::codec
