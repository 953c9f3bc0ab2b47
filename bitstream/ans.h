// rANS stack coder (64-bit state, 32-bit words, 24-bit probabilities), after ryg_rans' rans64 and constriction.
//
// ---------------------------------------------------------------------------------------------------------------
// READ ME FIRST
//  1. ANS is a stack (LIFO): the last symbol encoded is the first one decoded. We hide that: AnsEncoder::Put takes
//     symbols in *decode* order and only buffers the (cum, freq) pairs; Finish() encodes them in reverse and
//     writes the words so that the decoder reads the sub-stream front to back. Callers think "queue".
//  2. The coder only sees integers: a symbol is the interval [cum, cum + freq) of [0, 2^24). Turning a model into
//     such intervals (bit-exactly identical on encoder and decoder machines) is leaky_quantizer.h's job.
//  3. Decoding a symbol is two steps: Peek() gives the quantile q in [0, 2^24); the model finds the symbol whose
//     interval contains q; Advance(cum, freq) of *that* symbol consumes it. Advance with an interval that does not
//     contain Peek() is a caller bug (reported as kInternal, never undefined behaviour).
//  4. Sealed sub-stream layout (little-endian 32-bit words): word 0 = low half of the final encoder state, word 1
//     = high half, then the renormalisation words in the order the decoder consumes them. A sub-stream is always
//     a multiple of 4 bytes and at least 8 bytes (the state), also for zero symbols.
//  5. Integrity: the encoder starts from the state kInitialState; a decoder that consumed every word of the
//     sub-stream and decoded every symbol must be back at kInitialState. AnsDecoder::Finish() checks both, which
//     catches most corruption and any encoder/decoder model mismatch (about 1 in 2^31 chance of a false pass).
//  6. Garbage input never crashes or reads out of bounds: sizes that are not a multiple of 4, shorter than the
//     state, or a state outside the valid range make every call return an error Status; reading past the end is
//     kTruncated.
// ---------------------------------------------------------------------------------------------------------------
//
// Invariant (both sides): the state x lies in [kStateLow, kStateLow << 32) = [2^31, 2^63).
// Encode (x, cum, freq):  if x >= freq << 39 emit low word, x >>= 32;  x = (x / freq) << 24 | (x % freq) + cum.
// Decode:                 q = x & (2^24 - 1);  x = freq * (x >> 24) + q - cum;  if x < 2^31 then x = x << 32 | word.
#ifndef DCODEC_BITSTREAM_ANS_H_
#define DCODEC_BITSTREAM_ANS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/status.h"

namespace dcodec::bitstream {

constexpr int kPrecisionBits = 24;
constexpr uint32_t kProbabilityTotal = uint32_t{1} << kPrecisionBits;  // every model's frequencies sum to this
constexpr uint64_t kStateLow = uint64_t{1} << 31;                      // lower bound of the normalised state
constexpr uint64_t kInitialState = kStateLow;

// Buffers symbols in decode order; Finish() produces one sealed sub-stream.
class AnsEncoder {
 public:
  // Appends the symbol [cum, cum + freq) of [0, 2^24), in decode order. Requires freq > 0 and
  // cum + freq <= 2^24 (checked with assert in debug builds; Finish() skips nothing, so callers must obey).
  void Put(uint32_t cum, uint32_t freq);

  size_t num_symbols() const { return symbols_.size(); }

  // Encodes all buffered symbols and returns the sub-stream (see "read me first", 4). Resets the encoder.
  std::vector<uint8_t> Finish();

 private:
  std::vector<uint64_t> symbols_;  // cum << 32 | freq
};

// Reads one sealed sub-stream. `data` must stay alive while the decoder is used.
class AnsDecoder {
 public:
  AnsDecoder(const uint8_t* data, size_t size);

  // The quantile of the next symbol, in [0, 2^24). 0 if the sub-stream is invalid (Advance then reports it).
  uint32_t Peek() const { return static_cast<uint32_t>(state_ & (kProbabilityTotal - 1)); }

  // Consumes the symbol [cum, cum + freq), which must contain Peek(). kCorrupt/kInvalidInput if the sub-stream is
  // malformed, kTruncated if it would read past the end, kInternal if the interval does not contain Peek().
  Status Advance(uint32_t cum, uint32_t freq) {
    const uint32_t q = Peek();
    if (!error_.ok()) return error_;
    if (q - cum >= freq) return AdvanceMisuse(cum, freq);  // unsigned: also catches q < cum
    state_ = static_cast<uint64_t>(freq) * (state_ >> kPrecisionBits) + (q - cum);
    if (state_ < kStateLow) {
      if (next_ == end_) return PastEnd();
      state_ = (state_ << 32) | ReadWord(next_);
      next_ += 4;
    }
    return Status::Ok();
  }

  // Ok iff the sub-stream was valid, every word was consumed and the state is back at kInitialState.
  Status Finish() const;

  // Bytes not yet consumed (for diagnostics).
  size_t remaining_bytes() const { return static_cast<size_t>(end_ - next_); }

 private:
  static uint32_t ReadWord(const uint8_t* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
  }
  Status AdvanceMisuse(uint32_t cum, uint32_t freq) const;
  Status PastEnd();

  uint64_t state_ = 0;
  const uint8_t* next_ = nullptr;
  const uint8_t* end_ = nullptr;
  Status error_;  // sticky: once set, every Advance/Finish returns it
};

}  // namespace dcodec::bitstream

#endif  // DCODEC_BITSTREAM_ANS_H_
