// The entropy model of the codec's stages: what both sides believe about the next symbol before it is coded.
// One home for every belief (the networks live in model/, the coding loops in stage_coder.h), the way CompressAI
// keeps entropy models apart from networks. No LibTorch here: plain arrays, double arithmetic with + − × ÷ and
// floor only (the project builds with -ffp-contract=off), so encoder and decoder agree on every machine given the
// same x_t and x̂_0.
//
// A belief has three parts:
//  * Cells: every subpixel carries the interval [lo, hi] of 8-bit values that the stages so far have proved it
//    to lie in. A dithered stage's symbol k says that μ̃ = c0·x_0 + ct·x_t lies in the cell
//    [Δ(k − u − ½), Δ(k − u + ½)), i.e. that x_0 is one of the pixels p with SymbolOf(p) = k; both sides narrow
//    [lo, hi] to exactly those pixels (Cells::Narrow). The next stage's symbols then range over
//    [SymbolOf(lo), SymbolOf(hi)] only, and the pixel stage over [lo, hi]: no probability is spent on values the
//    stream has already ruled out.
//  * A mean: the model's x̂_0, clamped to [lo, hi] (in units of x_0: p / 127.5 − 1).
//  * A shape (Belief, side information of each stage): Gaussian or logistic, with a scale that adapts to the
//    local activity a_i of x̂_0 (dithered stages: scale_i = scale + gain · a_i · c0) or, for the pixel stage, to the
//    errors of the neighbours already decoded (PixelContext).
//    The distribution over the support is the leaky quantization of bitstream/leaky_quantizer.h (the tails fold
//    into the end values, so the support's ends take what lies beyond them).
#ifndef DCODEC_CODEC_ENTROPY_MODEL_H_
#define DCODEC_CODEC_ENTROPY_MODEL_H_

#include <cmath>
#include <cstdint>
#include <vector>

#include "base/status.h"
#include "bitstream/ans.h"
#include "bitstream/leaky_quantizer.h"

namespace dcodec::codec {

// x_0 of an 8-bit sample: p / 127.5 − 1.
inline float PixelToUnit(uint8_t p) { return static_cast<float>(p / 127.5 - 1.0); }
// The nearest 8-bit sample to a value in [-1, 1].
uint8_t UnitToPixel(double v);

// The belief's shape, coded at the start of each stage (with a scale head, DitherStage::log_scale, the scale
// code is a multiplier of each element's predicted scale: see HeadScale): family (1 bit), scale code (7 bits for dithered stages,
// whose scales lie in [2^-8, 1) in units of x_0; 8 bits for the pixel stage); for the dithered stages after the
// first, the gain on the activity of x̂_0 (one of kGainCodes, 2 bits); for the first, the planes' means (3 × 4
// bits); for the pixel stage its causal context (PixelContext): three prediction weights (w/16, w in −3..12, 4 bits
// each) and the local-error gain (one of kLocalCodes, 2 bits), which takes the activity gain's place.
struct Belief {
  bitstream::Family family = bitstream::Family::kGaussian;
  uint8_t scale_code = 160;                  // scale = 2^((scale_code − 160) / 16), in the stage's value units
  uint8_t gain_code = 0;                     // gain = gain_code / 16; one of kGainCodes
  int8_t w_left = 0, w_up = 0, w_plane = 0;  // pixel stage: residual prediction weights, in 1/16
  uint8_t local_code = 0;                    // pixel stage: local-error gain = local_code / 8; one of kLocalCodes
  uint8_t plane_mean[3] = {136, 136, 136};   // first stage: each plane's mean pixel to 16 levels (16q + 8), its x̂_0
  double scale() const;
  double gain() const { return gain_code / 16.0; }
};
constexpr uint8_t kGainCodes[] = {0, 4, 8, 16};
constexpr int kDitherScaleCodeMin = 32, kDitherScaleCodeMax = 159;  // 2^-8 .. 2^(-1/16)
constexpr uint8_t kLocalCodes[] = {0, 1, 2, 4};
uint8_t ScaleCodeFor(double scale);  // the nearest code

// The side information in the ANS stream, uniform symbols: 20 bits for the first stage, 10 for the other
// dithered stages, 23 for the pixel stage.
enum class BeliefKind { kFirst, kDithered, kPixels };
void EncodeBelief(bitstream::AnsEncoder& enc, const Belief& belief, BeliefKind kind);
StatusOr<Belief> DecodeBelief(bitstream::AnsDecoder& dec, BeliefKind kind);
// The first stage's planes' means (16q + 8), 3 × 4 bits: part of kFirst, and of a first Gaussian stage's side
// information (gaussian_stage.h).
void EncodePlaneMeans(bitstream::AnsEncoder& enc, const uint8_t mean[3]);
Status DecodePlaneMeans(bitstream::AnsDecoder& dec, uint8_t mean[3]);
double BeliefBits(BeliefKind kind);

// a_i = mean |x̂_0(j) − x̂_0(i)| over the 8 neighbours j of sample i in its plane (edges replicated); planes of
// width × height, 3 of them.
std::vector<float> Activity(const float* x0_hat, int width, int height);

// One dithered stage (stage_coder.h has the maths): x_s = Δ·(k − u) with k = floor(μ̃/Δ + u + ½).
struct DitherStage {
  double coef_x0;
  double coef_xt;
  double step;  // Δ = sqrt(12 σ̃²)
  uint64_t dither_key;
  const float* activity = nullptr;  // a_i per element (nullptr: all zero)
  const int32_t* log_scale = nullptr;  // the model's scale head, HeadScale() (nullptr: a model without one)
};

// A model with a scale head (model/unet.h, UNetConfig::Output::kEpsilonAndLogScale) predicts, per element, the
// log2 of the size of x̂_0's error; both sides quantize it to 1/16 on the portable grid (portable.h), q_i. The
// belief's scale is then per element: the stage's coded scale (the Belief's scale code, a multiplier that absorbs
// the head's calibration and its per-timestep offset, model/diffusion.h ScaleOffsetLog2, about 2^-4 .. 2^-0.3)
// times 2^(q_i/16), computed as one power of 2^(1/16), exact on every machine (a table and ldexp):
//   HeadScale(code, q_i) = 2^((clamp(q_i) + code − 128)/16)
// (4 × Belief::scale() × 2^(q_i/16): two octaves of headroom above the dithered stages' largest code).
constexpr int32_t kHeadLogScaleMin = -160, kHeadLogScaleMax = 160;  // q_i is clamped to ±10 octaves
constexpr int kHeadGridBits = 4;                                   // q_i in 1/16 of an octave
double HeadScale(uint8_t scale_code, int32_t log_scale);

// splitmix64's output function (a bijection of 64-bit words).
inline uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
constexpr uint64_t kCounterGolden = 0x9E3779B97F4A7C15ull;  // splitmix64's increment
// The counter-based hash behind every shared random choice: a splitmix64 output, the same on every machine.
inline uint64_t CounterHash(uint64_t key, uint64_t i) { return Mix(key + i * kCounterGolden); }
// The dither of element i: U[-½, ½) from CounterHash(key, i).
double Dither(uint64_t key, uint64_t i);
uint64_t DitherKey(uint64_t seed, int stage);

// The symbol a pixel value p would be sent as: floor((c0·x_0(p) + ct·x_t)/Δ + u + ½). Non-decreasing in p. The
// encoder sends exactly this, and the cells are defined by it, so the two can never disagree.
inline int32_t SymbolOf(const DitherStage& st, double x_t, uint8_t p, double u) {
  double mu = st.coef_x0 * static_cast<double>(PixelToUnit(p)) + st.coef_xt * x_t;
  return static_cast<int32_t>(std::floor(mu / st.step + u + 0.5));
}

// The proven intervals, one per subpixel; all [0, 255] at the start.
class Cells {
 public:
  explicit Cells(size_t n) : lo_(n, 0), hi_(n, 255) {}
  size_t size() const { return lo_.size(); }
  uint8_t lo(size_t i) const { return lo_[i]; }
  uint8_t hi(size_t i) const { return hi_[i]; }
  // Keeps the pixels p of [lo, hi] with SymbolOf(p) == k. False (and no change) if none is left: a corrupt
  // stream or a decoder that computes differently.
  bool Narrow(const DitherStage& st, size_t i, double x_t, double u, int32_t k);
  // Σ log2(hi − lo + 1): how many bits of the image the cells leave open.
  double OpenBits() const;

 private:
  std::vector<uint8_t> lo_, hi_;
};

// The distribution of a dithered stage's symbol for element i (mean, scale and support in units of Δ).
bitstream::QuantizedContinuous DitherBelief(const DitherStage& st, const Belief& b, const Cells& cells, size_t i,
                                            double x_t, double x0_hat, double u);
// The pixel stage's causal context: the residuals e = p − 127.5·(x̂_0 + 1) of pixel i's neighbours that are
// decoded before it (the stage runs plane by plane, row by row): left, up, and the same pixel in the previous
// plane (0 where there is none). The belief's mean is 127.5·(x̂_0 + 1) + (w_left·e_left + w_up·e_up +
// w_plane·e_plane)/16, clamped to the cell, and its scale is scale + local_code/8 · (|e_left| + |e_up|)/2: model
// errors are smooth in space and shared between colour planes, and where the neighbours were hard so is this.
struct PixelContext {
  double left = 0, up = 0, plane = 0;
};
// `residuals` holds e for every pixel before i (in coding order); planes of width × height.
PixelContext ContextOf(const float* residuals, int width, int height, size_t i);
inline float Residual(uint8_t p, double x0_hat) { return static_cast<float>(p - 127.5 * (x0_hat + 1.0)); }

// The distribution of pixel i given x̂_0 and its context (support [lo, hi]).
// With a scale head (`log_scale` not null) the base scale is 127.5 · HeadScale(scale_code, log_scale[i]).
bitstream::QuantizedContinuous PixelBelief(const Belief& b, const Cells& cells, size_t i, double x0_hat,
                                           const PixelContext& context, const int32_t* log_scale = nullptr);

// The shape that minimises the stage's ideal bits, searched on a subsample of about 8192 elements.
Belief ChooseDitherBelief(const DitherStage& st, const Cells& cells, const float* x_t, const float* x0_hat,
                          const uint8_t* pixels, size_t n);
// *bits_per_symbol (if given): the chosen belief's mean cost on the subsample, an estimate of the stage's rate.
Belief ChoosePixelBelief(const Cells& cells, const float* x0_hat, const uint8_t* pixels, int width, int height,
                         double* bits_per_symbol = nullptr, const int32_t* log_scale = nullptr);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_ENTROPY_MODEL_H_
