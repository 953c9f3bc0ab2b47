#include "codec/entropy_model.h"

#include <algorithm>
#include <cmath>

namespace dcodec::codec {
namespace {

using bitstream::Family;
using bitstream::QuantizedContinuous;

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

constexpr int kNumGains = sizeof(kGainCodes) / sizeof(kGainCodes[0]);

int GainIndex(uint8_t gain_code) {
  for (int g = 0; g < kNumGains; ++g) {
    if (kGainCodes[g] == gain_code) return g;
  }
  return 0;
}

}  // namespace

uint8_t UnitToPixel(double v) {
  return static_cast<uint8_t>(std::clamp(std::floor(127.5 * (v + 1.0) + 0.5), 0.0, 255.0));
}

double Belief::scale() const { return Exp2Sixteenths(static_cast<int>(scale_code) - 160); }

double HeadScale(uint8_t scale_code, int32_t log_scale) {
  return Exp2Sixteenths(std::clamp(log_scale, kHeadLogScaleMin, kHeadLogScaleMax) + scale_code - 128);
}

uint8_t ScaleCodeFor(double scale) {
  if (!(scale > 0)) return 0;
  double code = 160.0 + 16.0 * std::log2(scale);
  return static_cast<uint8_t>(std::clamp(std::lround(code), 0L, 255L));
}

namespace {

constexpr int kNumLocals = sizeof(kLocalCodes) / sizeof(kLocalCodes[0]);
constexpr int kWeightMin = -3, kWeightMax = 12;  // in 1/16: the fitted weights lie in 0..10 on photos and CIFAR
constexpr uint32_t kWeightRange = kWeightMax - kWeightMin + 1;

int LocalIndex(uint8_t local_code) {
  for (int l = 0; l < kNumLocals; ++l) {
    if (kLocalCodes[l] == local_code) return l;
  }
  return 0;
}

}  // namespace

void EncodeBelief(bitstream::AnsEncoder& enc, const Belief& belief, BeliefKind kind) {
  bitstream::EncodeUniform(enc, belief.family == Family::kLogistic ? 1 : 0, 2);
  if (kind == BeliefKind::kPixels) {
    bitstream::EncodeUniform(enc, belief.scale_code, 256);
  } else {
    bitstream::EncodeUniform(
        enc,
        static_cast<uint32_t>(std::clamp<int>(belief.scale_code, kDitherScaleCodeMin, kDitherScaleCodeMax) -
                              kDitherScaleCodeMin),
        kDitherScaleCodeMax - kDitherScaleCodeMin + 1);
  }
  if (kind == BeliefKind::kFirst) {
    EncodePlaneMeans(enc, belief.plane_mean);
    return;
  }
  if (kind == BeliefKind::kDithered) {
    bitstream::EncodeUniform(enc, static_cast<uint32_t>(GainIndex(belief.gain_code)), kNumGains);
    return;
  }
  for (int8_t w : {belief.w_left, belief.w_up, belief.w_plane}) {
    bitstream::EncodeUniform(enc, static_cast<uint32_t>(std::clamp<int>(w, kWeightMin, kWeightMax) - kWeightMin),
                             kWeightRange);
  }
  bitstream::EncodeUniform(enc, static_cast<uint32_t>(LocalIndex(belief.local_code)), kNumLocals);
}

void EncodePlaneMeans(bitstream::AnsEncoder& enc, const uint8_t mean[3]) {
  for (int p = 0; p < 3; ++p) bitstream::EncodeUniform(enc, mean[p] / 16, 16);
}

Status DecodePlaneMeans(bitstream::AnsDecoder& dec, uint8_t mean[3]) {
  for (int p = 0; p < 3; ++p) {
    DCODEC_ASSIGN_OR_RETURN(uint32_t v, bitstream::DecodeUniform(dec, 16));
    mean[p] = static_cast<uint8_t>(16 * v + 8);
  }
  return Status::Ok();
}

StatusOr<Belief> DecodeBelief(bitstream::AnsDecoder& dec, BeliefKind kind) {
  Belief b;
  DCODEC_ASSIGN_OR_RETURN(uint32_t family, bitstream::DecodeUniform(dec, 2));
  b.family = family ? Family::kLogistic : Family::kGaussian;
  if (kind == BeliefKind::kPixels) {
    DCODEC_ASSIGN_OR_RETURN(uint32_t scale, bitstream::DecodeUniform(dec, 256));
    b.scale_code = static_cast<uint8_t>(scale);
  } else {
    DCODEC_ASSIGN_OR_RETURN(uint32_t scale,
                            bitstream::DecodeUniform(dec, kDitherScaleCodeMax - kDitherScaleCodeMin + 1));
    b.scale_code = static_cast<uint8_t>(scale + kDitherScaleCodeMin);
  }
  if (kind == BeliefKind::kFirst) {
    DCODEC_RETURN_IF_ERROR(DecodePlaneMeans(dec, b.plane_mean));
    return b;
  }
  if (kind == BeliefKind::kDithered) {
    DCODEC_ASSIGN_OR_RETURN(uint32_t gain, bitstream::DecodeUniform(dec, kNumGains));
    b.gain_code = kGainCodes[gain];
    return b;
  }
  int8_t* weights[3] = {&b.w_left, &b.w_up, &b.w_plane};
  for (int8_t* w : weights) {
    DCODEC_ASSIGN_OR_RETURN(uint32_t v, bitstream::DecodeUniform(dec, kWeightRange));
    *w = static_cast<int8_t>(static_cast<int>(v) + kWeightMin);
  }
  DCODEC_ASSIGN_OR_RETURN(uint32_t local, bitstream::DecodeUniform(dec, kNumLocals));
  b.local_code = kLocalCodes[local];
  return b;
}

double BeliefBits(BeliefKind kind) {
  double bits =
      kind == BeliefKind::kPixels ? 9.0 : 1.0 + std::log2(double{kDitherScaleCodeMax - kDitherScaleCodeMin + 1});
  if (kind == BeliefKind::kFirst) bits += 12.0;
  if (kind == BeliefKind::kDithered) bits += std::log2(static_cast<double>(kNumGains));
  if (kind == BeliefKind::kPixels) bits += 3 * std::log2(double{kWeightRange}) + std::log2(double{kNumLocals});
  return bits;
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
  uint64_t h = CounterHash(key, i);
  return static_cast<double>(h >> 11) * 0x1.0p-53 - 0.5;
}

bool Cells::Narrow(const DitherStage& st, size_t i, double x_t, double u, int32_t k) {
  // SymbolOf is non-decreasing in p: bisect for the first p with SymbolOf(p) >= k and the last with <= k.
  int a = lo_[i], b = hi_[i] + 1;  // first p in [a, b) with SymbolOf(p) >= k
  while (a < b) {
    int mid = (a + b) / 2;
    if (SymbolOf(st, x_t, static_cast<uint8_t>(mid), u) >= k) {
      b = mid;
    } else {
      a = mid + 1;
    }
  }
  const int first = a;
  a = lo_[i], b = hi_[i] + 1;  // first p in [a, b) with SymbolOf(p) > k
  while (a < b) {
    int mid = (a + b) / 2;
    if (SymbolOf(st, x_t, static_cast<uint8_t>(mid), u) > k) {
      b = mid;
    } else {
      a = mid + 1;
    }
  }
  const int last = a - 1;
  if (first > last) return false;
  lo_[i] = static_cast<uint8_t>(first);
  hi_[i] = static_cast<uint8_t>(last);
  return true;
}

double Cells::OpenBits() const {
  double bits = 0;
  for (size_t i = 0; i < lo_.size(); ++i) bits += std::log2(static_cast<double>(hi_[i] - lo_[i] + 1));
  return bits;
}

QuantizedContinuous DitherBelief(const DitherStage& st, const Belief& b, const Cells& cells, size_t i, double x_t,
                                 double x0_hat, double u) {
  const uint8_t lo = cells.lo(i), hi = cells.hi(i);
  const double x0 = std::clamp(x0_hat, static_cast<double>(PixelToUnit(lo)), static_cast<double>(PixelToUnit(hi)));
  QuantizedContinuous d;
  d.family = b.family;
  d.mean = (st.coef_xt * x_t + st.coef_x0 * x0) / st.step + u;
  const double a = st.activity ? st.activity[i] : 0.0;
  const double base = st.log_scale ? st.coef_x0 * HeadScale(b.scale_code, st.log_scale[i]) : b.scale();
  d.scale = (base + b.gain() * a * st.coef_x0) / st.step;
  d.lo = SymbolOf(st, x_t, lo, u);
  d.hi = SymbolOf(st, x_t, hi, u);
  return d;
}

PixelContext ContextOf(const float* residuals, int width, int height, size_t i) {
  const size_t plane = static_cast<size_t>(width) * height;
  const size_t c = i / plane, in_plane = i % plane;
  const size_t x = in_plane % static_cast<size_t>(width), y = in_plane / static_cast<size_t>(width);
  PixelContext ctx;
  if (x > 0) ctx.left = residuals[i - 1];
  if (y > 0) ctx.up = residuals[i - static_cast<size_t>(width)];
  if (c > 0) ctx.plane = residuals[i - plane];
  return ctx;
}

QuantizedContinuous PixelBelief(const Belief& b, const Cells& cells, size_t i, double x0_hat, const PixelContext& ctx,
                                const int32_t* log_scale) {
  QuantizedContinuous d;
  d.family = b.family;
  d.lo = cells.lo(i);
  d.hi = cells.hi(i);
  const double predicted = (b.w_left * ctx.left + b.w_up * ctx.up + b.w_plane * ctx.plane) / 16.0;
  d.mean = std::clamp(127.5 * (x0_hat + 1.0) + predicted, static_cast<double>(d.lo), static_cast<double>(d.hi));
  const double base = log_scale ? 127.5 * HeadScale(b.scale_code, log_scale[i]) : b.scale();
  d.scale = base + b.local_code / 8.0 * (std::abs(ctx.left) + std::abs(ctx.up)) / 2.0;
  return d;
}

namespace {

// The cost is smooth and unimodal in the log-scale: scan scale codes around the RMS guess in steps of 8, then
// refine in steps of 2 and 1. First the family (at gain 0), then the gain for that family. `cost` is evaluated on a
// subsample.
template <typename Cost>
Belief SearchBelief(double rms_guess, bool adaptive, const Cost& cost, const Belief& base = Belief{},
                    double* best_bits_out = nullptr, int min_code = 0, int max_code = 255) {
  auto best_scale = [&](Belief b, int center, int reach_down, double* bits_out) {
    double best_bits = INFINITY;
    int best_code = center;
    auto try_code = [&](int code) {
      if (code < min_code || code > max_code) return;
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
  Belief best = base;
  double best_bits = INFINITY;
  for (Family family : {Family::kGaussian, Family::kLogistic}) {
    Belief b = base;
    b.family = family;
    // A logistic with scale s has standard deviation s·π/√3.
    double guess = family == Family::kGaussian ? rms_guess : rms_guess * 0.5513;
    double bits;
    const int start = std::clamp<int>(ScaleCodeFor(std::max(guess, 1e-6)), min_code, max_code);
    Belief found = best_scale(b, start, 24, &bits);
    if (bits < best_bits) best_bits = bits, best = found;
  }
  if (!adaptive) {
    if (best_bits_out) *best_bits_out = best_bits;
    return best;
  }
  // With a gain the base scale shrinks, so the scan reaches further down.
  const int center = best.scale_code;
  for (int g = 1; g < kNumGains; ++g) {
    Belief b = best;
    b.gain_code = kGainCodes[g];
    double bits;
    Belief found = best_scale(b, center, 64, &bits);
    if (bits < best_bits) best_bits = bits, best = found;
  }
  if (best_bits_out) *best_bits_out = best_bits;
  return best;
}

size_t SubsampleStride(size_t n) { return std::max<size_t>(1, n / 8192) | 1; }

}  // namespace

Belief ChooseDitherBelief(const DitherStage& st, const Cells& cells, const float* x_t, const float* x0_hat,
                          const uint8_t* pixels, size_t n) {
  const size_t stride = SubsampleStride(n);
  double sum_sq = 0;
  size_t count = 0;
  for (size_t i = 0; i < n; i += stride, ++count) {
    double r = st.coef_x0 * (static_cast<double>(PixelToUnit(pixels[i])) - x0_hat[i]);
    if (st.log_scale) r /= st.coef_x0 * HeadScale(160, st.log_scale[i]);  // the multiplier's guess
    sum_sq += r * r;
  }
  const double rms = std::sqrt(sum_sq / std::max<size_t>(1, count));
  auto cost = [&](const Belief& b) {
    double bits = 0;
    for (size_t i = 0; i < n; i += stride) {
      const double u = Dither(st.dither_key, i);
      bits +=
          bitstream::IdealBits(DitherBelief(st, b, cells, i, x_t[i], x0_hat[i], u), SymbolOf(st, x_t[i], pixels[i], u));
    }
    return bits;
  };
  return SearchBelief(std::max(rms, st.log_scale ? 1e-3 : st.step * 1e-3), st.activity != nullptr, cost, Belief{},
                      nullptr, kDitherScaleCodeMin, kDitherScaleCodeMax);
}

namespace {

// Least squares for the three prediction weights on a subsample (Cramer's rule on the 3x3 normal equations);
// zeros where the system is singular.
void FitWeights(const std::vector<PixelContext>& ctx, const std::vector<double>& target, double w[3]) {
  double a[3][3] = {}, r[3] = {};
  for (size_t k = 0; k < ctx.size(); ++k) {
    const double v[3] = {ctx[k].left, ctx[k].up, ctx[k].plane};
    for (int i = 0; i < 3; ++i) {
      r[i] += v[i] * target[k];
      for (int j = 0; j < 3; ++j) a[i][j] += v[i] * v[j];
    }
  }
  for (int i = 0; i < 3; ++i) a[i][i] += 1e-9 + 1e-6 * a[i][i];
  auto det = [](double m[3][3]) {
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  };
  const double d = det(a);
  for (int c = 0; c < 3; ++c) {
    double m[3][3];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) m[i][j] = j == c ? r[i] : a[i][j];
    w[c] = std::abs(d) > 1e-12 ? det(m) / d : 0.0;
  }
}

}  // namespace

Belief ChoosePixelBelief(const Cells& cells, const float* x0_hat, const uint8_t* pixels, int width, int height,
                         double* bits_per_symbol, const int32_t* log_scale) {
  const size_t n = 3 * static_cast<size_t>(width) * height;
  const size_t stride = SubsampleStride(n);
  std::vector<float> residuals(n);
  for (size_t i = 0; i < n; ++i) residuals[i] = Residual(pixels[i], x0_hat[i]);
  std::vector<size_t> sample;
  std::vector<PixelContext> contexts;
  std::vector<double> targets;
  for (size_t i = 0; i < n; i += stride) {
    sample.push_back(i);
    contexts.push_back(ContextOf(residuals.data(), width, height, i));
    targets.push_back(residuals[i]);
  }
  auto cost = [&](const Belief& b) {
    double bits = 0;
    for (size_t k = 0; k < sample.size(); ++k) {
      const size_t i = sample[k];
      bits += bitstream::IdealBits(PixelBelief(b, cells, i, x0_hat[i], contexts[k], log_scale), pixels[i]);
    }
    return bits;
  };
  auto rms_after = [&](const Belief& b) {
    double sum_sq = 0;
    for (size_t k = 0; k < sample.size(); ++k) {
      double e =
          targets[k] - (b.w_left * contexts[k].left + b.w_up * contexts[k].up + b.w_plane * contexts[k].plane) / 16.0;
      if (log_scale) e /= 127.5 * HeadScale(160, log_scale[sample[k]]);  // the multiplier's guess
      sum_sq += e * e;
    }
    return std::max(std::sqrt(sum_sq / std::max<size_t>(1, sample.size())), log_scale ? 1e-3 : 0.05);
  };
  // Without and with the fitted residual prediction; then the local-error gain for the better one.
  double w[3];
  FitWeights(contexts, targets, w);
  Belief predicted;
  auto quantize = [](double v) {
    return static_cast<int8_t>(std::clamp<long>(std::lround(16 * v), kWeightMin, kWeightMax));
  };
  predicted.w_left = quantize(w[0]);
  predicted.w_up = quantize(w[1]);
  predicted.w_plane = quantize(w[2]);
  double best_bits = INFINITY;
  Belief best;
  for (const Belief& base : {Belief{}, predicted}) {
    double bits;
    Belief found = SearchBelief(rms_after(base), false, cost, base, &bits);
    if (bits < best_bits) best_bits = bits, best = found;
  }
  const Belief chosen = best;
  for (int l = 1; l < kNumLocals; ++l) {
    Belief base = chosen;
    base.local_code = kLocalCodes[l];
    double bits;
    Belief found = SearchBelief(rms_after(base) * 0.5, false, cost, base, &bits);
    if (bits < best_bits) best_bits = bits, best = found;
  }
  if (bits_per_symbol) *bits_per_symbol = best_bits / std::max<size_t>(1, sample.size());
  return best;
}

}  // namespace dcodec::codec
