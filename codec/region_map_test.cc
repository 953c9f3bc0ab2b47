#include "codec/region_map.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bitstream/leaky_quantizer.h"
#include "codec/entropy_model.h"
#include "codec/gaussian_stage.h"
#include "codec/test_toy.h"

namespace dcodec::codec {
namespace {

TEST(RegionMapTest, WeightsArePowersOfRootTwo) {
  EXPECT_EQ(RegionMap::Weight(0), 1.0);
  EXPECT_EQ(RegionMap::Weight(2), 2.0);
  EXPECT_EQ(RegionMap::Weight(6), 8.0);
  EXPECT_EQ(RegionMap::Weight(-2), 0.5);
  EXPECT_EQ(RegionMap::Weight(-4), 0.25);
  for (int k = RegionMap::kMinClass; k < RegionMap::kMaxClass; ++k) {
    EXPECT_NEAR(RegionMap::Weight(k + 1) / RegionMap::Weight(k), std::sqrt(2.0), 1e-15) << k;
  }
  EXPECT_EQ(RegionMap::Weight(-1), RegionMap::Weight(1) / 2);
  EXPECT_EQ(RegionMap::Weight(-3), RegionMap::Weight(1) / 4);
}

// 32×32 regions over (y, x), shared by the planes; the last row and column are smaller.
TEST(RegionMapTest, RegionsTileThePicture) {
  static_assert(RegionMap::kRegion == 32);
  const RegionMap map(66, 40);
  EXPECT_EQ(map.cols(), 3);
  EXPECT_EQ(map.rows(), 2);
  ASSERT_EQ(map.regions(), 6u);
  const size_t plane = 66 * 40;
  auto at = [&](int c, int y, int x) { return map.RegionOf(c * plane + static_cast<size_t>(y) * 66 + x); };
  EXPECT_EQ(at(0, 0, 0), 0u);
  EXPECT_EQ(at(0, 0, 31), 0u);
  EXPECT_EQ(at(0, 0, 32), 1u);
  EXPECT_EQ(at(1, 31, 64), 2u);
  EXPECT_EQ(at(2, 32, 0), 3u);
  EXPECT_EQ(at(2, 39, 65), 5u);
  EXPECT_EQ(RegionMap(32, 32).regions(), 1u);
  RegionMap m(10, 10);
  m.set_class(0, 40);
  EXPECT_EQ(m.klass(0), RegionMap::kMaxClass);
  m.set_class(0, -40);
  EXPECT_EQ(m.klass(0), RegionMap::kMinClass);
}

// Every class comes back, with a sentinel after the map; a stream cut inside it reports truncation.
TEST(RegionMapTest, MapRoundtrip) {
  RegionMap map(1000, 700);  // 16 × 11 regions
  std::mt19937_64 rng(4);
  std::uniform_int_distribution<int> k(RegionMap::kMinClass, RegionMap::kMaxClass);
  for (size_t r = 0; r < map.regions(); ++r) map.set_class(r, r % 7 == 0 ? k(rng) : -1);
  bitstream::AnsEncoder enc;
  const double bits = EncodeRegionMap(enc, map);
  bitstream::EncodeUniform(enc, 1234, 4096);
  const std::vector<uint8_t> bytes = enc.Finish();
  EXPECT_GT(bits, 0);
  EXPECT_LT(bits, 2.0 * map.regions());  // mostly one class: well under log2(11) a region
  EXPECT_LT(bytes.size() * 8.0, bits + 12 + 64);

  bitstream::AnsDecoder dec(bytes.data(), bytes.size());
  double got_bits = 0;
  const StatusOr<RegionMap> got = DecodeRegionMap(dec, 1000, 700, &got_bits);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == map);
  EXPECT_DOUBLE_EQ(got_bits, bits);
  const StatusOr<uint32_t> sentinel = bitstream::DecodeUniform(dec, 4096);
  ASSERT_TRUE(sentinel.ok());
  EXPECT_EQ(*sentinel, 1234u);
  EXPECT_TRUE(dec.Finish().ok());

  bitstream::AnsDecoder short_dec(bytes.data(), 4);
  StatusOr<RegionMap> cut = DecodeRegionMap(short_dec, 1000, 700);
  EXPECT_FALSE(cut.ok());
}

GaussianStage ToyStage() { return GaussianStage{0.5, 0.3, 0.4, DitherKey(7, 0), DitherKey(7, 1), 10, 8.0}; }

// A 64×32 picture (two regions, three planes) whose x̂_0 is right in the left region and wrong in the right one.
struct TwoRegions {
  static constexpr int kW = 64, kH = 32;
  static constexpr size_t kN = 3 * kW * kH;
  testing::Toy toy = testing::MakeToy(kN, 0.0, 6);
  TwoRegions(double left_err, double right_err) {
    std::mt19937_64 rng(8);
    std::normal_distribution<double> normal;
    for (size_t e = 0; e < kN; ++e) {
      const double err = (e % kW) < 32 ? left_err : right_err;
      toy.x0_hat[e] = static_cast<float>(std::clamp(toy.x0[e] + err * normal(rng), -1.0, 1.0));
    }
  }
};

// The encoder's classes follow the real KL: the wrong region gets a higher class, by about 2·log2 of the ratio.
TEST(RegionMapTest, ChosenClassesFollowTheRealKl) {
  TwoRegions pic(0.05, 0.5);
  const GaussianStage st = ToyStage();
  const auto& t = pic.toy;
  const uint8_t code = ChooseGaussianScale(st, t.x_t.data(), t.x0_hat.data(), t.pixels.data(), TwoRegions::kN);
  const GaussianBelief b(st, code, t.x_t.data(), t.x0_hat.data(), TwoRegions::kN);
  const RegionMap map = ChooseRegionMap(st, b, t.x_t.data(), t.pixels.data(), TwoRegions::kW, TwoRegions::kH, 0.0);
  ASSERT_EQ(map.regions(), 2u);
  double real[2] = {0, 0}, expected[2] = {0, 0};
  for (size_t e = 0; e < TwoRegions::kN; ++e) {
    const double vq = st.sigma * st.sigma, vp = b.sigma(e) * b.sigma(e);
    const double d = st.coef_x0 * PixelToUnit(t.pixels[e]) + st.coef_xt * t.x_t[e] - b.mean(e);
    const size_t r = map.RegionOf(e);
    expected[r] += 0.5 * std::log2(vp / vq);
    real[r] += 0.5 * std::log2(vp / vq) + ((vq + d * d) / (2 * vp) - 0.5) / std::log(2.0);
  }
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(map.klass(r), std::clamp(static_cast<int>(std::lround(2 * std::log2(real[r] / expected[r]))),
                                       RegionMap::kMinClass, RegionMap::kMaxClass));
  }
  EXPECT_GE(map.klass(1), map.klass(0) + 2);
  const RegionMap shifted = ChooseRegionMap(st, b, t.x_t.data(), t.pixels.data(), TwoRegions::kW, TwoRegions::kH, -1.0);
  for (int r = 0; r < 2; ++r) EXPECT_EQ(shifted.klass(r), std::max(map.klass(r) - 1, RegionMap::kMinClass));
}

// The blocks follow the map: each full block's weighed expected KL is within the budget, and a region of class 2
// has about twice as many blocks as it would unweighed.
TEST(RegionMapTest, BlocksFollowTheMap) {
  TwoRegions pic(0.2, 0.2);
  GaussianStage st = ToyStage();
  const auto& t = pic.toy;
  const GaussianBelief b(st, 120, t.x_t.data(), t.x0_hat.data(), TwoRegions::kN);
  RegionMap map(TwoRegions::kW, TwoRegions::kH);
  map.set_class(1, 2);
  const std::vector<size_t> plain = GaussianBlocks(st, b);
  st.map = &map;
  const std::vector<size_t> weighed = GaussianBlocks(st, b);
  EXPECT_EQ(weighed.front(), 0u);
  EXPECT_EQ(weighed.back(), TwoRegions::kN);
  auto blocks_in = [&](const std::vector<size_t>& starts, size_t region) {
    size_t count = 0;
    for (size_t k = 0; k + 1 < starts.size(); ++k) count += map.RegionOf(starts[k]) == region;
    return static_cast<double>(count);
  };
  EXPECT_NEAR(blocks_in(weighed, 1) / blocks_in(plain, 1), 2.0, 0.15);
  EXPECT_NEAR(blocks_in(weighed, 0) / blocks_in(plain, 0), 1.0, 0.15);
  const double vq = st.sigma * st.sigma;
  for (size_t k = 0; k + 2 < weighed.size(); ++k) {
    double kl = 0;
    for (size_t e = weighed[k]; e < weighed[k + 1]; ++e) {
      kl += 0.5 * std::log2(b.sigma(e) * b.sigma(e) / vq) * map.WeightOf(e);
    }
    ASSERT_LE(kl, st.block_bits + 1e-9);
  }
}

// With a map a stage whose error differs by region spends its index bits where the real KL is, and decodes exactly
// (the decoder reads the map and cuts the same blocks).
TEST(RegionMapTest, MapFeedsStarvedRegionsAndDecodesExactly) {
  TwoRegions pic(0.05, 0.6);
  GaussianStage st = ToyStage();
  const auto& t = pic.toy;
  const size_t n = TwoRegions::kN;
  const uint8_t code = ChooseGaussianScale(st, t.x_t.data(), t.x0_hat.data(), t.pixels.data(), n);
  const RegionMap map = ChooseRegionMap(st, GaussianBelief(st, code, t.x_t.data(), t.x0_hat.data(), n), t.x_t.data(),
                                        t.pixels.data(), TwoRegions::kW, TwoRegions::kH, -1.0);
  std::vector<float> plain(n), mapped(n), decoded(n);
  std::vector<uint32_t> idx, idx_mapped, idx_decoded;
  bitstream::AnsEncoder enc_plain, enc;
  EncodeGaussianStage(st, code, t.x_t.data(), t.x0_hat.data(), t.pixels.data(), n, enc_plain, plain.data(), &idx,
                      nullptr);
  GaussianStage with_map = st;
  with_map.map = &map;
  EncodeRegionMap(enc, map);
  EncodeGaussianStage(with_map, code, t.x_t.data(), t.x0_hat.data(), t.pixels.data(), n, enc, mapped.data(),
                      &idx_mapped, nullptr, /*threads=*/2);
  // The wrong region's blocks are shorter, the right one's (where index bits were wasted) far longer: the index bits
  // move to where the real KL is, and there are fewer of them.
  EXPECT_GT(map.klass(1), map.klass(0));
  auto share_right = [&](const GaussianStage& s) {
    const std::vector<size_t> starts = GaussianBlocks(s, GaussianBelief(s, code, t.x_t.data(), t.x0_hat.data(), n));
    double right = 0;
    for (size_t k = 0; k + 1 < starts.size(); ++k) right += map.RegionOf(starts[k]) == 1;
    return right / static_cast<double>(starts.size() - 1);
  };
  EXPECT_GT(share_right(with_map), share_right(st) + 0.2);
  EXPECT_LT(idx_mapped.size(), 0.9 * idx.size());

  const std::vector<uint8_t> bytes = enc.Finish();
  bitstream::AnsDecoder dec(bytes.data(), bytes.size());
  StatusOr<RegionMap> got = DecodeRegionMap(dec, TwoRegions::kW, TwoRegions::kH);
  ASSERT_TRUE(got.ok());
  GaussianStage dec_stage = st;
  dec_stage.map = &*got;
  ASSERT_TRUE(
      DecodeGaussianStage(dec_stage, code, t.x_t.data(), t.x0_hat.data(), n, dec, decoded.data(), &idx_decoded).ok());
  EXPECT_TRUE(dec.Finish().ok());
  EXPECT_EQ(idx_decoded, idx_mapped);
  EXPECT_EQ(decoded, mapped);
}

}  // namespace
}  // namespace dcodec::codec
