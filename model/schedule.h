// The DDPM noise schedule: betas, cumulative alphas and the Gaussian posteriors of the forward process.
//
// Pure double-precision maths with no LibTorch, so the codec's encoder and decoder (and tools that never load a
// network) compute the same numbers. Conventions follow Ho et al. 2020 ("the paper"):
//   t in {1..T}; x_0 is data; alpha_t = 1 - beta_t; alpha_bar_t = prod_{i<=t} alpha_i; alpha_bar_0 = 1.
//   q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)                         (eq. 4)
//
// A published schedule is never changed, only added to: BetaSchedule values are stored in model files.
#ifndef DCODEC_MODEL_SCHEDULE_H_
#define DCODEC_MODEL_SCHEDULE_H_

#include <string>
#include <vector>

#include "base/status.h"

namespace dcodec::model {

enum class BetaSchedule {
  // beta_t linear from 1e-4 to 0.02 over T = 1000 (the paper). For other T both ends are scaled by 1000/T, as in
  // Nichol & Dhariwal's improved-diffusion, so that alpha_bar_T stays near 0; betas are clipped at 0.999.
  kLinear,
  // Nichol & Dhariwal 2021 eq. 17: alpha_bar(t) = f(t)/f(0), f(t) = cos^2(((t/T + s)/(1 + s)) * pi/2), s = 0.008,
  // beta_t = min(1 - alpha_bar(t)/alpha_bar(t-1), 0.999).
  kCosine,
};

// "linear" / "cosine": the names stored in model files.
const char* BetaScheduleName(BetaSchedule kind);
StatusOr<BetaSchedule> ParseBetaSchedule(const std::string& name);

class NoiseSchedule {
 public:
  // Precondition: num_steps >= 1 (smaller values are raised to 1). alpha_bar is the running product of the (clipped)
  // betas, so every quantity below is consistent with beta().
  static NoiseSchedule Make(BetaSchedule kind, int num_steps);

  int num_steps() const { return num_steps_; }  // T
  BetaSchedule kind() const { return kind_; }
  double beta(int t) const;       // t in 1..T
  double alpha_bar(int t) const;  // t in 0..T, alpha_bar(0) = 1

  // q(x_s | x_t, x_0) for any 0 <= s < t <= T, exact also for respaced chains (s, t not adjacent):
  //   a_ts = alpha_bar_t / alpha_bar_s
  //   mean = coef_x0 x_0 + coef_xt x_t, coef_x0 = sqrt(alpha_bar_s)(1 - a_ts)/(1 - alpha_bar_t),
  //                                     coef_xt = sqrt(a_ts)(1 - alpha_bar_s)/(1 - alpha_bar_t)
  //   variance = (1 - alpha_bar_s)/(1 - alpha_bar_t) (1 - a_ts)
  // For s = t-1 this is the paper's eq. 6-7 (variance = beta-tilde_t); for s = 0 it is {1, 0, 0}.
  struct Posterior {
    double coef_x0;
    double coef_xt;
    double variance;
  };
  Posterior posterior(int s, int t) const;

  // x_0 from an epsilon prediction (eq. 4 solved for x_0): x_0 = coef_xt x_t + coef_eps eps,
  // coef_xt = 1/sqrt(alpha_bar_t), coef_eps = -sqrt(1 - alpha_bar_t)/sqrt(alpha_bar_t). t in 1..T.
  struct X0FromEps {
    double coef_xt;
    double coef_eps;
  };
  X0FromEps x0_from_eps(int t) const;

  // Continuous time, t real in [0, T]. log ᾱ is interpolated linearly between the integer steps, so ᾱ(t) is
  // alpha_bar(t) exactly at every integer, strictly decreasing, and below t = 1 equals (1 − β_1)^t: the noise's
  // standard deviation sqrt(1 − ᾱ(t)) ≈ sqrt(β_1 t), 1.27 grey levels (of 255 on [-1, 1]) at t = 1 and 0.40 at
  // t = 0.1 with the linear schedule, so a chain can reach far below one grey level. At integer arguments every
  // function below returns exactly what its integer namesake does.
  double alpha_bar_at(double t) const;                // t in [0, T]
  double log_snr(double t) const;                     // log(ᾱ/(1 − ᾱ)) for t in (0, T]; +inf at 0
  double time_at_log_snr(double lambda) const;        // its inverse on (0, T], clamped to the ends
  Posterior posterior_at(double s, double t) const;   // 0 <= s < t <= T
  X0FromEps x0_from_eps_at(double t) const;           // t in (0, T]
  // num_steps >= 1 times from T down to t_end (0 < t_end < T), evenly spaced in log-SNR, strictly descending,
  // starting at T and ending at t_end (for num_steps = 1: T alone).
  std::vector<double> RespaceLogSnr(int num_steps, double t_end) const;

  // num_stages timesteps evenly spaced over 1..T in coding (sampling) order, strictly descending, always starting at
  // T: t_i = round(T (K - i) / K), i = 0..K-1. Respace(T) = T, T-1, ..., 1. num_stages is clamped to 1..T.
  std::vector<int> Respace(int num_stages) const;

 private:
  NoiseSchedule() = default;

  BetaSchedule kind_ = BetaSchedule::kLinear;
  int num_steps_ = 0;
  std::vector<double> betas_;       // [T + 1], betas_[0] = 0 unused
  std::vector<double> alpha_bars_;  // [T + 1], alpha_bars_[0] = 1
};

}  // namespace dcodec::model

#endif  // DCODEC_MODEL_SCHEDULE_H_
