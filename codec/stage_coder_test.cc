#include "codec/stage_coder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "codec/test_toy.h"

namespace dcodec::codec {
namespace {

using testing::MakeToy;
using testing::Toy;

TEST(StageCoderTest, DitheredStageRoundtripExactAndNearIdeal) {
  const size_t n = 30000;
  Toy toy = MakeToy(n, 0.1, 1);
  DitherStage st{0.5, 0.7, std::sqrt(12 * 0.01), DitherKey(3, 1)};
  Cells enc_cells(n), dec_cells(n);
  Belief belief = ChooseDitherBelief(st, enc_cells, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), n);
  bitstream::AnsEncoder enc;
  enc.Put(0, 1 << 23);  // sentinel before
  std::vector<float> xs(n), xs_dec(n);
  std::vector<int32_t> sym(n), sym_dec(n);
  double ideal = 0;
  ASSERT_TRUE(EncodeDitherStage(st, belief, enc_cells, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), n, enc,
                                xs.data(), sym.data(), &ideal)
                  .ok());
  enc.Put(1 << 23, 1 << 23);  // sentinel after
  auto bytes = enc.Finish();
  EXPECT_LT(bytes.size() * 8.0, ideal * 1.01 + 64);

  bitstream::AnsDecoder dec(bytes.data(), bytes.size());
  ASSERT_EQ(dec.Peek() >> 23, 0u);
  ASSERT_TRUE(dec.Advance(0, 1 << 23).ok());
  ASSERT_TRUE(
      DecodeDitherStage(st, belief, dec_cells, toy.x_t.data(), toy.x0_hat.data(), n, dec, xs_dec.data(), sym_dec.data())
          .ok());
  ASSERT_EQ(dec.Peek() >> 23, 1u);
  ASSERT_TRUE(dec.Advance(1 << 23, 1 << 23).ok());
  EXPECT_TRUE(dec.Finish().ok());
  EXPECT_EQ(sym, sym_dec);
  EXPECT_EQ(xs, xs_dec);
  // Both sides proved the same cells, and every pixel lies in its own.
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(enc_cells.lo(i), dec_cells.lo(i));
    ASSERT_EQ(enc_cells.hi(i), dec_cells.hi(i));
    ASSERT_LE(enc_cells.lo(i), toy.pixels[i]);
    ASSERT_GE(enc_cells.hi(i), toy.pixels[i]);
  }
  // Universal quantization: x_s − μ̃ lies within ±Δ/2 and has the posterior's variance.
  double sum_sq = 0;
  for (size_t i = 0; i < n; ++i) {
    double mu = st.coef_x0 * toy.x0[i] + st.coef_xt * toy.x_t[i];
    double e = xs[i] - mu;
    ASSERT_LE(std::abs(e), st.step / 2 + 1e-6);
    sum_sq += e * e;
  }
  EXPECT_NEAR(sum_sq / n, 0.01, 0.0005);
}

TEST(StageCoderTest, BetterEstimateCostsFewerBits) {
  const size_t n = 20000;
  DitherStage st{0.5, 0.7, std::sqrt(12 * 0.001), DitherKey(3, 2)};
  double bits[2];
  int i = 0;
  for (double err : {0.02, 0.2}) {
    Toy toy = MakeToy(n, err, 2);
    Cells cells(n);
    Belief b = ChooseDitherBelief(st, cells, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), n);
    bitstream::AnsEncoder enc;
    std::vector<float> xs(n);
    std::vector<int32_t> sym(n);
    bits[i] = 0;
    ASSERT_TRUE(EncodeDitherStage(st, b, cells, toy.x_t.data(), toy.x0_hat.data(), toy.pixels.data(), n, enc, xs.data(),
                                  sym.data(), &bits[i])
                    .ok());
    ++i;
  }
  EXPECT_LT(bits[0] * 1.5, bits[1]);
}

TEST(StageCoderTest, PixelStageLosslessRoundtrip) {
  const int width = 100, height = 67;
  const size_t n = 3 * width * height;
  Toy toy = MakeToy(n, 0.03, 4);
  const std::vector<uint8_t>& pixels = toy.pixels;
  std::vector<uint8_t> back(n);
  Cells cells(n);
  Belief b = ChoosePixelBelief(cells, toy.x0_hat.data(), pixels.data(), width, height);
  bitstream::AnsEncoder enc;
  double ideal = 0;
  ASSERT_TRUE(EncodePixelStage(b, cells, toy.x0_hat.data(), pixels.data(), width, height, enc, &ideal).ok());
  auto bytes = enc.Finish();
  EXPECT_LT(bytes.size() * 8.0, ideal * 1.01 + 64);
  EXPECT_LT(ideal / n, 5.0);  // error std 0.03 ≈ 3.8 levels: about 3.9 bits, far below 8
  bitstream::AnsDecoder dec(bytes.data(), bytes.size());
  ASSERT_TRUE(DecodePixelStage(b, cells, toy.x0_hat.data(), width, height, dec, back.data()).ok());
  EXPECT_TRUE(dec.Finish().ok());
  EXPECT_EQ(pixels, back);
}

}  // namespace
}  // namespace dcodec::codec
