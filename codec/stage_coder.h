// One stage of the progressive stream, on plain arrays (no LibTorch): the dithered (universally quantized) coding of
// x_s given x_t, and the lossless coding of the 8-bit pixels given the model's x̂_0.
//
// Dithered stage (issue 4; Ziv's universal quantization). Both sides know x_t and the model's x̂_0. The encoder
// also knows x_0 and so μ̃ = c0·x_0 + ct·x_t, the mean of q(x_s | x_t, x_0), whose variance is σ̃². With the step
// Δ = σ̃·√12 and a dither u ~ U[-½, ½) that both sides derive from (key, element index), the encoder sends
//   k = floor(μ̃/Δ + u + ½)
// and both sides set x_s = Δ·(k − u); x_s − μ̃ is then uniform with variance σ̃², independent of μ̃.
// k is entropy-coded with P(k) = G((k + ½)Δ − uΔ) − G((k − ½)Δ − uΔ), G the model's belief about μ̃: a Gaussian
// or logistic centred at μ_θ = c0·x̂_0 + ct·x_t with a scale sent in the stage's side information. Because x_0 lies in
// [-1, 1], k lies in the support [floor((ct·x_t − c0)/Δ + u + ½), floor((ct·x_t + c0)/Δ + u + ½)], which both sides
// compute identically, so no escape code is needed.
//
// Pixel stage (the paper's discretized decoder, eq. 13): pixel p ∈ [0, 255] with a Gaussian or logistic centred
// at 127.5·(x̂_0 + 1), tails folded into 0 and 255.
//
// All arithmetic here is double precision with + − × ÷ and floor only, so encoder and decoder agree on every
// machine given the same x_t and x̂_0.
#ifndef DCODEC_CODEC_STAGE_CODER_H_
#define DCODEC_CODEC_STAGE_CODER_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "bitstream/ans.h"
#include "bitstream/leaky_quantizer.h"

namespace dcodec::codec {

// The belief's shape, sent as three bytes at the start of each stage payload. Element i's scale adapts to the
// local activity a_i of x̂_0 (both sides compute it, see Activity()):
//   scale_i = scale + gain · a_i · (c0 for dithered stages, 127.5 for the pixel stage)
// so that edges and texture, where the model errs most, get wider beliefs than flat areas.
struct Belief {
  bitstream::Family family = bitstream::Family::kGaussian;
  uint8_t scale_code = 160;   // scale = 2^((scale_code - 160) / 16), in the stage's value units
  uint8_t gain_code = 0;      // gain = gain_code / 16
  double scale() const;
  double gain() const { return gain_code / 16.0; }
};

// a_i = mean |x̂_0(j) − x̂_0(i)| over the 8 neighbours j of sample i in its plane (edges replicated); planes of
// width × height, 3 of them. Computed identically by encoder and decoder.
std::vector<float> Activity(const float* x0_hat, int width, int height);
uint8_t ScaleCodeFor(double scale);  // the nearest code

struct DitherStage {
  double coef_x0;
  double coef_xt;
  double step;  // Δ = sqrt(12 σ̃²)
  uint64_t dither_key;
  const float* activity = nullptr;  // a_i per element (nullptr: all zero)
};

// The dither of element i: U[-½, ½) from a counter-based hash, the same on every machine.
double Dither(uint64_t key, uint64_t i);
uint64_t DitherKey(uint64_t seed, int stage);

// The encoder's half: n elements of x_t, x̂_0 and x_0 (planar, any order, the same on both sides). Writes x_s and
// the symbols; appends the symbols to `enc`.
Status EncodeDitherStage(const DitherStage& stage, const Belief& belief, const float* x_t, const float* x0_hat,
                         const float* x0, size_t n, bitstream::AnsEncoder& enc, float* x_s, int32_t* symbols);
Status DecodeDitherStage(const DitherStage& stage, const Belief& belief, const float* x_t, const float* x0_hat,
                         size_t n, bitstream::AnsDecoder& dec, float* x_s, int32_t* symbols);
// Σ −log2 P(k) over every `stride`-th element: what the stage costs under `belief` (used to choose the belief).
double DitherStageBits(const DitherStage& stage, const Belief& belief, const float* x_t, const float* x0_hat,
                       const float* x0, size_t n, size_t stride = 1);

// `activity` may be nullptr (all zero).
Status EncodePixelStage(const Belief& belief, const float* x0_hat, const uint8_t* pixels, size_t n,
                        bitstream::AnsEncoder& enc, const float* activity = nullptr);
Status DecodePixelStage(const Belief& belief, const float* x0_hat, size_t n, bitstream::AnsDecoder& dec,
                        uint8_t* pixels, const float* activity = nullptr);
double PixelStageBits(const Belief& belief, const float* x0_hat, const uint8_t* pixels, size_t n, size_t stride = 1,
                      const float* activity = nullptr);

// The belief (family and scale code) that minimises the stage's ideal bits, searched on a subsample.
Belief ChooseDitherBelief(const DitherStage& stage, const float* x_t, const float* x0_hat, const float* x0, size_t n);
Belief ChoosePixelBelief(const float* x0_hat, const uint8_t* pixels, size_t n, const float* activity = nullptr);

// x_0 of an 8-bit sample: p / 127.5 − 1.
inline float PixelToUnit(uint8_t p) { return static_cast<float>(p / 127.5 - 1.0); }
// The nearest 8-bit sample to a value in [-1, 1].
uint8_t UnitToPixel(double v);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_STAGE_CODER_H_
