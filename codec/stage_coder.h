// One stage of the progressive stream, on plain arrays (no LibTorch): the dithered (universally quantized) coding of
// x_s given x_t, and the lossless coding of the 8-bit pixels given the model's x̂_0. What each symbol's
// distribution is (cells, mean, shape) is entropy_model.h's business; this file runs the loops.
//
// Dithered stage (issue 4; Ziv's universal quantization). Both sides know x_t and the model's x̂_0. The encoder
// also knows x_0 and so μ̃ = c0·x_0 + ct·x_t, the mean of q(x_s | x_t, x_0), whose variance is σ̃². With the step
// Δ = σ̃·√12 and a dither u ~ U[-½, ½) that both sides derive from (key, element index), the encoder sends
//   k = floor(μ̃/Δ + u + ½)
// and both sides set x_s = Δ·(k − u); x_s − μ̃ is then uniform with variance σ̃², independent of μ̃.
// k is entropy-coded with P(k) = G((k + ½)Δ − uΔ) − G((k − ½)Δ − uΔ), G the model's belief about μ̃ (see
// entropy_model.h), over the symbols the cells leave possible, so no escape code is needed.
//
// Pixel stage (the paper's discretized decoder, eq. 13): pixel p in its cell [lo, hi] with a Gaussian or logistic
// centred at 127.5·(x̂_0 + 1), tails folded into lo and hi.
#ifndef DCODEC_CODEC_STAGE_CODER_H_
#define DCODEC_CODEC_STAGE_CODER_H_

#include <cstdint>

#include "base/status.h"
#include "bitstream/ans.h"
#include "codec/entropy_model.h"

namespace dcodec::codec {

// The encoder's half: n elements of x_t, x̂_0 and the pixels (planar, the same order on both sides). Appends
// the symbols to `enc`, writes x_s and the symbols (`symbols` may be nullptr: not wanted), narrows the cells, and
// adds Σ −log2 P to *ideal_bits.
Status EncodeDitherStage(const DitherStage& stage, const Belief& belief, Cells& cells, const float* x_t,
                         const float* x0_hat, const uint8_t* pixels, size_t n, bitstream::AnsEncoder& enc, float* x_s,
                         int32_t* symbols, double* ideal_bits);
// kCorrupt if a symbol leaves no pixel in its cell (a damaged stream or a decoder that computes differently).
// `ideal_bits` (if given) gets Σ −log2 P of the decoded symbols added, as the encoder reports it.
Status DecodeDitherStage(const DitherStage& stage, const Belief& belief, Cells& cells, const float* x_t,
                         const float* x0_hat, size_t n, bitstream::AnsDecoder& dec, float* x_s, int32_t* symbols,
                         double* ideal_bits = nullptr);

// Three planes of width × height, coded plane by plane, row by row (the causal context of entropy_model.h).
Status EncodePixelStage(const Belief& belief, const Cells& cells, const float* x0_hat, const uint8_t* pixels, int width,
                        int height, bitstream::AnsEncoder& enc, double* ideal_bits, const int32_t* log_scale = nullptr);
Status DecodePixelStage(const Belief& belief, const Cells& cells, const float* x0_hat, int width, int height,
                        bitstream::AnsDecoder& dec, uint8_t* pixels, double* ideal_bits = nullptr,
                        const int32_t* log_scale = nullptr);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_STAGE_CODER_H_
