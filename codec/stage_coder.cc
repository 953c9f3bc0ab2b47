#include "codec/stage_coder.h"

#include <vector>

namespace dcodec::codec {

Status EncodeDitherStage(const DitherStage& st, const Belief& belief, Cells& cells, const float* x_t,
                         const float* x0_hat, const uint8_t* pixels, size_t n, bitstream::AnsEncoder& enc, float* x_s,
                         int32_t* symbols, double* ideal_bits) {
  double bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const double u = Dither(st.dither_key, i);
    const auto dist = DitherBelief(st, belief, cells, i, x_t[i], x0_hat[i], u);
    const int32_t k = SymbolOf(st, x_t[i], pixels[i], u);
    DCODEC_RETURN_IF_ERROR(bitstream::EncodeSymbol(enc, dist, k));
    bits += bitstream::IdealBits(dist, k);
    if (!cells.Narrow(st, i, x_t[i], u, k)) return Internal("dithered stage: the pixel left its own cell");
    if (symbols) symbols[i] = k;
    x_s[i] = static_cast<float>(st.step * (k - u));
  }
  if (ideal_bits) *ideal_bits += bits;
  return Status::Ok();
}

Status DecodeDitherStage(const DitherStage& st, const Belief& belief, Cells& cells, const float* x_t,
                         const float* x0_hat, size_t n, bitstream::AnsDecoder& dec, float* x_s, int32_t* symbols,
                         double* ideal_bits) {
  double bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const double u = Dither(st.dither_key, i);
    const auto dist = DitherBelief(st, belief, cells, i, x_t[i], x0_hat[i], u);
    DCODEC_ASSIGN_OR_RETURN(int32_t k, bitstream::DecodeSymbol(dec, dist));
    if (ideal_bits) bits += bitstream::IdealBits(dist, k);
    if (!cells.Narrow(st, i, x_t[i], u, k)) return Corrupt("a symbol that no pixel value can have");
    symbols[i] = k;
    x_s[i] = static_cast<float>(st.step * (k - u));
  }
  if (ideal_bits) *ideal_bits += bits;
  return Status::Ok();
}

Status EncodePixelStage(const Belief& belief, const Cells& cells, const float* x0_hat, const uint8_t* pixels, int width,
                        int height, bitstream::AnsEncoder& enc, double* ideal_bits, const int32_t* log_scale) {
  const size_t n = 3 * static_cast<size_t>(width) * height;
  std::vector<float> residuals(n);
  double bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto dist =
        PixelBelief(belief, cells, i, x0_hat[i], ContextOf(residuals.data(), width, height, i), log_scale);
    DCODEC_RETURN_IF_ERROR(bitstream::EncodeSymbol(enc, dist, pixels[i]));
    bits += bitstream::IdealBits(dist, pixels[i]);
    residuals[i] = Residual(pixels[i], x0_hat[i]);
  }
  if (ideal_bits) *ideal_bits += bits;
  return Status::Ok();
}

Status DecodePixelStage(const Belief& belief, const Cells& cells, const float* x0_hat, int width, int height,
                        bitstream::AnsDecoder& dec, uint8_t* pixels, double* ideal_bits, const int32_t* log_scale) {
  const size_t n = 3 * static_cast<size_t>(width) * height;
  std::vector<float> residuals(n);
  double bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto dist =
        PixelBelief(belief, cells, i, x0_hat[i], ContextOf(residuals.data(), width, height, i), log_scale);
    DCODEC_ASSIGN_OR_RETURN(int32_t p, bitstream::DecodeSymbol(dec, dist));
    if (ideal_bits) bits += bitstream::IdealBits(dist, p);
    pixels[i] = static_cast<uint8_t>(p);
    residuals[i] = Residual(pixels[i], x0_hat[i]);
  }
  if (ideal_bits) *ideal_bits += bits;
  return Status::Ok();
}

}  // namespace dcodec::codec
