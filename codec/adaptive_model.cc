#include "codec/adaptive_model.h"

#include <algorithm>
#include <cmath>

namespace dcodec::codec {

uint32_t AdaptiveBinary::Freq1() const {
  const uint64_t f = (static_cast<uint64_t>(c1) << 24) / (c0 + c1);
  return static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(f, 1), kModelTotal - 1));
}

void AdaptiveBinary::Update(bool bit) {
  (bit ? c1 : c0) += 32;
  if (c0 + c1 > (1u << 16)) {
    c0 = (c0 + 1) / 2;
    c1 = (c1 + 1) / 2;
  }
}

void PutBit(bitstream::AnsEncoder& enc, uint32_t f1, bool bit, double* bits) {
  if (bit) {
    enc.Put(0, f1);
  } else {
    enc.Put(f1, kModelTotal - f1);
  }
  if (bits) *bits += 24 - std::log2(static_cast<double>(bit ? f1 : kModelTotal - f1));
}

StatusOr<bool> GetBit(bitstream::AnsDecoder& dec, uint32_t f1, double* bits) {
  const bool bit = dec.Peek() < f1;
  DCODEC_RETURN_IF_ERROR(bit ? dec.Advance(0, f1) : dec.Advance(f1, kModelTotal - f1));
  if (bits) *bits += 24 - std::log2(static_cast<double>(bit ? f1 : kModelTotal - f1));
  return bit;
}

AdaptiveSymbols::AdaptiveSymbols(int n) : counts_(static_cast<size_t>(n), 1), cum_(static_cast<size_t>(n) + 1) {
  total_ = static_cast<uint32_t>(n);
  Rebuild();
}

void AdaptiveSymbols::Rebuild() {
  const size_t n = counts_.size();
  const uint64_t spread = kModelTotal - n;  // each symbol gets 1 plus its share of the rest
  size_t top = 0;
  cum_[0] = 0;
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    sum += 1 + counts_[i] * spread / total_;
    cum_[i + 1] = static_cast<uint32_t>(sum);
    if (counts_[i] > counts_[top]) top = i;
  }
  // The rounding remainder goes to the most frequent symbol: shift every boundary after it.
  const uint32_t remainder = kModelTotal - static_cast<uint32_t>(sum);
  for (size_t i = top + 1; i <= n; ++i) cum_[i] += remainder;
  since_rebuild_ = 0;
}

void AdaptiveSymbols::Update(int symbol) {
  counts_[static_cast<size_t>(symbol)] += 32;
  total_ += 32;
  if (total_ > (1u << 16)) {
    total_ = 0;
    for (uint32_t& c : counts_) {
      c = (c + 1) / 2;
      total_ += c;
    }
  }
  if (++since_rebuild_ == 16) Rebuild();
}

void AdaptiveSymbols::Put(bitstream::AnsEncoder& enc, int symbol, double* bits) {
  const uint32_t cum = cum_[static_cast<size_t>(symbol)], freq = cum_[static_cast<size_t>(symbol) + 1] - cum;
  enc.Put(cum, freq);
  if (bits) *bits += 24 - std::log2(static_cast<double>(freq));
  Update(symbol);
}

StatusOr<int> AdaptiveSymbols::Get(bitstream::AnsDecoder& dec, double* bits) {
  const uint32_t v = dec.Peek();
  const int symbol = static_cast<int>(std::upper_bound(cum_.begin() + 1, cum_.end(), v) - cum_.begin()) - 1;
  const uint32_t cum = cum_[static_cast<size_t>(symbol)], freq = cum_[static_cast<size_t>(symbol) + 1] - cum;
  DCODEC_RETURN_IF_ERROR(dec.Advance(cum, freq));
  if (bits) *bits += 24 - std::log2(static_cast<double>(freq));
  Update(symbol);
  return symbol;
}

}  // namespace dcodec::codec
