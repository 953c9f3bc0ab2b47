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
//  4. Sealed sub-stream layout: the final encoder state in `state_bytes` little-endian bytes, then the
//     renormalisation words (little-endian 32-bit) in the order the decoder consumes them. Finish() writes the
//     state whole (8 bytes: a sub-stream is then a multiple of 4 bytes and at least 8, also for zero symbols);
//     Seal() writes only the bytes the state needs (4 to 8; the container records how many), which saves 1.5
//     bytes on average.
//  5. Integrity: the encoder starts from the state kStateLow | check (Seal's 31-bit check; Finish: check 0). A
//     decoder that decoded every symbol must be back at that state with every word consumed; AnsDecoder::Finish
//     checks both, which catches most corruption and any encoder/decoder model mismatch (a false pass has a
//     chance of about 2^-31). The check costs no rate: the initial state's 31 bits are paid for anyway.
//  6. Garbage input never crashes or reads out of bounds: sizes whose words are not whole, shorter than the
//     state, or a state outside the valid range make every call return an error Status; reading past the end is
//     kTruncated.
//  7. Prefixes: the decoder reads a word only when the next symbol needs it, so the first m symbols decode from
//     the first Sealed::BytesNeeded(m) bytes; reading past the end is reported by the *next* Advance (or Finish)
//     as kTruncated. One sealed stream can thus carry several progressive stages back to back.
//  8. Digest: both sides keep a running digest of every symbol's interval (cum, freq), in decode order
//     (DigestStep). Two sequences of the same length that differ in one symbol always have different digests
//     (each step is a bijection of the digest for a given interval, and different intervals map a digest apart);
//     any other two collide with a chance of about 2^-64. A check over the digest thus covers every symbol,
//     whatever module modelled it: the codec's stage checks use it (codec.h).
// ---------------------------------------------------------------------------------------------------------------
//
// Invariant (both sides): the state x lies in [kStateLow, kStateLow << 32) = [2^31, 2^63).
// Encode (x, cum, freq):  if x >= freq << 39 emit low word, x >>= 32;  x = (x / freq) << 24 | (x % freq) + cum.
// Decode:                 q = x & (2^24 - 1);  x = freq * (x >> 24) + q - cum;  if x < 2^31 then x = x << 32 | word.
#ifndef DCODEC_BITSTREAM_ANS_H_
#define DCODEC_BITSTREAM_ANS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"

namespace dcodec::bitstream {

constexpr int kPrecisionBits = 24;
constexpr uint32_t kProbabilityTotal = uint32_t{1} << kPrecisionBits;  // every model's frequencies sum to this
constexpr uint64_t kStateLow = uint64_t{1} << 31;                      // lower bound of the normalised state
constexpr uint64_t kInitialState = kStateLow;                          // Finish()'s initial state (check 0)
constexpr uint64_t kDigestStart = 0x6463646469676573ull;

// One step of the symbol digest ("read me first", 8).
inline uint64_t DigestStep(uint64_t digest, uint32_t cum, uint32_t freq) {
  digest = (digest ^ (uint64_t{cum} << 32 | freq)) * 0x9E3779B97F4A7C15ull;
  return digest ^ (digest >> 29);
}

// Buffers symbols in decode order; Finish() produces one sealed sub-stream.
class AnsEncoder {
 public:
  // Appends the symbol [cum, cum + freq) of [0, 2^24), in decode order. Requires freq > 0 and
  // cum + freq <= 2^24 (checked with assert in debug builds; Finish() skips nothing, so callers must obey).
  void Put(uint32_t cum, uint32_t freq);

  size_t num_symbols() const { return full_.size() * kChunk + last_.size(); }
  // The digest of the symbols buffered so far, in order (as AnsDecoder::digest() after decoding them).
  uint64_t digest();
  // Keeps the first m buffered symbols (m >= num_symbols(): no change). The digest follows (recomputed on the
  // next digest() when it covered dropped symbols).
  void Truncate(size_t m);
  // Appends other's buffered symbols [begin, end), in order.
  void Append(const AnsEncoder& other, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) Push(other.Symbol(i));
  }

  // Encodes all buffered symbols and returns the sub-stream with its 8-byte state and check 0 (see "read me
  // first", 4). Resets the encoder.
  std::vector<uint8_t> Finish();

  struct Sealed {
    std::vector<uint8_t> bytes;
    int state_bytes = 8;  // 4..8: what AnsDecoder needs to be told
    // For each entry m of `marks`: the bytes a decoder needs to decode the first m symbols.
    std::vector<size_t> bytes_needed;
  };
  // Encodes all buffered symbols with the initial state kStateLow | (check & 0x7fffffff), writing the final
  // state in as few bytes as it needs. `marks`: symbol counts whose prefix sizes to report. Resets the encoder.
  Sealed Seal(uint32_t check, const std::vector<size_t>& marks = {});

  // Buffered symbols [begin, end) of `source`: a piece of a stream that SealSpans assembles.
  struct Span {
    const AnsEncoder* source;
    size_t begin, end;
  };
  // Seal() of the concatenation of `spans`, which stay as they are: a stream assembled from pieces of buffers
  // (a prefix of stages, symbols replaced) without copying them. `marks` count symbols of the concatenation.
  static Sealed SealSpans(const std::vector<Span>& spans, uint32_t check, const std::vector<size_t>& marks = {});
  // The digest continued from `digest` over buffered symbols [begin, end) (digest(): from kDigestStart over all).
  uint64_t DigestOf(uint64_t digest, size_t begin, size_t end) const;

 private:
  // The buffered symbols (cum << 32 | freq) in chunks: the full ones are immutable and shared by copies of the
  // encoder, so that a copy (an encoder that goes on from a common prefix) costs the last chunk only, and the buffer
  // grows without reallocating what it holds.
  static constexpr int kChunkBits = 18;  // 2^18 symbols: 2 MiB a chunk
  static constexpr size_t kChunk = size_t{1} << kChunkBits;
  uint64_t Symbol(size_t i) const {
    const size_t c = i >> kChunkBits;
    return c < full_.size() ? (*full_[c])[i & (kChunk - 1)] : last_[i - full_.size() * kChunk];
  }
  void Push(uint64_t symbol) {
    last_.push_back(symbol);
    if (last_.size() == kChunk) {
      full_.push_back(std::make_shared<const std::vector<uint64_t>>(std::move(last_)));
      last_ = {};
    }
  }
  std::vector<std::shared_ptr<const std::vector<uint64_t>>> full_;
  std::vector<uint64_t> last_;
  uint64_t digest_ = kDigestStart;
  size_t digested_ = 0;  // symbols [0, digested_) are in digest_
};

// Reads one sealed sub-stream. `data` must stay alive while the decoder is used.
class AnsDecoder {
 public:
  // `state_bytes`: 8 for Finish()'s sub-streams, Sealed::state_bytes for Seal()'s.
  AnsDecoder(const uint8_t* data, size_t size, int state_bytes = 8);

  // The quantile of the next symbol, in [0, 2^24). 0 if the sub-stream is invalid (Advance then reports it).
  uint32_t Peek() const { return static_cast<uint32_t>(state_ & (kProbabilityTotal - 1)); }

  // Consumes the symbol [cum, cum + freq), which must contain Peek(). kCorrupt/kInvalidInput if the sub-stream is
  // malformed, kTruncated if it would read past the end, kInternal if the interval does not contain Peek().
  Status Advance(uint32_t cum, uint32_t freq) {
    const uint32_t q = Peek();
    if (!error_.ok()) return error_;
    if (starved_) return PastEnd();
    if (q - cum >= freq) return AdvanceMisuse(cum, freq);  // unsigned: also catches q < cum
    digest_ = DigestStep(digest_, cum, freq);
    state_ = static_cast<uint64_t>(freq) * (state_ >> kPrecisionBits) + (q - cum);
    if (state_ < kStateLow) {
      if (next_ == end_) {
        starved_ = true;  // fine if no symbol follows: a prefix that ends here
      } else {
        state_ = (state_ << 32) | ReadWord(next_);
        next_ += 4;
        read_last_ = true;
        return Status::Ok();
      }
    }
    read_last_ = false;
    return Status::Ok();
  }

  // Ok iff the sub-stream was valid, every word was consumed and the state is back at kStateLow | check.
  Status Finish(uint32_t check = 0) const;
  // The state is back at kStateLow | check (whether or not bytes are left over).
  bool AtState(uint32_t check) const {
    return error_.ok() && !starved_ && state_ == (kStateLow | (check & 0x7fffffffu));
  }

  // Bytes consumed so far (the state included), and the bytes the symbols decoded so far needed: the same less
  // the word that the last symbol's renormalisation read ahead for the next one.
  size_t consumed_bytes() const { return static_cast<size_t>(next_ - begin_); }
  size_t needed_bytes() const { return consumed_bytes() - (read_last_ ? 4 : 0); }
  // The last symbol needed a word past the end: the next Advance reports kTruncated.
  bool starved() const { return starved_; }

  // The digest of every symbol consumed so far ("read me first", 8).
  uint64_t digest() const { return digest_; }

  // Bytes not yet consumed (for diagnostics).
  size_t remaining_bytes() const { return static_cast<size_t>(end_ - next_); }

 private:
  static uint32_t ReadWord(const uint8_t* p) {
    return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
  }
  Status AdvanceMisuse(uint32_t cum, uint32_t freq) const;
  Status PastEnd();

  uint64_t state_ = 0;
  uint64_t digest_ = kDigestStart;
  bool starved_ = false;    // the last symbol needed a word past the end
  bool read_last_ = false;  // the last Advance read a word
  const uint8_t* begin_ = nullptr;
  const uint8_t* next_ = nullptr;
  const uint8_t* end_ = nullptr;
  Status error_;  // sticky: once set, every Advance/Finish returns it
};

}  // namespace dcodec::bitstream

#endif  // DCODEC_BITSTREAM_ANS_H_
