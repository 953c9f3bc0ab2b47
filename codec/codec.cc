#include "codec/codec.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "bitstream/ans.h"
#include "bitstream/checksum.h"
#include "bitstream/container.h"
#include "codec/stage_coder.h"

namespace dcodec::codec {
namespace {

constexpr uint8_t kMethodDitheredQuantization = 0;
constexpr size_t kBeliefBytes = 3;  // family, scale code, gain code

// Planar RGB (3·w·h) from an interleaved grey or RGB image.
std::vector<uint8_t> ToPlanarRgb(const Image& image) {
  size_t plane = image.num_pixels();
  std::vector<uint8_t> out(3 * plane);
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) out[c * plane + i] = image.data[i * image.channels + (image.channels == 3 ? c : 0)];
  }
  return out;
}

// An image of `channels` from planar RGB; grey takes the rounded mean of the three planes (equal when exact).
Image FromPlanarRgb(const uint8_t* planes, int width, int height, int channels) {
  Image image(width, height, channels);
  size_t plane = image.num_pixels();
  for (size_t i = 0; i < plane; ++i) {
    if (channels == 3) {
      for (int c = 0; c < 3; ++c) image.data[3 * i + c] = planes[c * plane + i];
    } else {
      image.data[i] = static_cast<uint8_t>((planes[i] + planes[plane + i] + planes[2 * plane + i] + 1) / 3);
    }
  }
  return image;
}

std::vector<uint8_t> UnitsToPixels(const std::vector<float>& x) {
  std::vector<uint8_t> p(x.size());
  for (size_t i = 0; i < x.size(); ++i) p[i] = UnitToPixel(x[i]);
  return p;
}

uint32_t SymbolHash(const int32_t* symbols, size_t n) {
  std::vector<uint8_t> bytes(4 * n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t v = static_cast<uint32_t>(symbols[i]);
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<uint8_t>(v >> (8 * b));
  }
  return static_cast<uint32_t>(bitstream::Xxh64(bytes));
}

std::vector<uint8_t> StagePayload(const Belief& belief, std::vector<uint8_t> coded) {
  coded.insert(coded.begin(), {static_cast<uint8_t>(belief.family), belief.scale_code, belief.gain_code});
  return coded;
}

StatusOr<Belief> ParseBelief(const uint8_t* data, size_t size, int stage) {
  if (size < kBeliefBytes || data[0] > 1) {
    return Corrupt("stage " + std::to_string(stage) + ": bad side information");
  }
  Belief b;
  b.family = data[0] == 0 ? bitstream::Family::kGaussian : bitstream::Family::kLogistic;
  b.scale_code = data[1];
  b.gain_code = data[2];
  return b;
}

// `activity` is nullptr for the first stage, whose x̂_0 is 0 everywhere.
DitherStage MakeDitherStage(const StageCoefficients& c, uint64_t seed, int j, const std::vector<float>& activity) {
  return DitherStage{c.coef_x0, c.coef_xt, std::sqrt(12.0 * c.variance), DitherKey(seed, j),
                     j > 0 ? activity.data() : nullptr};
}

double PsnrPlanar(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double se = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = static_cast<double>(a[i]) - b[i];
    se += d * d;
  }
  if (se == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(255.0 * 255.0 * a.size() / se);
}

// Splitmix-based standard normal for the kSample reconstruction (Box-Muller).
float SampleNormal(uint64_t seed, uint64_t i) {
  double u1 = Dither(seed, 2 * i) + 0.5, u2 = Dither(seed, 2 * i + 1) + 0.5;
  u1 = std::max(u1, 1e-300);
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

}  // namespace

double Psnr(const Image& a, const Image& b) { return PsnrPlanar(a.data, b.data); }

StatusOr<std::unique_ptr<Codec>> Codec::Load(const std::string& model_path) {
  DCODEC_ASSIGN_OR_RETURN(std::unique_ptr<Denoiser> denoiser, Denoiser::Load(model_path));
  return std::make_unique<Codec>(std::move(denoiser));
}

StatusOr<EncodeResult> Codec::Encode(const Image& image, const EncodeOptions& options) const {
  if (image.width < 1 || image.height < 1 || (image.channels != 1 && image.channels != 3)) {
    return InvalidArgument("encode: the image must be grey or RGB and at least 1x1");
  }
  if (image.num_pixels() > kMaxCodecPixels) {
    return Unsupported("encode: images over 16.7 Mpixel (2^24) are not supported yet");
  }
  const auto& schedule = denoiser_->schedule();
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint16_t> chain, MakeChain(schedule, options.chain));
  const int K = static_cast<int>(chain.size());
  const int w = image.width, h = image.height;
  const size_t n = 3 * image.num_pixels();
  const double num_pixels = static_cast<double>(image.num_pixels());
  std::vector<uint8_t> pixels = ToPlanarRgb(image);
  std::vector<float> x0(n), x_t(n, 0.0f), x_s(n), x0_hat(n, 0.0f);
  for (size_t i = 0; i < n; ++i) x0[i] = PixelToUnit(pixels[i]);
  std::vector<int32_t> symbols(n);
  std::vector<float> activity;

  bitstream::StreamHeader header;
  header.width = w;
  header.height = h;
  header.channels = static_cast<uint8_t>(image.channels);
  header.model_id = denoiser_->model_id();
  header.method = kMethodDitheredQuantization;
  header.dither_seed = options.seed;
  header.tile_size = options.tiles.tile_size;
  header.tile_margin = options.tiles.margin;
  header.schedule.assign(chain.begin(), chain.end());
  header.schedule.push_back(0);

  std::vector<std::vector<uint8_t>> payloads;
  EncodeResult result;
  auto prefix_bytes = [&]() -> StatusOr<size_t> {
    DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, bitstream::SerializeStream(header, payloads));
    return bytes.size();
  };
  auto add_stage = [&](int timestep, const Belief& belief, bitstream::AnsEncoder& enc, uint32_t hash,
                       double ideal) -> Status {
    payloads.push_back(StagePayload(belief, enc.Finish()));
    bitstream::StageEntry entry;
    entry.timestep = static_cast<uint16_t>(timestep);
    entry.symbol_hash = hash;
    header.stages.push_back(entry);
    DCODEC_ASSIGN_OR_RETURN(size_t bytes, prefix_bytes());
    result.stages.push_back(StageReport{timestep, payloads.back().size(), bytes, bytes * 8.0 / num_pixels, ideal,
                                        std::numeric_limits<double>::quiet_NaN()});
    return Status::Ok();
  };
  auto drop_last_stage = [&]() {
    payloads.pop_back();
    header.stages.pop_back();
    result.stages.pop_back();
  };
  auto over_budget = [&]() {
    return options.target_bpp > 0 && result.stages.size() > 1 && result.stages.back().bpp > options.target_bpp;
  };

  bool done = false;
  for (int j = 0; j < K && !done; ++j) {
    StageCoefficients c = CoefficientsFor(schedule, chain, j);
    if (j > 0) {
      DCODEC_RETURN_IF_ERROR(denoiser_->PredictX0(x_t.data(), w, h, c.t, options.tiles, x0_hat.data()));
      result.stages.back().psnr = PsnrPlanar(UnitsToPixels(x0_hat), pixels);
      if (options.target_psnr > 0 && result.stages.back().psnr >= options.target_psnr) break;
    }
    if (j > 0) activity = Activity(x0_hat.data(), w, h);
    DitherStage st = MakeDitherStage(c, options.seed, j, activity);
    Belief belief = ChooseDitherBelief(st, x_t.data(), x0_hat.data(), x0.data(), n);
    bitstream::AnsEncoder enc;
    DCODEC_RETURN_IF_ERROR(EncodeDitherStage(st, belief, x_t.data(), x0_hat.data(), x0.data(), n, enc, x_s.data(),
                                             symbols.data()));
    double ideal = DitherStageBits(st, belief, x_t.data(), x0_hat.data(), x0.data(), n);
    DCODEC_RETURN_IF_ERROR(add_stage(c.s, belief, enc, SymbolHash(symbols.data(), n), ideal));
    if (over_budget()) {
      drop_last_stage();
      done = true;
      break;
    }
    x_t.swap(x_s);
  }
  if (!done && static_cast<int>(result.stages.size()) == K) {
    DCODEC_RETURN_IF_ERROR(denoiser_->PredictX0(x_t.data(), w, h, chain.back(), options.tiles, x0_hat.data()));
    result.stages.back().psnr = PsnrPlanar(UnitsToPixels(x0_hat), pixels);
    bool psnr_met = options.target_psnr > 0 && result.stages.back().psnr >= options.target_psnr;
    if (!psnr_met) {
      activity = Activity(x0_hat.data(), w, h);
      Belief belief = ChoosePixelBelief(x0_hat.data(), pixels.data(), n, activity.data());
      bitstream::AnsEncoder enc;
      DCODEC_RETURN_IF_ERROR(EncodePixelStage(belief, x0_hat.data(), pixels.data(), n, enc, activity.data()));
      double ideal = PixelStageBits(belief, x0_hat.data(), pixels.data(), n, 1, activity.data());
      std::vector<int32_t> as_symbols(pixels.begin(), pixels.end());
      DCODEC_RETURN_IF_ERROR(add_stage(0, belief, enc, SymbolHash(as_symbols.data(), n), ideal));
      result.stages.back().psnr = std::numeric_limits<double>::infinity();
      if (over_budget()) drop_last_stage();
    }
  }
  DCODEC_ASSIGN_OR_RETURN(result.stream, bitstream::SerializeStream(header, payloads));
  // Report what a prefix of this file costs: its full header plus the stages up to each one.
  size_t prefix = result.stream.size();
  for (const auto& p : payloads) prefix -= p.size();
  for (size_t j = 0; j < result.stages.size(); ++j) {
    prefix += payloads[j].size();
    result.stages[j].prefix_bytes = prefix;
    result.stages[j].bpp = prefix * 8.0 / num_pixels;
  }
  return result;
}

StatusOr<DecodeResult> Codec::Decode(const uint8_t* data, size_t size, const DecodeOptions& options) const {
  size_t usable = options.max_bytes > 0 ? std::min(size, options.max_bytes) : size;
  DCODEC_ASSIGN_OR_RETURN(bitstream::ParsedStream parsed, bitstream::ParseStream(data, usable));
  const auto& header = parsed.header;
  if (header.method != kMethodDitheredQuantization) {
    return Unsupported("coding method " + std::to_string(header.method) + " is not supported by this build");
  }
  if (header.model_id != denoiser_->model_id()) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), "the stream was made with model %016llx, but %016llx is loaded",
                  static_cast<unsigned long long>(header.model_id),
                  static_cast<unsigned long long>(denoiser_->model_id()));
    return Status(StatusCode::kModelMismatch, std::string(buf) + " (" + denoiser_->path() + "); pass its --model");
  }
  const auto& schedule = denoiser_->schedule();
  // The schedule: a strictly decreasing chain within [1, T], then 0 for the pixel stage.
  const auto& sched = header.schedule;
  if (sched.size() < 2 || sched.back() != 0) return InvalidInput("the stream's coding schedule does not end in 0");
  std::vector<uint16_t> chain(sched.begin(), sched.end() - 1);
  for (size_t j = 0; j < chain.size(); ++j) {
    if (chain[j] < 1 || chain[j] > schedule.num_steps() || (j > 0 && chain[j] >= chain[j - 1])) {
      return InvalidInput("the stream's coding schedule is not a decreasing chain of timesteps");
    }
  }
  for (size_t j = 0; j < header.stages.size(); ++j) {
    if (header.stages[j].timestep != sched[j]) return InvalidInput("the stage table disagrees with the schedule");
  }
  if (header.tile_size < 16 || header.tile_size > 4096 || header.tile_margin > 256) {
    return InvalidInput("the stream's tile size is out of range");
  }
  if (uint64_t{header.width} * header.height > kMaxCodecPixels) {
    return InvalidInput("the stream claims " + std::to_string(header.width) + "x" + std::to_string(header.height) +
                        " pixels, more than any encoder of this format writes (2^24)");
  }
  TileOptions tiles{static_cast<int>(header.tile_size), static_cast<int>(header.tile_margin), options.threads};
  const int K = static_cast<int>(chain.size());
  const int w = static_cast<int>(header.width), h = static_cast<int>(header.height);
  const size_t n = 3 * static_cast<size_t>(w) * h;

  DecodeResult result;
  result.stages_total = static_cast<int>(header.stages.size());
  result.schedule_stages = K + 1;
  int available = static_cast<int>(parsed.payloads.size());
  if (options.max_stages >= 0) available = std::min(available, options.max_stages);

  std::vector<float> x_t(n, 0.0f), x_s(n), x0_hat(n, 0.0f);
  std::vector<int32_t> symbols(n);
  std::vector<float> activity;
  std::vector<uint8_t> pixels;
  size_t bytes_used = parsed.payloads.empty() ? usable : static_cast<size_t>(parsed.payloads[0].first - data);
  int decoded = 0;
  auto check_stage = [&](int j, bitstream::AnsDecoder& dec, uint32_t hash) -> Status {
    if (!dec.Finish().ok() || hash != header.stages[j].symbol_hash) {
      return Status(StatusCode::kNonDeterministic,
                    "stage " + std::to_string(j + 1) + " (t=" + std::to_string(sched[j]) +
                        ") decoded to other symbols than were encoded: this machine computes the model "
                        "differently from the encoder's (another CPU or library build?)");
    }
    return Status::Ok();
  };
  for (int j = 0; j < std::min(available, K); ++j) {
    StageCoefficients c = CoefficientsFor(schedule, chain, j);
    if (j > 0) {
      DCODEC_RETURN_IF_ERROR(denoiser_->PredictX0(x_t.data(), w, h, c.t, tiles, x0_hat.data()));
      if (options.on_prefix) options.on_prefix(j, FromPlanarRgb(UnitsToPixels(x0_hat).data(), w, h, header.channels));
    }
    const auto& [payload, payload_size] = parsed.payloads[j];
    DCODEC_ASSIGN_OR_RETURN(Belief belief, ParseBelief(payload, payload_size, j + 1));
    bitstream::AnsDecoder dec(payload + kBeliefBytes, payload_size - kBeliefBytes);
    if (j > 0) activity = Activity(x0_hat.data(), w, h);
    DitherStage st = MakeDitherStage(c, header.dither_seed, j, activity);
    Status s = DecodeDitherStage(st, belief, x_t.data(), x0_hat.data(), n, dec, x_s.data(), symbols.data());
    if (!s.ok()) DCODEC_RETURN_IF_ERROR(check_stage(j, dec, ~header.stages[j].symbol_hash));
    DCODEC_RETURN_IF_ERROR(check_stage(j, dec, SymbolHash(symbols.data(), n)));
    x_t.swap(x_s);
    bytes_used += payload_size;
    decoded = j + 1;
  }
  if (decoded == 0) {
    pixels.assign(n, 128);
  } else {
    int s = chain[decoded - 1];
    DCODEC_RETURN_IF_ERROR(denoiser_->PredictX0(x_t.data(), w, h, s, tiles, x0_hat.data()));
    if (options.on_prefix) {
      options.on_prefix(decoded, FromPlanarRgb(UnitsToPixels(x0_hat).data(), w, h, header.channels));
    }
    if (available > K) {
      const auto& [payload, payload_size] = parsed.payloads[K];
      DCODEC_ASSIGN_OR_RETURN(Belief belief, ParseBelief(payload, payload_size, K + 1));
      bitstream::AnsDecoder dec(payload + kBeliefBytes, payload_size - kBeliefBytes);
      pixels.resize(n);
      activity = Activity(x0_hat.data(), w, h);
      Status st = DecodePixelStage(belief, x0_hat.data(), n, dec, pixels.data(), activity.data());
      std::vector<int32_t> as_symbols(pixels.begin(), pixels.end());
      DCODEC_RETURN_IF_ERROR(check_stage(K, dec, st.ok() ? SymbolHash(as_symbols.data(), n)
                                                           : ~header.stages[K].symbol_hash));
      bytes_used += payload_size;
      decoded = K + 1;
      result.exact = true;
    } else if (options.recon != Reconstruction::kMean && s > 1) {
      // Run the reverse process from x_s to 0 in recon_steps evaluations: DDIM (η = 0) or ancestral sampling.
      int steps = std::clamp(options.recon_steps, 1, s);
      std::vector<int> ts;
      for (int i = 0; i <= steps; ++i) ts.push_back(static_cast<int>(std::lround(s * (1.0 - double(i) / steps))));
      for (int i = 0; i + 1 < static_cast<int>(ts.size()); ++i) {
        int t = ts[i], next = ts[i + 1];
        if (i > 0) DCODEC_RETURN_IF_ERROR(denoiser_->PredictX0(x_t.data(), w, h, t, tiles, x0_hat.data()));
        if (next == 0) break;
        double ab = schedule.alpha_bar(t), ab_next = schedule.alpha_bar(next);
        auto post = schedule.posterior(next, t);
        for (size_t e = 0; e < n; ++e) {
          if (options.recon == Reconstruction::kOde) {
            double eps = (x_t[e] - std::sqrt(ab) * x0_hat[e]) / std::sqrt(1.0 - ab);
            x_t[e] = static_cast<float>(std::sqrt(ab_next) * x0_hat[e] + std::sqrt(1.0 - ab_next) * eps);
          } else {
            double mean = post.coef_x0 * x0_hat[e] + post.coef_xt * x_t[e];
            x_t[e] = static_cast<float>(mean + std::sqrt(post.variance) * SampleNormal(options.recon_seed + t, e));
          }
        }
      }
    }
    if (!result.exact) pixels = UnitsToPixels(x0_hat);
  }
  result.stages_decoded = decoded;
  result.bytes_used = bytes_used;
  result.image = FromPlanarRgb(pixels.data(), w, h, header.channels);
  if (result.exact && options.on_prefix) options.on_prefix(decoded, result.image);
  return result;
}

}  // namespace dcodec::codec
