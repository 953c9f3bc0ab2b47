#include "eval/bd_rate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <string>
#include <utility>

namespace dcodec::eval {
namespace {

// y ~ c0 + c1 u + c2 u^2 + c3 u^3 with u = (x - center) / scale, which keeps the least-squares system well
// conditioned for PSNR-like x values around 30..40.
struct Cubic {
  double center = 0, scale = 1;
  std::array<double, 4> c{};

  // The integral of the fit over x in [a, b].
  double Integral(double a, double b) const {
    auto antiderivative = [&](double x) {
      double u = (x - center) / scale;
      return scale * u * (c[0] + u * (c[1] / 2 + u * (c[2] / 3 + u * c[3] / 4)));
    };
    return antiderivative(b) - antiderivative(a);
  }
};

// Least squares by Householder QR of the n x 4 Vandermonde matrix (exact interpolation when n == 4).
StatusOr<Cubic> FitCubic(const std::vector<std::pair<double, double>>& points, const char* curve) {
  size_t n = points.size();
  Cubic fit;
  double lo = points.front().first, hi = points.back().first;
  fit.center = 0.5 * (lo + hi);
  fit.scale = 0.5 * (hi - lo);
  std::vector<std::array<double, 4>> a(n);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    double u = (points[i].first - fit.center) / fit.scale;
    a[i] = {1, u, u * u, u * u * u};
    y[i] = points[i].second;
  }
  for (int k = 0; k < 4; ++k) {
    double norm = 0;
    for (size_t i = k; i < n; ++i) norm += a[i][k] * a[i][k];
    norm = std::sqrt(norm);
    if (norm < 1e-12) return InvalidArgument(std::string(curve) + " curve: points too close to fit a cubic");
    double alpha = a[k][k] > 0 ? -norm : norm;
    std::vector<double> v(n, 0.0);
    v[k] = a[k][k] - alpha;
    for (size_t i = k + 1; i < n; ++i) v[i] = a[i][k];
    double vv = 0;
    for (size_t i = k; i < n; ++i) vv += v[i] * v[i];
    if (vv == 0) continue;
    for (int j = k; j < 4; ++j) {
      double dot = 0;
      for (size_t i = k; i < n; ++i) dot += v[i] * a[i][j];
      for (size_t i = k; i < n; ++i) a[i][j] -= 2 * dot / vv * v[i];
    }
    double dot = 0;
    for (size_t i = k; i < n; ++i) dot += v[i] * y[i];
    for (size_t i = k; i < n; ++i) y[i] -= 2 * dot / vv * v[i];
  }
  for (int k = 3; k >= 0; --k) {
    if (std::abs(a[k][k]) < 1e-12) return InvalidArgument(std::string(curve) + " curve: degenerate points");
    double s = y[k];
    for (int j = k + 1; j < 4; ++j) s -= a[k][j] * fit.c[j];
    fit.c[k] = s / a[k][k];
  }
  return fit;
}

// Validates one curve and returns its (x, y) points sorted by x, with x = quality, y = ln(rate) if
// quality_is_x, else x = ln(rate), y = quality.
StatusOr<std::vector<std::pair<double, double>>> CurvePoints(const std::vector<double>& rate,
                                                             const std::vector<double>& quality, bool quality_is_x,
                                                             const char* curve) {
  std::string name = curve;
  if (rate.size() != quality.size()) {
    return InvalidArgument(name + " curve: " + std::to_string(rate.size()) + " rates but " +
                           std::to_string(quality.size()) + " qualities");
  }
  std::vector<std::pair<double, double>> points;
  std::set<double> distinct_x;
  for (size_t i = 0; i < rate.size(); ++i) {
    if (!std::isfinite(rate[i]) || !std::isfinite(quality[i]) || rate[i] <= 0) {
      return InvalidArgument(name + " curve: point " + std::to_string(i) + " has a rate <= 0 or a non-finite value");
    }
    double log_rate = std::log(rate[i]);
    points.emplace_back(quality_is_x ? quality[i] : log_rate, quality_is_x ? log_rate : quality[i]);
    distinct_x.insert(points.back().first);
  }
  if (distinct_x.size() < 4) {
    return InvalidArgument(name + " curve: needs at least 4 points with distinct " +
                           (quality_is_x ? "qualities" : "rates") + ", has " + std::to_string(distinct_x.size()));
  }
  std::sort(points.begin(), points.end());
  return points;
}

// The mean difference (test - ref) of the fitted y over the shared x interval.
StatusOr<double> MeanFitDifference(const std::vector<double>& rate_ref, const std::vector<double>& quality_ref,
                                   const std::vector<double>& rate_test, const std::vector<double>& quality_test,
                                   bool quality_is_x) {
  DCODEC_ASSIGN_OR_RETURN(auto ref, CurvePoints(rate_ref, quality_ref, quality_is_x, "reference"));
  DCODEC_ASSIGN_OR_RETURN(auto test, CurvePoints(rate_test, quality_test, quality_is_x, "test"));
  double lo = std::max(ref.front().first, test.front().first);
  double hi = std::min(ref.back().first, test.back().first);
  if (!(hi > lo)) {
    return InvalidArgument(std::string("the curves' ") + (quality_is_x ? "quality" : "rate") +
                           " ranges do not overlap");
  }
  DCODEC_ASSIGN_OR_RETURN(Cubic fit_ref, FitCubic(ref, "reference"));
  DCODEC_ASSIGN_OR_RETURN(Cubic fit_test, FitCubic(test, "test"));
  return (fit_test.Integral(lo, hi) - fit_ref.Integral(lo, hi)) / (hi - lo);
}

}  // namespace

StatusOr<double> BdRate(const std::vector<double>& rate_ref, const std::vector<double>& quality_ref,
                        const std::vector<double>& rate_test, const std::vector<double>& quality_test) {
  DCODEC_ASSIGN_OR_RETURN(double mean_log_ratio,
                          MeanFitDifference(rate_ref, quality_ref, rate_test, quality_test, /*quality_is_x=*/true));
  return 100.0 * (std::exp(mean_log_ratio) - 1.0);
}

StatusOr<double> BdPsnr(const std::vector<double>& rate_ref, const std::vector<double>& quality_ref,
                        const std::vector<double>& rate_test, const std::vector<double>& quality_test) {
  return MeanFitDifference(rate_ref, quality_ref, rate_test, quality_test, /*quality_is_x=*/false);
}

}  // namespace dcodec::eval
