#include "codec/chain.h"

#include <algorithm>
#include <cmath>

namespace dcodec::codec {

size_t KeptBeforeCut(const std::vector<uint16_t>& base, int t_end, bool keep_above_cut) {
  size_t k = 0;
  while (k < base.size() && base[k] > t_end) ++k;
  if (k > 0 && !keep_above_cut) {
    const int next = k < base.size() ? base[k] : 0;
    if (2 * (base[k - 1] - t_end) < base[k - 1] - next) --k;
  }
  return k;
}

StatusOr<std::vector<uint16_t>> MakeChain(const model::NoiseSchedule& schedule, const ChainOptions& o) {
  if (o.t_end != 0) {
    if (o.t_end < 0 || o.t_end > schedule.num_steps()) return InvalidArgument("coding chain: need 0 <= t_end <= T");
    ChainOptions uncut = o;
    uncut.t_end = 0;
    DCODEC_ASSIGN_OR_RETURN(std::vector<uint16_t> chain, MakeChain(schedule, uncut));
    chain.resize(KeptBeforeCut(chain, o.t_end, o.keep_above_cut));
    chain.push_back(static_cast<uint16_t>(o.t_end));
    return chain;
  }
  const int T = schedule.num_steps();
  if (o.stages < 0 || o.stages > 63) return InvalidArgument("--stages must be in 0..63");
  if (o.stages == 0) return std::vector<uint16_t>{};  // the pixels alone
  if (o.t_max < 1 || o.t_max > T || o.t_min < 1 || o.t_min > o.t_max) {
    return InvalidArgument("coding chain: need 1 <= t_min <= t_max <= T");
  }
  if (o.stages > o.t_max - o.t_min + 1) return InvalidArgument("coding chain: more stages than timesteps");
  auto log_snr = [&](int t) {
    double ab = schedule.alpha_bar(t);
    return std::log(ab / (1.0 - ab));
  };
  std::vector<uint16_t> chain;
  double hi = log_snr(o.t_min), lo = log_snr(o.t_max);
  for (int j = 0; j < o.stages; ++j) {
    double target = o.stages == 1 ? lo : lo + (hi - lo) * j / (o.stages - 1);
    // The largest t whose log-SNR is at least the target (log-SNR falls with t).
    int best = o.t_min;
    for (int t = o.t_min; t <= o.t_max; ++t) {
      if (log_snr(t) >= target) best = t;
    }
    // Strictly decreasing, leaving room for the stages still to come: τ_j in [t_min + (K-1-j), previous - 1].
    int upper = chain.empty() ? o.t_max : chain.back() - 1;
    int lower = o.t_min + (o.stages - 1 - j);
    best = std::clamp(best, lower, upper);  // lower <= upper since K <= t_max - t_min + 1
    chain.push_back(static_cast<uint16_t>(best));
  }
  return chain;
}

StageCoefficients CoefficientsFor(const model::NoiseSchedule& schedule, const std::vector<uint16_t>& chain, int j) {
  StageCoefficients c;
  c.s = chain[j];
  if (j == 0) {
    double ab = schedule.alpha_bar(c.s);
    c.t = 0;
    c.coef_x0 = std::sqrt(ab);
    c.coef_xt = 0.0;
    c.variance = 1.0 - ab;
  } else {
    c.t = chain[j - 1];
    auto p = schedule.posterior(c.s, c.t);
    c.coef_x0 = p.coef_x0;
    c.coef_xt = p.coef_xt;
    c.variance = p.variance;
  }
  return c;
}

}  // namespace dcodec::codec
