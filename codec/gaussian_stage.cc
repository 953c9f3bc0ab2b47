#include "codec/gaussian_stage.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "bitstream/leaky_quantizer.h"
#include "codec/entropy_model.h"

namespace dcodec::codec {
namespace {

constexpr int kFields = 6, kFieldBits = 10;
constexpr int kFieldValues = 1 << kFieldBits;
constexpr int kSumMax = kFields * (kFieldValues - 1);           // 6138
constexpr int kSumMean = kSumMax / 2;                           // 3069
constexpr double kZStep = 0x1.6a09e667f3bcdp+0 / kFieldValues;  // √2 / 1024

// ln of the number of ways six 10-bit fields sum to S: the candidates' law up to a constant.
const std::vector<double>& LogCounts() {
  static const std::vector<double> table = [] {
    std::vector<double> c(kSumMax + 1, 0.0), next(kSumMax + 1);
    for (int v = 0; v < kFieldValues; ++v) c[v] = 1;
    for (int f = 1; f < kFields; ++f) {
      double window = 0;  // Σ c[s − k], k = 0..1023 (exact: the counts stay below 2^53)
      for (int s = 0; s <= kSumMax; ++s) {
        window += c[s];
        if (s >= kFieldValues) window -= c[s - kFieldValues];
        next[s] = window;
      }
      c.swap(next);
    }
    for (double& v : c) v = std::log(v);
    return c;
  }();
  return table;
}

inline int CandidateSum(uint64_t key, uint32_t i, size_t e) {
  const uint64_t h = CounterHash(key, (uint64_t{i} << 32) | e);
  int s = 0;
  for (int f = 0; f < kFields; ++f) s += static_cast<int>((h >> (kFieldBits * f)) & (kFieldValues - 1));
  return s;
}

inline double Candidate(const GaussianBelief& b, uint64_t key, uint32_t i, size_t e) {
  return b.mean(e) + b.sigma(e) * (static_cast<double>(CandidateSum(key, i, e) - kSumMean) * kZStep);
}

// lw[i] −= (d_i² / 2σ̃² + ln count(s_i)) for candidates i < count of one element, with d_i its candidate's distance
// from q's mean: the inner loop of the encoder's pick (all but a few percent of an encode's Gaussian stages). The
// hash of (i << 32 | e) is Mix(key + e·G + i·(G << 32)), an arithmetic sequence the compiler vectorises; the
// clones for AVX-512 and AVX2 compute exactly what the default one does (integer hashing, then the same IEEE
// operations in the same order per candidate; -ffp-contract=off), so the pick does not depend on the machine.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void AccumulateCandidates(
    uint64_t base, uint64_t step, uint32_t count, double mean, double sigma, double mq, double inv,
    const double* log_counts, double* __restrict lw) {
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t h = Mix(base + i * step);
    int s = 0;
    for (int f = 0; f < kFields; ++f) s += static_cast<int>((h >> (kFieldBits * f)) & (kFieldValues - 1));
    const double d = mean + sigma * (static_cast<double>(s - kSumMean) * kZStep) - mq;
    lw[i] -= d * d * inv + log_counts[s];
  }
}

// The encoder's pick for the block [begin, end): index i with probability ∝ q(c_i)/p'(c_i).
uint32_t PickCandidate(const GaussianStage& st, const GaussianBelief& b, const float* x_t, const uint8_t* pixels,
                       size_t begin, size_t end, size_t block, std::vector<double>& lw) {
  const uint32_t count = 1u << st.index_bits;
  const double* log_counts = LogCounts().data();
  const double inv = 1.0 / (2.0 * st.sigma * st.sigma);
  lw.assign(count, 0.0);
  for (size_t e = begin; e < end; ++e) {
    const double mq = QMean(st, x_t, pixels, e);
    // CounterHash(key, i << 32 | e) = Mix(key + (i << 32 | e)·G) and (i << 32 | e)·G = e·G + i·(G << 32) (e < 2^32).
    AccumulateCandidates(st.key + e * kCounterGolden, kCounterGolden << 32, count, b.mean(e), b.sigma(e), mq, inv,
                         log_counts, lw.data());
  }
  uint32_t best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (uint32_t i = 0; i < count; ++i) {
    const double u =
        (static_cast<double>(CounterHash(st.choice_key, (uint64_t{block} << 16) | i) >> 11) + 0.5) * 0x1.0p-53;
    const double score = lw[i] - std::log(-std::log(u));  // Gumbel-max
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return best;
}

}  // namespace

double PortableLog2(double x) {
  int e = 0;
  double m = std::frexp(x, &e);    // x = m · 2^e, m in [0.5, 1)
  if (m < 0x1.6a09e667f3bcdp-1) {  // below √½: take m in [√½, √2)
    m *= 2;
    --e;
  }
  const double t = (m - 1) / (m + 1), t2 = t * t;  // |t| <= 0.1716
  double term = t, sum = 0;
  for (int k = 0; k < 12; ++k) {
    sum += term / (2 * k + 1);
    term *= t2;
  }
  return e + 2 * sum * 1.4426950408889634;  // 1/ln 2
}

double EncodeStageSettings(bitstream::AnsEncoder& enc, const StageSettings& own, const StageSettings& stream) {
  if (own == stream) {
    bitstream::EncodeUniform(enc, 0, 2);
    return 1;
  }
  bitstream::EncodeUniform(enc, 1, 2);
  bitstream::EncodeUniform(enc, static_cast<uint32_t>(own.index_bits - 1), 16);
  bitstream::EncodeUniform(enc, static_cast<uint32_t>(own.block_quarters - 1), 255);
  return 1 + 4 + std::log2(255.0);
}

StatusOr<StageSettings> DecodeStageSettings(bitstream::AnsDecoder& dec, const StageSettings& stream, double* bits) {
  DCODEC_ASSIGN_OR_RETURN(const uint32_t own, bitstream::DecodeUniform(dec, 2));
  if (bits) *bits = 1;
  if (own == 0) return stream;
  DCODEC_ASSIGN_OR_RETURN(const uint32_t index_bits, bitstream::DecodeUniform(dec, 16));
  DCODEC_ASSIGN_OR_RETURN(const uint32_t quarters, bitstream::DecodeUniform(dec, 255));
  if (bits) *bits += 4 + std::log2(255.0);
  return StageSettings{static_cast<int>(index_bits) + 1, static_cast<int>(quarters) + 1};
}

double SignalTransfer(const GaussianStage& st, uint8_t scale_code, const float* x_t, const float* x0_hat,
                      const uint8_t* pixels, const float* x_s, size_t n) {
  const GaussianBelief belief(st, scale_code, x_t, x0_hat, n);
  double carried = 0, pull = 0;
  for (size_t e = 0; e < n; ++e) {
    const double mp = belief.mean(e);
    const double d = QMean(st, x_t, pixels, e) - mp;
    carried += (x_s[e] - mp) * d;
    pull += d * d;
  }
  return pull > 0 ? carried / pull : 1.0;
}

GaussianStage WithSettings(GaussianStage st, const StageSettings& s) {
  st.index_bits = s.index_bits;
  st.block_bits = s.block_quarters / 4.0;
  return st;
}

double GaussianBelief::sigma(size_t e) const {
  const double s = st_.coef_x0 * HeadScale(code_, st_.log_scale ? st_.log_scale[e] : 0);
  return std::sqrt(st_.sigma * st_.sigma + s * s);
}

std::vector<size_t> GaussianBlocks(const GaussianStage& st, const GaussianBelief& belief) {
  const size_t n = belief.size();
  const double var_q = st.sigma * st.sigma;
  std::vector<size_t> starts;
  double acc = 0;
  for (size_t e = 0; e < n; ++e) {
    const double sigma = belief.sigma(e);
    double kl = 0.5 * PortableLog2(sigma * sigma / var_q);
    if (st.map) kl *= st.map->WeightOf(e);
    if (starts.empty() || acc + kl > st.block_bits) {
      starts.push_back(e);
      acc = 0;
    }
    acc += kl;
  }
  starts.push_back(n);
  return starts;
}

uint8_t ChooseGaussianScale(const GaussianStage& st, const float* x_t, const float* x0_hat, const uint8_t* pixels,
                            size_t n) {
  const size_t stride = std::max<size_t>(1, n / 16384);
  const double var_q = st.sigma * st.sigma;
  uint8_t best = 128;
  double best_kl = std::numeric_limits<double>::infinity();
  for (int code = 0; code < 256; ++code) {
    double kl = 0;
    for (size_t e = 0; e < n; e += stride) {
      const double s = st.coef_x0 * HeadScale(static_cast<uint8_t>(code), st.log_scale ? st.log_scale[e] : 0);
      const double var_p = var_q + s * s;
      const double d = st.coef_x0 * (PixelToUnit(pixels[e]) - x0_hat[e]);
      kl += 0.5 * std::log(var_p / var_q) + (var_q + d * d) / (2 * var_p) - 0.5;
    }
    if (kl < best_kl) {
      best_kl = kl;
      best = static_cast<uint8_t>(code);
    }
  }
  return best;
}

void SearchGaussianStage(const GaussianStage& st, uint8_t scale_code, const float* x_t, const float* x0_hat,
                         const uint8_t* pixels, size_t n, float* x_s, std::vector<uint32_t>* indices,
                         double* ideal_bits, int threads) {
  const GaussianBelief belief(st, scale_code, x_t, x0_hat, n);
  const std::vector<size_t> starts = GaussianBlocks(st, belief);
  const size_t blocks = starts.size() - 1;
  indices->assign(blocks, 0);
  auto work = [&](size_t first, size_t step) {
    std::vector<double> lw;
    for (size_t k = first; k < blocks; k += step) {
      (*indices)[k] = PickCandidate(st, belief, x_t, pixels, starts[k], starts[k + 1], k, lw);
    }
  };
  const size_t workers = std::clamp<size_t>(static_cast<size_t>(threads), 1, std::max<size_t>(blocks, 1));
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work, w, workers);
  work(0, workers);
  for (auto& t : pool) t.join();
  for (size_t k = 0; k < blocks; ++k) {
    for (size_t e = starts[k]; e < starts[k + 1]; ++e) {
      x_s[e] = static_cast<float>(Candidate(belief, st.key, (*indices)[k], e));
    }
  }
  if (ideal_bits) *ideal_bits += static_cast<double>(blocks) * st.index_bits;
}

void WriteGaussianIndices(const std::vector<uint32_t>& indices, int index_bits, bitstream::AnsEncoder& enc) {
  for (uint32_t i : indices) bitstream::EncodeUniform(enc, i, 1u << index_bits);
}

void EncodeGaussianStage(const GaussianStage& st, uint8_t scale_code, const float* x_t, const float* x0_hat,
                         const uint8_t* pixels, size_t n, bitstream::AnsEncoder& enc, float* x_s,
                         std::vector<uint32_t>* indices, double* ideal_bits, int threads) {
  SearchGaussianStage(st, scale_code, x_t, x0_hat, pixels, n, x_s, indices, ideal_bits, threads);
  WriteGaussianIndices(*indices, st.index_bits, enc);
}

Status DecodeGaussianStage(const GaussianStage& st, uint8_t scale_code, const float* x_t, const float* x0_hat, size_t n,
                           bitstream::AnsDecoder& dec, float* x_s, std::vector<uint32_t>* indices, double* ideal_bits) {
  const GaussianBelief belief(st, scale_code, x_t, x0_hat, n);
  const std::vector<size_t> starts = GaussianBlocks(st, belief);
  const size_t blocks = starts.size() - 1;
  indices->assign(blocks, 0);
  for (size_t k = 0; k < blocks; ++k) {
    DCODEC_ASSIGN_OR_RETURN(uint32_t i, bitstream::DecodeUniform(dec, 1u << st.index_bits));
    (*indices)[k] = i;
    for (size_t e = starts[k]; e < starts[k + 1]; ++e) x_s[e] = static_cast<float>(Candidate(belief, st.key, i, e));
  }
  if (ideal_bits) *ideal_bits += static_cast<double>(blocks) * st.index_bits;
  return Status::Ok();
}

}  // namespace dcodec::codec
