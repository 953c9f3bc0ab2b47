// The model as the codec sees it: x̂_0(x_t, t) on a planar 3×H×W image, evaluated in tiles so that the result
// does not depend on the thread count.
//
// Each tile (tile_size² pixels, seen with `margin` pixels of context on every side) is evaluated by one thread
// with LibTorch's intra-op parallelism off; `threads` tiles run at once. The same tile is thus computed by the
// same single-threaded code whatever the thread count, and encode --threads 2 / decode --threads 1 agree bit for
// bit on one machine. (Another CPU may still differ: the codec's per-stage symbol hashes catch that.)
#ifndef DCODEC_CODEC_DENOISER_H_
#define DCODEC_CODEC_DENOISER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "model/schedule.h"

namespace dcodec::codec {

struct TileOptions {
  int tile_size = 256;
  int margin = 16;
  int threads = 1;
};

// The coding chain of a stream whose header says "the model's" (bitstream/container.h, custom = 0): the model
// file's "codec" metadata record, a JSON object with any of "chain_stages", "chain_t_max", "chain_t_min" and
// "gaussian_stages" (`dcodec set-defaults` writes it), the rest as below; without a record, the format's chain
// (4 stages from t = 400 to 10) and the Gaussian stages the model was trained with.
struct CodecDefaults {
  int chain_stages = 4, chain_t_max = 400, chain_t_min = 10;
  int gaussian_stages = 0;
  bool operator==(const CodecDefaults& o) const {
    return chain_stages == o.chain_stages && chain_t_max == o.chain_t_max && chain_t_min == o.chain_t_min &&
           gaussian_stages == o.gaussian_stages;
  }
};
inline constexpr const char* kCodecRecordKey = "codec";
// The defaults a model file's metadata gives (kInvalidInput for a malformed record or an impossible chain).
StatusOr<CodecDefaults> ReadCodecDefaults(const std::map<std::string, std::string>& metadata, int num_steps);

class Denoiser {
 public:
  // `device`: "cpu", or "cuda" / "cuda:N" where LibTorch has CUDA (InvalidArgument otherwise). On a GPU the
  // network runs in float32 with TF32 off and cuDNN deterministic, tiles of one size batched together; its
  // output differs from the CPU's by float rounding only, which the portable x̂_0 absorbs (portable.h), so streams
  // mean the same on either device and decode on the other.
  static StatusOr<std::unique_ptr<Denoiser>> Load(const std::string& model_path, const std::string& device = "cpu");
  const std::string& device() const;
  ~Denoiser();

  uint64_t model_id() const;
  const model::NoiseSchedule& schedule() const;
  const std::string& path() const { return path_; }

  // Whether the network has a per-pixel scale head (UNetConfig::Output::kEpsilonAndLogScale; entropy_model.h).
  bool has_scale_head() const;
  // The chain its streams use by default (validated when the model is loaded; without a codec record its Gaussian
  // stages are those it was trained with, `dcodec train --gaussian-stages` in the file's "training" metadata).
  const CodecDefaults& codec_defaults() const;

  // ε_θ(x_t, t) over 3·width·height values (float: its last bits depend on the machine; portable.h makes them
  // portable), and with a scale head its log2-scale output into `log_scale` (3·width·height values; nullptr: not
  // wanted).
  Status PredictEps(const float* x_t, int width, int height, int t, const TileOptions& tiles, float* eps,
                    float* log_scale = nullptr) const;
  // x0_hat = clip(coef_xt·x_t − coef_eps·ε_θ(x_t, t), −1, 1) with coef_xt = 1/sqrt(ᾱ_t), coef_eps =
  // sqrt(1 − ᾱ_t)/sqrt(ᾱ_t), element-wise (x0_hat may not alias x_t).
  Status PredictX0(const float* x_t, int width, int height, int t, const TileOptions& tiles, float* x0_hat) const;
  struct X0Coefficients {
    double coef_xt, coef_eps;
  };
  X0Coefficients X0CoefficientsAt(int t) const;
  // x0_hat = clip(coef_xt·x_t − coef_eps·eps, −1, 1) element-wise (x0_hat may alias eps, not x_t).
  void X0FromEps(int t, const float* x_t, const float* eps, size_t n, float* x0_hat) const;

 private:
  struct Impl;
  explicit Denoiser(std::unique_ptr<Impl> impl, std::string path);
  Status PredictEpsOnDevice(const float* x_t, int width, int height, int t, const TileOptions& tiles, float* eps,
                            float* log_scale) const;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_DENOISER_H_
