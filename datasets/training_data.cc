#include "datasets/training_data.h"

#include <dirent.h>

#include <algorithm>
#include <cmath>

#include "datasets/cifar10.h"
#include "datasets/png.h"

namespace dcodec {
namespace {

class CifarData : public TrainingData {
 public:
  CifarData(CifarImages images, std::string dir) : images_(std::move(images)), dir_(std::move(dir)) {}
  int crop() const override { return 32; }
  std::string Describe() const override {
    return "CIFAR-10 training split of " + dir_ + " (" + std::to_string(images_.count()) + " images)";
  }
  void SampleSlice(int n, int first, int count, std::mt19937_64& rng, uint8_t* out) const override {
    std::uniform_int_distribution<int> pick(0, images_.count() - 1);
    for (int i = 0; i < n; ++i) {
      const uint8_t* src = images_.planar.data() + static_cast<size_t>(pick(rng)) * 3072;
      bool flip = rng() & 1;
      if (i < first || i >= first + count) continue;
      uint8_t* dst = out + static_cast<size_t>(i - first) * 3072;
      for (int c = 0; c < 3; ++c) {
        for (int y = 0; y < 32; ++y) {
          for (int x = 0; x < 32; ++x) dst[c * 1024 + y * 32 + x] = src[c * 1024 + y * 32 + (flip ? 31 - x : x)];
        }
      }
    }
  }

 private:
  CifarImages images_;
  std::string dir_;
};

class ImageFolderData : public TrainingData {
 public:
  ImageFolderData(std::vector<Image> images, std::string dir, TrainingDataOptions options)
      : images_(std::move(images)), dir_(std::move(dir)), options_(options) {}
  int crop() const override { return options_.crop; }
  std::string Describe() const override {
    return std::to_string(images_.size()) + " PNG images in " + dir_ + ", " + std::to_string(options_.crop) +
           "px crops";
  }
  void SampleSlice(int n, int first, int count, std::mt19937_64& rng, uint8_t* out) const override {
    std::uniform_int_distribution<size_t> pick(0, images_.size() - 1);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    int size = options_.crop;
    for (int i = 0; i < n; ++i) {
      const Image& image = images_[pick(rng)];
      double max_scale = std::min({options_.max_downscale, static_cast<double>(image.width) / size,
                                   static_cast<double>(image.height) / size});
      // Log-uniform scale so that every octave is seen equally often.
      double scale = max_scale <= 1.0 ? 1.0 : std::exp(unit(rng) * std::log(max_scale));
      double window = size * scale;
      double x0 = unit(rng) * std::max(0.0, image.width - window);
      double y0 = unit(rng) * std::max(0.0, image.height - window);
      if (scale == 1.0) {  // whole pixels: no resampling blur at full resolution
        x0 = std::floor(x0);
        y0 = std::floor(y0);
      }
      bool flip = rng() & 1;
      if (i < first || i >= first + count) continue;
      CropResize(image, x0, y0, scale, size, flip, out + static_cast<size_t>(i - first) * 3 * size * size);
    }
  }

 private:
  std::vector<Image> images_;
  std::string dir_;
  TrainingDataOptions options_;
};

}  // namespace

void CropResize(const Image& image, double x0, double y0, double scale, int size, bool flip, uint8_t* out) {
  // Each output pixel averages the source area it covers, with fractional weights at the edges.
  auto weights = [&](double start, int limit, int o, std::vector<std::pair<int, double>>* w) {
    w->clear();
    double a = start + o * scale, b = a + scale;
    for (int p = static_cast<int>(std::floor(a)); p < static_cast<int>(std::ceil(b)); ++p) {
      double overlap = std::min<double>(b, p + 1) - std::max<double>(a, p);
      if (overlap > 0) w->push_back({std::clamp(p, 0, limit - 1), overlap});
    }
  };
  std::vector<std::vector<std::pair<int, double>>> wx(size), wy(size);
  for (int o = 0; o < size; ++o) {
    weights(x0, image.width, o, &wx[o]);
    weights(y0, image.height, o, &wy[o]);
  }
  for (int oy = 0; oy < size; ++oy) {
    for (int ox = 0; ox < size; ++ox) {
      double acc[3] = {0, 0, 0}, total = 0;
      for (auto [py, wyv] : wy[oy]) {
        for (auto [px, wxv] : wx[ox]) {
          double w = wyv * wxv;
          total += w;
          for (int c = 0; c < 3; ++c) acc[c] += w * image.at(px, py, image.channels == 3 ? c : 0);
        }
      }
      int dx = flip ? size - 1 - ox : ox;
      for (int c = 0; c < 3; ++c) {
        out[(static_cast<size_t>(c) * size + oy) * size + dx] =
            static_cast<uint8_t>(std::clamp(std::lround(acc[c] / total), 0L, 255L));
      }
    }
  }
}

StatusOr<std::vector<std::string>> ListPngs(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return IoError(dir + ": cannot open directory");
  std::vector<std::string> paths;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".png") == 0) paths.push_back(dir + "/" + name);
  }
  closedir(d);
  std::sort(paths.begin(), paths.end());
  return paths;
}

StatusOr<std::unique_ptr<TrainingData>> OpenTrainingData(const std::string& spec,
                                                         const TrainingDataOptions& options) {
  auto colon = spec.find(':');
  if (colon == std::string::npos) {
    return InvalidArgument("--data '" + spec + "': expected cifar10:DIR or images:DIR");
  }
  std::string kind = spec.substr(0, colon), dir = spec.substr(colon + 1);
  if (kind == "cifar10") {
    DCODEC_ASSIGN_OR_RETURN(CifarImages all, LoadCifar10(dir));
    return std::unique_ptr<TrainingData>(new CifarData(SelectSplit(all, CifarSplit::kTrain), dir));
  }
  if (kind == "images") {
    if (options.crop < 8) return InvalidArgument("--crop must be at least 8");
    DCODEC_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListPngs(dir));
    std::vector<Image> images;
    for (const auto& path : paths) {
      DCODEC_ASSIGN_OR_RETURN(Image image, ReadPng(path, PngReadOptions{/*reduce_16_to_8=*/true}));
      if (image.width < options.crop || image.height < options.crop) continue;
      images.push_back(std::move(image));
    }
    if (images.empty()) return InvalidInput(dir + ": no PNG images at least " + std::to_string(options.crop) + "px");
    return std::unique_ptr<TrainingData>(new ImageFolderData(std::move(images), dir, options));
  }
  return InvalidArgument("--data '" + spec + "': unknown kind '" + kind + "' (cifar10 or images)");
}

}  // namespace dcodec
