// Entropy models as integer-exact frequency tables for the ANS coder: quantized Gaussian/logistic densities,
// categorical distributions from counts, and uniform integers.
//
// Every model here is "leaky": each symbol of the support gets frequency >= 1 and the frequencies sum to exactly
// 2^24, so any symbol can be coded and decoding is exactly invertible.
//
// Quantized continuous distributions. Support: integers [lo, hi], n = hi - lo + 1, 1 <= n <= kMaxSupportSize.
// Bin k covers [k - 1/2, k + 1/2] in the units of mean and scale; the tails are folded into the end bins. With
// M = 2^24 - n:
//     cum(lo) = 0,  cum(hi + 1) = 2^24,
//     cum(k)  = floor(F((k - 1/2 - mean) / scale) * M) + (k - lo)      for lo < k <= hi,
//     freq(k) = cum(k + 1) - cum(k) >= 1.
// F is the standard normal CDF (kGaussian) or the logistic CDF 1 / (1 + e^-z) (kLogistic, scale = s of the
// logistic distribution, not its standard deviation).
//
// Bit-exactness (the encoder and the decoder may run on different CPUs and compilers):
//  * z = (k - 1/2 - mean) / scale uses one IEEE double subtraction pair and one division (the project builds
//    with -ffp-contract=off; no libm). It is clamped to the table range and truncated to a 32.32 fixed point.
//  * F is evaluated from committed 32-bit tables of the upper tail (cdf_tables.inc, made by gen_cdf_tables.py,
//    step 2^-7 in z, 14 KB) by integer linear interpolation, using F(-z) = 1 - F(z). Every step is monotone in
//    k, so freq(k) >= 1 holds by construction, not by luck.
//  * Measured cost of the table (leaky_quantizer_test: TableMatchesLibm, RateOverheadOfTable): max |F_table - F|
//    is 1.9e-6 (Gaussian) / 8e-7 (logistic); against the same integer construction with libm's exact F, the
//    rate changes by < 1e-6 relative (noise level) for any step from 2^-5 to 2^-8. 2^-7 keeps the error well
//    below one frequency unit's worth of rate at 14 KB of tables.
//  * Rate: real bytes exceed the sum of IdealBits by ~0.003% (1M symbols, plus 8 bytes per sub-stream).
//
// Encoding a symbol evaluates two boundaries (O(1)). Decoding starts at mean + scale * F^-1(q) (a hint from a
// 1024-entry inverse table, which affects only speed), gallops to bracket q and bisects: typically 3-5
// boundary evaluations. The symbol found is the unique k with cum(k) <= q < cum(k + 1), whatever the hint.
#ifndef DCODEC_BITSTREAM_LEAKY_QUANTIZER_H_
#define DCODEC_BITSTREAM_LEAKY_QUANTIZER_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "bitstream/ans.h"

namespace dcodec::bitstream {

constexpr int64_t kMaxSupportSize = int64_t{1} << 20;

enum class Family { kGaussian, kLogistic };

struct QuantizedContinuous {
  Family family = Family::kGaussian;
  double mean = 0.0;
  double scale = 1.0;  // > 0 and finite
  int32_t lo = 0, hi = 0;
};

// Ok iff mean is finite, scale is finite and > 0, lo <= hi and hi - lo + 1 <= kMaxSupportSize.
Status ValidateParams(const QuantizedContinuous& d);

// cum(k) as above, for any k (k <= lo gives 0, k > hi gives 2^24). Requires ValidateParams(d).ok().
uint32_t Cdf(const QuantizedContinuous& d, int64_t k);

// InvalidArgument for bad parameters or k outside [lo, hi].
Status EncodeSymbol(AnsEncoder& enc, const QuantizedContinuous& d, int32_t k);
StatusOr<int32_t> DecodeSymbol(AnsDecoder& dec, const QuantizedContinuous& d);

// -log2(freq(k) / 2^24): the exact cost of coding k with this model. +infinity for bad parameters or k outside.
double IdealBits(const QuantizedContinuous& d, int32_t k);

// A categorical distribution over [0, n) from integer counts. Leaky: symbol i gets 1 + floor(count_i * M / total)
// with M = 2^24 - n, and the remaining units go one each to the largest remainders (ties to the lower index), so
// the table is a deterministic integer function of the counts. All-zero counts give the uniform distribution.
class Categorical {
 public:
  // InvalidArgument if counts is empty or has more than kMaxSupportSize entries.
  static StatusOr<Categorical> FromCounts(const std::vector<uint32_t>& counts);

  uint32_t size() const { return static_cast<uint32_t>(freq_.size()); }
  uint32_t freq(uint32_t symbol) const { return freq_[symbol]; }
  uint32_t cum(uint32_t symbol) const { return cum_[symbol]; }  // cum(size()) == 2^24

  Status Encode(AnsEncoder& enc, uint32_t symbol) const;  // InvalidArgument if symbol >= size()
  StatusOr<uint32_t> Decode(AnsDecoder& dec) const;
  double IdealBits(uint32_t symbol) const;  // +infinity if symbol >= size()

 private:
  static constexpr int kLookupBits = 12;  // quantile -> first candidate symbol, 2^12 slots
  Categorical() = default;

  std::vector<uint32_t> freq_;
  std::vector<uint32_t> cum_;     // size() + 1 entries
  std::vector<uint32_t> lookup_;  // 2^kLookupBits + 1 entries: lookup_[s] = symbol containing s << (24 - 12)
};

// Uniform integers in [0, n) for 1 <= n <= 2^32 - 1. n <= 2^16 is one symbol with cum(i) = floor(i * 2^24 / n);
// larger n is split into the high part (value >> 16, uniform over its range) followed by the low 16 bits (uniform
// over [0, 2^16), or over the remaining range when the high part is the largest). Cost: log2(n) + < 0.006 bits
// for n <= 2^16; for larger n every value costs at most log2(n) + 1.01 bits (about log2(n) on average when n is
// near a multiple of 2^16). EncodeUniform requires value < n (assert; release builds clamp to n - 1).
void EncodeUniform(AnsEncoder& enc, uint32_t value, uint32_t n);
StatusOr<uint32_t> DecodeUniform(AnsDecoder& dec, uint32_t n);  // InvalidArgument if n == 0

}  // namespace dcodec::bitstream

#endif  // DCODEC_BITSTREAM_LEAKY_QUANTIZER_H_
