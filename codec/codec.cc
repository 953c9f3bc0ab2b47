#include "codec/codec.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "bitstream/ans.h"
#include "bitstream/checksum.h"
#include "bitstream/container.h"
#include "bitstream/leaky_quantizer.h"
#include "codec/alpha_coder.h"
#include "codec/gaussian_stage.h"
#include "codec/low_byte_coder.h"
#include "codec/metadata_coder.h"
#include "codec/portable.h"
#include "codec/region_map.h"
#include "codec/stage_coder.h"

namespace dcodec::codec {
namespace {

constexpr uint32_t kCheckSymbols = 1u << 9;  // a stage's check symbol: 9 bits

// Colour channels of an image with `channels` (grey, grey + alpha, RGB, RGBA).
int ColourChannels(int channels) { return channels >= 3 ? 3 : 1; }
bool HasAlpha(int channels) { return channels == 2 || channels == 4; }

// Planar RGB (3·w·h) from an interleaved grey or RGB image (alpha, if any, left out).
std::vector<uint8_t> ToPlanarRgb(const Image& image) {
  size_t plane = image.num_pixels();
  const bool rgb = ColourChannels(image.channels) == 3;
  std::vector<uint8_t> out(3 * plane);
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) out[c * plane + i] = image.data[i * image.channels + (rgb ? c : 0)];
  }
  return out;
}

// The alpha plane (raster order) of an image with alpha.
std::vector<uint8_t> AlphaPlane(const Image& image) {
  std::vector<uint8_t> alpha(image.num_pixels());
  for (size_t i = 0; i < alpha.size(); ++i) alpha[i] = image.data[i * image.channels + image.channels - 1];
  return alpha;
}

// `colour` with an alpha channel appended (grey → grey + alpha, RGB → RGBA).
Image WithAlpha(const Image& colour, const std::vector<uint8_t>& alpha) {
  Image out(colour.width, colour.height, colour.channels + 1);
  for (size_t i = 0; i < colour.num_pixels(); ++i) {
    for (int c = 0; c < colour.channels; ++c) out.data[i * out.channels + c] = colour.data[i * colour.channels + c];
    out.data[i * out.channels + colour.channels] = alpha[i];
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

// The mean reconstruction: x̂_0 to the nearest pixel, kept inside the cells the stream has proved.
std::vector<uint8_t> UnitsToPixels(const std::vector<float>& x, const Cells& cells) {
  std::vector<uint8_t> p(x.size());
  for (size_t i = 0; i < x.size(); ++i) p[i] = std::clamp(UnitToPixel(x[i]), cells.lo(i), cells.hi(i));
  return p;
}

// The check hash chain (codec.h).
uint64_t HashWords(uint64_t seed, const std::vector<uint64_t>& words) {
  std::vector<uint8_t> bytes(8 * words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    for (int b = 0; b < 8; ++b) bytes[8 * i + b] = static_cast<uint8_t>(words[i] >> (8 * b));
  }
  return bitstream::Xxh64(bytes, seed);
}

// `chain`: the stream's chain, resolved (the header's own fields when explicit, else the model's; streams of
// models without a codec record hash the same words either way).
uint64_t HeaderHash(const bitstream::StreamHeader& h, const ChainOptions& chain, uint64_t model_id) {
  const auto& p = h.params;
  std::vector<uint64_t> words = {h.width,
                                 h.height,
                                 h.channels,
                                 p.dither_seed,
                                 p.tile_size,
                                 p.tile_margin,
                                 static_cast<uint64_t>(chain.stages),
                                 static_cast<uint64_t>(chain.t_max),
                                 static_cast<uint64_t>(chain.t_min),
                                 p.portable_margin_bits,
                                 model_id};
  if (p.gaussian_stages > 0) {  // (format 3's streams have none: their hashes stay as they were)
    words.insert(words.end(), {p.gaussian_stages, p.gaussian_index_bits, p.gaussian_block_quarters});
  }
  if (chain.t_end != 0) words.push_back(static_cast<uint64_t>(chain.t_end) | uint64_t{1} << 32);  // format 8's cut
  if (h.keeps_above_cut()) words.push_back(uint64_t{10} << 40);  // formats 10/11's cut, keeping the stage above it
  if (h.has_region_maps()) words.push_back(uint64_t{12} << 40);  // formats 12/13's region maps
  return HashWords(0x64636f6465632d32ull, words);
}

template <typename T>
uint64_t StageHash(uint64_t previous, int stage, const T* symbols, size_t n) {
  std::vector<uint8_t> bytes(4 * n + 4);
  for (int b = 0; b < 4; ++b) bytes[b] = static_cast<uint8_t>(static_cast<uint32_t>(stage) >> (8 * b));
  for (size_t i = 0; i < n; ++i) {
    const uint32_t v = static_cast<uint32_t>(static_cast<int64_t>(symbols[i]));
    for (int b = 0; b < 4; ++b) bytes[4 + 4 * i + b] = static_cast<uint8_t>(v >> (8 * b));
  }
  return bitstream::Xxh64(bytes, previous);
}

// Format 5: stage j's hash covers every symbol the coder carried up to the stage's end (the coder's digest,
// bitstream/ans.h): side information, beliefs, indices, the alpha plane and the check symbols before it.
uint64_t StageCheckHash(uint64_t previous, int stage, uint64_t digest) {
  return HashWords(previous, {static_cast<uint32_t>(stage), digest});
}

uint32_t FinalCheck(uint64_t h, uint32_t stages) { return static_cast<uint32_t>(HashWords(h, {stages})) & 0x7fffffffu; }

// The first stage's x̂_0: each plane at its mean pixel.
// Each plane's mean pixel, rounded (exact) or to 16 levels (16q + 8).
void PlaneMeans(const std::vector<uint8_t>& planar, uint8_t mean[3], bool exact = false) {
  const size_t plane = planar.size() / 3;
  for (int p = 0; p < 3; ++p) {
    uint64_t sum = 0;
    for (size_t i = 0; i < plane; ++i) sum += planar[p * plane + i];
    mean[p] = static_cast<uint8_t>(exact ? (sum + plane / 2) / plane : 16 * (sum / plane / 16) + 8);
  }
}

void FillPlaneMeans(const uint8_t mean[3], std::vector<float>& x0_hat) {
  const size_t plane = x0_hat.size() / 3;
  for (int p = 0; p < 3; ++p)
    std::fill(x0_hat.begin() + p * plane, x0_hat.begin() + (p + 1) * plane, PixelToUnit(mean[p]));
}

// Chain stage j as encoder and decoder both see it once x̂_0 (and the scale head's output) is in: its kind, its
// coefficients and the stage coder's parameters, the dithered stages' activity context among them. Both sides build
// their stages here only, so that the two cannot drift. The first stage (x̂_0 = the planes' means) uses neither
// the activity nor the scale head; `log_scale` is empty for a model without a head. Not copyable: the stage
// parameters point into the plan's activity.
class StagePlan {
 public:
  StagePlan(const model::NoiseSchedule& schedule, const std::vector<uint16_t>& chain, int gaussian_stages,
            const bitstream::StreamParams& p, int j, const float* x0_hat, int w, int h,
            const std::vector<int32_t>& log_scale)
      : j_(j), gaussian_(j < gaussian_stages), c_(CoefficientsFor(schedule, chain, j)) {
    if (!gaussian_ && j > 0) activity_ = Activity(x0_hat, w, h);
    const int32_t* scale = j > 0 && !log_scale.empty() ? log_scale.data() : nullptr;
    const uint64_t key = DitherKey(p.dither_seed, j);
    dither_ = DitherStage{
        c_.coef_x0, c_.coef_xt, std::sqrt(12.0 * c_.variance), key, j > 0 && !gaussian_ ? activity_.data() : nullptr,
        scale};
    gauss_ = GaussianStage{c_.coef_x0,
                           c_.coef_xt,
                           std::sqrt(c_.variance),
                           key ^ 0x6A055CA4D1DA7E00ull,
                           key ^ 0xC4010E5E1EC70000ull,
                           static_cast<int>(p.gaussian_index_bits),
                           p.gaussian_block_quarters / 4.0,
                           scale};
  }
  StagePlan(const StagePlan&) = delete;
  StagePlan& operator=(const StagePlan&) = delete;

  int index() const { return j_; }
  bool gaussian() const { return gaussian_; }
  const StageCoefficients& coefficients() const { return c_; }
  const DitherStage& dither() const { return dither_; }
  const GaussianStage& gauss() const { return gauss_; }
  BeliefKind belief_kind() const { return j_ > 0 ? BeliefKind::kDithered : BeliefKind::kFirst; }

 private:
  int j_;
  bool gaussian_;
  StageCoefficients c_;
  std::vector<float> activity_;
  DitherStage dither_{};
  GaussianStage gauss_{};
};

// Its side information: (first stage) the planes' means to 16 levels, 3 × 4 bits, then the scale code, 8 bits.
double GaussianSideBits(int j) { return (j == 0 ? 12 : 0) + 8; }

StageSettings StreamSettings(const bitstream::StreamParams& p) {
  return {static_cast<int>(p.gaussian_index_bits), static_cast<int>(p.gaussian_block_quarters)};
}

// The first Gaussian stage's settings as asked; auto (both 0) is the stream's, and then, with 2^10 candidates a
// block or fewer (large images), CodeStage searches the stage and, if its sample carries less than 0.71 of q's pull
// (SignalTransfer), searches it again with blocks of half the budget: starved blocks there cost more later than the
// index bits saved (docs/rate_audit.md, "The first stage").
constexpr int kStarvedMaxIndexBits = 10;
constexpr double kStarvedTransfer = 0.71;
// Whether a stream's Gaussian stages carry region maps (GaussianOptions::region_map): auto with 2^14 candidates a
// block or fewer, pictures above 4096 pixels (docs/rate_audit.md, "The region map": 768×512 photos and 256² crops).
constexpr int kMapMaxIndexBits = 14;
bool UsesRegionMaps(const GaussianOptions& g, const StageSettings& stream) {
  if (g.region_map != 0) return g.region_map > 0;
  return g.first_index_bits <= 0 && g.first_block_quarters <= 0 && stream.index_bits <= kMapMaxIndexBits;
}

StageSettings FirstStageSettings(const GaussianOptions& g, const StageSettings& stream) {
  StageSettings first = stream;
  if (g.first_index_bits > 0) first.index_bits = g.first_index_bits;
  if (g.first_block_quarters > 0) first.block_quarters = g.first_block_quarters;
  return first;
}

// The scale head's portable side information has its own retrieval keys.
uint64_t ScaleHeadKey(uint64_t portable_key) { return portable_key ^ 0x5CA1E5CA1E000000ull; }

// The model's own cost of a dithered stage (bits): Σ KL(q(x_s | x_t, x_0) || p_θ(x_s | x_t)) with the posterior
// variance on both sides; stage 0 compares q(x_τ | x_0) with N(0, 1), the diffusion prior.
double ModelBitsDither(const StageCoefficients& c, const float* x0_hat, const uint8_t* pixels, size_t n, int j) {
  double nats = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x0 = PixelToUnit(pixels[i]);
    if (j == 0) {
      const double var = c.variance, ab = c.coef_x0 * c.coef_x0;
      nats += 0.5 * (-1.0 - std::log(var) + var + ab * x0 * x0);
    } else {
      const double d = c.coef_x0 * (x0 - x0_hat[i]);
      nats += d * d / (2.0 * c.variance);
    }
  }
  return nats / std::log(2.0);
}

// The pixels under a discretized Gaussian N(127.5 (x̂_0 + 1), σ²) over 0..255 (tails folded), σ the RMS error.
double ModelBitsPixels(const float* x0_hat, const uint8_t* pixels, size_t n) {
  double se = 0;
  for (size_t i = 0; i < n; ++i) {
    const double r = pixels[i] - 127.5 * (x0_hat[i] + 1.0);
    se += r * r;
  }
  const double sigma = std::max(std::sqrt(se / std::max<size_t>(n, 1)), 0.05);
  auto cdf = [&](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  double bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const double mean = 127.5 * (x0_hat[i] + 1.0), p = pixels[i];
    const double lo = p == 0 ? 0.0 : cdf((p - 0.5 - mean) / sigma);
    const double hi = p == 255 ? 1.0 : cdf((p + 0.5 - mean) / sigma);
    bits -= std::log2(std::max(hi - lo, 1e-300));
  }
  return bits;
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

PortableGrid GridOf(const bitstream::StreamParams& params) {
  PortableGrid g;
  g.margin_bits = static_cast<int>(params.portable_margin_bits);
  return g;
}

uint64_t PortableKey(uint64_t seed, int stage) { return DitherKey(seed, stage) ^ 0x504F5254ull; }

// Adds the wall time of its scope to *seconds.
class ScopedTimer {
 public:
  explicit ScopedTimer(double* seconds) : seconds_(seconds), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() { *seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  double* seconds_;
  std::chrono::steady_clock::time_point start_;
};

// The kOde / kSample reconstruction: the reverse process from x_s (x0_hat: its prediction) to 0 in
// options.recon_steps network evaluations, DDIM (η = 0) or ancestral sampling; x0_hat ends as the last prediction.
Status ReverseToZero(const Denoiser& denoiser, const DecodeOptions& options, const TileOptions& tiles, int s, int w,
                     int h, std::vector<float>& x_t, std::vector<float>& x0_hat, TimeBreakdown* seconds) {
  const model::NoiseSchedule& schedule = denoiser.schedule();
  const size_t n = x_t.size();
  const int steps = std::clamp(options.recon_steps, 1, s);
  std::vector<int> ts;
  for (int i = 0; i <= steps; ++i) ts.push_back(static_cast<int>(std::lround(s * (1.0 - double(i) / steps))));
  for (int i = 0; i + 1 < static_cast<int>(ts.size()); ++i) {
    const int t = ts[i], next = ts[i + 1];
    if (i > 0) {
      ScopedTimer timer(&seconds->network);
      DCODEC_RETURN_IF_ERROR(denoiser.PredictX0(x_t.data(), w, h, t, tiles, x0_hat.data()));
    }
    if (next == 0) break;
    const double ab = schedule.alpha_bar(t), ab_next = schedule.alpha_bar(next);
    const auto post = schedule.posterior(next, t);
    for (size_t e = 0; e < n; ++e) {
      if (options.recon == Reconstruction::kOde) {
        const double eps = (x_t[e] - std::sqrt(ab) * x0_hat[e]) / std::sqrt(1.0 - ab);
        x_t[e] = static_cast<float>(std::sqrt(ab_next) * x0_hat[e] + std::sqrt(1.0 - ab_next) * eps);
      } else {
        const double mean = post.coef_x0 * x0_hat[e] + post.coef_xt * x_t[e];
        x_t[e] = static_cast<float>(mean + std::sqrt(post.variance) * SampleNormal(options.recon_seed + t, e));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

double Psnr(const Image& a, const Image& b) { return PsnrPlanar(a.data, b.data); }

StatusOr<std::unique_ptr<Codec>> Codec::Load(const std::string& model_path, const std::string& device) {
  DCODEC_ASSIGN_OR_RETURN(std::unique_ptr<Denoiser> denoiser, Denoiser::Load(model_path, device));
  return std::make_unique<Codec>(std::move(denoiser));
}

// ---------------------------------------------------------------------------------------------------------------
// EncodePass: the encoder, stage by stage.

struct EncodePass::State {
  const Codec* codec = nullptr;
  const Denoiser* denoiser = nullptr;
  const Image* image = nullptr;
  EncodeOptions options;
  std::chrono::steady_clock::time_point start;
  SampleDepth depth = SampleDepth::k8;
  int w = 0, h = 0;
  size_t n = 0;
  bool head = false;
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> metadata;
  bool metadata_raw = false;
  // The chain and its Gaussian stages (Recut may change what is not coded yet).
  ChainOptions chain_options;
  std::vector<uint16_t> chain;
  int G = 0;
  // x_t: the last coded stage's sample; x0_hat: the portable prediction for the next stage once prepared.
  std::vector<float> x_t, x0_hat;
  std::vector<int32_t> log_scale;
  Cells cells{0};
  bitstream::AnsEncoder enc;
  struct StageEnd {
    int stage;                         // the stage's index (the pixel stage: K)
    size_t before_check, after_check;  // symbols before and after its check symbol
  };
  std::vector<StageEnd> ends;
  std::vector<StageReport> stages;
  size_t meta_begin = 0, meta_end = 0;
  double alpha_bits = 0;
  TimeBreakdown seconds;
  int next = 0;                                 // the next chain stage to code
  bool prepared = false;                        // stage `next`'s prediction and portable side information are in
  std::optional<StageSettings> first_settings;  // a Gaussian first stage's, once it is coded
  std::optional<bool> region_maps;              // whether the Gaussian stages carry maps, once the first is coded
  double portable_bits = 0;                     // those of the prepared stage
  bool pixels_coded = false;

  int K() const { return static_cast<int>(chain.size()); }
  bitstream::StreamHeader Header() const;
  void EndStage(StageReport report, int j);
  Status Predict(int t, std::vector<float>* eps, std::vector<float>* head_out);
  Status Prepare();
  Status CodeStage();
  Status CodePixels();
  StatusOr<EncodeResult> Seal(size_t m) const;
};

bitstream::StreamHeader EncodePass::State::Header() const {
  const CodecDefaults& model_defaults = denoiser->codec_defaults();
  bitstream::StreamHeader header;
  header.width = w;
  header.height = h;
  header.channels = static_cast<uint8_t>(ColourChannels(image->channels));
  header.model_tag = static_cast<uint8_t>(denoiser->model_id());
  header.params.dither_seed = options.seed;
  header.params.tile_size = options.tiles.tile_size;
  header.params.tile_margin = options.tiles.margin;
  header.params.chain_stages = static_cast<uint32_t>(chain_options.stages);
  header.params.chain_t_max = static_cast<uint32_t>(chain_options.t_max);
  header.params.chain_t_min = static_cast<uint32_t>(chain_options.t_min);
  header.params.chain_t_end = static_cast<uint32_t>(chain_options.t_end);
  header.params.portable_margin_bits = static_cast<uint32_t>(options.portable_margin_bits);
  if (chain_options.t_end != 0) header.version = 8;  // the format that can cut a chain; else format 7
  const int models_g = codec->ResolveGaussianStages(-1, K());
  header.params.gaussian_stages = G == models_g ? bitstream::kModelsGaussianStages : static_cast<uint32_t>(G);
  // The candidates a block by image size (codec.h). Without Gaussian stages these two are unused: they keep the
  // defaults, which cost no header byte.
  const size_t pixels_count = static_cast<size_t>(w) * h;
  const int auto_bits = G == 0 || pixels_count <= 4096 ? 16 : pixels_count <= (1u << 16) ? 14 : 10;
  const int auto_quarters = auto_bits == 16 ? 56 : auto_bits == 14 ? 48 : 32;
  header.params.gaussian_index_bits =
      static_cast<uint32_t>(options.gaussian.index_bits > 0 ? options.gaussian.index_bits : auto_bits);
  header.params.gaussian_block_quarters =
      static_cast<uint32_t>(options.gaussian.block_quarters > 0 ? options.gaussian.block_quarters : auto_quarters);
  // A first stage with its own candidates or budget needs format 9.
  // Region maps need format 12 (and then the first stage has no settings of its own).
  const bool maps = region_maps.value_or(false);
  if (maps) {
    header.version = 12;
  } else if (first_settings && *first_settings != StreamSettings(header.params)) {
    header.version = 9;
  }
  // A cut that keeps the timestep the old rule drops needs format 10, or 11 with format 9's stage settings, or 13
  // with region maps (the walk coded the first stage before rate control chose the cut: the stream's settings bits
  // or maps are there or not).
  if (chain_options.t_end != 0 && chain_options.keep_above_cut) {
    ChainOptions dropping = chain_options;
    dropping.keep_above_cut = false;
    const auto old_rule = MakeChain(denoiser->schedule(), dropping);
    if (!old_rule.ok() || *old_rule != chain) header.version = maps ? 13 : header.version == 9 ? 11 : 10;
  }
  // The model's chain costs no header byte (custom = 0, bitstream/container.h); any other is written explicitly.
  bitstream::StreamParams models = header.params;
  models.chain_stages = bitstream::StreamParams{}.chain_stages;
  models.chain_t_max = bitstream::StreamParams{}.chain_t_max;
  models.chain_t_min = bitstream::StreamParams{}.chain_t_min;
  const bool models_chain = chain_options.stages == model_defaults.chain_stages &&
                            chain_options.t_max == model_defaults.chain_t_max &&
                            chain_options.t_min == model_defaults.chain_t_min;
  if (models_chain && models == bitstream::StreamParams{}) {
    header.params = models;
  } else {
    header.explicit_params = true;
  }
  return header;
}

// Ends stage j: a place for its check symbol, which Seal computes for the header the stream gets (a copy of the
// pass may be recut), and after stage 1 the metadata section.
void EncodePass::State::EndStage(StageReport report, int j) {
  const size_t before = enc.num_symbols();
  bitstream::EncodeUniform(enc, 0, kCheckSymbols);
  report.check_bits = std::log2(static_cast<double>(kCheckSymbols));
  report.open_bits = cells.OpenBits();
  ends.push_back({j, before, enc.num_symbols()});
  stages.push_back(report);
  if (ends.size() == 1) {
    meta_begin = enc.num_symbols();
    EncodeMetadataSection(enc, metadata);
    if (!metadata.empty()) EncodeMetadataKind(enc, metadata_raw);  // format 7
    meta_end = enc.num_symbols();
  }
  if (options.on_stage) options.on_stage(static_cast<int>(stages.size()), K() + (options.pixel_stage ? 1 : 0));
}

// The network's ε at t, and x̂_0 from it as it is (for the reports' PSNR; the decoder shows the same).
Status EncodePass::State::Predict(int t, std::vector<float>* eps, std::vector<float>* head_out) {
  ScopedTimer timer(&seconds.network);
  eps->resize(n);
  head_out->resize(head ? n : 0);
  DCODEC_RETURN_IF_ERROR(
      denoiser->PredictEps(x_t.data(), w, h, t, options.tiles, eps->data(), head ? head_out->data() : nullptr));
  denoiser->X0FromEps(t, x_t.data(), eps->data(), n, x0_hat.data());
  return Status::Ok();
}

Status EncodePass::State::Prepare() {
  if (prepared || next == 0 || pixels_coded) return Status::Ok();
  const int t = chain[next - 1];
  std::vector<float> eps, head_out;
  DCODEC_RETURN_IF_ERROR(Predict(t, &eps, &head_out));
  stages.back().psnr = PsnrPlanar(UnitsToPixels(x0_hat, cells), pixels);
  // ...then on the portable grid, with its side information (portable.h), for the next stage's beliefs.
  const PortableGrid grid = GridOf(Header().params);
  // q on the grid lives until x̂_0 is made of it: in log_scale's place, which the scale head fills after.
  std::vector<int32_t> no_head;
  std::vector<int32_t>& q = head ? log_scale : no_head;
  q.resize(n);
  portable_bits = 0;
  EncodePortableEps(eps.data(), n, grid, PortableKey(options.seed, next), enc, q.data(), &portable_bits);
  const Denoiser::X0Coefficients xc = denoiser->X0CoefficientsAt(t);
  X0FromQuantizedEps(x_t.data(), q.data(), n, xc.coef_xt, xc.coef_eps, grid, x0_hat.data());
  if (head) {
    EncodePortableEps(head_out.data(), n, {kHeadGridBits, grid.margin_bits},
                      ScaleHeadKey(PortableKey(options.seed, next)), enc, log_scale.data(), &portable_bits);
  }
  prepared = true;
  return Status::Ok();
}

Status EncodePass::State::CodeStage() {
  DCODEC_RETURN_IF_ERROR(Prepare());
  const int j = next;
  const std::vector<int32_t> no_scale;
  const bitstream::StreamHeader header = Header();
  const StagePlan plan(denoiser->schedule(), chain, G, header.params, j, x0_hat.data(), w, h,
                       head ? log_scale : no_scale);
  uint8_t plane_mean[3] = {136, 136, 136};
  if (j == 0) {
    // Before any stage the planes' mean pixels are all that x̂_0 can be: to 16 levels, 12 bits.
    PlaneMeans(pixels, plane_mean);
    FillPlaneMeans(plane_mean, x0_hat);
  }
  StageReport report;
  report.timestep = plan.coefficients().s;
  report.model_bits = ModelBitsDither(plan.coefficients(), x0_hat.data(), pixels.data(), n, j);
  report.portable_bits = j > 0 ? portable_bits : 0;
  std::vector<float> x_s(n);
  if (plan.gaussian()) {
    std::optional<ScopedTimer> search_timer(&seconds.search);
    const uint8_t code = ChooseGaussianScale(plan.gauss(), x_t.data(), x0_hat.data(), pixels.data(), n);
    const StageSettings stream = StreamSettings(header.params);
    StageSettings own = stream;
    if (!region_maps) region_maps = UsesRegionMaps(options.gaussian, stream);  // once, at the first Gaussian stage
    GaussianStage st = plan.gauss();
    RegionMap map;
    if (*region_maps) {
      map = ChooseRegionMap(st, GaussianBelief(st, code, x_t.data(), x0_hat.data(), n), x_t.data(), pixels.data(), w, h,
                            options.gaussian.region_map_offset);
      st.map = &map;
    }
    std::vector<uint32_t> indices;
    double index_bits = 0;
    auto search = [&](const StageSettings& settings) {
      index_bits = 0;
      SearchGaussianStage(WithSettings(st, settings), code, x_t.data(), x0_hat.data(), pixels.data(), n, x_s.data(),
                          &indices, &index_bits, options.tiles.threads);
    };
    bool searched = false;  // `indices`, x_s and index_bits hold the search with `own`
    if (j == 0 && !*region_maps) {
      const GaussianOptions& g = options.gaussian;
      own = FirstStageSettings(g, stream);
      if (g.first_index_bits == 0 && g.first_block_quarters == 0 && stream.index_bits <= kStarvedMaxIndexBits) {
        search(stream);
        const double transfer =
            SignalTransfer(plan.gauss(), code, x_t.data(), x0_hat.data(), pixels.data(), x_s.data(), n);
        if (transfer < kStarvedTransfer) {
          own.block_quarters = std::max(1, stream.block_quarters / 2);
        } else {
          searched = true;
        }
      }
      first_settings = own;
    }
    if (!searched) search(own);
    const bitstream::StreamHeader written = Header();  // format 9 if the first stage has its own settings
    if (j == 0) EncodePlaneMeans(enc, plane_mean);
    bitstream::EncodeUniform(enc, code, 256);
    report.side_bits = GaussianSideBits(j);
    if (written.has_stage_settings()) report.side_bits += EncodeStageSettings(enc, own, stream);
    if (*region_maps) report.side_bits += EncodeRegionMap(enc, map);
    if (own != stream) {
      report.own_index_bits = own.index_bits;
      report.own_block_quarters = own.block_quarters;
    }
    WriteGaussianIndices(indices, own.index_bits, enc);
    report.ideal_bits += index_bits;
    search_timer.reset();
  } else {
    Belief belief = ChooseDitherBelief(plan.dither(), cells, x_t.data(), x0_hat.data(), pixels.data(), n);
    if (j == 0) std::copy(plane_mean, plane_mean + 3, belief.plane_mean);
    EncodeBelief(enc, belief, plan.belief_kind());
    report.side_bits = BeliefBits(plan.belief_kind());
    DCODEC_RETURN_IF_ERROR(EncodeDitherStage(plan.dither(), belief, cells, x_t.data(), x0_hat.data(), pixels.data(), n,
                                             enc, x_s.data(), /*symbols=*/nullptr, &report.ideal_bits));
  }
  if (j == 0) report.ideal_bits += alpha_bits;
  EndStage(report, j);
  x_t.swap(x_s);
  ++next;
  prepared = false;
  return Status::Ok();
}

Status EncodePass::State::CodePixels() {
  const int K = this->K();
  StageReport report;
  if (K > 0) {
    DCODEC_RETURN_IF_ERROR(Prepare());
    report.portable_bits = portable_bits;
  } else {
    // The pixels alone: x̂_0 is each plane's mean pixel (24 bits), so that a flat image of any colour is nearly free.
    uint8_t plane_mean[3];
    PlaneMeans(pixels, plane_mean, /*exact=*/true);
    for (uint8_t m : plane_mean) bitstream::EncodeUniform(enc, m, 256);
    report.side_bits += 24;
    FillPlaneMeans(plane_mean, x0_hat);
  }
  const int32_t* pixel_scale = head ? log_scale.data() : nullptr;
  Belief belief = ChoosePixelBelief(cells, x0_hat.data(), pixels.data(), w, h, nullptr, pixel_scale);
  report.timestep = 0;
  report.model_bits = ModelBitsPixels(x0_hat.data(), pixels.data(), n);
  EncodeBelief(enc, belief, BeliefKind::kPixels);
  report.side_bits += BeliefBits(BeliefKind::kPixels);
  DCODEC_RETURN_IF_ERROR(
      EncodePixelStage(belief, cells, x0_hat.data(), pixels.data(), w, h, enc, &report.ideal_bits, pixel_scale));
  if (depth == SampleDepth::k16) {
    EncodeLowBytes(enc, image->data.data(), image->low.data(), w, h, image->channels, &report.ideal_bits);
  }
  if (K == 0) report.ideal_bits += alpha_bits;
  report.psnr = std::numeric_limits<double>::infinity();
  EndStage(report, K);
  stages.back().open_bits = 0;
  pixels_coded = true;
  return Status::Ok();
}

// Seals the first m stages: the last one's check symbol gives way to the stream's final check. A stream of one
// stage has no check symbol before its metadata section: the section follows the stage's symbols, and the final
// check covers it too. The check symbols are computed here, from the header the stream gets (the pass's chain as
// it is now), over the symbols the pass buffered; the metadata section lies between stage 1's check and stage 2.
StatusOr<EncodeResult> EncodePass::State::Seal(size_t m) const {
  if (m < 1 || m > ends.size()) return Internal("EncodePass::Seal: no such stage");
  bitstream::StreamHeader header = Header();
  uint64_t hash = HeaderHash(header, chain_options, denoiser->model_id());
  // The sealed stream is the pass's buffer in pieces, the check symbols in between (no copy of the buffer).
  bitstream::AnsEncoder checks;
  std::vector<bitstream::AnsEncoder::Span> spans;
  uint64_t digest = bitstream::kDigestStart;
  size_t from = 0, count = 0;
  auto add = [&](const bitstream::AnsEncoder& source, size_t begin, size_t end) {
    spans.push_back({&source, begin, end});
    digest = source.DigestOf(digest, begin, end);
    count += end - begin;
  };
  std::vector<size_t> marks;
  for (size_t k = 0; k < m; ++k) {
    add(enc, from, ends[k].before_check);
    hash = StageCheckHash(hash, ends[k].stage, digest);
    if (k + 1 < m) {
      const size_t check_begin = checks.num_symbols();
      bitstream::EncodeUniform(checks, static_cast<uint32_t>(hash % kCheckSymbols), kCheckSymbols);
      add(checks, check_begin, checks.num_symbols());
      marks.push_back(count);
    }
    from = ends[k].after_check;
  }
  if (m == 1) {
    add(enc, meta_begin, meta_end);
    hash = StageCheckHash(hash, 1, digest);
  }
  marks.push_back(count);
  const bitstream::AnsEncoder::Sealed sealed =
      bitstream::AnsEncoder::SealSpans(spans, FinalCheck(hash, static_cast<uint32_t>(m)), marks);
  header.stages = static_cast<uint32_t>(m);
  header.state_bytes = static_cast<uint8_t>(sealed.state_bytes);
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, bitstream::SerializeHeaderFor(header, sealed.bytes.size()));
  EncodeResult out;
  out.seconds = seconds;
  out.seconds.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.header_bytes = bytes.size();
  out.metadata_bytes = metadata.size();
  out.stages.assign(stages.begin(), stages.begin() + static_cast<ptrdiff_t>(m));
  out.stages.back().check_bits = 0;
  size_t previous = 0;
  for (size_t k = 0; k < m; ++k) {
    StageReport& r = out.stages[k];
    r.prefix_bytes = bytes.size() + sealed.bytes_needed[k];
    r.payload_bytes = r.prefix_bytes - previous;
    r.bpp = r.prefix_bytes * 8.0 / (static_cast<double>(w) * h);
    previous = r.prefix_bytes;
  }
  bytes.insert(bytes.end(), sealed.bytes.begin(), sealed.bytes.end());
  out.stream = std::move(bytes);
  return out;
}

EncodePass::EncodePass(std::unique_ptr<State> state) : s_(std::move(state)) {}
EncodePass::EncodePass(const EncodePass& other) : s_(std::make_unique<State>(*other.s_)) {}
EncodePass& EncodePass::operator=(const EncodePass& other) {
  if (this != &other) s_ = std::make_unique<State>(*other.s_);
  return *this;
}
EncodePass::EncodePass(EncodePass&&) noexcept = default;
EncodePass& EncodePass::operator=(EncodePass&&) noexcept = default;
EncodePass::~EncodePass() = default;

const std::vector<uint16_t>& EncodePass::chain() const { return s_->chain; }
int EncodePass::gaussian_stages() const { return s_->G; }
int EncodePass::coded() const { return s_->next; }
bool EncodePass::done() const { return s_->next >= s_->K(); }
const std::vector<StageReport>& EncodePass::stages() const { return s_->stages; }
Status EncodePass::Prepare() { return s_->Prepare(); }
Status EncodePass::Code() {
  if (done()) return Internal("EncodePass::Code: the chain is coded");
  return s_->CodeStage();
}
Status EncodePass::Finish(bool pixel_stage) {
  if (!done() || s_->pixels_coded) return Internal("EncodePass::Finish: the chain is not coded, or finished");
  if (pixel_stage) return s_->CodePixels();
  return s_->Prepare();
}
StatusOr<EncodeResult> EncodePass::Seal(size_t m) const { return s_->Seal(m); }
TimeBreakdown EncodePass::seconds() const {
  TimeBreakdown t = s_->seconds;
  t.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - s_->start).count();
  return t;
}

Status EncodePass::Recut(const ChainOptions& options, int gaussian_stages) {
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint16_t> chain, MakeChain(s_->denoiser->schedule(), options));
  const int K = static_cast<int>(chain.size());
  const int G = std::clamp(gaussian_stages, 0, K);
  // The stages coded keep their timesteps and kinds. A prepared stage may change both: its prediction and portable
  // side information depend on the stages before it only.
  bool same = s_->next <= K && !s_->pixels_coded;
  for (int j = 0; same && j < s_->next; ++j) same = chain[j] == s_->chain[j] && (j < G) == (j < s_->G);
  if (!same) return InvalidArgument("EncodePass::Recut: the new chain does not keep the stages coded");
  s_->chain_options = options;
  s_->chain = std::move(chain);
  s_->G = G;
  return Status::Ok();
}

StatusOr<EncodePass> Codec::StartPass(const Image& image, const EncodeOptions& options) const {
  if (image.width < 1 || image.height < 1 || image.channels < 1 || image.channels > 4) {
    return InvalidArgument("encode: the image must be grey or RGB (with or without alpha) and at least 1x1");
  }
  if (image.num_pixels() > kMaxCodecPixels) {
    return Unsupported("encode: images over 16.7 Mpixel (2^24) are not supported yet");
  }
  if (image.data.size() != image.num_pixels() * image.channels ||
      (image.sixteen_bit() && image.low.size() != image.data.size())) {
    return InvalidArgument("encode: the image's sample planes do not match its size");
  }
  if (options.tiles.tile_size < 16 || options.tiles.tile_size > 4096 || options.tiles.margin < 0 ||
      options.tiles.margin > 256) {
    return InvalidArgument("encode: the tile size must be 16..4096 and the margin 0..256");
  }
  if (options.portable_margin_bits < 8 || options.portable_margin_bits > 30) {
    return InvalidArgument("encode: the portable margin must be 8..30 bits");
  }
  const GaussianOptions& g = options.gaussian;
  if (g.stages < -1 || g.index_bits < 0 || g.index_bits > 16 || g.block_quarters < 0 || g.block_quarters > 255 ||
      g.first_index_bits < -1 || g.first_index_bits > 16 || g.first_block_quarters < -1 ||
      g.first_block_quarters > 255) {
    return InvalidArgument(
        "encode: Gaussian stages must be >= 0 (or -1: the model's), their index bits 1..16 and blocks 1..255 quarter "
        "bits (the first stage's: also 0, auto, or -1, the others')");
  }
  if (g.region_map < -1 || g.region_map > 1 || !std::isfinite(g.region_map_offset) ||
      std::fabs(g.region_map_offset) > 16 ||
      (g.region_map > 0 && (g.first_index_bits > 0 || g.first_block_quarters > 0))) {
    return InvalidArgument(
        "encode: region maps are -1 (never), 0 (auto) or 1 (always), their offset within ±16, and always-on maps "
        "leave the first stage without settings of its own");
  }
  auto s = std::make_unique<EncodePass::State>();
  s->start = std::chrono::steady_clock::now();
  s->codec = this;
  s->denoiser = denoiser_.get();
  s->image = &image;
  s->options = options;
  s->depth = DepthOf(image.data.data(), image.sixteen_bit() ? image.low.data() : nullptr, image.data.size());
  s->chain_options = ResolveChain(options.chain);
  DCODEC_ASSIGN_OR_RETURN(s->chain, MakeChain(denoiser_->schedule(), s->chain_options));
  s->G = ResolveGaussianStages(options.gaussian.stages, s->K());
  s->w = image.width;
  s->h = image.height;
  s->n = 3 * image.num_pixels();
  s->head = s->K() > 0 && denoiser_->has_scale_head();
  s->pixels = ToPlanarRgb(image);
  s->x_t.assign(s->n, 0.0f);
  s->x0_hat.assign(s->n, 0.0f);
  s->cells = Cells(s->n);
  // The metadata section (metadata_coder.h) follows stage 1's check symbol.
  DCODEC_ASSIGN_OR_RETURN(s->metadata, PackMetadata(image.metadata, &s->metadata_raw));
  // The alpha plane (or the note that there is none) opens the stream; its bits count with stage 1.
  const std::vector<uint8_t> alpha = HasAlpha(image.channels) ? AlphaPlane(image) : std::vector<uint8_t>();
  EncodeAlpha(s->enc, alpha.empty() ? nullptr : alpha.data(), s->w, s->h, &s->alpha_bits);
  EncodeDepth(s->enc, s->depth, &s->alpha_bits);
  return EncodePass(std::move(s));
}

StatusOr<EncodeResult> Codec::Encode(const Image& image, const EncodeOptions& options) const {
  DCODEC_ASSIGN_OR_RETURN(EncodePass pass, StartPass(image, options));
  EncodePass::State& s = *pass.s_;
  const int K = s.K();
  bool psnr_met = false;
  while (!pass.done()) {
    if (s.next > 0 && options.target_psnr > 0) {
      DCODEC_RETURN_IF_ERROR(pass.Prepare());
      psnr_met = s.stages.back().psnr >= options.target_psnr;
      if (psnr_met) break;
    }
    DCODEC_RETURN_IF_ERROR(pass.Code());
  }
  if (!psnr_met) {
    if (K > 0) DCODEC_RETURN_IF_ERROR(pass.Prepare());  // the last stage's PSNR
    const bool met = K > 0 && options.target_psnr > 0 && s.stages.back().psnr >= options.target_psnr;
    if (K == 0 || (options.pixel_stage && !met)) DCODEC_RETURN_IF_ERROR(s.CodePixels());
  }
  DCODEC_ASSIGN_OR_RETURN(EncodeResult sealed, pass.Seal(s.ends.size()));
  if (options.target_bpp > 0 && sealed.stages.back().bpp > options.target_bpp && s.ends.size() > 1) {
    size_t m = 1;
    while (m < s.ends.size() && sealed.stages[m].bpp <= options.target_bpp) ++m;
    DCODEC_ASSIGN_OR_RETURN(sealed, pass.Seal(m));
  }
  if (options.pixels_only_if_half && K > 0 && std::isinf(sealed.stages.back().psnr)) {
    // First an estimate from the belief search's subsample; the full trial only when it may win.
    double bits_per_symbol = 0;
    uint8_t plane_mean[3];
    PlaneMeans(s.pixels, plane_mean, /*exact=*/true);
    std::vector<float> means(s.n);
    FillPlaneMeans(plane_mean, means);
    ChoosePixelBelief(Cells(s.n), means.data(), s.pixels.data(), s.w, s.h, &bits_per_symbol);
    if (bits_per_symbol * s.n >= 0.6 * 8.0 * sealed.stream.size()) return sealed;
    EncodeOptions alone = options;
    alone.chain.stages = 0;
    DCODEC_ASSIGN_OR_RETURN(EncodeResult pixels_only, Encode(image, alone));
    if (2 * pixels_only.stream.size() < sealed.stream.size()) return pixels_only;
  }
  return sealed;
}

ChainOptions Codec::ResolveChain(const ChainOptions& options) const {
  const CodecDefaults& d = denoiser_->codec_defaults();
  ChainOptions c = options;
  if (c.stages == kModelsChain) c.stages = d.chain_stages;
  if (c.t_max == kModelsChain) c.t_max = d.chain_t_max;
  if (c.t_min == kModelsChain) c.t_min = d.chain_t_min;
  return c;
}

int Codec::ResolveGaussianStages(int requested, int K) const {
  return std::min(requested >= 0 ? requested : denoiser_->codec_defaults().gaussian_stages, K);
}

namespace {

// ---------------------------------------------------------------------------------------------------------------
// StreamDecoder: one call of Codec::DecodeStages. Open reads and checks the header; Run decodes the opening
// symbols (alpha plane, sample depth), the chain stage by stage, the pixel stage, and makes the picture. Its
// members are the decoder's state, its methods the steps that mirror EncodePass's (the stages' parameters come from
// the same StagePlan).

class StreamDecoder {
 public:
  StreamDecoder(const Codec& codec, const DecodeOptions& options, int* good, bool check_length)
      : codec_(codec), denoiser_(codec.denoiser()), options_(options), good_(good), check_length_(check_length) {}

  Status Open(const uint8_t* data, size_t size);
  StatusOr<DecodeResult> Run();

 private:
  // kCorrupt naming stage j: it failed its check, or (ran_out) a whole stream's stage needs data past its end.
  Status Fail(int j, bool ran_out = false);
  // Running out of data: the end of a prefix, or in a whole format-5 stream damage.
  Status RanOut(int j) { return whole_stream_ ? Fail(j, /*ran_out=*/true) : Status::Ok(); }
  // A stage's decode error: running out of data ends the prefix, anything else is a failed stage.
  Status StageError(const Status& s, int j) { return s.code() == StatusCode::kTruncated ? RanOut(j) : Fail(j); }
  // The metadata section (format 6): after stage 1's check symbol, or in a one-stage stream before its final check.
  Status ReadMetadata();
  // Ends stage j: its check symbol, or for the stream's last stage the final state. Sets *complete = false if
  // the data ran out first (a prefix).
  Status FinishStage(int j, StageReport report, bool* complete);
  // Ends stage j's part of the check chain: format 5 hashes the coder's digest, formats 3 and 4 the stage's symbols.
  template <typename T>
  void ChainHash(int j, const T* stage_symbols, size_t count) {
    hash_ = header_.has_length() ? StageCheckHash(hash_, j, dec_->digest()) : StageHash(hash_, j, stage_symbols, count);
  }
  // The network at t: `shown_` (x̂_0 as this machine computes it: previews, a prefix's picture).
  Status Predict(int t);
  // Stage j's portable x̂_0 (and the scale head's output) from the last prediction and the stream's side information.
  Status MakePortable(int t, int j, double* bits);
  // The alpha plane and the sample depth; *complete = false if the data ran out first.
  Status DecodeOpening(bool* complete);
  // Chain stage j's symbols (after its portable prediction): the side information, then one index a block
  // (Gaussian) or the belief and the dithered symbols; x_s_ and, for a dithered stage, `narrowed` get the result.
  Status DecodeStage(const StagePlan& plan, StageReport& report, Cells& narrowed, std::vector<uint32_t>* indices);
  // The chain's stages, as many as wanted and complete.
  Status DecodeChain(bool complete);
  // The lossless pixel stage after the chain's last (x̂_0 from the prediction at s), and a 16-bit image's low bytes.
  Status DecodePixels(int s);
  // A picture from planar RGB, with the alpha plane when there is one.
  Image Picture(const uint8_t* planes) const {
    Image colour = FromPlanarRgb(planes, w_, h_, header_.channels);
    return alpha_ ? WithAlpha(colour, *alpha_) : colour;
  }

  const Codec& codec_;
  const Denoiser& denoiser_;
  const DecodeOptions& options_;
  int* good_;
  bool check_length_;

  // From the header.
  bitstream::StreamHeader header_;
  ChainOptions chain_options_;
  std::vector<uint16_t> chain_;
  TileOptions tiles_;
  int K_ = 0, N_ = 0, G_ = 0, w_ = 0, h_ = 0, wanted_ = 0;
  size_t n_ = 0, hb_ = 0, extra_ = 0;
  uint64_t stream_bytes_ = 0;
  bool whole_stream_ = false, head_ = false;
  std::optional<bitstream::AnsDecoder> dec_;
  uint64_t hash_ = 0;

  // x0_hat_: what the stages' beliefs use (the portable x̂_0, or the planes' means); shown_: x̂_0 as this machine
  // computes it from the last network pass, the previews' and a prefix's picture (the encoder's reports).
  // x_s_ holds ε_θ from Predict until MakePortable has read it, then the next stage's sample; symbols_ holds the
  // portable q until x̂_0 is made of it, then a dithered stage's symbols (one plane each less at 12 MP: 144 MB).
  std::vector<float> x_t_, x_s_, x0_hat_, shown_, head_out_;
  std::vector<int32_t> symbols_, log_scale_;
  std::vector<uint8_t> pixels_;
  std::vector<uint8_t> low_;  // the low bytes of 16-bit samples, once the pixel stage has them
  Cells cells_{0};
  std::optional<std::vector<uint8_t>> alpha_;
  double alpha_bits_ = 0;
  SampleDepth depth_ = SampleDepth::k8;
  int decoded_ = 0;
  int predicted_for_ = -1;  // the stages decoded when shown_ was predicted
  DecodeResult result_;
};

Status StreamDecoder::Open(const uint8_t* data, size_t size) {
  *good_ = 0;
  const size_t usable = options_.max_bytes > 0 ? std::min(size, options_.max_bytes) : size;
  DCODEC_ASSIGN_OR_RETURN(bitstream::ParsedHeader parsed, bitstream::ParseHeader(data, usable));
  header_ = parsed.header;
  // Format 5 says how long the stream is: with all of it, running out of data is damage, not a prefix's end.
  stream_bytes_ = parsed.stream_bytes();
  if (header_.has_length() && size > stream_bytes_) {
    return InvalidInput("trailing garbage: " + std::to_string(size - stream_bytes_) +
                        " bytes after the stream's end (its header says it has " + std::to_string(stream_bytes_) +
                        " bytes)");
  }
  whole_stream_ = header_.has_length() && usable >= stream_bytes_;
  const uint64_t model_id = denoiser_.model_id();
  if (header_.model_tag != static_cast<uint8_t>(model_id)) {
    char buf[160];
    std::snprintf(buf, sizeof(buf),
                  "the stream was made with another model (tag %02x), but %016llx (tag %02x) is loaded",
                  header_.model_tag, static_cast<unsigned long long>(model_id), static_cast<unsigned>(model_id & 0xff));
    return Status(StatusCode::kModelMismatch, std::string(buf) + " (" + denoiser_.path() + "); pass its --model");
  }
  const auto& params = header_.params;
  ChainOptions chain_options;  // custom = 0: the model's chain
  if (header_.explicit_params) {
    chain_options.stages = static_cast<int>(params.chain_stages);
    chain_options.t_max = static_cast<int>(params.chain_t_max);
    chain_options.t_min = static_cast<int>(params.chain_t_min);
    chain_options.t_end = static_cast<int>(params.chain_t_end);
    chain_options.keep_above_cut = header_.keeps_above_cut();
  }
  chain_options_ = codec_.ResolveChain(chain_options);
  auto chain_or = MakeChain(denoiser_.schedule(), chain_options_);
  if (!chain_or.ok()) {
    return InvalidInput("the stream's coding chain does not fit the model's schedule: " + chain_or.status().message());
  }
  chain_ = *std::move(chain_or);
  if (uint64_t{header_.width} * header_.height > kMaxCodecPixels) {
    return InvalidInput("the stream claims " + std::to_string(header_.width) + "x" + std::to_string(header_.height) +
                        " pixels, more than any encoder of this format writes (2^24)");
  }
  tiles_ = TileOptions{static_cast<int>(params.tile_size), static_cast<int>(params.tile_margin), options_.threads};
  K_ = static_cast<int>(chain_.size());
  N_ = static_cast<int>(header_.stages);
  if (N_ > K_ + 1) {
    return InvalidInput("the stream holds " + std::to_string(header_.stages) + " stages but its chain only " +
                        std::to_string(K_ + 1));
  }
  if (params.gaussian_stages != bitstream::kModelsGaussianStages && static_cast<int>(params.gaussian_stages) > K_) {
    return InvalidInput("the stream has more Gaussian stages than its chain has stages");
  }
  G_ = params.gaussian_stages == bitstream::kModelsGaussianStages ? codec_.ResolveGaussianStages(-1, K_)
                                                                  : static_cast<int>(params.gaussian_stages);
  w_ = static_cast<int>(header_.width);
  h_ = static_cast<int>(header_.height);
  n_ = 3 * static_cast<size_t>(w_) * h_;
  hb_ = parsed.header_bytes;

  result_.stages_total = N_;
  result_.schedule_stages = K_ + 1;
  result_.header_bytes = hb_;
  result_.stream_bytes = stream_bytes_;
  result_.data_bytes = usable;
  wanted_ = options_.max_stages >= 0 ? std::min(N_, options_.max_stages) : N_;

  // A prefix may end inside a word: the decoder sees the whole words only (the rest belongs to a later stage).
  const size_t avail = usable - hb_;
  const size_t whole = avail < header_.state_bytes ? avail : avail - (avail - header_.state_bytes) % 4;
  extra_ = avail - whole;
  dec_.emplace(data + hb_, whole, header_.state_bytes);
  hash_ = HeaderHash(header_, chain_options_, model_id);
  x_t_.assign(n_, 0.0f);
  x_s_.resize(n_);
  x0_hat_.assign(n_, 0.0f);
  shown_.assign(K_ > 0 ? n_ : 0, 0.0f);
  symbols_.resize(n_);
  cells_ = Cells(n_);
  head_ = K_ > 0 && denoiser_.has_scale_head();
  head_out_.resize(head_ ? n_ : 0);
  log_scale_.resize(head_ ? n_ : 0);
  return Status::Ok();
}

Status StreamDecoder::ReadMetadata() {
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> frame, DecodeMetadataSection(*dec_));
  bool raw = false;  // format 7 says whether the bytes are a zstd frame or the serialization itself
  if (!frame.empty() && header_.has_depth()) {
    DCODEC_ASSIGN_OR_RETURN(raw, DecodeMetadataKind(*dec_));
  }
  result_.metadata_read = true;  // the whole section, its kind bit included
  result_.metadata_bytes = frame.size();
  if (frame.empty()) return Status::Ok();
  auto metadata = UnpackMetadata(frame.data(), frame.size(), raw);
  if (!metadata.ok()) return metadata.status();
  result_.image.metadata = *std::move(metadata);
  return Status::Ok();
}

Status StreamDecoder::Fail(int j, bool ran_out) {
  *good_ = decoded_;
  const std::string stage = "stage " + std::to_string(j + 1) + " (t=" + std::to_string(j < K_ ? chain_[j] : 0) + ")";
  return Corrupt(stage +
                 (ran_out ? " needs data past the end of the stream, which is complete (" +
                                std::to_string(stream_bytes_) + " bytes, as its header says)"
                          : " fails its check") +
                 ": the stream is damaged, or this machine computes the model differently from the encoder's "
                 "(another CPU or library build?)");
}

Status StreamDecoder::FinishStage(int j, StageReport report, bool* complete) {
  bitstream::AnsDecoder& dec = *dec_;
  *complete = false;
  if (j + 1 < N_) {
    auto check = bitstream::DecodeUniform(dec, kCheckSymbols);
    if (!check.ok()) return check.status().code() == StatusCode::kTruncated ? RanOut(j) : Fail(j);
    if (*check != hash_ % kCheckSymbols) return Fail(j);
    report.check_bits = std::log2(static_cast<double>(kCheckSymbols));
  } else {
    if (header_.has_metadata() && N_ == 1) {
      Status m = ReadMetadata();
      if (!m.ok()) return m.code() == StatusCode::kTruncated ? RanOut(j) : Fail(j);
      hash_ = StageCheckHash(hash_, 1, dec.digest());
    }
    const uint32_t final_check = FinalCheck(hash_, static_cast<uint32_t>(N_));
    Status s = dec.Finish(final_check);
    if (s.code() == StatusCode::kTruncated) return RanOut(j);
    if (!header_.has_length() && dec.AtState(final_check) && dec.remaining_bytes() + extra_ > 0) {
      return InvalidInput("trailing garbage: " + std::to_string(dec.remaining_bytes() + extra_) +
                          " bytes after the stream's last stage");
    }
    if (!s.ok()) return Fail(j);
    if (check_length_ && header_.has_length() && !whole_stream_) {
      *good_ = N_;  // every stage passed: the length in the header is what is wrong
      return Corrupt("the stream's " + std::to_string(N_) + " stages end at byte " +
                     std::to_string(hb_ + dec.consumed_bytes()) + ", but its header says it has " +
                     std::to_string(stream_bytes_) + " bytes: the header is damaged");
    }
  }
  report.prefix_bytes = hb_ + dec.needed_bytes();
  report.payload_bytes = report.prefix_bytes - (result_.stages.empty() ? 0 : result_.stages.back().prefix_bytes);
  report.bpp = report.prefix_bytes * 8.0 / (static_cast<double>(w_) * h_);
  result_.stages.push_back(report);
  if (options_.on_stage) options_.on_stage(static_cast<int>(result_.stages.size()), N_);
  *complete = true;
  if (header_.has_metadata() && N_ > 1 && result_.stages.size() == 1) {
    // After stage 1's check: a prefix may end inside it (then the next stage runs out too), damage fails stage 2.
    Status m = ReadMetadata();
    Status s = m.ok() ? m : m.code() == StatusCode::kTruncated ? RanOut(1) : Fail(1);
    if (!s.ok()) *good_ = 1;  // stage 1 passed its check
    return s;
  }
  return Status::Ok();
}

Status StreamDecoder::Predict(int t) {
  ScopedTimer timer(&result_.seconds.network);
  DCODEC_RETURN_IF_ERROR(
      denoiser_.PredictEps(x_t_.data(), w_, h_, t, tiles_, x_s_.data(), head_ ? head_out_.data() : nullptr));
  denoiser_.X0FromEps(t, x_t_.data(), x_s_.data(), n_, shown_.data());  // as given: previews, pictures
  predicted_for_ = decoded_;
  return Status::Ok();
}

Status StreamDecoder::MakePortable(int t, int j, double* bits) {
  const PortableGrid grid = GridOf(header_.params);
  const uint64_t key = PortableKey(header_.params.dither_seed, j);
  DCODEC_RETURN_IF_ERROR(
      DecodePortableEps(x_s_.data(), n_, grid, key, *dec_, symbols_.data(), options_.audit ? bits : nullptr));
  const Denoiser::X0Coefficients xc = denoiser_.X0CoefficientsAt(t);
  X0FromQuantizedEps(x_t_.data(), symbols_.data(), n_, xc.coef_xt, xc.coef_eps, grid, x0_hat_.data());
  if (head_) {
    DCODEC_RETURN_IF_ERROR(DecodePortableEps(head_out_.data(), n_, {kHeadGridBits, grid.margin_bits}, ScaleHeadKey(key),
                                             *dec_, log_scale_.data(), options_.audit ? bits : nullptr));
  }
  return Status::Ok();
}

Status StreamDecoder::DecodeOpening(bool* complete) {
  // The alpha plane first (alpha_coder.h); a prefix too short for it decodes nothing.
  *complete = true;
  if (wanted_ == 0) return Status::Ok();
  auto decoded_alpha = DecodeAlpha(*dec_, w_, h_, options_.audit ? &alpha_bits_ : nullptr);
  if (!decoded_alpha.ok()) {
    if (decoded_alpha.status().code() != StatusCode::kTruncated) return Fail(0);
    DCODEC_RETURN_IF_ERROR(RanOut(0));
    *complete = false;
    return Status::Ok();
  }
  alpha_ = *std::move(decoded_alpha);
  if (alpha_ && !header_.has_length()) hash_ = StageHash(hash_, -1, alpha_->data(), alpha_->size());
  // The sample depth (format 7, low_byte_coder.h) after it.
  if (!header_.has_depth()) return Status::Ok();
  auto decoded_depth = DecodeDepth(*dec_, options_.audit ? &alpha_bits_ : nullptr);
  if (!decoded_depth.ok()) {
    if (decoded_depth.status().code() != StatusCode::kTruncated) return Fail(0);
    DCODEC_RETURN_IF_ERROR(RanOut(0));
    *complete = false;
    return Status::Ok();
  }
  depth_ = *decoded_depth;
  result_.sample_bits = depth_ == SampleDepth::k8 ? 8 : 16;
  return Status::Ok();
}

Status StreamDecoder::DecodeStage(const StagePlan& plan, StageReport& report, Cells& narrowed,
                                  std::vector<uint32_t>* indices) {
  bitstream::AnsDecoder& dec = *dec_;
  const int j = plan.index();
  double* ideal = options_.audit ? &report.ideal_bits : nullptr;
  if (plan.gaussian()) {
    if (j == 0) {
      uint8_t plane_mean[3];
      DCODEC_RETURN_IF_ERROR(DecodePlaneMeans(dec, plane_mean));
      FillPlaneMeans(plane_mean, x0_hat_);
    }
    DCODEC_ASSIGN_OR_RETURN(const uint32_t code, bitstream::DecodeUniform(dec, 256));
    report.side_bits = GaussianSideBits(j);
    const StageSettings stream = StreamSettings(header_.params);
    StageSettings own = stream;
    if (header_.has_stage_settings()) {
      double bits = 0;
      DCODEC_ASSIGN_OR_RETURN(own, DecodeStageSettings(dec, stream, &bits));
      report.side_bits += bits;
      if (own != stream) {
        report.own_index_bits = own.index_bits;
        report.own_block_quarters = own.block_quarters;
      }
    }
    GaussianStage st = WithSettings(plan.gauss(), own);
    RegionMap map;
    if (header_.has_region_maps()) {
      double bits = 0;
      DCODEC_ASSIGN_OR_RETURN(map, DecodeRegionMap(dec, w_, h_, &bits));
      report.side_bits += bits;
      st.map = &map;
    }
    ScopedTimer timer(&result_.seconds.search);
    return DecodeGaussianStage(st, static_cast<uint8_t>(code), x_t_.data(), x0_hat_.data(), n_, dec, x_s_.data(),
                               indices, ideal);
  }
  DCODEC_ASSIGN_OR_RETURN(const Belief belief, DecodeBelief(dec, plan.belief_kind()));
  report.side_bits = BeliefBits(plan.belief_kind());
  if (j == 0) FillPlaneMeans(belief.plane_mean, x0_hat_);
  return DecodeDitherStage(plan.dither(), belief, narrowed, x_t_.data(), x0_hat_.data(), n_, dec, x_s_.data(),
                           symbols_.data(), ideal);
}

Status StreamDecoder::DecodeChain(bool complete) {
  for (int j = 0; j < std::min(wanted_, K_) && complete; ++j) {
    StageReport report;
    report.timestep = chain_[j];
    if (j > 0) {
      DCODEC_RETURN_IF_ERROR(Predict(chain_[j - 1]));
      if (options_.on_prefix) options_.on_prefix(j, Picture(UnitsToPixels(shown_, cells_).data()));
      Status s = MakePortable(chain_[j - 1], j, &report.portable_bits);
      if (!s.ok()) return StageError(s, j);
    }
    const StagePlan plan(denoiser_.schedule(), chain_, G_, header_.params, j, x0_hat_.data(), w_, h_, log_scale_);
    Cells narrowed = plan.gaussian() ? Cells(0) : cells_;  // an incomplete stage must not narrow anything
    std::vector<uint32_t> indices;
    Status s = DecodeStage(plan, report, narrowed, &indices);
    if (j == 0) report.ideal_bits += alpha_bits_;
    if (!s.ok()) return StageError(s, j);
    if (plan.gaussian()) {
      ChainHash(j, indices.data(), indices.size());
    } else {
      ChainHash(j, symbols_.data(), n_);
    }
    DCODEC_RETURN_IF_ERROR(FinishStage(j, report, &complete));
    if (!complete) break;
    if (!plan.gaussian()) cells_ = std::move(narrowed);
    x_t_.swap(x_s_);
    decoded_ = j + 1;
  }
  return Status::Ok();
}

Status StreamDecoder::DecodePixels(int s) {
  bitstream::AnsDecoder& dec = *dec_;
  StageReport report;
  report.timestep = 0;
  Status st = K_ > 0 ? MakePortable(s, K_, &report.portable_bits) : Status::Ok();
  if (K_ == 0) {
    uint8_t plane_mean[3];
    for (int p = 0; p < 3 && st.ok(); ++p) {
      auto m = bitstream::DecodeUniform(dec, 256);
      st = m.status();
      if (m.ok()) plane_mean[p] = static_cast<uint8_t>(*m);
    }
    if (st.ok()) FillPlaneMeans(plane_mean, x0_hat_);
    report.side_bits += 24;
  }
  StatusOr<Belief> belief = st.ok() ? DecodeBelief(dec, BeliefKind::kPixels) : StatusOr<Belief>(st);
  if (st.ok() && !belief.ok()) st = belief.status();
  if (st.ok()) {
    report.side_bits += BeliefBits(BeliefKind::kPixels);
    pixels_.resize(n_);
    st = DecodePixelStage(*belief, cells_, x0_hat_.data(), w_, h_, dec, pixels_.data(),
                          options_.audit ? &report.ideal_bits : nullptr, head_ ? log_scale_.data() : nullptr);
    if (st.ok() && depth_ == SampleDepth::k16) {
      const Image high = Picture(pixels_.data());
      low_.resize(high.data.size());
      st = DecodeLowBytes(dec, high.data.data(), w_, h_, high.channels, low_.data(),
                          options_.audit ? &report.ideal_bits : nullptr);
    }
    if (K_ == 0) report.ideal_bits += alpha_bits_;
  }
  if (!st.ok()) return StageError(st, K_);
  ChainHash(K_, pixels_.data(), n_);
  bool complete = false;
  DCODEC_RETURN_IF_ERROR(FinishStage(K_, report, &complete));
  if (complete) {
    decoded_ = K_ + 1;
    result_.exact = true;
  }
  return Status::Ok();
}

StatusOr<DecodeResult> StreamDecoder::Run() {
  bool complete = true;
  DCODEC_RETURN_IF_ERROR(DecodeOpening(&complete));
  DCODEC_RETURN_IF_ERROR(DecodeChain(complete));
  if (decoded_ == 0 && K_ > 0) {
    pixels_.assign(n_, 128);
  } else {
    const int s = K_ > 0 ? chain_[decoded_ - 1] : 0;
    if (K_ > 0 && predicted_for_ != decoded_) {  // (a stage that ran out of data has predicted it already)
      DCODEC_RETURN_IF_ERROR(Predict(s));
      if (options_.on_prefix) options_.on_prefix(decoded_, Picture(UnitsToPixels(shown_, cells_).data()));
    }
    if (decoded_ == K_ && wanted_ > K_) DCODEC_RETURN_IF_ERROR(DecodePixels(s));
    if (!result_.exact && options_.recon != Reconstruction::kMean && s > 1) {
      x0_hat_ = shown_;
      DCODEC_RETURN_IF_ERROR(ReverseToZero(denoiser_, options_, tiles_, s, w_, h_, x_t_, x0_hat_, &result_.seconds));
      pixels_ = UnitsToPixels(x0_hat_, cells_);
    } else if (!result_.exact) {
      // Only complete stages count: a pixel stage that ran out of data shows what its stage count shows.
      pixels_ = decoded_ == 0 ? std::vector<uint8_t>(n_, 128) : UnitsToPixels(shown_, cells_);
    }
  }
  result_.stages_decoded = decoded_;
  result_.bytes_used = result_.stages.empty() ? hb_ : result_.stages.back().prefix_bytes;
  if (decoded_ == 0) alpha_.reset();  // the alpha plane counts with stage 1: no stage, no plane (one picture a prefix)
  Metadata metadata = std::move(result_.image.metadata);
  result_.image = Picture(pixels_.data());
  result_.image.metadata = std::move(metadata);
  if (result_.exact && depth_ == SampleDepth::k16) result_.image.low = std::move(low_);
  if (result_.exact && depth_ == SampleDepth::k16Wide) result_.image.low = result_.image.data;
  if (result_.exact && options_.on_prefix) options_.on_prefix(decoded_, result_.image);
  return std::move(result_);
}

}  // namespace

StatusOr<DecodeResult> Codec::Decode(const uint8_t* data, size_t size, const DecodeOptions& options) const {
  const auto start = std::chrono::steady_clock::now();
  int good = 0;
  StatusOr<DecodeResult> result = DecodeStages(data, size, options, &good, /*check_length=*/true);
  if (result.ok()) {
    result->seconds.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (result.ok() || !options.salvage || result.status().code() != StatusCode::kCorrupt || good == 0) return result;
  // The stages before the damage, decoded again: the same picture as a prefix of them (one picture per prefix).
  DecodeOptions before = options;
  before.max_stages = good;
  int unused = 0;
  StatusOr<DecodeResult> salvaged = DecodeStages(data, size, before, &unused, /*check_length=*/false);
  if (!salvaged.ok()) return result;
  salvaged->damage = result.status();
  return salvaged;
}

StatusOr<DecodeResult> Codec::DecodeStages(const uint8_t* data, size_t size, const DecodeOptions& options, int* good,
                                           bool check_length) const {
  StreamDecoder decoder(*this, options, good, check_length);
  DCODEC_RETURN_IF_ERROR(decoder.Open(data, size));
  return decoder.Run();
}

}  // namespace dcodec::codec
