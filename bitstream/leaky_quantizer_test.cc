#include "bitstream/leaky_quantizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace dcodec::bitstream {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Sci(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3g", v);
  return buffer;
}

double ExactCdf(Family family, double z) {
  return family == Family::kGaussian ? 0.5 * std::erfc(-z / std::sqrt(2.0)) : 1.0 / (1.0 + std::exp(-z));
}

// The same integer construction as Cdf(), with libm's F instead of the table (the test may use libm).
uint32_t ReferenceCdf(const QuantizedContinuous& d, int64_t k) {
  if (k <= d.lo) return 0;
  if (k > d.hi) return kProbabilityTotal;
  const double m = kProbabilityTotal - (int64_t{d.hi} - d.lo + 1);
  return static_cast<uint32_t>(std::floor(ExactCdf(d.family, (k - 0.5 - d.mean) / d.scale) * m)) +
         static_cast<uint32_t>(k - d.lo);
}

QuantizedContinuous RandomDistribution(std::mt19937_64& rng) {
  QuantizedContinuous d;
  d.family = rng() % 2 ? Family::kGaussian : Family::kLogistic;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  d.scale = std::exp2(-4.0 + 12.0 * u(rng));  // 1/16 .. 256
  d.mean = (u(rng) - 0.5) * 200.0;
  const int32_t half = 1 << static_cast<int>(rng() % 11);  // supports from 3 to 2049 symbols
  d.lo = -half;
  d.hi = half;
  return d;
}

int32_t Sample(const QuantizedContinuous& d, std::mt19937_64& rng) {
  double x;
  if (d.family == Family::kGaussian) {
    x = std::normal_distribution<double>(d.mean, d.scale)(rng);
  } else {
    const double u = std::uniform_real_distribution<double>(1e-12, 1.0 - 1e-12)(rng);
    x = d.mean + d.scale * std::log(u / (1.0 - u));
  }
  return static_cast<int32_t>(std::clamp(std::round(x), static_cast<double>(d.lo), static_cast<double>(d.hi)));
}

void ExpectValidTable(const QuantizedContinuous& d) {
  ASSERT_TRUE(ValidateParams(d).ok());
  EXPECT_EQ(Cdf(d, d.lo), 0u);
  EXPECT_EQ(Cdf(d, int64_t{d.hi} + 1), kProbabilityTotal);
  uint32_t previous = 0;
  for (int64_t k = int64_t{d.lo} + 1; k <= int64_t{d.hi} + 1; ++k) {
    const uint32_t c = Cdf(d, k);
    ASSERT_GT(c, previous) << "k " << k << " mean " << d.mean << " scale " << d.scale;
    previous = c;
  }
}

TEST(LeakyQuantizerTest, CdfIsStrictlyMonotoneWithExactTotals) {
  std::mt19937_64 rng(10);
  for (int i = 0; i < 300; ++i) ExpectValidTable(RandomDistribution(rng));
  for (Family family : {Family::kGaussian, Family::kLogistic}) {
    for (double scale : {1e-300, 1e-9, 1e-3, 0.5, 1.0, 1e3, 1e9, 1e300}) {
      for (double mean : {-1e300, -3.5, 0.0, 0.5, 2.25, 1e300}) {
        ExpectValidTable({family, mean, scale, -20, 20});
        ExpectValidTable({family, mean, scale, 7, 7});
      }
    }
  }
  ExpectValidTable({Family::kGaussian, 0.0, 1.0, -(1 << 19), (1 << 19) - 1});  // the largest support
  ExpectValidTable(
      {Family::kLogistic, 2e9, 3.0, std::numeric_limits<int32_t>::max() - 10, std::numeric_limits<int32_t>::max()});
}

TEST(LeakyQuantizerTest, TinyScalePutsAllButTheLeakOnOneSymbol) {
  const QuantizedContinuous d{Family::kGaussian, 3.2, 1e-6, -10, 10};
  EXPECT_EQ(Cdf(d, 4) - Cdf(d, 3), kProbabilityTotal - 20);
  EXPECT_NEAR(IdealBits(d, 3), 0.0, 2e-6);
  EXPECT_NEAR(IdealBits(d, -10), 24.0, 1e-9);
}

TEST(LeakyQuantizerTest, BadParametersAreInvalidArguments) {
  AnsEncoder enc;
  const std::vector<QuantizedContinuous> bad = {
      {Family::kGaussian, kNaN, 1.0, 0, 10},     {Family::kGaussian, kInf, 1.0, 0, 10},
      {Family::kGaussian, 0.0, kNaN, 0, 10},     {Family::kGaussian, 0.0, kInf, 0, 10},
      {Family::kGaussian, 0.0, 0.0, 0, 10},      {Family::kLogistic, 0.0, -1.0, 0, 10},
      {Family::kGaussian, 0.0, 1.0, 10, 0},      {Family::kGaussian, 0.0, 1.0, 0, 1 << 20},
      {static_cast<Family>(7), 0.0, 1.0, 0, 10},
  };
  for (const QuantizedContinuous& d : bad) {
    EXPECT_EQ(ValidateParams(d).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(EncodeSymbol(enc, d, 5).code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(std::isinf(IdealBits(d, 5)));
  }
  const QuantizedContinuous good{Family::kGaussian, 0.0, 1.0, -3, 3};
  EXPECT_EQ(EncodeSymbol(enc, good, 4).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeSymbol(enc, good, -4).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(enc.num_symbols(), 0u);
  const std::vector<uint8_t> bytes = enc.Finish();
  AnsDecoder dec(bytes.data(), bytes.size());
  EXPECT_EQ(DecodeSymbol(dec, bad[0]).status().code(), StatusCode::kInvalidArgument);
}

// Table accuracy: with scale 2^16 and mean -1/2, z = k / 2^16 exactly, so Cdf() samples F on a fine grid.
TEST(LeakyQuantizerTest, TableMatchesLibm) {
  for (Family family : {Family::kGaussian, Family::kLogistic}) {
    const QuantizedContinuous d{family, -0.5, 65536.0, -(1 << 19), (1 << 19) - 1};
    const double m = kProbabilityTotal - (int64_t{d.hi} - d.lo + 1);
    double max_error = 0.0;
    for (int64_t k = d.lo + 1; k <= d.hi; ++k) {
      const double table = (Cdf(d, k) - static_cast<double>(k - d.lo)) / m;
      max_error = std::max(max_error, std::abs(table - ExactCdf(family, k / 65536.0)));
    }
    // Linear interpolation error h^2/8 max|F''| with h = 2^-7: 1.85e-6 (Gaussian), 7.4e-7 (logistic), + 1/M.
    EXPECT_LT(max_error, family == Family::kGaussian ? 2.5e-6 : 1.0e-6);
    RecordProperty(family == Family::kGaussian ? "gaussian_max_error" : "logistic_max_error", Sci(max_error));
  }
}

// What the interpolation costs in rate: the table's ideal bits against the same integer construction with libm.
TEST(LeakyQuantizerTest, RateOverheadOfTable) {
  std::mt19937_64 rng(11);
  double table_bits = 0.0, reference_bits = 0.0;
  for (int i = 0; i < 200000; ++i) {
    QuantizedContinuous d = RandomDistribution(rng);
    d.scale = std::exp2(-2.0 + 10.0 * std::uniform_real_distribution<double>(0.0, 1.0)(rng));
    d.mean = std::uniform_real_distribution<double>(-50.0, 50.0)(rng);
    d.lo = -1000, d.hi = 1000;
    const int32_t k = Sample(d, rng);
    table_bits += IdealBits(d, k);
    reference_bits += kPrecisionBits - std::log2(ReferenceCdf(d, k + 1) - ReferenceCdf(d, k));
  }
  const double overhead = table_bits / reference_bits - 1.0;
  EXPECT_LT(std::abs(overhead), 1e-4) << "overhead " << overhead;
  RecordProperty("table_rate_overhead", Sci(overhead));
}

TEST(LeakyQuantizerTest, MillionSymbolsRoundtripNearIdealRate) {
  std::mt19937_64 rng(12);
  constexpr int kSymbols = 1000000;
  std::vector<QuantizedContinuous> models;
  std::vector<int32_t> symbols;
  models.reserve(kSymbols);
  symbols.reserve(kSymbols);
  AnsEncoder enc;
  double ideal_bits = 0.0;
  for (int i = 0; i < kSymbols; ++i) {
    if (i % 16 == 0)
      models.push_back(RandomDistribution(rng));
    else
      models.push_back(models.back());
    models.back().mean += 0.37;  // every element its own mean
    symbols.push_back(Sample(models.back(), rng));
    ASSERT_TRUE(EncodeSymbol(enc, models.back(), symbols.back()).ok());
    ideal_bits += IdealBits(models.back(), symbols.back());
  }
  const std::vector<uint8_t> bytes = enc.Finish();
  AnsDecoder dec(bytes.data(), bytes.size());
  for (int i = 0; i < kSymbols; ++i) {
    const StatusOr<int32_t> k = DecodeSymbol(dec, models[i]);
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    ASSERT_EQ(*k, symbols[i]) << "symbol " << i;
  }
  EXPECT_TRUE(dec.Finish().ok());
  const double real_bits = 8.0 * bytes.size();
  EXPECT_LT(real_bits, ideal_bits * 1.005);
  EXPECT_GT(real_bits, ideal_bits);
  RecordProperty("overhead_percent", Sci(100.0 * (real_bits / ideal_bits - 1.0)));
}

TEST(LeakyQuantizerTest, ExtremeDistributionsRoundtrip) {
  std::mt19937_64 rng(13);
  std::vector<std::pair<QuantizedContinuous, int32_t>> items;
  for (Family family : {Family::kGaussian, Family::kLogistic}) {
    for (double scale : {1e-300, 1e-6, 0.01, 1.0, 1e4, 1e300}) {
      for (double mean : {-1e300, -100.5, 0.0, 0.49999, 3.5, 1e300}) {
        const QuantizedContinuous d{family, mean, scale, -(1 << 10), 1 << 10};
        for (int32_t k : {d.lo, d.lo + 1, -1, 0, 1, 4, d.hi - 1, d.hi}) items.push_back({d, k});
        items.push_back({d, d.lo + static_cast<int32_t>(rng() % 2049)});
      }
    }
  }
  items.push_back({{Family::kGaussian, 0.0, 1.0, 5, 5}, 5});  // one-symbol support: zero bits
  AnsEncoder enc;
  for (const auto& [d, k] : items) ASSERT_TRUE(EncodeSymbol(enc, d, k).ok());
  const std::vector<uint8_t> bytes = enc.Finish();
  AnsDecoder dec(bytes.data(), bytes.size());
  for (const auto& [d, k] : items) {
    const StatusOr<int32_t> decoded = DecodeSymbol(dec, d);
    ASSERT_TRUE(decoded.ok());
    ASSERT_EQ(*decoded, k) << d.mean << " " << d.scale;
  }
  EXPECT_TRUE(dec.Finish().ok());
}

TEST(CategoricalTest, FrequenciesAreDeterministicAndLeaky) {
  const StatusOr<Categorical> c = Categorical::FromCounts({1, 0, 3});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->freq(0), 4194304u);  // 1 + floor(1 * M / 4), M = 2^24 - 3
  EXPECT_EQ(c->freq(1), 1u);
  EXPECT_EQ(c->freq(2), 12582911u);  // 1 + floor(3 * M / 4) + the one leftover unit (largest remainder)
  EXPECT_EQ(c->cum(3), kProbabilityTotal);

  const StatusOr<Categorical> uniform = Categorical::FromCounts({0, 0, 0, 0});
  ASSERT_TRUE(uniform.ok());
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(uniform->freq(i), kProbabilityTotal / 4);

  EXPECT_EQ(Categorical::FromCounts({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Categorical::FromCounts(std::vector<uint32_t>((1 << 20) + 1, 1)).status().code(),
            StatusCode::kInvalidArgument);
  const StatusOr<Categorical> big = Categorical::FromCounts({0xFFFFFFFFu, 0xFFFFFFFFu, 0, 1});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->cum(4), kProbabilityTotal);
  EXPECT_GE(big->freq(2), 1u);
}

TEST(CategoricalTest, RoundtripNearIdealRate) {
  std::mt19937_64 rng(14);
  for (int alphabet : {1, 2, 5, 256, 5000, 70000}) {
    std::vector<uint32_t> counts(alphabet);
    for (uint32_t& c : counts) c = rng() % 4 == 0 ? 0 : static_cast<uint32_t>(rng() % 1000);
    const StatusOr<Categorical> model = Categorical::FromCounts(counts);
    ASSERT_TRUE(model.ok());
    std::discrete_distribution<uint32_t> dist(counts.begin(), counts.end());
    std::vector<uint32_t> symbols(200000);
    AnsEncoder enc;
    double ideal = 0.0;
    for (uint32_t& s : symbols) {
      s = alphabet == 1 ? 0 : dist(rng);
      if (rng() % 1000 == 0) s = static_cast<uint32_t>(rng() % alphabet);  // some zero-count symbols too
      ASSERT_TRUE(model->Encode(enc, s).ok());
      ideal += model->IdealBits(s);
    }
    EXPECT_EQ(model->Encode(enc, alphabet).code(), StatusCode::kInvalidArgument);
    const std::vector<uint8_t> bytes = enc.Finish();
    AnsDecoder dec(bytes.data(), bytes.size());
    for (uint32_t s : symbols) {
      const StatusOr<uint32_t> decoded = model->Decode(dec);
      ASSERT_TRUE(decoded.ok());
      ASSERT_EQ(*decoded, s);
    }
    EXPECT_TRUE(dec.Finish().ok());
    if (ideal > 1e5) {
      EXPECT_LT(8.0 * bytes.size(), ideal * 1.005) << alphabet;
    }
  }
}

TEST(UniformTest, Roundtrip) {
  std::mt19937_64 rng(15);
  const std::vector<uint32_t> ranges = {1, 2, 3, 255, 256, 65535, 65536, 65537, 1000000, 0x12345678u, 0xFFFFFFFFu};
  std::vector<std::pair<uint32_t, uint32_t>> items;  // (value, n)
  AnsEncoder enc;
  double ideal = 0.0;
  for (int i = 0; i < 20000; ++i) {
    const uint32_t n = ranges[rng() % ranges.size()];
    uint32_t value = static_cast<uint32_t>(rng() % n);
    if (i % 7 == 0) value = n - 1;
    items.push_back({value, n});
    EncodeUniform(enc, value, n);
    ideal += std::log2(static_cast<double>(n));
  }
  const std::vector<uint8_t> bytes = enc.Finish();
  AnsDecoder dec(bytes.data(), bytes.size());
  for (const auto& [value, n] : items) {
    const StatusOr<uint32_t> decoded = DecodeUniform(dec, n);
    ASSERT_TRUE(decoded.ok());
    ASSERT_EQ(*decoded, value) << n;
  }
  EXPECT_TRUE(dec.Finish().ok());
  EXPECT_LT(8.0 * bytes.size(), ideal * 1.02);
  EXPECT_EQ(DecodeUniform(dec, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST(LeakyQuantizerTest, GarbageNeverCrashes) {
  std::mt19937_64 rng(16);
  const StatusOr<Categorical> categorical = Categorical::FromCounts({5, 1, 0, 100, 7, 7, 7});
  ASSERT_TRUE(categorical.ok());
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> bytes(rng() % 100);
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    AnsDecoder dec(bytes.data(), bytes.size());
    const QuantizedContinuous d = RandomDistribution(rng);
    bool ok = true;
    for (int i = 0; i < 100 && ok; ++i) {
      switch (i % 3) {
        case 0: {
          const StatusOr<int32_t> k = DecodeSymbol(dec, d);
          ok = k.ok();
          if (ok) {
            ASSERT_TRUE(*k >= d.lo && *k <= d.hi);
          }
          break;
        }
        case 1: {
          const StatusOr<uint32_t> s = categorical->Decode(dec);
          ok = s.ok();
          if (ok) {
            ASSERT_LT(*s, categorical->size());
          }
          break;
        }
        default: {
          const StatusOr<uint32_t> v = DecodeUniform(dec, 1000003);
          ok = v.ok();
          if (ok) {
            ASSERT_LT(*v, 1000003u);
          }
        }
      }
    }
    (void)dec.Finish();
  }
}

}  // namespace
}  // namespace dcodec::bitstream
