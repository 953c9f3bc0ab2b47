#include "codec/stage_coder.h"

#include <algorithm>
#include <cmath>

namespace dcodec::codec {
namespace {

using bitstream::Family;
using bitstream::QuantizedContinuous;

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// 2^(e/16) for integer e, exactly the same everywhere: 2^(e div 16) by ldexp (exact) times a table of 2^(r/16).
double Exp2Sixteenths(int e) {
  static const double kFrac[16] = {
      1.0,
      1.0442737824274138403,
      1.0905077326652576592,
      1.1387886347566916537,
      1.1892071150027210667,
      1.2418578120734840486,
      1.2968395546510096659,
      1.3542555469368927283,
      1.4142135623730950488,
      1.4768261459394993113,
      1.5422108254079408236,
      1.6104903319492543082,
      1.6817928305074290861,
      1.7562521603732994831,
      1.8340080864093424635,
      1.9152065613971472939,
  };
  int q = e >= 0 ? e / 16 : -((-e + 15) / 16);
  int r = e - 16 * q;
  return std::ldexp(kFrac[r], q);
}

struct Element {
  QuantizedContinuous dist;
  double u;
};

// The distribution of k for one element (see the header for the maths).
inline Element DitherElement(const DitherStage& st, const Belief& b, double xt, double x0h, uint64_t i) {
  Element e;
  e.u = Dither(st.dither_key, i);
  double base = st.coef_xt * xt;
  double lo = base - st.coef_x0;
  double hi = base + st.coef_x0;
  double mean = base + st.coef_x0 * x0h;
  e.dist.family = b.family;
  e.dist.mean = mean / st.step + e.u;
  double a = st.activity ? st.activity[i] : 0.0;
  e.dist.scale = (b.scale() + b.gain() * a * st.coef_x0) / st.step;
  e.dist.lo = static_cast<int32_t>(std::floor(lo / st.step + e.u + 0.5));
  e.dist.hi = static_cast<int32_t>(std::floor(hi / st.step + e.u + 0.5));
  return e;
}

inline int32_t DitherSymbol(const DitherStage& st, double xt, double x0, double u) {
  double mu = st.coef_x0 * x0 + st.coef_xt * xt;
  return static_cast<int32_t>(std::floor(mu / st.step + u + 0.5));
}

inline QuantizedContinuous PixelDist(const Belief& b, double scale, double x0h, const float* activity, size_t i) {
  QuantizedContinuous d;
  d.family = b.family;
  d.mean = 127.5 * (x0h + 1.0);
  d.scale = scale + (activity ? b.gain() * 127.5 * activity[i] : 0.0);
  d.lo = 0;
  d.hi = 255;
  return d;
}

}  // namespace

double Belief::scale() const { return Exp2Sixteenths(static_cast<int>(scale_code) - 160); }

uint8_t ScaleCodeFor(double scale) {
  if (!(scale > 0)) return 0;
  double code = 160.0 + 16.0 * std::log2(scale);
  return static_cast<uint8_t>(std::clamp(std::lround(code), 0L, 255L));
}

std::vector<float> Activity(const float* x0_hat, int width, int height) {
  const size_t plane = static_cast<size_t>(width) * height;
  std::vector<float> a(3 * plane);
  for (int c = 0; c < 3; ++c) {
    const float* p = x0_hat + c * plane;
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        double center = p[static_cast<size_t>(y) * width + x], sum = 0;
        for (int dy = -1; dy <= 1; ++dy) {
          for (int dx = -1; dx <= 1; ++dx) {
            int yy = std::clamp(y + dy, 0, height - 1), xx = std::clamp(x + dx, 0, width - 1);
            sum += std::abs(p[static_cast<size_t>(yy) * width + xx] - center);
          }
        }
        a[c * plane + static_cast<size_t>(y) * width + x] = static_cast<float>(sum / 8.0);
      }
    }
  }
  return a;
}

uint64_t DitherKey(uint64_t seed, int stage) { return Mix(seed ^ Mix(0xD17E3000ull + stage)); }

double Dither(uint64_t key, uint64_t i) {
  uint64_t h = Mix(key + i * 0x9E3779B97F4A7C15ull);
  return static_cast<double>(h >> 11) * 0x1.0p-53 - 0.5;
}

uint8_t UnitToPixel(double v) {
  return static_cast<uint8_t>(std::clamp(std::floor(127.5 * (v + 1.0) + 0.5), 0.0, 255.0));
}

Status EncodeDitherStage(const DitherStage& st, const Belief& belief, const float* x_t, const float* x0_hat,
                         const float* x0, size_t n, bitstream::AnsEncoder& enc, float* x_s, int32_t* symbols) {
  for (size_t i = 0; i < n; ++i) {
    Element e = DitherElement(st, belief, x_t[i], x0_hat[i], i);
    int32_t k = DitherSymbol(st, x_t[i], x0[i], e.u);
    DCODEC_RETURN_IF_ERROR(bitstream::EncodeSymbol(enc, e.dist, k));
    symbols[i] = k;
    x_s[i] = static_cast<float>(st.step * (k - e.u));
  }
  return Status::Ok();
}

Status DecodeDitherStage(const DitherStage& st, const Belief& belief, const float* x_t, const float* x0_hat,
                         size_t n, bitstream::AnsDecoder& dec, float* x_s, int32_t* symbols) {
  for (size_t i = 0; i < n; ++i) {
    Element e = DitherElement(st, belief, x_t[i], x0_hat[i], i);
    DCODEC_ASSIGN_OR_RETURN(int32_t k, bitstream::DecodeSymbol(dec, e.dist));
    symbols[i] = k;
    x_s[i] = static_cast<float>(st.step * (k - e.u));
  }
  return Status::Ok();
}

double DitherStageBits(const DitherStage& st, const Belief& belief, const float* x_t, const float* x0_hat,
                       const float* x0, size_t n, size_t stride) {
  double bits = 0;
  for (size_t i = 0; i < n; i += stride) {
    Element e = DitherElement(st, belief, x_t[i], x0_hat[i], i);
    bits += bitstream::IdealBits(e.dist, DitherSymbol(st, x_t[i], x0[i], e.u));
  }
  return bits;
}

Status EncodePixelStage(const Belief& belief, const float* x0_hat, const uint8_t* pixels, size_t n,
                        bitstream::AnsEncoder& enc, const float* activity) {
  double scale = belief.scale();
  for (size_t i = 0; i < n; ++i) {
    DCODEC_RETURN_IF_ERROR(bitstream::EncodeSymbol(enc, PixelDist(belief, scale, x0_hat[i], activity, i), pixels[i]));
  }
  return Status::Ok();
}

Status DecodePixelStage(const Belief& belief, const float* x0_hat, size_t n, bitstream::AnsDecoder& dec,
                        uint8_t* pixels, const float* activity) {
  double scale = belief.scale();
  for (size_t i = 0; i < n; ++i) {
    DCODEC_ASSIGN_OR_RETURN(int32_t p, bitstream::DecodeSymbol(dec, PixelDist(belief, scale, x0_hat[i], activity, i)));
    pixels[i] = static_cast<uint8_t>(p);
  }
  return Status::Ok();
}

double PixelStageBits(const Belief& belief, const float* x0_hat, const uint8_t* pixels, size_t n, size_t stride,
                      const float* activity) {
  double scale = belief.scale();
  double bits = 0;
  for (size_t i = 0; i < n; i += stride) bits += bitstream::IdealBits(PixelDist(belief, scale, x0_hat[i], activity, i), pixels[i]);
  return bits;
}

namespace {

// Golden-section-free search: the cost is smooth and unimodal in the log-scale, so scan codes around the RMS
// guess in steps of 4, then refine by single codes. `cost` is evaluated on a subsample.
// The cost is smooth and unimodal in the log-scale: scan scale codes around the RMS guess in steps of 8, then
// refine in steps of 2 and 1. First the family (at gain 0), then the gain for that family. `cost` is evaluated on a
// subsample.
template <typename Cost>
Belief SearchBelief(double rms_guess, bool adaptive, const Cost& cost) {
  auto best_scale = [&](Belief b, int center, int reach_down, double* bits_out) {
    double best_bits = INFINITY;
    int best_code = center;
    auto try_code = [&](int code) {
      if (code < 0 || code > 255) return;
      b.scale_code = static_cast<uint8_t>(code);
      double bits = cost(b);
      if (bits < best_bits) best_bits = bits, best_code = code;
    };
    for (int code = center - reach_down; code <= center + 24; code += 8) try_code(code);
    int coarse = best_code;
    for (int code : {coarse - 6, coarse - 4, coarse - 2, coarse + 2, coarse + 4, coarse + 6}) try_code(code);
    int fine = best_code;
    try_code(fine - 1);
    try_code(fine + 1);
    b.scale_code = static_cast<uint8_t>(best_code);
    *bits_out = best_bits;
    return b;
  };
  Belief best;
  double best_bits = INFINITY;
  for (Family family : {Family::kGaussian, Family::kLogistic}) {
    Belief b;
    b.family = family;
    // A logistic with scale s has standard deviation s·π/√3.
    double guess = family == Family::kGaussian ? rms_guess : rms_guess * 0.5513;
    double bits;
    Belief found = best_scale(b, ScaleCodeFor(std::max(guess, 1e-6)), 24, &bits);
    if (bits < best_bits) best_bits = bits, best = found;
  }
  if (!adaptive) return best;
  // Gains ¼, ½, 1, 2, 4 of the local activity; with a gain the base scale shrinks, so the scan reaches further down.
  const int center = best.scale_code;
  for (int gain : {4, 8, 16, 32, 64}) {
    Belief b = best;
    b.gain_code = static_cast<uint8_t>(gain);
    double bits;
    Belief found = best_scale(b, center, 64, &bits);
    if (bits < best_bits) best_bits = bits, best = found;
  }
  return best;
}

size_t SubsampleStride(size_t n) { return std::max<size_t>(1, n / 8192) | 1; }

}  // namespace

Belief ChooseDitherBelief(const DitherStage& st, const float* x_t, const float* x0_hat, const float* x0, size_t n) {
  size_t stride = SubsampleStride(n);
  double sum_sq = 0;
  size_t count = 0;
  for (size_t i = 0; i < n; i += stride, ++count) {
    double r = st.coef_x0 * (static_cast<double>(x0[i]) - x0_hat[i]);
    sum_sq += r * r;
  }
  double rms = std::sqrt(sum_sq / std::max<size_t>(1, count));
  return SearchBelief(std::max(rms, st.step * 1e-3), st.activity != nullptr,
                      [&](const Belief& b) { return DitherStageBits(st, b, x_t, x0_hat, x0, n, stride); });
}

Belief ChoosePixelBelief(const float* x0_hat, const uint8_t* pixels, size_t n, const float* activity) {
  size_t stride = SubsampleStride(n);
  double sum_sq = 0;
  size_t count = 0;
  for (size_t i = 0; i < n; i += stride, ++count) {
    double r = pixels[i] - 127.5 * (x0_hat[i] + 1.0);
    sum_sq += r * r;
  }
  double rms = std::sqrt(sum_sq / std::max<size_t>(1, count));
  return SearchBelief(std::max(rms, 0.05), activity != nullptr, [&](const Belief& b) {
    return PixelStageBits(b, x0_hat, pixels, n, stride, activity);
  });
}

}  // namespace dcodec::codec
