// Adaptive integer-count models for the small lossless coders (the alpha plane, the low bytes of 16-bit samples):
// their frequencies come from integer counts by integer division, so that encoder and decoder compute identical
// tables on every CPU. Frequencies are out of 2^24, the coder's precision (bitstream/ans.h), never 0.
#ifndef DCODEC_CODEC_ADAPTIVE_MODEL_H_
#define DCODEC_CODEC_ADAPTIVE_MODEL_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "bitstream/ans.h"

namespace dcodec::codec {

constexpr uint32_t kModelTotal = uint32_t{1} << 24;

// A binary model: counts start 1/1, +32 per symbol, both halved when their sum passes 2^16.
struct AdaptiveBinary {
  uint32_t c0 = 1, c1 = 1;
  uint32_t Freq1() const;  // the frequency of 1, in [1, 2^24 - 1]
  void Update(bool bit);
};

// Codes `bit` with P(1) = f1 / 2^24: 1 is the interval [0, f1), 0 is [f1, 2^24). *bits (if given) += its cost.
void PutBit(bitstream::AnsEncoder& enc, uint32_t f1, bool bit, double* bits);
StatusOr<bool> GetBit(bitstream::AnsDecoder& dec, uint32_t f1, double* bits);

// A model of n symbols (2..64): counts start at 1, +32 per symbol, halved when their sum passes 2^16; the frequency
// table (each count's share of 2^24, at least 1, the rounding remainder on the most frequent symbol) is rebuilt
// from the counts after every 16 updates, so coding a symbol costs a table look-up, not a division.
class AdaptiveSymbols {
 public:
  explicit AdaptiveSymbols(int n);
  int size() const { return static_cast<int>(counts_.size()); }
  void Put(bitstream::AnsEncoder& enc, int symbol, double* bits);
  StatusOr<int> Get(bitstream::AnsDecoder& dec, double* bits);

 private:
  void Update(int symbol);
  void Rebuild();
  std::vector<uint32_t> counts_;
  std::vector<uint32_t> cum_;  // n + 1 entries: cum_[0] = 0, cum_[n] = 2^24
  uint32_t total_ = 0;
  int since_rebuild_ = 0;
};

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_ADAPTIVE_MODEL_H_
