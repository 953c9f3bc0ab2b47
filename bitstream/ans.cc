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
  symbols_.push_back(uint64_t{cum} << 32 | freq);
}

std::vector<uint8_t> AnsEncoder::Finish() {
  // Renormalisation words come out in reverse decode order; collect them, then reverse.
  std::vector<uint32_t> words;
  words.reserve(symbols_.size() / 2 + 16);
  uint64_t x = kInitialState;
  for (auto it = symbols_.rbegin(); it != symbols_.rend(); ++it) {
    const uint32_t cum = static_cast<uint32_t>(*it >> 32);
    const uint32_t freq = static_cast<uint32_t>(*it);
    // x_max = ((kStateLow >> kPrecisionBits) << 32) * freq: above it the encoded state would leave [2^31, 2^63).
    const uint64_t x_max = (uint64_t{freq} << (31 - kPrecisionBits + 32));
    if (x >= x_max) {
      words.push_back(static_cast<uint32_t>(x));
      x >>= 32;
    }
    x = ((x / freq) << kPrecisionBits) + (x % freq) + cum;
  }
  std::vector<uint8_t> out;
  out.reserve(8 + 4 * words.size());
  AppendWord(out, static_cast<uint32_t>(x));
  AppendWord(out, static_cast<uint32_t>(x >> 32));
  for (auto it = words.rbegin(); it != words.rend(); ++it) AppendWord(out, *it);
  symbols_.clear();
  return out;
}

AnsDecoder::AnsDecoder(const uint8_t* data, size_t size) {
  if (data == nullptr && size != 0) {
    error_ = InvalidArgument("ANS sub-stream: null data");
    return;
  }
  if (size < 8) {
    error_ = Truncated("ANS sub-stream of " + std::to_string(size) + " bytes is shorter than its 8-byte state");
    return;
  }
  if (size % 4 != 0) {
    error_ = InvalidInput("ANS sub-stream of " + std::to_string(size) + " bytes is not a whole number of words");
    return;
  }
  state_ = uint64_t{ReadWord(data)} | uint64_t{ReadWord(data + 4)} << 32;
  if (state_ < kStateLow || state_ >= (kStateLow << 32)) {
    state_ = 0;
    error_ = Corrupt("ANS sub-stream: initial state out of range");
    return;
  }
  next_ = data + 8;
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

Status AnsDecoder::Finish() const {
  if (!error_.ok()) return error_;
  if (next_ != end_) {
    return Corrupt("ANS sub-stream: " + std::to_string(remaining_bytes()) + " bytes left after the last symbol");
  }
  if (state_ != kInitialState) return Corrupt("ANS sub-stream: final state check failed");
  return Status::Ok();
}

}  // namespace dcodec::bitstream
