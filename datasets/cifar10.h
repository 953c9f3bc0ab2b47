// CIFAR-10 binary batches (data_batch_1.bin … data_batch_5.bin; 3073-byte records: label, then R, G, B planes).
//
// dcodec keeps the last kCifarHoldoutImages records (the end of data_batch_5.bin) out of training; evaluation
// (`dcodec rd`, `dcodec nll`, model cards) uses them.
#ifndef DCODEC_DATASETS_CIFAR10_H_
#define DCODEC_DATASETS_CIFAR10_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "datasets/image.h"

namespace dcodec {

constexpr int kCifarRecordBytes = 3073;
constexpr int kCifarImagesPerBatch = 10000;
constexpr int kCifarHoldoutImages = 1000;

// All records of the batches found in `dir` (in file order), as planar CHW 3x32x32 bytes per image.
struct CifarImages {
  std::vector<uint8_t> planar;  // count * 3072 bytes
  std::vector<uint8_t> labels;
  int count() const { return static_cast<int>(labels.size()); }
  // Image i as an interleaved RGB Image.
  Image ToImage(int i) const;
};

StatusOr<CifarImages> LoadCifar10(const std::string& dir);

enum class CifarSplit { kTrain, kHoldout };
// The training images (all but the last kCifarHoldoutImages) or the held-out ones.
CifarImages SelectSplit(const CifarImages& all, CifarSplit split);

}  // namespace dcodec

#endif  // DCODEC_DATASETS_CIFAR10_H_
