// Throughput and rate overhead of the rANS coder with its entropy models (bitstream/).
//
//   build-bitstream/bench/ans_gbench --benchmark_min_time=0.2
//
// Counters: symbols/s (encode or decode, one core) and overhead_% = real bytes over the sum of the models'
// ideal bits (-log2 of the integer probabilities actually used), in percent.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "bitstream/ans.h"
#include "bitstream/leaky_quantizer.h"

namespace dcodec::bitstream {
namespace {

constexpr int kSymbols = 1 << 20;

struct CategoricalData {
  Categorical model;
  std::vector<uint32_t> symbols;
  double ideal_bits = 0.0;
};

// 256 symbols with a two-sided geometric shape, like quantized residuals (entropy ~ 4.4 bits).
const CategoricalData& GetCategoricalData() {
  static const CategoricalData* data = [] {
    std::vector<uint32_t> counts(256);
    for (int i = 0; i < 256; ++i) counts[i] = static_cast<uint32_t>(1e6 * std::pow(0.8, std::abs(i - 128)));
    auto* d = new CategoricalData{*Categorical::FromCounts(counts), {}, 0.0};
    std::mt19937_64 rng(1);
    std::discrete_distribution<uint32_t> dist(counts.begin(), counts.end());
    d->symbols.resize(kSymbols);
    for (uint32_t& s : d->symbols) {
      s = dist(rng);
      d->ideal_bits += d->model.IdealBits(s);
    }
    return d;
  }();
  return *data;
}

struct GaussianData {
  std::vector<QuantizedContinuous> models;
  std::vector<int32_t> symbols;
  double ideal_bits = 0.0;
};

// Per-element Gaussians (scale 0.3 .. 30, random means), support [-512, 511], like a latent coder's elements.
const GaussianData& GetGaussianData() {
  static const GaussianData* data = [] {
    auto* d = new GaussianData;
    std::mt19937_64 rng(2);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    d->models.resize(kSymbols);
    d->symbols.resize(kSymbols);
    for (int i = 0; i < kSymbols; ++i) {
      QuantizedContinuous& m = d->models[i];
      m = {Family::kGaussian, (u(rng) - 0.5) * 100.0, 0.3 * std::pow(100.0, u(rng)), -512, 511};
      const double x = std::normal_distribution<double>(m.mean, m.scale)(rng);
      d->symbols[i] = static_cast<int32_t>(std::fmin(511.0, std::fmax(-512.0, std::round(x))));
      d->ideal_bits += IdealBits(m, d->symbols[i]);
    }
    return d;
  }();
  return *data;
}

void SetCounters(benchmark::State& state, size_t bytes, double ideal_bits) {
  state.counters["symbols/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kSymbols, benchmark::Counter::kIsRate);
  state.counters["overhead_%"] = 100.0 * (8.0 * static_cast<double>(bytes) / ideal_bits - 1.0);
  state.counters["bits/sym"] = 8.0 * static_cast<double>(bytes) / kSymbols;
}

void BM_CategoricalEncode(benchmark::State& state) {
  const CategoricalData& d = GetCategoricalData();
  AnsEncoder enc;
  size_t bytes = 0;
  for (auto _ : state) {
    for (uint32_t s : d.symbols) {
      if (!d.model.Encode(enc, s).ok()) state.SkipWithError("encode failed");
    }
    bytes = enc.Finish().size();
  }
  SetCounters(state, bytes, d.ideal_bits);
}
BENCHMARK(BM_CategoricalEncode)->Unit(benchmark::kMillisecond);

void BM_CategoricalDecode(benchmark::State& state) {
  const CategoricalData& d = GetCategoricalData();
  AnsEncoder enc;
  for (uint32_t s : d.symbols) (void)d.model.Encode(enc, s);
  const std::vector<uint8_t> bytes = enc.Finish();
  for (auto _ : state) {
    AnsDecoder dec(bytes.data(), bytes.size());
    uint32_t checksum = 0;
    for (int i = 0; i < kSymbols; ++i) {
      const StatusOr<uint32_t> s = d.model.Decode(dec);
      if (!s.ok()) state.SkipWithError("decode failed");
      checksum += *s;
    }
    if (!dec.Finish().ok()) state.SkipWithError("final state check failed");
    benchmark::DoNotOptimize(checksum);
  }
  SetCounters(state, bytes.size(), d.ideal_bits);
}
BENCHMARK(BM_CategoricalDecode)->Unit(benchmark::kMillisecond);

void BM_GaussianEncode(benchmark::State& state) {
  const GaussianData& d = GetGaussianData();
  AnsEncoder enc;
  size_t bytes = 0;
  for (auto _ : state) {
    for (int i = 0; i < kSymbols; ++i) {
      if (!EncodeSymbol(enc, d.models[i], d.symbols[i]).ok()) state.SkipWithError("encode failed");
    }
    bytes = enc.Finish().size();
  }
  SetCounters(state, bytes, d.ideal_bits);
}
BENCHMARK(BM_GaussianEncode)->Unit(benchmark::kMillisecond);

void BM_GaussianDecode(benchmark::State& state) {
  const GaussianData& d = GetGaussianData();
  AnsEncoder enc;
  for (int i = 0; i < kSymbols; ++i) (void)EncodeSymbol(enc, d.models[i], d.symbols[i]);
  const std::vector<uint8_t> bytes = enc.Finish();
  for (auto _ : state) {
    AnsDecoder dec(bytes.data(), bytes.size());
    int64_t checksum = 0;
    for (int i = 0; i < kSymbols; ++i) {
      const StatusOr<int32_t> k = DecodeSymbol(dec, d.models[i]);
      if (!k.ok()) state.SkipWithError("decode failed");
      checksum += *k;
    }
    if (!dec.Finish().ok()) state.SkipWithError("final state check failed");
    benchmark::DoNotOptimize(checksum);
  }
  SetCounters(state, bytes.size(), d.ideal_bits);
}
BENCHMARK(BM_GaussianDecode)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dcodec::bitstream

BENCHMARK_MAIN();
