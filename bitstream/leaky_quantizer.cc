#include "bitstream/leaky_quantizer.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace dcodec::bitstream {
namespace {

#include "bitstream/cdf_tables.inc"

constexpr uint64_t kOne32 = uint64_t{1} << 32;  // 1.0 in the 32.32 fixed point of z and F
constexpr int kFracBits = 32 - kCdfTableStepBits;

struct TailTable {
  const uint32_t* values;
  int size;
  double z_max;  // (size - 1) * 2^-kCdfTableStepBits: beyond it the tail stays at its last value
};

constexpr TailTable kTables[2] = {
    {kGaussianTail, kGaussianTailSize, static_cast<double>(kGaussianTailSize - 1) / (1 << kCdfTableStepBits)},
    {kLogisticTail, kLogisticTailSize, static_cast<double>(kLogisticTailSize - 1) / (1 << kCdfTableStepBits)},
};

// Q(z) = 1 - F(z) for z >= 0 given in 32.32 fixed point, by linear interpolation; non-increasing in z.
inline uint64_t UpperTail(const TailTable& t, uint64_t z) {
  const uint64_t index = z >> kFracBits;
  if (index >= static_cast<uint64_t>(t.size - 1)) return t.values[t.size - 1];
  const uint64_t frac = z & ((uint64_t{1} << kFracBits) - 1);
  const uint64_t a = t.values[index];
  const uint64_t b = t.values[index + 1];
  return a - (((a - b) * frac) >> kFracBits);  // (a - b) < 2^32, frac < 2^25: no overflow
}

// F(z) in units of 2^-32, in [0, 2^32]; non-decreasing in z. z is never NaN here (see Cdf).
inline uint64_t CdfFixed(const TailTable& t, double z) {
  if (z > t.z_max) z = t.z_max;
  if (z < -t.z_max) z = -t.z_max;
  const int64_t z_fixed = static_cast<int64_t>(z * 4294967296.0);  // exact scaling, then truncation: monotone
  if (z_fixed < 0) return UpperTail(t, static_cast<uint64_t>(-z_fixed));
  return kOne32 - UpperTail(t, static_cast<uint64_t>(z_fixed));
}

inline bool ParamsOk(const QuantizedContinuous& d) {
  return std::isfinite(d.mean) && std::isfinite(d.scale) && d.scale > 0.0 && d.lo <= d.hi &&
         int64_t{d.hi} - d.lo + 1 <= kMaxSupportSize &&
         (d.family == Family::kGaussian || d.family == Family::kLogistic);
}

inline uint32_t CdfUnchecked(const QuantizedContinuous& d, const TailTable& t, int64_t k) {
  if (k <= d.lo) return 0;
  if (k > d.hi) return kProbabilityTotal;
  const uint64_t n = static_cast<uint64_t>(int64_t{d.hi} - d.lo + 1);
  const uint64_t m = kProbabilityTotal - n;
  // -ffp-contract=off keeps this two roundings (subtract, divide) on every machine.
  const double z = (static_cast<double>(k) - 0.5 - d.mean) / d.scale;
  return static_cast<uint32_t>(((CdfFixed(t, z) * m) >> 32) + static_cast<uint64_t>(k - d.lo));
}

inline const TailTable& TableFor(Family f) { return kTables[f == Family::kLogistic ? 1 : 0]; }

// Decoder search hint: z with F(z) = (i + 1/2) / kHintSize, found by bisection on the table itself. The hint only
// decides where the search for the symbol starts, never which symbol is found, so it need not be exact.
constexpr int kHintBits = 10;
constexpr int kHintSize = 1 << kHintBits;

struct InverseHint {
  double z[2][kHintSize];
};

const InverseHint& GetInverseHint() {
  static const InverseHint* hint = [] {
    auto* h = new InverseHint;
    for (int f = 0; f < 2; ++f) {
      for (int i = 0; i < kHintSize; ++i) {
        const uint64_t target = ((uint64_t{2} * i + 1) << 32) / (2 * kHintSize);
        double a = -kTables[f].z_max, b = kTables[f].z_max;
        for (int iteration = 0; iteration < 40; ++iteration) {
          const double mid = 0.5 * (a + b);
          (CdfFixed(kTables[f], mid) < target ? a : b) = mid;
        }
        h->z[f][i] = 0.5 * (a + b);
      }
    }
    return h;
  }();
  return *hint;
}

}  // namespace

Status ValidateParams(const QuantizedContinuous& d) {
  if (ParamsOk(d)) return Status::Ok();
  return InvalidArgument(
      "quantized distribution: need finite mean, finite scale > 0 and 1 <= hi - lo + 1 <= 2^20; got "
      "mean " +
      std::to_string(d.mean) + ", scale " + std::to_string(d.scale) + ", support [" + std::to_string(d.lo) + ", " +
      std::to_string(d.hi) + "]");
}

uint32_t Cdf(const QuantizedContinuous& d, int64_t k) {
  assert(ParamsOk(d));
  if (!ParamsOk(d)) return k <= d.lo ? 0 : kProbabilityTotal;
  return CdfUnchecked(d, TableFor(d.family), k);
}

Status EncodeSymbol(AnsEncoder& enc, const QuantizedContinuous& d, int32_t k) {
  if (!ParamsOk(d)) return ValidateParams(d);
  if (k < d.lo || k > d.hi) {
    return InvalidArgument("symbol " + std::to_string(k) + " outside the support [" + std::to_string(d.lo) + ", " +
                           std::to_string(d.hi) + "]");
  }
  const TailTable& t = TableFor(d.family);
  const uint32_t cum = CdfUnchecked(d, t, k);
  enc.Put(cum, CdfUnchecked(d, t, int64_t{k} + 1) - cum);
  return Status::Ok();
}

StatusOr<int32_t> DecodeSymbol(AnsDecoder& dec, const QuantizedContinuous& d) {
  if (!ParamsOk(d)) return ValidateParams(d);
  const TailTable& t = TableFor(d.family);
  const uint32_t q = dec.Peek();
  const int64_t lo = d.lo, hi = d.hi;
  // The starting point only affects speed: search for a, b with cum(a) <= q < cum(b), then bisect to b = a + 1.
  // Start at mean + scale * F^-1(q / 2^24) (ignoring the leak), rounded and clamped to the support.
  static const InverseHint& hint = GetInverseHint();
  const double x = d.mean + d.scale * hint.z[d.family == Family::kLogistic ? 1 : 0][q >> (kPrecisionBits - kHintBits)];
  int64_t guess = lo;
  if (x >= static_cast<double>(hi)) {
    guess = hi;
  } else if (x > static_cast<double>(lo)) {  // also false for NaN
    guess = std::clamp(static_cast<int64_t>(std::floor(x + 0.5)), lo, hi);
  }
  int64_t a, b;
  uint32_t cum_a, cum_b;
  const uint32_t cum_guess = CdfUnchecked(d, t, guess);
  if (cum_guess <= q) {
    a = guess, cum_a = cum_guess;
    for (int64_t step = 1;; step <<= 1) {
      const int64_t probe = a + step;
      if (probe > hi) {
        b = hi + 1, cum_b = kProbabilityTotal;
        break;
      }
      const uint32_t c = CdfUnchecked(d, t, probe);
      if (c > q) {
        b = probe, cum_b = c;
        break;
      }
      a = probe, cum_a = c;
    }
  } else {
    b = guess, cum_b = cum_guess;
    for (int64_t step = 1;; step <<= 1) {
      const int64_t probe = b - step;
      if (probe <= lo) {
        a = lo, cum_a = 0;
        break;
      }
      const uint32_t c = CdfUnchecked(d, t, probe);
      if (c <= q) {
        a = probe, cum_a = c;
        break;
      }
      b = probe, cum_b = c;
    }
  }
  while (b - a > 1) {
    const int64_t mid = a + (b - a) / 2;
    const uint32_t c = CdfUnchecked(d, t, mid);
    if (c <= q) {
      a = mid, cum_a = c;
    } else {
      b = mid, cum_b = c;
    }
  }
  DCODEC_RETURN_IF_ERROR(dec.Advance(cum_a, cum_b - cum_a));
  return static_cast<int32_t>(a);
}

double IdealBits(const QuantizedContinuous& d, int32_t k) {
  if (!ParamsOk(d) || k < d.lo || k > d.hi) return std::numeric_limits<double>::infinity();
  const TailTable& t = TableFor(d.family);
  const uint32_t freq = CdfUnchecked(d, t, int64_t{k} + 1) - CdfUnchecked(d, t, k);
  return kPrecisionBits - std::log2(static_cast<double>(freq));
}

// ---------------------------------------------------------------------------------------------------------------
// Categorical

StatusOr<Categorical> Categorical::FromCounts(const std::vector<uint32_t>& counts) {
  if (counts.empty() || counts.size() > static_cast<size_t>(kMaxSupportSize)) {
    return InvalidArgument("categorical distribution needs 1 to 2^20 symbols, got " + std::to_string(counts.size()));
  }
  const size_t n = counts.size();
  uint64_t total = std::accumulate(counts.begin(), counts.end(), uint64_t{0});
  std::vector<uint32_t> effective = counts;
  if (total == 0) {
    std::fill(effective.begin(), effective.end(), 1u);
    total = n;
  }
  const uint64_t m = kProbabilityTotal - n;
  Categorical c;
  c.freq_.resize(n);
  std::vector<uint64_t> remainder(n);
  uint64_t assigned = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t scaled = uint64_t{effective[i]} * m;  // < 2^56
    c.freq_[i] = static_cast<uint32_t>(1 + scaled / total);
    remainder[i] = scaled % total;
    assigned += scaled / total;
  }
  const uint64_t deficit = m - assigned;  // < n
  if (deficit > 0) {
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::partial_sort(
        order.begin(), order.begin() + static_cast<ptrdiff_t>(deficit), order.end(),
        [&](uint32_t x, uint32_t y) { return remainder[x] != remainder[y] ? remainder[x] > remainder[y] : x < y; });
    for (uint64_t i = 0; i < deficit; ++i) ++c.freq_[order[i]];
  }
  c.cum_.resize(n + 1);
  c.cum_[0] = 0;
  for (size_t i = 0; i < n; ++i) c.cum_[i + 1] = c.cum_[i] + c.freq_[i];
  assert(c.cum_[n] == kProbabilityTotal);
  constexpr int kShift = kPrecisionBits - kLookupBits;
  c.lookup_.resize((size_t{1} << kLookupBits) + 1);
  uint32_t symbol = 0;
  for (size_t s = 0; s < (size_t{1} << kLookupBits); ++s) {
    const uint32_t q = static_cast<uint32_t>(s << kShift);
    while (c.cum_[symbol + 1] <= q) ++symbol;
    c.lookup_[s] = symbol;
  }
  c.lookup_[size_t{1} << kLookupBits] = static_cast<uint32_t>(n - 1);
  return c;
}

Status Categorical::Encode(AnsEncoder& enc, uint32_t symbol) const {
  if (symbol >= size()) {
    return InvalidArgument("categorical symbol " + std::to_string(symbol) + " >= alphabet size " +
                           std::to_string(size()));
  }
  enc.Put(cum_[symbol], freq_[symbol]);
  return Status::Ok();
}

StatusOr<uint32_t> Categorical::Decode(AnsDecoder& dec) const {
  const uint32_t q = dec.Peek();
  const uint32_t slot = q >> (kPrecisionBits - kLookupBits);
  uint32_t a = lookup_[slot], b = lookup_[slot + 1];  // the symbol lies in [a, b]
  while (a < b) {
    const uint32_t mid = a + (b - a + 1) / 2;
    if (cum_[mid] <= q) {
      a = mid;
    } else {
      b = mid - 1;
    }
  }
  DCODEC_RETURN_IF_ERROR(dec.Advance(cum_[a], freq_[a]));
  return a;
}

double Categorical::IdealBits(uint32_t symbol) const {
  if (symbol >= size()) return std::numeric_limits<double>::infinity();
  return kPrecisionBits - std::log2(static_cast<double>(freq_[symbol]));
}

// ---------------------------------------------------------------------------------------------------------------
// Uniform

namespace {

constexpr uint32_t kChunk = uint32_t{1} << 16;

// One symbol uniform over [0, n), 1 <= n <= 2^16: cum(i) = floor(i * 2^24 / n).
inline uint32_t UniformCum(uint32_t i, uint32_t n) {
  return static_cast<uint32_t>((uint64_t{i} << kPrecisionBits) / n);
}

inline void PutSmallUniform(AnsEncoder& enc, uint32_t value, uint32_t n) {
  const uint32_t cum = UniformCum(value, n);
  enc.Put(cum, UniformCum(value + 1, n) - cum);
}

inline StatusOr<uint32_t> GetSmallUniform(AnsDecoder& dec, uint32_t n) {
  // The largest i with floor(i * 2^24 / n) <= q is floor(((q + 1) * n - 1) / 2^24).
  const uint64_t q = dec.Peek();
  const uint32_t value = static_cast<uint32_t>((((q + 1) * n) - 1) >> kPrecisionBits);
  const uint32_t cum = UniformCum(value, n);
  DCODEC_RETURN_IF_ERROR(dec.Advance(cum, UniformCum(value + 1, n) - cum));
  return value;
}

}  // namespace

void EncodeUniform(AnsEncoder& enc, uint32_t value, uint32_t n) {
  assert(n >= 1 && value < n);
  if (n == 0) return;
  if (value >= n) value = n - 1;
  if (n <= kChunk) {
    PutSmallUniform(enc, value, n);
    return;
  }
  const uint32_t high_max = (n - 1) >> 16;
  const uint32_t high = value >> 16;
  PutSmallUniform(enc, high, high_max + 1);
  PutSmallUniform(enc, value & (kChunk - 1), high == high_max ? ((n - 1) & (kChunk - 1)) + 1 : kChunk);
}

StatusOr<uint32_t> DecodeUniform(AnsDecoder& dec, uint32_t n) {
  if (n == 0) return InvalidArgument("uniform distribution over an empty range");
  if (n <= kChunk) return GetSmallUniform(dec, n);
  const uint32_t high_max = (n - 1) >> 16;
  DCODEC_ASSIGN_OR_RETURN(const uint32_t high, GetSmallUniform(dec, high_max + 1));
  DCODEC_ASSIGN_OR_RETURN(const uint32_t low,
                          GetSmallUniform(dec, high == high_max ? ((n - 1) & (kChunk - 1)) + 1 : kChunk));
  return high << 16 | low;
}

}  // namespace dcodec::bitstream
