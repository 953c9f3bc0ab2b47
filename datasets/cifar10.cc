#include "datasets/cifar10.h"

#include <algorithm>

#include "base/file_io.h"

namespace dcodec {

Image CifarImages::ToImage(int i) const {
  Image image(32, 32, 3);
  const uint8_t* src = planar.data() + static_cast<size_t>(i) * 3072;
  for (int c = 0; c < 3; ++c) {
    for (int p = 0; p < 1024; ++p) image.data[3 * p + c] = src[c * 1024 + p];
  }
  return image;
}

StatusOr<CifarImages> LoadCifar10(const std::string& dir) {
  CifarImages out;
  int files = 0;
  for (int b = 1; b <= 5; ++b) {
    std::string path = dir + "/data_batch_" + std::to_string(b) + ".bin";
    if (!FileExists(path)) continue;
    DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
    if (bytes.size() % kCifarRecordBytes != 0 || bytes.empty()) {
      return InvalidInput(path + ": size " + std::to_string(bytes.size()) +
                          " is not a whole number of 3073-byte CIFAR-10 records");
    }
    size_t n = bytes.size() / kCifarRecordBytes;
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* rec = bytes.data() + i * kCifarRecordBytes;
      if (rec[0] > 9) return InvalidInput(path + ": record " + std::to_string(i) + " has label > 9");
      out.labels.push_back(rec[0]);
      out.planar.insert(out.planar.end(), rec + 1, rec + kCifarRecordBytes);
    }
    ++files;
  }
  if (files == 0) return InvalidInput(dir + ": no CIFAR-10 data_batch_N.bin files found");
  return out;
}

CifarImages SelectSplit(const CifarImages& all, CifarSplit split) {
  int holdout = std::min(kCifarHoldoutImages, all.count() / 10);
  int first = split == CifarSplit::kTrain ? 0 : all.count() - holdout;
  int last = split == CifarSplit::kTrain ? all.count() - holdout : all.count();
  CifarImages out;
  out.labels.assign(all.labels.begin() + first, all.labels.begin() + last);
  out.planar.assign(all.planar.begin() + static_cast<size_t>(first) * 3072,
                    all.planar.begin() + static_cast<size_t>(last) * 3072);
  return out;
}

}  // namespace dcodec
