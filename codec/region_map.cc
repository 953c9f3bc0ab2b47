#include "codec/region_map.h"

#include <algorithm>
#include <cmath>

#include "codec/adaptive_model.h"
#include "codec/gaussian_stage.h"

namespace dcodec::codec {

RegionMap::RegionMap(int w, int h)
    : w_(w),
      h_(h),
      cols_((w + kRegion - 1) / kRegion),
      rows_((h + kRegion - 1) / kRegion),
      plane_(std::max<size_t>(1, static_cast<size_t>(w) * static_cast<size_t>(h))),
      k_(static_cast<size_t>(cols_) * static_cast<size_t>(rows_), 0) {}

void RegionMap::set_class(size_t r, int k) { k_[r] = static_cast<int8_t>(std::clamp(k, kMinClass, kMaxClass)); }

double RegionMap::Weight(int k) {
  const int half = k >= 0 ? k / 2 : -((1 - k) / 2);  // floor(k / 2)
  return std::ldexp((k - 2 * half) != 0 ? 0x1.6a09e667f3bcdp+0 : 1.0, half);
}

RegionMap ChooseRegionMap(const GaussianStage& st, const GaussianBelief& belief, const float* x_t,
                          const uint8_t* pixels, int w, int h, double offset) {
  RegionMap map(w, h);
  std::vector<double> real(map.regions(), 0.0), expected(map.regions(), 0.0);
  const double var_q = st.sigma * st.sigma, log2e = 1.4426950408889634;
  for (size_t e = 0; e < belief.size(); ++e) {
    const double sigma = belief.sigma(e), var_p = sigma * sigma;
    const double d = QMean(st, x_t, pixels, e) - belief.mean(e);
    const double own = 0.5 * std::log2(var_p / var_q);
    const size_t r = map.RegionOf(e);
    expected[r] += own;
    real[r] += own + ((var_q + d * d) / (2 * var_p) - 0.5) * log2e;
  }
  for (size_t r = 0; r < map.regions(); ++r) {
    if (!(expected[r] > 0) || !(real[r] > 0)) continue;  // nothing to weigh: the belief as it is
    map.set_class(r, static_cast<int>(std::lround(2 * std::log2(real[r] / expected[r]) + offset)));
  }
  return map;
}

double EncodeRegionMap(bitstream::AnsEncoder& enc, const RegionMap& map) {
  AdaptiveSymbols model(RegionMap::kClasses);
  double bits = 0;
  for (int8_t k : map.classes()) model.Put(enc, k - RegionMap::kMinClass, &bits);
  return bits;
}

StatusOr<RegionMap> DecodeRegionMap(bitstream::AnsDecoder& dec, int w, int h, double* bits) {
  RegionMap map(w, h);
  AdaptiveSymbols model(RegionMap::kClasses);
  double cost = 0;
  for (size_t r = 0; r < map.regions(); ++r) {
    DCODEC_ASSIGN_OR_RETURN(const int s, model.Get(dec, &cost));
    map.set_class(r, s + RegionMap::kMinClass);
  }
  if (bits) *bits = cost;
  return map;
}

}  // namespace dcodec::codec
