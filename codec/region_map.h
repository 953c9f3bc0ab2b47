// A Gaussian stage's region map (formats 12 and 13): how much more or less real KL than the belief expects each
// 32×32 region of the picture holds, so that the stage's blocks carry about the same real KL each.
//
// Why: a block's elements are chosen by the belief's expected KL, Σ ½·log2(σ_e²/σ̃²), but the real KL of q from the
// belief follows the picture: where the model errs more than its scale says (texture, edges) a block's real KL lies
// far above its 2^index_bits candidates and the pick starves (carries little of q); where it errs less (sky, flat
// walls) the block's index bits buy little. Only the encoder knows q. It sends, for each region r, a class k_r
// (kMinClass..kMaxClass), and both sides weigh every element's expected KL by 2^(k_r/2) when they cut the blocks
// (GaussianBlocks): a region with k_r = 2 gets blocks of half as many elements. The encoder picks
// k_r = round(2·log2(real_r / expected_r) + offset) (ChooseRegionMap); the map costs about 3 bits a region (wiki_001,
// 638×425: 700–890 bits a stage, 1–7% of a Gaussian stage). Measured on dev photos (docs/rate_audit.md, "The region
// map").
//
// Regions are 32×32 pixels (the last row and column smaller), shared by the colour planes; elements are planar
// (plane, y, x), as everywhere in the codec. In the stream, after the stage's scale code: the classes in raster
// order, each with an adaptive model of kClasses symbols (codec/adaptive_model.h) that starts afresh at every stage.
// No LibTorch here.
#ifndef DCODEC_CODEC_REGION_MAP_H_
#define DCODEC_CODEC_REGION_MAP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/status.h"
#include "bitstream/ans.h"

namespace dcodec::codec {

class GaussianBelief;
struct GaussianStage;

class RegionMap {
 public:
  static constexpr int kRegion = 32;  // pixels a side
  static constexpr int kMinClass = -4, kMaxClass = 6;
  static constexpr int kClasses = kMaxClass - kMinClass + 1;

  RegionMap() = default;
  // All classes 0 (the belief as it is) for a w × h picture.
  RegionMap(int w, int h);

  int width() const { return w_; }
  int height() const { return h_; }
  int cols() const { return cols_; }
  int rows() const { return rows_; }
  size_t regions() const { return k_.size(); }
  int klass(size_t r) const { return k_[r]; }
  void set_class(size_t r, int k);  // clamped to kMinClass..kMaxClass
  const std::vector<int8_t>& classes() const { return k_; }
  bool operator==(const RegionMap& o) const { return w_ == o.w_ && h_ == o.h_ && k_ == o.k_; }

  // The region of planar element e (any plane).
  size_t RegionOf(size_t e) const {
    const size_t p = e % plane_;
    return (p / static_cast<size_t>(w_) / kRegion) * static_cast<size_t>(cols_) +
           (p % static_cast<size_t>(w_)) / kRegion;
  }
  // 2^(k/2), exact (a power of two, or √2 times one): the same double on every machine.
  static double Weight(int k);
  double WeightOf(size_t e) const { return Weight(k_[RegionOf(e)]); }

 private:
  int w_ = 0, h_ = 0, cols_ = 0, rows_ = 0;
  size_t plane_ = 1;
  std::vector<int8_t> k_;
};

// The encoder's map for stage `st` (the pixels give q): k_r = round(2·log2(real_r / expected_r) + offset), where
// real_r is region r's Σ KL(q_e ‖ p_e) and expected_r its Σ ½·log2(σ_e²/σ̃²). offset −1 (blocks of about √2 times
// the budget in real KL) measured best.
RegionMap ChooseRegionMap(const GaussianStage& st, const GaussianBelief& belief, const float* x_t,
                          const uint8_t* pixels, int w, int h, double offset);

// Appends the map's classes; returns their cost in bits.
double EncodeRegionMap(bitstream::AnsEncoder& enc, const RegionMap& map);
// Reads a w × h picture's map; kTruncated if the data runs out. *bits (if given) gets their cost.
StatusOr<RegionMap> DecodeRegionMap(bitstream::AnsDecoder& dec, int w, int h, double* bits = nullptr);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_REGION_MAP_H_
