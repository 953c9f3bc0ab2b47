// A Gaussian stage: x_s sent as a sample of q(x_s | x_t, x_0) itself, by minimal random coding (channel
// simulation; Havasi, Peharz & Hernández-Lobato 2019, "Minimal Random Code Learning"), instead of by dithered
// quantization (stage_coder.h). No LibTorch here: plain arrays.
//
// Why: a dithered stage pays roughly linearly in the model's error where that error is a small fraction of the step
// Δ, while the model's own cost, the KL of q from p_θ, grows with its square. At the first stages of the chain
// (t = 400, 162) the dithered stream paid 2.7–3.6× the KL (docs/rate_audit.md). Channel simulation pays the KL plus a
// few bits a block.
//
// Both sides know x_t and x̂_0 and so the belief p_e = N(μ_e, σ_e²) of each element e:
//   μ_e = c0·x̂_0,e + ct·x_t,e,   σ_e² = σ̃² + (c0·HeadScale(scale_code, q_e))²
// (q_e the scale head's portable output, 0 without a head or at the first stage, whose x̂_0 is the planes'
// means). The encoder also knows x_0 and so q_e = N(c0·x_0,e + ct·x_t,e, σ̃²).
//
// Blocks: the elements, in order, are cut into blocks whose expected KL under the belief,
// Σ ½·log2(σ_e²/σ̃²) (each term times its region's weight where the stage has a region map), reaches `block_bits`
// (the last block takes what is left). Both sides compute the cut with + − × ÷, sqrt and PortableLog2 only, so
// they agree on every machine.
// Candidates: block B's candidate i (0 ≤ i < 2^index_bits) sets element e to μ_e + σ_e·z, where
//   z = (S − 3069) · √2/1024,  S = the sum of the six 10-bit fields of CounterHash(key, i·2^32 + e),
// a portable stand-in for a standard normal (mean 0, variance 1 − 2^-20, range ±4.24).
// The encoder weighs candidate i by q(c_i)/p'(c_i) (p' the candidates' exact law) and picks one at random with those
// weights (a Gumbel-max draw keyed by `choice_key`); it sends i as index_bits uniform bits. The decoder regenerates
// candidate i. With 2^index_bits somewhat above 2^KL the pick is close to a sample of q.
#ifndef DCODEC_CODEC_GAUSSIAN_STAGE_H_
#define DCODEC_CODEC_GAUSSIAN_STAGE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/status.h"
#include "bitstream/ans.h"
#include "codec/entropy_model.h"
#include "codec/region_map.h"

namespace dcodec::codec {

struct GaussianStage {
  double coef_x0;
  double coef_xt;
  double sigma;                        // σ̃, the standard deviation of q(x_s | x_t, x_0)
  uint64_t key;                        // the candidates (both sides)
  uint64_t choice_key;                 // the encoder's pick
  int index_bits;                      // 2^index_bits candidates a block, 1..16
  double block_bits;                   // the expected KL a block, > 0
  const int32_t* log_scale = nullptr;  // the scale head's portable output (nullptr: none)
  // Formats 12 and 13: each element's expected KL weighed by its region's class (codec/region_map.h) when the
  // blocks are cut; nullptr: unweighed.
  const RegionMap* map = nullptr;
};

// Format 9: a Gaussian stage may have its own candidates and block budget instead of the stream's (the header's
// gaussian_index_bits and gaussian_block_quarters). The first stage needs them most: its belief is the planes' means,
// the same everywhere, so its blocks hold equal numbers of elements while the real KL of a block follows the
// picture, and where it is far above index_bits the pick carries little of the picture (docs/rate_audit.md).
// In the stream, after the stage's scale code: one uniform bit (1: its own), then index_bits − 1 (16 values) and
// block_quarters − 1 (255 values).
struct StageSettings {
  int index_bits = 0;      // 1..16
  int block_quarters = 0;  // 1..255
  bool operator==(const StageSettings& o) const {
    return index_bits == o.index_bits && block_quarters == o.block_quarters;
  }
  bool operator!=(const StageSettings& o) const { return !(*this == o); }
};
// Writes the stage's settings (`own` unless it equals `stream`'s) and returns the bits they took.
double EncodeStageSettings(bitstream::AnsEncoder& enc, const StageSettings& own, const StageSettings& stream);
// Reads them: `stream` when the stage has none of its own. kTruncated if the data runs out.
StatusOr<StageSettings> DecodeStageSettings(bitstream::AnsDecoder& dec, const StageSettings& stream,
                                            double* bits = nullptr);
// `st` with `s`'s candidates and budget.
GaussianStage WithSettings(GaussianStage st, const StageSettings& s);

// How much of q's pull away from the belief a stage's sample x_s carries: Σ (x_s − μ_p)(μ_q − μ_p) / Σ (μ_q − μ_p)²,
// about 1 for a true sample of q, less where blocks starve (their real KL far above index_bits) and the pick stays
// near the belief. The encoder's measure (it knows x_0); 1 when q and the belief agree everywhere.
double SignalTransfer(const GaussianStage& st, uint8_t scale_code, const float* x_t, const float* x0_hat,
                      const uint8_t* pixels, const float* x_s, size_t n);

// q's mean at element e: c0·x_0 + ct·x_t (the encoder's; it knows the pixels).
inline double QMean(const GaussianStage& st, const float* x_t, const uint8_t* pixels, size_t e) {
  return st.coef_x0 * PixelToUnit(pixels[e]) + st.coef_xt * x_t[e];
}

// log2(x) for x > 0 with + − × ÷ and frexp only: the same on every IEEE-754 machine (accurate to ~1e-15).
double PortableLog2(double x);

// The belief's mean and standard deviation of every element, computed when asked (no per-element storage: a
// Gaussian stage needs no memory beyond the codec's arrays).
class GaussianBelief {
 public:
  GaussianBelief(const GaussianStage& st, uint8_t scale_code, const float* x_t, const float* x0_hat, size_t n)
      : st_(st), code_(scale_code), x_t_(x_t), x0_hat_(x0_hat), n_(n) {}
  size_t size() const { return n_; }
  double mean(size_t e) const { return st_.coef_x0 * x0_hat_[e] + st_.coef_xt * x_t_[e]; }
  double sigma(size_t e) const;

 private:
  const GaussianStage& st_;
  uint8_t code_;
  const float* x_t_;
  const float* x0_hat_;
  size_t n_;
};

// The block boundaries: starts of each block, then n.
std::vector<size_t> GaussianBlocks(const GaussianStage& st, const GaussianBelief& belief);

// The scale code (HeadScale's first argument) whose belief is closest to q: the least Σ KL(q_e || p_e).
uint8_t ChooseGaussianScale(const GaussianStage& st, const float* x_t, const float* x0_hat, const uint8_t* pixels,
                            size_t n);

// The encoder's search: one index a block (in block order) into `indices`, the sample they give into x_s, and the
// indices' bits added to *ideal_bits (if given). `threads` blocks are searched at once (the result does not depend
// on it). Nothing is written: WriteGaussianIndices does that, so that a search can be kept or dropped.
void SearchGaussianStage(const GaussianStage& st, uint8_t scale_code, const float* x_t, const float* x0_hat,
                         const uint8_t* pixels, size_t n, float* x_s, std::vector<uint32_t>* indices,
                         double* ideal_bits, int threads = 1);
// Appends a search's indices to `enc` (index_bits each, in block order): what DecodeGaussianStage reads.
void WriteGaussianIndices(const std::vector<uint32_t>& indices, int index_bits, bitstream::AnsEncoder& enc);
// Both: SearchGaussianStage, then WriteGaussianIndices with st.index_bits.
void EncodeGaussianStage(const GaussianStage& st, uint8_t scale_code, const float* x_t, const float* x0_hat,
                         const uint8_t* pixels, size_t n, bitstream::AnsEncoder& enc, float* x_s,
                         std::vector<uint32_t>* indices, double* ideal_bits, int threads = 1);
// The decoder: kTruncated if the data runs out.
Status DecodeGaussianStage(const GaussianStage& st, uint8_t scale_code, const float* x_t, const float* x0_hat, size_t n,
                           bitstream::AnsDecoder& dec, float* x_s, std::vector<uint32_t>* indices,
                           double* ideal_bits = nullptr);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_GAUSSIAN_STAGE_H_
