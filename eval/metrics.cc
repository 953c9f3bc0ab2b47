#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace dcodec::eval {
namespace {

constexpr int kMaxScales = 5;
constexpr int kWindow = 11;
constexpr double kSigma = 1.5;
constexpr double kWeights[kMaxScales] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
constexpr double kC1 = (0.01 * 255) * (0.01 * 255);
constexpr double kC2 = (0.03 * 255) * (0.03 * 255);

bool SameShape(const Image& a, const Image& b) {
  return a.width == b.width && a.height == b.height && a.channels == b.channels && a.width > 0 && a.height > 0 &&
         a.channels > 0 && a.data.size() == a.num_pixels() * a.channels && b.data.size() == a.data.size();
}

// One channel as doubles, row-major.
struct Plane {
  int width = 0;
  int height = 0;
  std::vector<double> v;
  double& at(int x, int y) { return v[static_cast<size_t>(y) * width + x]; }
  double at(int x, int y) const { return v[static_cast<size_t>(y) * width + x]; }
};

Plane ExtractChannel(const Image& image, int c) {
  Plane p{image.width, image.height, std::vector<double>(image.num_pixels())};
  for (size_t i = 0; i < image.num_pixels(); ++i) p.v[i] = image.data[i * image.channels + c];
  return p;
}

// pytorch_msssim's _fspecial_gauss_1d: exp(-(i - size/2)^2 / (2 sigma^2)), i = 0..size-1, normalised.
std::vector<double> GaussianWindow(int size) {
  std::vector<double> g(size);
  double sum = 0;
  for (int i = 0; i < size; ++i) {
    double d = i - size / 2;
    g[i] = std::exp(-(d * d) / (2 * kSigma * kSigma));
    sum += g[i];
  }
  for (double& x : g) x /= sum;
  return g;
}

// Separable "valid" correlation: output (w - n + 1) x (h - n + 1).
Plane Filter(const Plane& in, const std::vector<double>& g) {
  int n = static_cast<int>(g.size());
  Plane rows{in.width - n + 1, in.height, {}};
  rows.v.resize(static_cast<size_t>(rows.width) * rows.height);
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < rows.width; ++x) {
      double s = 0;
      for (int k = 0; k < n; ++k) s += g[k] * in.at(x + k, y);
      rows.at(x, y) = s;
    }
  }
  Plane out{rows.width, in.height - n + 1, {}};
  out.v.resize(static_cast<size_t>(out.width) * out.height);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      double s = 0;
      for (int k = 0; k < n; ++k) s += g[k] * rows.at(x, y + k);
      out.at(x, y) = s;
    }
  }
  return out;
}

Plane Product(const Plane& a, const Plane& b) {
  Plane p{a.width, a.height, std::vector<double>(a.v.size())};
  for (size_t i = 0; i < a.v.size(); ++i) p.v[i] = a.v[i] * b.v[i];
  return p;
}

struct ScaleStats {
  double ssim;  // mean of l * cs
  double cs;    // mean of cs
};

ScaleStats SsimAtScale(const Plane& x, const Plane& y, const std::vector<double>& g) {
  Plane mu_x = Filter(x, g);
  Plane mu_y = Filter(y, g);
  Plane xx = Filter(Product(x, x), g);
  Plane yy = Filter(Product(y, y), g);
  Plane xy = Filter(Product(x, y), g);
  double ssim_sum = 0, cs_sum = 0;
  for (size_t i = 0; i < mu_x.v.size(); ++i) {
    double mx = mu_x.v[i], my = mu_y.v[i];
    double var_x = xx.v[i] - mx * mx;
    double var_y = yy.v[i] - my * my;
    double cov = xy.v[i] - mx * my;
    double cs = (2 * cov + kC2) / (var_x + var_y + kC2);
    double l = (2 * mx * my + kC1) / (mx * mx + my * my + kC1);
    cs_sum += cs;
    ssim_sum += l * cs;
  }
  double n = static_cast<double>(mu_x.v.size());
  return {ssim_sum / n, cs_sum / n};
}

int HalfCeil(int s) { return (s + 1) / 2; }

// avg_pool2d(kernel 2, stride 2, padding = side % 2, count_include_pad): odd sides get a zero on each end.
Plane Downsample(const Plane& in) {
  int pad_x = in.width % 2, pad_y = in.height % 2;
  Plane out{HalfCeil(in.width), HalfCeil(in.height), {}};
  out.v.resize(static_cast<size_t>(out.width) * out.height);
  auto sample = [&](int px, int py) {  // padded coordinates
    int x = px - pad_x, y = py - pad_y;
    return (x < 0 || y < 0 || x >= in.width || y >= in.height) ? 0.0 : in.at(x, y);
  };
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      out.at(x, y) = 0.25 * (sample(2 * x, 2 * y) + sample(2 * x + 1, 2 * y) + sample(2 * x, 2 * y + 1) +
                             sample(2 * x + 1, 2 * y + 1));
    }
  }
  return out;
}

double MsSsimPlane(Plane x, Plane y, int scales, const std::vector<double>& g) {
  double weight_sum = 0;
  for (int j = 0; j < scales; ++j) weight_sum += kWeights[j];
  double result = 1;
  for (int j = 0; j < scales; ++j) {
    ScaleStats s = SsimAtScale(x, y, g);
    double value = j + 1 < scales ? s.cs : s.ssim;
    result *= std::pow(std::max(value, 0.0), kWeights[j] / weight_sum);
    if (j + 1 < scales) {
      x = Downsample(x);
      y = Downsample(y);
    }
  }
  return result;
}

}  // namespace

double Psnr(const Image& a, const Image& b) {
  if (!SameShape(a, b)) return std::numeric_limits<double>::quiet_NaN();
  uint64_t sse = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    int d = static_cast<int>(a.data[i]) - b.data[i];
    sse += static_cast<uint64_t>(d * d);
  }
  if (sse == 0) return std::numeric_limits<double>::infinity();
  double mse = static_cast<double>(sse) / static_cast<double>(a.data.size());
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

int MsSsimScales(int width, int height) {
  int scales = 1;
  int w = width, h = height;
  while (scales < kMaxScales && std::min(HalfCeil(w), HalfCeil(h)) >= kWindow) {
    w = HalfCeil(w);
    h = HalfCeil(h);
    ++scales;
  }
  return scales;
}

double MsSsim(const Image& a, const Image& b) {
  if (!SameShape(a, b)) return std::numeric_limits<double>::quiet_NaN();
  int shorter = std::min(a.width, a.height);
  int window = std::min(kWindow, shorter % 2 == 1 ? shorter : shorter - 1);
  std::vector<double> g = GaussianWindow(window);
  int scales = MsSsimScales(a.width, a.height);
  double sum = 0;
  for (int c = 0; c < a.channels; ++c) sum += MsSsimPlane(ExtractChannel(a, c), ExtractChannel(b, c), scales, g);
  return sum / a.channels;
}

}  // namespace dcodec::eval
