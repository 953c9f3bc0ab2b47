// Fuzzes the entropy decoders: the first bytes of the input choose a model (quantized Gaussian/logistic, categorical
// counts, uniform, a dithered stage or a pixel stage on small synthetic arrays), the rest is decoded as an ANS
// sub-stream until an error or a cap.
//
// Checked beyond "no crash, no sanitizer report":
//  * every decoded symbol lies in its support, and its interval [cum, cum + freq) contains the quantile the decoder
//    peeked (leaky_quantizer.h: "the symbol found is the unique k with cum(k) <= q < cum(k + 1)");
//  * a sub-stream that decodes and Finish()es cleanly re-encodes to the very same bytes (rANS is a bijection);
//  * encode-then-decode of symbols drawn from the input roundtrips (dithered and pixel stages: the decoder
//    reproduces the encoder's symbols and x_s bit for bit; the alpha plane; the low bytes of 16-bit samples; the portable ε side information, also
//    for a decoder whose ε is perturbed by less than the margin).
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bitstream/ans.h"
#include "bitstream/leaky_quantizer.h"
#include "codec/alpha_coder.h"
#include "codec/chain.h"
#include "codec/low_byte_coder.h"
#include "codec/portable.h"
#include "codec/stage_coder.h"
#include "model/schedule.h"

using namespace dcodec;
using namespace dcodec::bitstream;

namespace {

constexpr int kMaxSymbols = 4096;

void Check(bool ok) {
  if (!ok) std::abort();
}

double PickDouble(FuzzedDataProvider& in, double lo, double hi) {
  // Mostly in range; sometimes any bit pattern (NaN, inf, denormals) to exercise ValidateParams.
  if (in.ConsumeIntegralInRange<int>(0, 15) == 0) {
    uint64_t bits = in.ConsumeIntegral<uint64_t>();
    double v;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
  }
  return in.ConsumeFloatingPointInRange<double>(lo, hi);
}

QuantizedContinuous PickContinuous(FuzzedDataProvider& in) {
  QuantizedContinuous d;
  d.family = in.ConsumeBool() ? Family::kLogistic : Family::kGaussian;
  d.mean = PickDouble(in, -1e6, 1e6);
  d.scale = PickDouble(in, 1e-9, 1e7);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:  // small supports, as the codec uses
      d.lo = in.ConsumeIntegralInRange<int32_t>(-300, 300);
      d.hi = d.lo + in.ConsumeIntegralInRange<int32_t>(0, 300);
      break;
    case 1:  // up to the maximum support, anywhere in int32
      d.lo = in.ConsumeIntegral<int32_t>();
      d.hi = static_cast<int32_t>(std::min<int64_t>(INT32_MAX, int64_t{d.lo} + in.ConsumeIntegralInRange<int64_t>(
                                                                                 0, kMaxSupportSize - 1)));
      break;
    default:  // anything, including lo > hi and oversized supports
      d.lo = in.ConsumeIntegral<int32_t>();
      d.hi = in.ConsumeIntegral<int32_t>();
      break;
  }
  return d;
}

// Re-encodes `intervals` (decode order) and checks the bytes are the sub-stream's.
void CheckReencodes(const std::vector<std::pair<uint32_t, uint32_t>>& intervals, const std::vector<uint8_t>& stream) {
  AnsEncoder enc;
  for (auto [cum, freq] : intervals) enc.Put(cum, freq);
  Check(enc.Finish() == stream);
}

void FuzzContinuous(FuzzedDataProvider& in) {
  const QuantizedContinuous d = PickContinuous(in);
  const std::vector<uint8_t> stream = in.ConsumeRemainingBytes<uint8_t>();
  const bool valid = ValidateParams(d).ok();
  AnsDecoder dec(stream.data(), stream.size());
  std::vector<std::pair<uint32_t, uint32_t>> intervals;
  for (int i = 0; i < kMaxSymbols; ++i) {
    const uint32_t q = dec.Peek();
    auto k = DecodeSymbol(dec, d);
    if (!k.ok()) break;
    Check(valid && *k >= d.lo && *k <= d.hi);
    const uint32_t cum = Cdf(d, *k), next = Cdf(d, int64_t{*k} + 1);
    Check(cum <= q && q < next);
    Check(std::isfinite(IdealBits(d, *k)));
    intervals.emplace_back(cum, next - cum);
  }
  if (dec.Finish().ok()) CheckReencodes(intervals, stream);
}

void FuzzCategorical(FuzzedDataProvider& in) {
  // Mostly small alphabets; now and then up to just past the limit (slow: each costs a few ms under ASan).
  const int size_class = in.ConsumeIntegralInRange<int>(0, 1023);
  const size_t n = size_class == 0   ? in.ConsumeIntegralInRange<size_t>(0, kMaxSupportSize + 1)
                   : size_class < 16 ? in.ConsumeIntegralInRange<size_t>(0, 70000)
                                     : in.ConsumeIntegralInRange<size_t>(0, 300);
  const int magnitude = in.ConsumeIntegralInRange<int>(0, 3);
  std::vector<uint32_t> counts(n);
  for (size_t i = 0; i < n && in.remaining_bytes() > 0; ++i) {
    counts[i] = magnitude == 0   ? in.ConsumeIntegralInRange<uint32_t>(0, 3)
                : magnitude == 1 ? in.ConsumeIntegral<uint8_t>()
                                 : in.ConsumeIntegral<uint32_t>();
  }
  auto cat = Categorical::FromCounts(counts);
  const std::vector<uint8_t> stream = in.ConsumeRemainingBytes<uint8_t>();
  if (!cat.ok()) {
    Check(n == 0 || n > static_cast<size_t>(kMaxSupportSize));
    return;
  }
  Check(cat->size() == n && cat->cum(static_cast<uint32_t>(n)) == kProbabilityTotal);
  AnsDecoder dec(stream.data(), stream.size());
  std::vector<std::pair<uint32_t, uint32_t>> intervals;
  for (int i = 0; i < kMaxSymbols; ++i) {
    const uint32_t q = dec.Peek();
    auto s = cat->Decode(dec);
    if (!s.ok()) break;
    Check(*s < n && cat->freq(*s) >= 1 && cat->cum(*s) <= q && q < cat->cum(*s) + cat->freq(*s));
    intervals.emplace_back(cat->cum(*s), cat->freq(*s));
  }
  if (dec.Finish().ok()) CheckReencodes(intervals, stream);
}

void FuzzUniform(FuzzedDataProvider& in) {
  const uint32_t n = in.ConsumeIntegral<uint32_t>();
  const std::vector<uint8_t> stream = in.ConsumeRemainingBytes<uint8_t>();
  AnsDecoder dec(stream.data(), stream.size());
  std::vector<uint32_t> values;
  for (int i = 0; i < kMaxSymbols; ++i) {
    auto v = DecodeUniform(dec, n);
    if (!v.ok()) break;
    Check(*v < n);
    values.push_back(*v);
  }
  if (n > 0 && dec.Finish().ok()) {
    AnsEncoder enc;
    for (uint32_t v : values) EncodeUniform(enc, v, n);
    Check(enc.Finish() == stream);
  }
}

// A dithered stage of a real coding chain on `count` synthetic elements. x_t stays in the range the codec produces
// (|x_t| <= 8: x_s = Δ(k − u) with k in a support bounded by coef_xt·x_t ± coef_x0), x̂_0 in [-1, 1] as the
// denoiser clips it.
struct SyntheticStage {
  codec::DitherStage stage;
  codec::Belief belief;
  std::vector<float> x_t, x0_hat, activity;
  std::vector<uint8_t> pixels;
};

// Three planes of width x height (as the codec codes them), 0..3*6*5 elements.
size_t PickPlanes(FuzzedDataProvider& in, int& width, int& height) {
  width = in.ConsumeIntegralInRange<int>(0, 6);
  height = in.ConsumeIntegralInRange<int>(0, 5);
  return 3 * static_cast<size_t>(width) * height;
}

SyntheticStage PickDitherStage(FuzzedDataProvider& in, size_t count, int width, int height) {
  static const model::NoiseSchedule kLinear = model::NoiseSchedule::Make(model::BetaSchedule::kLinear, 1000);
  static const model::NoiseSchedule kCosine = model::NoiseSchedule::Make(model::BetaSchedule::kCosine, 1000);
  const model::NoiseSchedule& schedule = in.ConsumeBool() ? kCosine : kLinear;
  codec::ChainOptions options;
  options.stages = in.ConsumeIntegralInRange<int>(1, 8);
  options.t_max = in.ConsumeIntegralInRange<int>(options.stages, 1000);
  options.t_min = in.ConsumeIntegralInRange<int>(1, options.t_max - options.stages + 1);
  auto chain = codec::MakeChain(schedule, options);
  // Every feasible (K, t_max, t_min) gives a strictly decreasing chain within [t_min, t_max].
  Check(chain.ok());
  for (size_t i = 0; i < chain->size(); ++i) {
    Check((*chain)[i] >= options.t_min && (*chain)[i] <= options.t_max && (i == 0 || (*chain)[i] < (*chain)[i - 1]));
  }
  const int j = in.ConsumeIntegralInRange<int>(0, static_cast<int>(chain->size()) - 1);
  const codec::StageCoefficients c = codec::CoefficientsFor(schedule, *chain, j);
  SyntheticStage s;
  s.stage = {c.coef_x0, c.coef_xt, std::sqrt(12.0 * c.variance), codec::DitherKey(in.ConsumeIntegral<uint64_t>(), j)};
  s.belief.family = in.ConsumeBool() ? Family::kLogistic : Family::kGaussian;
  s.belief.scale_code = in.ConsumeIntegral<uint8_t>();
  s.belief.gain_code = in.ConsumeIntegral<uint8_t>();
  for (size_t i = 0; i < count; ++i) {
    s.x_t.push_back(j == 0 ? 0.0f : (in.ConsumeIntegral<uint8_t>() - 127.5f) / 16.0f);
    s.x0_hat.push_back(codec::PixelToUnit(in.ConsumeIntegral<uint8_t>()));
    s.pixels.push_back(in.ConsumeIntegral<uint8_t>());
  }
  if (count > 0 && in.ConsumeBool()) {
    s.activity = codec::Activity(s.x0_hat.data(), width, height);
    Check(s.activity.size() == count);
    s.stage.activity = s.activity.data();
  }
  return s;
}

void FuzzDitherStage(FuzzedDataProvider& in) {
  int width, height;
  const size_t count = PickPlanes(in, width, height);
  SyntheticStage s = PickDitherStage(in, count, width, height);
  std::vector<float> x_s(count);
  std::vector<int32_t> symbols(count);
  if (in.ConsumeBool()) {
    // Decode arbitrary bytes.
    const std::vector<uint8_t> stream = in.ConsumeRemainingBytes<uint8_t>();
    AnsDecoder dec(stream.data(), stream.size());
    codec::Cells cells(count);
    Status st = codec::DecodeDitherStage(s.stage, s.belief, cells, s.x_t.data(), s.x0_hat.data(), count, dec,
                                         x_s.data(), symbols.data());
    if (st.ok()) {
      for (size_t i = 0; i < count; ++i) Check(std::isfinite(x_s[i]));
    }
    (void)dec.Finish();
    return;
  }
  // Encode x0, decode: the decoder must reproduce the encoder's symbols and x_s exactly.
  AnsEncoder enc;
  codec::Cells enc_cells(count), dec_cells(count);
  Check(codec::EncodeDitherStage(s.stage, s.belief, enc_cells, s.x_t.data(), s.x0_hat.data(), s.pixels.data(), count,
                                 enc, x_s.data(), symbols.data(), nullptr)
            .ok());
  const std::vector<uint8_t> stream = enc.Finish();
  std::vector<float> x_s2(count);
  std::vector<int32_t> symbols2(count);
  AnsDecoder dec(stream.data(), stream.size());
  Check(codec::DecodeDitherStage(s.stage, s.belief, dec_cells, s.x_t.data(), s.x0_hat.data(), count, dec,
                                 x_s2.data(), symbols2.data())
            .ok());
  Check(dec.Finish().ok());
  Check(symbols == symbols2);
  for (size_t i = 0; i < count; ++i) {
    Check(enc_cells.lo(i) == dec_cells.lo(i) && enc_cells.hi(i) == dec_cells.hi(i));
    Check(enc_cells.lo(i) <= s.pixels[i] && s.pixels[i] <= enc_cells.hi(i));
  }
  Check(count == 0 || std::memcmp(x_s.data(), x_s2.data(), count * sizeof(float)) == 0);
}

void FuzzPixelStage(FuzzedDataProvider& in) {
  int width, height;
  const size_t count = PickPlanes(in, width, height);
  codec::Belief belief;
  belief.family = in.ConsumeBool() ? Family::kLogistic : Family::kGaussian;
  belief.scale_code = in.ConsumeIntegral<uint8_t>();
  belief.w_left = in.ConsumeIntegral<int8_t>();
  belief.w_up = in.ConsumeIntegral<int8_t>();
  belief.w_plane = in.ConsumeIntegral<int8_t>();
  belief.local_code = in.ConsumeIntegral<uint8_t>();
  std::vector<float> x0_hat;
  std::vector<uint8_t> pixels;
  for (size_t i = 0; i < count; ++i) {
    x0_hat.push_back(codec::PixelToUnit(in.ConsumeIntegral<uint8_t>()));
    pixels.push_back(in.ConsumeIntegral<uint8_t>());
  }
  std::vector<uint8_t> decoded(count);
  if (in.ConsumeBool()) {
    const std::vector<uint8_t> stream = in.ConsumeRemainingBytes<uint8_t>();
    AnsDecoder dec(stream.data(), stream.size());
    (void)codec::DecodePixelStage(belief, codec::Cells(count), x0_hat.data(), width, height, dec, decoded.data());
    (void)dec.Finish();
    return;
  }
  // Cells around each pixel, of a fuzzed width.
  codec::Cells cells(count);
  const int reach = in.ConsumeIntegralInRange<int>(0, 255);
  for (size_t i = 0; i < count; ++i) {
    codec::DitherStage narrow{1.0, 0.0, (2.0 * reach + 1) / 127.5, 1};
    (void)cells.Narrow(narrow, i, 0.0, 0.0, codec::SymbolOf(narrow, 0.0, pixels[i], 0.0));
    Check(cells.lo(i) <= pixels[i] && pixels[i] <= cells.hi(i));
  }
  AnsEncoder enc;
  Check(codec::EncodePixelStage(belief, cells, x0_hat.data(), pixels.data(), width, height, enc, nullptr).ok());
  const std::vector<uint8_t> stream = enc.Finish();
  AnsDecoder dec(stream.data(), stream.size());
  Check(codec::DecodePixelStage(belief, cells, x0_hat.data(), width, height, dec, decoded.data()).ok());
  Check(dec.Finish().ok());
  Check(decoded == pixels);
}

}  // namespace

// The portable ε side information (codec/portable.h): garbage decodes to an error or to some integers, never a
// crash; what the encoder writes decodes, under any perturbation below the margin, to the encoder's integers.
void FuzzPortable(FuzzedDataProvider& in) {
  codec::PortableGrid grid;
  grid.margin_bits = in.ConsumeIntegralInRange<int>(8, 30);
  const size_t n = in.ConsumeIntegralInRange<size_t>(1, in.ConsumeBool() ? 64 : 40000);
  std::vector<float> eps(n);
  const double gamma = std::ldexp(1.0, -grid.grid_bits), mu = std::ldexp(1.0, -grid.margin_bits);
  for (size_t i = 0; i < n; ++i) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: eps[i] = static_cast<float>(PickDouble(in, -8, 8)); break;
      case 1:  // next to a rounding boundary
        eps[i] = static_cast<float>((in.ConsumeIntegralInRange<int>(-200, 200) + 0.5) * gamma +
                                    in.ConsumeFloatingPointInRange<double>(-2, 2) * mu);
        break;
      default: eps[i] = eps[i / 2]; break;
    }
  }
  const uint64_t key = in.ConsumeIntegral<uint64_t>();
  std::vector<int32_t> q(n);
  if (in.ConsumeBool()) {
    const std::vector<uint8_t> stream = in.ConsumeRemainingBytes<uint8_t>();
    AnsDecoder dec(stream.data(), stream.size());
    (void)codec::DecodePortableEps(eps.data(), n, grid, key, dec, q.data());
    return;
  }
  AnsEncoder enc;
  codec::EncodePortableEps(eps.data(), n, grid, key, enc, q.data());
  const std::vector<uint8_t> stream = enc.Finish();
  std::vector<float> other(eps);
  for (float& e : other) {
    if (!std::isfinite(e) || std::fabs(e) > 1e6f) continue;
    const float moved = static_cast<float>(e + in.ConsumeFloatingPointInRange<double>(-0.99, 0.99) * mu);
    if (std::fabs(double{moved} - e) < mu) e = moved;
  }
  std::vector<int32_t> back(n);
  AnsDecoder dec(stream.data(), stream.size());
  Check(codec::DecodePortableEps(other.data(), n, grid, key, dec, back.data()).ok());
  Check(dec.Finish().ok());
  Check(back == q);
}

// The alpha plane (codec/alpha_coder.h): garbage never crashes; any plane roundtrips.
void FuzzAlpha(FuzzedDataProvider& in) {
  const int w = in.ConsumeIntegralInRange<int>(1, 64), h = in.ConsumeIntegralInRange<int>(1, 64);
  if (in.ConsumeBool()) {
    const std::vector<uint8_t> stream = in.ConsumeRemainingBytes<uint8_t>();
    AnsDecoder dec(stream.data(), stream.size());
    auto alpha = codec::DecodeAlpha(dec, w, h);
    if (alpha.ok() && alpha->has_value()) Check((*alpha)->size() == static_cast<size_t>(w) * h);
    return;
  }
  std::vector<uint8_t> alpha(static_cast<size_t>(w) * h);
  for (auto& a : alpha) a = in.ConsumeBool() ? 255 : in.ConsumeIntegral<uint8_t>();
  AnsEncoder enc;
  codec::EncodeAlpha(enc, alpha.data(), w, h);
  const std::vector<uint8_t> stream = enc.Finish();
  AnsDecoder dec(stream.data(), stream.size());
  auto back = codec::DecodeAlpha(dec, w, h);
  Check(back.ok() && back->has_value() && **back == alpha && dec.Finish().ok());
}

// The low bytes of 16-bit samples (codec/low_byte_coder.h): garbage never crashes; any planes roundtrip, also
// those that use few values (the coder's set of used values) or all of them.
void FuzzLowBytes(FuzzedDataProvider& in) {
  const int w = in.ConsumeIntegralInRange<int>(1, 24), h = in.ConsumeIntegralInRange<int>(1, 24);
  const int c = in.ConsumeIntegralInRange<int>(1, 4);
  const size_t n = static_cast<size_t>(w) * h * c;
  std::vector<uint8_t> high(n), low(n);
  const uint8_t high_mask = in.ConsumeIntegral<uint8_t>(), low_mask = in.ConsumeIntegral<uint8_t>();
  for (size_t i = 0; i < n; ++i) {
    high[i] = in.ConsumeIntegral<uint8_t>() & high_mask;
    low[i] = in.ConsumeIntegral<uint8_t>() & low_mask;
  }
  if (in.ConsumeBool()) {
    const std::vector<uint8_t> stream = in.ConsumeRemainingBytes<uint8_t>();
    AnsDecoder dec(stream.data(), stream.size());
    (void)codec::DecodeLowBytes(dec, high.data(), w, h, c, low.data());
    return;
  }
  AnsEncoder enc;
  codec::EncodeLowBytes(enc, high.data(), low.data(), w, h, c);
  const std::vector<uint8_t> stream = enc.Finish();
  AnsDecoder dec(stream.data(), stream.size());
  std::vector<uint8_t> back(n, 0);
  Check(codec::DecodeLowBytes(dec, high.data(), w, h, c, back.data()).ok() && dec.Finish().ok() && back == low);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: FuzzContinuous(in); break;
    case 1: FuzzCategorical(in); break;
    case 2: FuzzUniform(in); break;
    case 3: FuzzDitherStage(in); break;
    case 4: FuzzPixelStage(in); break;
    case 5: FuzzPortable(in); break;
    case 6: FuzzAlpha(in); break;
    default: FuzzLowBytes(in); break;
  }
  return 0;
}
