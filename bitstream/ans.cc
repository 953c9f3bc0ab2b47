#include "bitstream/ans.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace dcodec::bitstream {
namespace {

void AppendWord(std::vector<uint8_t>& out, uint32_t w) {
  out.push_back(static_cast<uint8_t>(w));
  out.push_back(static_cast<uint8_t>(w >> 8));
  out.push_back(static_cast<uint8_t>(w >> 16));
  out.push_back(static_cast<uint8_t>(w >> 24));
}

}  // namespace

void AnsEncoder::Put(uint32_t cum, uint32_t freq) {
  assert(freq > 0 && freq <= kProbabilityTotal && cum <= kProbabilityTotal - freq);
  // Release builds: keep the arithmetic defined for a caller bug; the resulting stream then fails to decode.
  if (freq == 0 || freq > kProbabilityTotal) freq = 1;
  if (cum > kProbabilityTotal - freq) cum = kProbabilityTotal - freq;
  Push(uint64_t{cum} << 32 | freq);
}

uint64_t AnsEncoder::digest() {
  const size_t n = num_symbols();
  if (digested_ < n) digest_ = DigestOf(digest_, digested_, n);
  digested_ = n;
  return digest_;
}

std::vector<uint8_t> AnsEncoder::Finish() {
  Sealed sealed = Seal(0);
  // The whole 8-byte state: pad the minimal state bytes with zeros (the state is little-endian).
  sealed.bytes.insert(sealed.bytes.begin() + sealed.state_bytes, static_cast<size_t>(8 - sealed.state_bytes), 0);
  return std::move(sealed.bytes);
}

void AnsEncoder::Truncate(size_t m) {
  if (m >= num_symbols()) return;
  const size_t c = m >> kChunkBits;
  if (c < full_.size()) {  // the new last chunk: a copy of the start of a shared one
    last_.assign(full_[c]->begin(), full_[c]->begin() + static_cast<ptrdiff_t>(m & (kChunk - 1)));
    full_.resize(c);
  } else {
    last_.resize(m - full_.size() * kChunk);
  }
  if (digested_ > m) {
    digest_ = kDigestStart;
    digested_ = 0;
  }
}

uint64_t AnsEncoder::DigestOf(uint64_t digest, size_t begin, size_t end) const {
  end = std::min(end, num_symbols());
  for (size_t i = begin; i < end; ++i) {
    const uint64_t symbol = Symbol(i);
    digest = DigestStep(digest, static_cast<uint32_t>(symbol >> 32), static_cast<uint32_t>(symbol));
  }
  return digest;
}

AnsEncoder::Sealed AnsEncoder::Seal(uint32_t check, const std::vector<size_t>& marks) {
  Sealed sealed = SealSpans({{this, 0, num_symbols()}}, check, marks);
  full_.clear();
  last_.clear();
  digest_ = kDigestStart;
  digested_ = 0;
  return sealed;
}

AnsEncoder::Sealed AnsEncoder::SealSpans(const std::vector<Span>& spans, uint32_t check,
                                         const std::vector<size_t>& marks) {
  size_t total = 0;
  for (const Span& span : spans) total += span.end - span.begin;
  // A mark m needs the state and the words the decoder reads after symbols 0 .. m-2, i.e. all words but those
  // emitted while encoding symbols m-1 .. total-1: the count of words out when the encoder (going backwards)
  // reaches symbol m-2. `pending`: the marks' thresholds k = m - 1 (words emitted at indices >= k are not needed),
  // largest first.
  std::vector<std::pair<size_t, size_t>> pending;  // (k, mark index)
  for (size_t q = 0; q < marks.size(); ++q) {
    const size_t m = std::min(marks[q], total);
    pending.push_back({m == 0 ? 0 : m - 1, q});
  }
  std::sort(pending.begin(), pending.end());
  std::vector<size_t> not_needed(marks.size(), 0);
  // Renormalisation words come out in reverse decode order; collect them, then reverse.
  std::vector<uint32_t> words;
  words.reserve(total / 2 + 16);
  uint64_t x = kStateLow | (check & 0x7fffffffu);
  size_t i = total;  // index of the next symbol to encode, + 1
  auto settle = [&]() {
    while (!pending.empty() && pending.back().first >= i) {
      not_needed[pending.back().second] = words.size();
      pending.pop_back();
    }
  };
  for (auto span = spans.rbegin(); span != spans.rend(); ++span) {
    for (size_t s = span->end; s-- > span->begin;) {
      settle();
      const uint64_t symbol = span->source->Symbol(s);
      const uint32_t cum = static_cast<uint32_t>(symbol >> 32);
      const uint32_t freq = static_cast<uint32_t>(symbol);
      // x_max = ((kStateLow >> kPrecisionBits) << 32) * freq: above it the encoded state would leave [2^31, 2^63).
      const uint64_t x_max = (uint64_t{freq} << (31 - kPrecisionBits + 32));
      if (x >= x_max) {
        words.push_back(static_cast<uint32_t>(x));
        x >>= 32;
      }
      x = ((x / freq) << kPrecisionBits) + (x % freq) + cum;
      --i;
    }
  }
  settle();
  Sealed sealed;
  sealed.state_bytes = 4;
  while (sealed.state_bytes < 8 && (x >> (8 * sealed.state_bytes)) != 0) ++sealed.state_bytes;
  auto& out = sealed.bytes;
  out.reserve(8 + 4 * words.size());
  for (int b = 0; b < sealed.state_bytes; ++b) out.push_back(static_cast<uint8_t>(x >> (8 * b)));
  for (auto it = words.rbegin(); it != words.rend(); ++it) AppendWord(out, *it);
  for (size_t q = 0; q < marks.size(); ++q) {
    sealed.bytes_needed.push_back(sealed.state_bytes + 4 * (words.size() - not_needed[q]));
  }
  return sealed;
}

AnsDecoder::AnsDecoder(const uint8_t* data, size_t size, int state_bytes) {
  if (data == nullptr && size != 0) {
    error_ = InvalidArgument("ANS sub-stream: null data");
    return;
  }
  if (state_bytes < 4 || state_bytes > 8) {
    error_ = InvalidInput("ANS sub-stream: a state of " + std::to_string(state_bytes) + " bytes (must be 4 to 8)");
    return;
  }
  const size_t s = static_cast<size_t>(state_bytes);
  if (size < s) {
    error_ = Truncated("ANS sub-stream of " + std::to_string(size) + " bytes is shorter than its " + std::to_string(s) +
                       "-byte state");
    return;
  }
  if ((size - s) % 4 != 0) {
    error_ = InvalidInput("ANS sub-stream of " + std::to_string(size) + " bytes is not a whole number of words");
    return;
  }
  state_ = 0;
  for (size_t b = 0; b < s; ++b) state_ |= uint64_t{data[b]} << (8 * b);
  if (state_ < kStateLow || state_ >= (kStateLow << 32)) {
    state_ = 0;
    error_ = Corrupt("ANS sub-stream: initial state out of range");
    return;
  }
  begin_ = data;
  next_ = data + s;
  end_ = data + size;
}

Status AnsDecoder::AdvanceMisuse(uint32_t cum, uint32_t freq) const {
  return Internal("ANS decoder: interval [" + std::to_string(cum) + ", +" + std::to_string(freq) +
                  ") does not contain the quantile " + std::to_string(Peek()));
}

Status AnsDecoder::PastEnd() {
  error_ = Truncated("ANS sub-stream ended before the last symbol");
  return error_;
}

Status AnsDecoder::Finish(uint32_t check) const {
  if (!error_.ok()) return error_;
  if (starved_) return Truncated("ANS sub-stream ended before the last symbol");
  if (next_ != end_) {
    return Corrupt("ANS sub-stream: " + std::to_string(remaining_bytes()) + " bytes left after the last symbol");
  }
  if (state_ != (kStateLow | (check & 0x7fffffffu))) return Corrupt("ANS sub-stream: final state check failed");
  return Status::Ok();
}

}  // namespace dcodec::bitstream
