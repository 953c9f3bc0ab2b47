// The model file: a UNet's config, weights and metadata in one safetensors file.
//
// Layout (https://github.com/huggingface/safetensors, written here without a library):
//   bytes 0..7   N, the header length, uint64 little-endian
//   bytes 8..8+N the header: a JSON object, padded with spaces to a multiple of 8 bytes
//   the rest     the tensors' raw little-endian bytes, back to back in header-key order, no gaps
// Header: {"__metadata__": {string: string}, "<tensor name>": {"dtype": "F32" | "F16", "shape": [...],
//          "data_offsets": [begin, end]}, ...}, offsets relative to the start of the data; tensor names are the
// UNet's parameter and buffer names ("down.0.res.conv1.weight").
// Reserved metadata keys (everything else is free-form and returned as ModelFile::metadata):
//   "dcodec.format"     "dcodec-model-v1"
//   "dcodec.unet"       UNetConfig::ToJson(), dumped
//   "dcodec.schedule"   BetaScheduleName(), e.g. "linear"
//   "dcodec.num_steps"  T in decimal, e.g. "1000"
// Example header: {"__metadata__":{"dcodec.format":"dcodec-model-v1","dcodec.num_steps":"1000",
//   "dcodec.schedule":"linear","dcodec.unet":"{...}"},"conv_in.bias":{"data_offsets":[0,128],"dtype":"F32",
//   "shape":[32]},...}
// The same weights and info always give the same bytes (sorted keys), so model_id = xxh64 of the file is stable.
#ifndef DCODEC_MODEL_MODEL_FILE_H_
#define DCODEC_MODEL_MODEL_FILE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/schedule.h"
#include "model/unet.h"

namespace dcodec::model {

struct ModelFile {
  UNetConfig config;
  BetaSchedule schedule = BetaSchedule::kLinear;
  int num_steps = 1000;
  std::map<std::string, std::string> metadata;  // free-form (calibration tables, provenance); keys not "dcodec.*"
};

enum class WeightStorage { kF32, kF16 };  // kF16 halves the file; loading converts back to float32

struct SaveOptions {
  WeightStorage storage = WeightStorage::kF32;
};

// Writes atomically (replacing `path`). The network's config must equal info.config. Weights may live on any
// device. kInvalidArgument for a config mismatch, a reserved metadata key or num_steps < 1; kIoError on write.
Status SaveModel(const std::string& path, UNet& net, const ModelFile& info, const SaveOptions& options = {});

// The file's bytes as SaveModel writes them (for in-memory use and hashing).
StatusOr<std::vector<uint8_t>> SerializeModel(UNet& net, const ModelFile& info, const SaveOptions& options = {});

struct LoadedModel {
  UNet net;  // float32 on the CPU, in eval() mode
  ModelFile info;
  uint64_t model_id;  // XXH64 (seed 0) of the whole file's bytes
};

// Errors name the file: kIoError (not found / unreadable), kTruncated (shorter than its header or data says),
// kInvalidInput (bad header JSON, bad config or metadata, unknown dtype, missing or extra tensor, shape mismatch,
// overlapping or gapped offsets).
// Constructing the network draws its initial weights from torch's global RNG before they are overwritten.
StatusOr<LoadedModel> LoadModel(const std::string& path);
StatusOr<LoadedModel> ParseModel(const std::vector<uint8_t>& bytes);  // errors without a file name

}  // namespace dcodec::model

#endif  // DCODEC_MODEL_MODEL_FILE_H_
