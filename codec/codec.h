// dcodec's progressive codec: the public contract of codec/ (no LibTorch in this header).
//
// Encode sends x_{τ_K}, then x_{τ_{j-1}} given x_{τ_j} along the coding chain (each a dithered stage, see
// stage_coder.h), then the 8-bit pixels given x̂_0(x_{τ_1}); every stage is one sealed rANS sub-stream in the
// container of bitstream/container.h. Any prefix of a stream decodes to its complete stages; the whole stream
// decodes to the exact input.
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

struct EncodeOptions {
  ChainOptions chain;
  double target_bpp = 0;   // > 0: keep the stages whose prefix fits in this many bits per pixel (at least one)
  double target_psnr = 0;  // > 0: end at the first stage whose reconstruction reaches this PSNR (dB)
  TileOptions tiles;
  uint64_t seed = 0;       // the dither seed
};

struct StageReport {
  int timestep;            // the x_t this stage delivers (0: the exact pixels)
  size_t payload_bytes;
  size_t prefix_bytes;     // file size if the stream ended after this stage (header included)
  double bpp;              // prefix_bytes * 8 / pixels
  double ideal_bits;       // Σ −log2 P of this stage's symbols under the integer model
  double psnr;             // of the default (mean) reconstruction from this prefix; +inf when exact
};

struct EncodeResult {
  std::vector<uint8_t> stream;
  std::vector<StageReport> stages;
};

enum class Reconstruction { kMean, kOde, kSample };

struct DecodeOptions {
  size_t max_bytes = 0;    // 0: the whole stream; else only the stages complete within this prefix
  int max_stages = -1;     // -1: all; else at most this many stages
  Reconstruction recon = Reconstruction::kMean;
  int recon_steps = 10;    // network evaluations for kOde / kSample
  uint64_t recon_seed = 0; // kSample's noise
  int threads = 1;
  // Called with the mean reconstruction after each decoded stage (stage counts 1, 2, …; the last call for a
  // complete stream carries the exact image). Costs nothing extra: the decoder computes these anyway.
  std::function<void(int stages, const Image& image)> on_prefix;
};

struct DecodeResult {
  Image image;
  int stages_decoded = 0;
  int stages_total = 0;    // stages present in the file
  int schedule_stages = 0; // stages the encoder planned (chain + pixel stage)
  size_t bytes_used = 0;   // header + the decoded stages
  bool exact = false;      // the pixel stage was decoded: the image is the encoder's input
};

class Codec {
 public:
  explicit Codec(std::unique_ptr<Denoiser> denoiser) : denoiser_(std::move(denoiser)) {}
  static StatusOr<std::unique_ptr<Codec>> Load(const std::string& model_path);

  const Denoiser& denoiser() const { return *denoiser_; }

  StatusOr<EncodeResult> Encode(const Image& image, const EncodeOptions& options) const;
  StatusOr<DecodeResult> Decode(const uint8_t* data, size_t size, const DecodeOptions& options) const;

 private:
  std::unique_ptr<Denoiser> denoiser_;
};

// The largest image the codec handles (its working memory is about 60 bytes a pixel): 2^24 pixels.
constexpr uint64_t kMaxCodecPixels = uint64_t{1} << 24;

// PSNR in dB between two 8-bit images of the same size (MSE over all samples); +inf if identical.
double Psnr(const Image& a, const Image& b);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_CODEC_H_
