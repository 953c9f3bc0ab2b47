// Training examples for `dcodec train`: random crops of a data set, drawn with a caller-owned seeded generator.
//
// Specs: "cifar10:DIR" (32x32 CIFAR-10 training split, random horizontal flips) and "images:DIR" (every PNG in
// DIR; random crops of `crop` pixels after a random downscale by a factor in [1, max_downscale] for scale variety,
// random horizontal flips).
#ifndef DCODEC_DATASETS_TRAINING_DATA_H_
#define DCODEC_DATASETS_TRAINING_DATA_H_

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/status.h"
#include "datasets/image.h"

namespace dcodec {

class TrainingData {
 public:
  virtual ~TrainingData() = default;
  virtual int crop() const = 0;
  virtual std::string Describe() const = 0;
  // Writes n examples as planar CHW RGB bytes (n * 3 * crop * crop) to `out`, drawing only from `rng`.
  void Sample(int n, std::mt19937_64& rng, uint8_t* out) const { SampleSlice(n, 0, n, rng, out); }
  // A rank's shard of that batch: draws the random choices of all n examples (so `rng` advances exactly as Sample
  // would) but reads and writes only examples [first, first + count), to `out` (count * 3 * crop * crop bytes).
  // The slices of any split of [0, n) together are Sample's batch, byte for byte.
  virtual void SampleSlice(int n, int first, int count, std::mt19937_64& rng, uint8_t* out) const = 0;
};

struct TrainingDataOptions {
  int crop = 64;               // ignored for CIFAR-10 (always 32)
  double max_downscale = 3.0;  // images: the largest random downscale factor
};

StatusOr<std::unique_ptr<TrainingData>> OpenTrainingData(const std::string& spec, const TrainingDataOptions& options);

// Every *.png directly in `dir`, sorted by name.
StatusOr<std::vector<std::string>> ListPngs(const std::string& dir);

// Area-averaging resize of the window [x0, x0 + size*scale) x [y0, y0 + size*scale) of `image` to size x size
// planar CHW bytes (flipped horizontally if `flip`). Exposed for tests.
void CropResize(const Image& image, double x0, double y0, double scale, int size, bool flip, uint8_t* out);

}  // namespace dcodec

#endif  // DCODEC_DATASETS_TRAINING_DATA_H_
