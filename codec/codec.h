// dcodec's progressive codec: the public contract of codec/ (no LibTorch in this header).
//
// Encode sends x_{τ_K}, then x_{τ_{j-1}} given x_{τ_j} along the coding chain (the first ones Gaussian stages, see
// gaussian_stage.h, the others dithered stages, see stage_coder.h), then the 8-bit pixels given x̂_0(x_{τ_1}). The
// stages follow each other in one sealed rANS stream (bitstream/ans.h) behind the short header of
// bitstream/container.h; each stage starts with its belief shape (entropy_model.h) and, unless it is the stream's last,
// ends with a 9-bit check symbol; the stream's initial state holds a 31-bit check of everything. Any prefix of a stream
// decodes to its complete stages; the whole stream decodes to the exact input. The image's metadata (colour profile,
// EXIF, ...) follows stage 1 (metadata_coder.h), and comes back with every prefix that holds it. A 16-bit image
// (Image::low) is coded as its high bytes, with the low bytes after the pixel stage's pixels (low_byte_coder.h):
// previews are 8-bit, the whole stream gives the 16-bit samples back.
//
// Checks: h_0 = xxh64 of (width, height, channels, the stream parameters, the 64-bit model id);
// h_j = xxh64(h_{j-1}, j, stage j's symbols); stage j's check symbol is h_j mod 2^9; the stream's initial state
// is 2^31 + (xxh64(h_N, N) mod 2^31). A decoder that sees a check fail reports kCorrupt: the stream is damaged,
// or this machine computes the model differently from the encoder's (the two look the same from here). The header
// of a format-5 stream gives its length, so the decoder knows whether it has the whole stream: then every check
// is consulted, down to the final state's 31 bits, and a stage that runs out of data is damage too; with fewer
// bytes it decodes the complete stages of a prefix.
#ifndef DCODEC_CODEC_CODEC_H_
#define DCODEC_CODEC_CODEC_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/chain.h"
#include "codec/denoiser.h"
#include "datasets/image.h"

namespace dcodec::codec {

// The chain's first stages coded as samples of q by channel simulation (gaussian_stage.h) instead of dithered.
struct GaussianOptions {
  // Of the chain's first stages (more than the chain has: all of them); 0: none; -1: the model's
  // (Denoiser::codec_defaults: as many as it was trained with unless its file says otherwise).
  int stages = -1;
  // 2^index_bits candidates a block of block_quarters / 4 expected bits. The encoder's work is 2^index_bits
  // candidate values an element, so 0 (auto) takes 16 and 56 (14 bits; the format's defaults) up to 4096 pixels
  // (a 32x32 image: 0.2 G candidate values a stage), 14 and 48 up to 2^16, and 10 and 32 above (a 768x512 photo:
  // 1.2 G). Measured on 100 held-out CIFAR images: BD-rate against WebP +12.3% (12 bits, 10), +10.3% (14, 12),
  // +7.5% (16, 14): the pick's cost over the KL is about the 2 bits a block above the budget.
  int index_bits = 0;      // 0: auto; else 1..16
  int block_quarters = 0;  // 0: auto; else 1..255
  // The first stage's own candidates and budget (format 9; gaussian_stage.h, StageSettings): its belief is the same
  // everywhere, so its blocks starve where the picture is busy. 0 (auto): the stream's, but with 2^10 candidates or
  // fewer (large images) blocks of half the budget when the stream's settings carry less than 0.71 of q's pull
  // (SignalTransfer): 6 of the 20 dev photos, whose streams at quality 50 are then 5–36% smaller
  // (docs/rate_audit.md, "The first stage"). −1: the stream's. Otherwise these values.
  int first_index_bits = 0;      // −1, 0 or 1..16
  int first_block_quarters = 0;  // −1, 0 or 1..255
  // Region maps (formats 12 and 13; codec/region_map.h): every Gaussian stage weighs its blocks by the real KL of
  // each 32×32 region, so that no block starves and none wastes its index bits. 0 (auto): with 2^14 candidates a
  // block or fewer (pictures above 4096 pixels) unless the first stage's settings are given; 1: always; −1: never. With
  // maps the first stage has no settings of its own (the map does their work), so 1 and first_* > 0 exclude each other.
  int region_map = 0;
  // The encoder's classes: round(2·log2(real / expected KL) + offset); −1, blocks of about √2 times the budget in
  // real KL, measured best (docs/rate_audit.md, "The region map").
  double region_map_offset = -1.0;
};

struct EncodeOptions {
  ChainOptions chain;
  GaussianOptions gaussian;
  double target_bpp = 0;   // > 0: keep the stages whose prefix fits in this many bits per pixel (at least one)
  double target_psnr = 0;  // > 0: end at the first stage whose reconstruction reaches this PSNR (dB)
  TileOptions tiles;
  uint64_t seed = 0;  // the dither seed
  // The portable x̂_0's margin: a decoder whose ε differs from the encoder's by less than 2^-portable_margin_bits
  // decodes the stream (codec/portable.h). 17 covers every CPU kernel measured here with a factor 1.7 to spare;
  // each bit less doubles the side information (about 0.4% of a CIFAR stream at 17).
  int portable_margin_bits = 17;
  // A whole (lossless) stream only: if coding the pixels alone (chain.stages = 0, x̂_0 = the planes' means, no network)
  // takes less than half the bytes of the progressive stream, write that instead. Such images (flat or synthetic ones:
  // a flat grey 32x32 takes 20 bytes instead of about 870) gain nothing from a preview that costs more than the image.
  bool pixels_only_if_half = true;
  // False: the stream ends with the chain's last dithered stage (lossy; the last StageReport's psnr is its
  // picture's). True: the lossless pixel stage follows.
  bool pixel_stage = true;
  // Called after each coded stage with (stages done, stages planned): for progress bars.
  std::function<void(int done, int total)> on_stage;
};

// Where a stage's bits go (the rate audit, docs/rate_audit.md). Real bytes = ideal + side + check bits plus
// the coder's flush and the header, which together are the fixed cost.
struct StageReport {
  int timestep = 0;          // the x_t this stage delivers (0: the exact pixels)
  size_t payload_bytes = 0;  // prefix_bytes minus the previous prefix_bytes (the header counts with stage 1)
  size_t prefix_bytes = 0;   // bytes a decoder needs for this stage and all before it (header included)
  double bpp = 0;            // prefix_bytes * 8 / pixels
  double ideal_bits = 0;     // Σ −log2 P of this stage's symbols under the integer model
  double side_bits = 0;      // the belief shape's symbols
  double check_bits = 0;     // the check symbol (9, or 0 for the stream's last stage)
  double portable_bits = 0;  // the portable x̂_0's side information (portable.h): the cost of decoding anywhere
  double model_bits = 0;     // what the model itself says the stage costs: the KL of q(x_s | x_t, x_0) from
                             // p_θ(x_s | x_t) with σ̃² (Algorithm 3's ideal), or for the pixels the discretized
                             // Gaussian at the best single σ, without cells
  double open_bits = 0;      // Σ log2 |cell| after this stage: how much of the image is still unknown
  double psnr = 0;           // of the default (mean) reconstruction from this prefix; +inf when exact
  // A Gaussian stage with its own candidates and block budget (format 9): 2^own_index_bits candidates a block of
  // own_block_quarters / 4 expected bits. 0: the stream's (the header's), or not a Gaussian stage.
  int own_index_bits = 0, own_block_quarters = 0;
};

// Where a call's time went (wall seconds; `dcodec bench` prints it). network: the denoiser's passes (and the
// kOde / kSample reconstruction's); search: the Gaussian stages' candidate searches and scale choice (the encoder)
// or candidate draws (the decoder); the rest is the entropy coder, beliefs, portable grids and copies.
struct TimeBreakdown {
  double network = 0, search = 0, total = 0;
  double rest() const { return total - network - search; }
};

struct EncodeResult {
  std::vector<uint8_t> stream;
  TimeBreakdown seconds;  // of this call (EncodeToTarget: of its whole search, the shared pass and every trial)
  std::vector<StageReport> stages;
  size_t header_bytes = 0;
  // The image's metadata (Image::metadata) as the stream carries it, compressed, after stage 1 (0: none). It
  // counts with stage 2's payload, or with the only stage's.
  size_t metadata_bytes = 0;
};

enum class Reconstruction { kMean, kOde, kSample };

struct DecodeOptions {
  size_t max_bytes = 0;  // 0: the whole stream; else only the stages complete within this prefix
  int max_stages = -1;   // -1: all; else at most this many stages
  Reconstruction recon = Reconstruction::kMean;
  int recon_steps = 10;     // network evaluations for kOde / kSample
  uint64_t recon_seed = 0;  // kSample's noise
  int threads = 1;
  // Called with the mean reconstruction after each decoded stage (stage counts 1, 2, …; the last call for a
  // complete stream carries the exact image). Costs nothing extra: the decoder computes these anyway.
  std::function<void(int stages, const Image& image)> on_prefix;
  // Fill DecodeResult::stages[j].ideal_bits (one more CDF evaluation pair a symbol; for `dcodec info`).
  bool audit = false;
  // Called after each decoded stage with (stages done, stages in the file): for progress bars.
  std::function<void(int done, int total)> on_stage;
  // A damaged stream (kCorrupt) gives the picture of the stages before the one that failed instead of an error,
  // with DecodeResult::damage saying what failed (decoding them again: twice the time of the failed decode). At
  // least one stage must have passed its check; each check that passed is wrong with a chance of 2^-9 (a
  // stage's) or 2^-31 (the last stage's), so a salvaged picture is very likely, not certainly, the encoder's.
  bool salvage = false;
};

struct DecodeResult {
  Image image;
  TimeBreakdown seconds;
  int stages_decoded = 0;
  int stages_total = 0;     // stages present in the file
  int schedule_stages = 0;  // stages the encoder planned (chain + pixel stage)
  size_t bytes_used = 0;    // header + the decoded stages
  size_t header_bytes = 0;
  // Format 5: the bytes of the whole stream, from its header (0 for formats 3 and 4, which do not say). Fewer
  // bytes given (a cut file, or DecodeOptions::max_bytes) are a prefix; exactly these many are the whole stream,
  // in which a stage that runs out of data or fails its check is damage (kCorrupt), never the end of a prefix.
  uint64_t stream_bytes = 0;
  size_t data_bytes = 0;  // the bytes the decoder was given (the file, or max_bytes of it)
  // With DecodeOptions::salvage: why the stages after stages_decoded are not shown (ok: the stream is sound).
  Status damage;
  bool exact = false;  // the pixel stage was decoded: the image is the encoder's input (metadata included)
  // Format 6: the metadata section was in the data (image.metadata is the stream's; a prefix that ends before it
  // has none), and its compressed bytes (0: the stream has no metadata).
  bool metadata_read = false;
  size_t metadata_bytes = 0;
  // The encoder's input had 16-bit samples (8 until the stream's opening symbols are read). image has them
  // (Image::low) only when exact; a prefix's picture is 8-bit, the high bytes' approximation.
  int sample_bits = 8;
  // Per decoded stage: timestep, prefix_bytes, bpp, side_bits, check_bits and, with DecodeOptions::audit,
  // ideal_bits (the rest stays 0).
  std::vector<StageReport> stages;
};

// One encode, stage by stage: Codec::Encode is StartPass, Code to the chain's end, Finish and Seal. A copy of a
// pass is a copy of its state: rate control (rate_control.h) codes the model's chain once and continues copies of
// it along chains cut where it needs (ChainOptions::t_end), which keep the stages coded before the copy, so that
// the network and the Gaussian searches of those stages run once for every cut. A pass refers to the Codec and
// the Image it started with: both must outlive it.
class EncodePass {
 public:
  EncodePass(const EncodePass& other);
  EncodePass& operator=(const EncodePass& other);
  EncodePass(EncodePass&&) noexcept;
  EncodePass& operator=(EncodePass&&) noexcept;
  ~EncodePass();

  const std::vector<uint16_t>& chain() const;
  int gaussian_stages() const;
  int coded() const;  // chain stages coded (the pixel stage not counted)
  bool done() const;  // every chain stage coded
  // The coded stages' reports (psnr: once the next stage is prepared, or Finish ran; bytes: Seal's).
  const std::vector<StageReport>& stages() const;
  // Another chain (resolved) and Gaussian stage count for the stages not coded yet: the stages coded and a
  // prepared one must keep their timesteps, and the coded ones their kinds. InvalidArgument otherwise.
  Status Recut(const ChainOptions& chain, int gaussian_stages);
  // Runs the network at the last coded stage's timestep (that stage's picture: its psnr) and writes the next
  // stage's portable prediction; nothing before the first stage, or when prepared already.
  Status Prepare();
  // Codes the next chain stage (preparing it first).
  Status Code();
  // Once done(): prepares (the last stage's psnr) and, with pixel_stage, codes the lossless pixel stage.
  Status Finish(bool pixel_stage);
  // The stream of the first m stages (1..stages().size()), with the header of the pass's chain as it is now.
  StatusOr<EncodeResult> Seal(size_t m) const;
  // The time the pass has spent so far (a copy starts with its original's).
  TimeBreakdown seconds() const;

 private:
  friend class Codec;
  struct State;
  explicit EncodePass(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

class Codec {
 public:
  explicit Codec(std::unique_ptr<Denoiser> denoiser) : denoiser_(std::move(denoiser)) {}
  // `device`: where the network runs, "cpu" or "cuda[:N]" (Denoiser::Load); streams are the same either way.
  static StatusOr<std::unique_ptr<Codec>> Load(const std::string& model_path, const std::string& device = "cpu");

  const Denoiser& denoiser() const { return *denoiser_; }
  // `options` with every kModelsChain field replaced by the model's (Denoiser::codec_defaults).
  ChainOptions ResolveChain(const ChainOptions& options) const;
  // The Gaussian stages of a chain of K stages: `requested` (GaussianOptions::stages; -1: the model's), at most K.
  int ResolveGaussianStages(int requested, int K) const;

  StatusOr<EncodeResult> Encode(const Image& image, const EncodeOptions& options) const;
  // An encode to run stage by stage (EncodePass); options' target_bpp, target_psnr, pixel_stage and
  // pixels_only_if_half are Encode's, not the pass's.
  StatusOr<EncodePass> StartPass(const Image& image, const EncodeOptions& options) const;
  // Decodes the complete stages of a stream or of a prefix of one. Damage (a check that fails, or a whole
  // stream whose stage runs out of data) is kCorrupt naming the stage, unless options.salvage.
  StatusOr<DecodeResult> Decode(const uint8_t* data, size_t size, const DecodeOptions& options) const;

 private:
  // Decode without salvage; on kCorrupt *good is the number of stages that passed their checks first.
  // check_length: a format-5 stream whose last stage ends before the length its header gives is damaged.
  StatusOr<DecodeResult> DecodeStages(const uint8_t* data, size_t size, const DecodeOptions& options, int* good,
                                      bool check_length) const;

  std::unique_ptr<Denoiser> denoiser_;
};

// The largest image the codec handles (its working memory is about 60 bytes a pixel): 2^24 pixels.
constexpr uint64_t kMaxCodecPixels = uint64_t{1} << 24;

// PSNR in dB between two 8-bit images of the same size (MSE over all samples); +inf if identical.
double Psnr(const Image& a, const Image& b);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_CODEC_H_
