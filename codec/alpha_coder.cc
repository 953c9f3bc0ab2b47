#include "codec/alpha_coder.h"

#include <algorithm>
#include <cmath>

#include "bitstream/leaky_quantizer.h"
#include "codec/adaptive_model.h"

namespace dcodec::codec {
namespace {

constexpr uint32_t kAlphaFlagFreq = kModelTotal >> 10;  // P(the stream has an alpha plane)

// The context of pixel i and its predictions.
struct Neighbours {
  int ctx;        // 0: L == U, 1: L != U, 2: an edge pixel
  uint8_t pred;   // P
  int up;         // U, or -1 when it does not exist or equals P
};
Neighbours Around(const uint8_t* a, int width, int x, int y) {
  const size_t i = static_cast<size_t>(y) * width + x;
  const bool has_left = x > 0, has_up = y > 0;
  Neighbours n;
  n.pred = has_left ? a[i - 1] : has_up ? a[i - width] : 255;
  n.ctx = has_left && has_up ? (a[i - 1] == a[i - width] ? 0 : 1) : 2;
  n.up = has_up && a[i - width] != n.pred ? a[i - width] : -1;
  return n;
}

// The rank of v among the values 0..255 less `excluded` ones (sorted, distinct), and back.
uint32_t Rank(uint8_t v, int e1, int e2) { return v - (e1 >= 0 && e1 < v) - (e2 >= 0 && e2 < v); }
uint8_t Unrank(uint32_t r, int e1, int e2) {
  int lo = std::min(e1, e2), hi = std::max(e1, e2);
  uint32_t v = r;
  if (lo >= 0 && v >= static_cast<uint32_t>(lo)) ++v;
  if (hi >= 0 && v >= static_cast<uint32_t>(hi)) ++v;
  return static_cast<uint8_t>(v);
}

}  // namespace

void EncodeAlpha(bitstream::AnsEncoder& enc, const uint8_t* alpha, int width, int height, double* bits) {
  PutBit(enc, kAlphaFlagFreq, alpha != nullptr, bits);
  if (!alpha) return;
  AdaptiveBinary same[3], same_up;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const uint8_t a = alpha[static_cast<size_t>(y) * width + x];
      const Neighbours n = Around(alpha, width, x, y);
      const bool hit = a == n.pred;
      PutBit(enc, same[n.ctx].Freq1(), hit, bits);
      same[n.ctx].Update(hit);
      if (hit) continue;
      int excluded_up = -1;
      if (n.up >= 0) {
        const bool up_hit = a == n.up;
        PutBit(enc, same_up.Freq1(), up_hit, bits);
        same_up.Update(up_hit);
        if (up_hit) continue;
        excluded_up = n.up;
      }
      const uint32_t count = 255 - (excluded_up >= 0 ? 1 : 0);
      bitstream::EncodeUniform(enc, Rank(a, n.pred, excluded_up), count);
      if (bits) *bits += std::log2(static_cast<double>(count));
    }
  }
}

StatusOr<std::optional<std::vector<uint8_t>>> DecodeAlpha(bitstream::AnsDecoder& dec, int width, int height,
                                                          double* bits) {
  DCODEC_ASSIGN_OR_RETURN(bool present, GetBit(dec, kAlphaFlagFreq, bits));
  if (!present) return std::optional<std::vector<uint8_t>>();
  std::vector<uint8_t> alpha(static_cast<size_t>(width) * height);
  AdaptiveBinary same[3], same_up;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t& a = alpha[static_cast<size_t>(y) * width + x];
      const Neighbours n = Around(alpha.data(), width, x, y);
      DCODEC_ASSIGN_OR_RETURN(bool hit, GetBit(dec, same[n.ctx].Freq1(), bits));
      same[n.ctx].Update(hit);
      if (hit) {
        a = n.pred;
        continue;
      }
      int excluded_up = -1;
      if (n.up >= 0) {
        DCODEC_ASSIGN_OR_RETURN(bool up_hit, GetBit(dec, same_up.Freq1(), bits));
        same_up.Update(up_hit);
        if (up_hit) {
          a = static_cast<uint8_t>(n.up);
          continue;
        }
        excluded_up = n.up;
      }
      const uint32_t count = 255 - (excluded_up >= 0 ? 1 : 0);
      DCODEC_ASSIGN_OR_RETURN(uint32_t r, bitstream::DecodeUniform(dec, count));
      if (bits) *bits += std::log2(static_cast<double>(count));
      a = Unrank(r, n.pred, excluded_up);
    }
  }
  return std::optional<std::vector<uint8_t>>(std::move(alpha));
}

}  // namespace dcodec::codec
