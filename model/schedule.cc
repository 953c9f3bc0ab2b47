#include "model/schedule.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace dcodec::model {

namespace {

constexpr double kMaxBeta = 0.999;
constexpr double kCosineOffset = 0.008;  // s in Nichol & Dhariwal eq. 17

// f(t) of Nichol & Dhariwal eq. 17 at fractional time u = t/T.
double CosineF(double u) {
  const double c = std::cos((u + kCosineOffset) / (1.0 + kCosineOffset) * M_PI / 2.0);
  return c * c;
}

}  // namespace

const char* BetaScheduleName(BetaSchedule kind) {
  switch (kind) {
    case BetaSchedule::kLinear:
      return "linear";
    case BetaSchedule::kCosine:
      return "cosine";
  }
  return "unknown";
}

StatusOr<BetaSchedule> ParseBetaSchedule(const std::string& name) {
  if (name == "linear") return BetaSchedule::kLinear;
  if (name == "cosine") return BetaSchedule::kCosine;
  return InvalidInput("unknown beta schedule '" + name + "' (expected linear or cosine)");
}

NoiseSchedule NoiseSchedule::Make(BetaSchedule kind, int num_steps) {
  NoiseSchedule s;
  s.kind_ = kind;
  s.num_steps_ = std::max(1, num_steps);
  const int T = s.num_steps_;
  s.betas_.assign(T + 1, 0.0);
  switch (kind) {
    case BetaSchedule::kLinear: {
      const double scale = 1000.0 / T;
      const double start = scale * 1e-4, end = scale * 0.02;
      for (int t = 1; t <= T; ++t) {
        const double frac = T == 1 ? 0.0 : static_cast<double>(t - 1) / (T - 1);  // numpy.linspace(start, end, T)
        s.betas_[t] = std::min(start + frac * (end - start), kMaxBeta);
      }
      break;
    }
    case BetaSchedule::kCosine: {
      for (int t = 1; t <= T; ++t) {
        const double ratio = CosineF(static_cast<double>(t) / T) / CosineF(static_cast<double>(t - 1) / T);
        s.betas_[t] = std::min(1.0 - ratio, kMaxBeta);
      }
      break;
    }
  }
  s.alpha_bars_.assign(T + 1, 1.0);
  for (int t = 1; t <= T; ++t) s.alpha_bars_[t] = s.alpha_bars_[t - 1] * (1.0 - s.betas_[t]);
  return s;
}

double NoiseSchedule::beta(int t) const {
  assert(t >= 1 && t <= num_steps_);
  return betas_[t];
}

double NoiseSchedule::alpha_bar(int t) const {
  assert(t >= 0 && t <= num_steps_);
  return alpha_bars_[t];
}

NoiseSchedule::Posterior NoiseSchedule::posterior(int s, int t) const {
  assert(s >= 0 && s < t && t <= num_steps_);
  return posterior_at(s, t);  // alpha_bar_at is the table at integers
}

double NoiseSchedule::alpha_bar_at(double t) const {
  t = std::clamp(t, 0.0, static_cast<double>(num_steps_));
  const double lower = std::floor(t);
  const int i = static_cast<int>(lower);
  if (t == lower) return alpha_bars_[i];
  const double f = t - lower;
  return std::exp((1.0 - f) * std::log(alpha_bars_[i]) + f * std::log(alpha_bars_[i + 1]));
}

double NoiseSchedule::log_snr(double t) const {
  const double ab = alpha_bar_at(t);
  return ab >= 1.0 ? INFINITY : std::log(ab / (1.0 - ab));
}

double NoiseSchedule::time_at_log_snr(double lambda) const {
  double lo = 0.0, hi = num_steps_;  // log_snr falls with t: find t with log_snr(t) = lambda
  if (lambda <= log_snr(hi)) return hi;
  for (int k = 0; k < 200 && hi - lo > 1e-12 * std::max(1.0, hi); ++k) {
    const double mid = 0.5 * (lo + hi);
    (log_snr(mid) > lambda ? lo : hi) = mid;
  }
  return hi;
}

NoiseSchedule::Posterior NoiseSchedule::posterior_at(double s, double t) const {
  assert(s >= 0 && s < t && t <= num_steps_);
  const double ab_s = alpha_bar_at(s), ab_t = alpha_bar_at(t);
  const double a_ts = ab_t / ab_s;
  const double one_minus_ab_t = 1.0 - ab_t;
  Posterior p;
  p.coef_x0 = std::sqrt(ab_s) * (1.0 - a_ts) / one_minus_ab_t;
  p.coef_xt = std::sqrt(a_ts) * (1.0 - ab_s) / one_minus_ab_t;
  p.variance = (1.0 - ab_s) / one_minus_ab_t * (1.0 - a_ts);
  return p;
}

NoiseSchedule::X0FromEps NoiseSchedule::x0_from_eps_at(double t) const {
  assert(t > 0 && t <= num_steps_);
  const double ab = alpha_bar_at(t);
  return {1.0 / std::sqrt(ab), -std::sqrt(1.0 - ab) / std::sqrt(ab)};
}

std::vector<double> NoiseSchedule::RespaceLogSnr(int num_steps, double t_end) const {
  const int K = std::max(1, num_steps);
  const double T = num_steps_;
  std::vector<double> ts = {T};
  const double hi = log_snr(t_end), lo = log_snr(T);
  for (int i = 1; i < K; ++i) {
    const double t = i == K - 1 ? t_end : time_at_log_snr(lo + (hi - lo) * i / (K - 1));
    if (t < ts.back()) ts.push_back(t);
  }
  return ts;
}

NoiseSchedule::X0FromEps NoiseSchedule::x0_from_eps(int t) const {
  assert(t >= 1 && t <= num_steps_);
  return x0_from_eps_at(t);  // alpha_bar_at is the table at integers
}

std::vector<int> NoiseSchedule::Respace(int num_stages) const {
  const int64_t T = num_steps_;
  const int64_t K = std::clamp<int64_t>(num_stages, 1, T);
  std::vector<int> ts;
  ts.reserve(K);
  // Points T (K - i)/K are >= 1 apart, so rounding them (half up, in integers) keeps them distinct and >= 1.
  for (int64_t i = 0; i < K; ++i) ts.push_back(static_cast<int>((2 * T * (K - i) + K) / (2 * K)));
  return ts;
}

}  // namespace dcodec::model
