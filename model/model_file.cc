#include "model/model_file.h"

#include <torch/torch.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "base/file_io.h"

namespace dcodec::model {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "model files store little-endian bytes by memcpy");

namespace {

constexpr char kFormatKey[] = "dcodec.format";
constexpr char kFormatValue[] = "dcodec-model-v1";
constexpr char kUNetKey[] = "dcodec.unet";
constexpr char kScheduleKey[] = "dcodec.schedule";
constexpr char kNumStepsKey[] = "dcodec.num_steps";
constexpr char kReservedPrefix[] = "dcodec.";
constexpr char kMetadataKey[] = "__metadata__";
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

bool IsReserved(const std::string& key) { return key.rfind(kReservedPrefix, 0) == 0; }

// Every parameter and buffer, by its dotted name, sorted (the file's data order).
std::map<std::string, torch::Tensor> NamedTensors(UNet& net) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : net->named_parameters(/*recurse=*/true)) tensors[item.key()] = item.value();
  for (const auto& item : net->named_buffers(/*recurse=*/true)) tensors[item.key()] = item.value();
  return tensors;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

StatusOr<int> ParseNumSteps(const std::string& s) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidInput("bad " + std::string(kNumStepsKey) + " '" + s + "'");
  }
  const int value = std::stoi(s);
  if (value < 1) return InvalidInput(std::string(kNumStepsKey) + " must be >= 1");
  return value;
}

StatusOr<ModelFile> ParseMetadata(const nlohmann::json& header) {
  if (!header.contains(kMetadataKey) || !header[kMetadataKey].is_object()) {
    return InvalidInput("header has no __metadata__ object");
  }
  std::map<std::string, std::string> all;
  for (const auto& item : header[kMetadataKey].items()) {
    if (!item.value().is_string()) return InvalidInput("metadata value of '" + item.key() + "' is not a string");
    all[item.key()] = item.value().get<std::string>();
  }
  for (const char* key : {kFormatKey, kUNetKey, kScheduleKey, kNumStepsKey}) {
    if (!all.count(key)) return InvalidInput(std::string("metadata lacks '") + key + "'");
  }
  if (all[kFormatKey] != kFormatValue) {
    return Unsupported("model format '" + all[kFormatKey] + "' (this build reads " + kFormatValue + ")");
  }
  ModelFile info;
  nlohmann::json config_json = nlohmann::json::parse(all[kUNetKey], nullptr, /*allow_exceptions=*/false);
  if (config_json.is_discarded()) return InvalidInput(std::string("metadata '") + kUNetKey + "' is not JSON");
  DCODEC_ASSIGN_OR_RETURN(info.config, UNetConfig::FromJson(config_json));
  DCODEC_ASSIGN_OR_RETURN(info.schedule, ParseBetaSchedule(all[kScheduleKey]));
  DCODEC_ASSIGN_OR_RETURN(info.num_steps, ParseNumSteps(all[kNumStepsKey]));
  for (auto& [key, value] : all) {
    if (!IsReserved(key)) info.metadata[key] = std::move(value);
  }
  return info;
}

struct Entry {
  std::string name;
  torch::ScalarType dtype;
  uint64_t begin, end;
};

}  // namespace

StatusOr<std::vector<uint8_t>> SerializeModel(UNet& net, const ModelFile& info, const SaveOptions& options) {
  if (net->config() != info.config) return InvalidArgument("SaveModel: the network's config differs from info.config");
  if (info.num_steps < 1) return InvalidArgument("SaveModel: num_steps must be >= 1");
  nlohmann::json metadata = nlohmann::json::object();
  for (const auto& [key, value] : info.metadata) {
    if (IsReserved(key)) return InvalidArgument("SaveModel: metadata key '" + key + "' is reserved (dcodec.*)");
    metadata[key] = value;
  }
  metadata[kFormatKey] = kFormatValue;
  metadata[kUNetKey] = info.config.ToJson().dump();
  metadata[kScheduleKey] = BetaScheduleName(info.schedule);
  metadata[kNumStepsKey] = std::to_string(info.num_steps);

  const torch::ScalarType dtype = options.storage == WeightStorage::kF16 ? torch::kFloat16 : torch::kFloat32;
  const char* dtype_name = options.storage == WeightStorage::kF16 ? "F16" : "F32";
  nlohmann::json header = nlohmann::json::object();
  header[kMetadataKey] = metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : NamedTensors(net)) {
    auto cpu = tensor.detach().to(torch::kCPU, dtype).contiguous();
    const uint64_t size = static_cast<uint64_t>(cpu.numel()) * cpu.element_size();
    header[name] = {{"dtype", dtype_name}, {"shape", cpu.sizes().vec()}, {"data_offsets", {offset, offset + size}}};
    offset += size;
    data.push_back(std::move(cpu));
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::vector<uint8_t> bytes(8 + header_text.size() + offset);
  const uint64_t header_size = header_text.size();
  std::memcpy(bytes.data(), &header_size, 8);
  std::memcpy(bytes.data() + 8, header_text.data(), header_text.size());
  uint8_t* out = bytes.data() + 8 + header_text.size();
  for (const auto& t : data) {
    const size_t size = static_cast<size_t>(t.numel()) * t.element_size();
    if (size) std::memcpy(out, t.data_ptr(), size);
    out += size;
  }
  return bytes;
}

Status SaveModel(const std::string& path, UNet& net, const ModelFile& info, const SaveOptions& options) {
  auto bytes = SerializeModel(net, info, options);
  if (!bytes.ok()) return bytes.status().Prefixed(path);
  return WriteFileAtomic(path, *bytes, /*overwrite=*/true);
}

StatusOr<LoadedModel> ParseModel(const std::vector<uint8_t>& bytes) {
  if (bytes.size() < 8) {
    return Truncated("model file is " + std::to_string(bytes.size()) + " bytes, shorter than its 8-byte header size");
  }
  uint64_t header_size;
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > kMaxHeaderBytes) {
    return InvalidInput("model header size " + std::to_string(header_size) + " is implausible (not a model file?)");
  }
  if (header_size > bytes.size() - 8) {
    return Truncated("model header needs " + std::to_string(header_size) + " bytes, file has " +
                     std::to_string(bytes.size() - 8) + " after the size");
  }
  const char* header_begin = reinterpret_cast<const char*>(bytes.data() + 8);
  nlohmann::json header =
      nlohmann::json::parse(header_begin, header_begin + header_size, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) return InvalidInput("model header is not a JSON object");

  DCODEC_ASSIGN_OR_RETURN(ModelFile info, ParseMetadata(header));
  DCODEC_ASSIGN_OR_RETURN(UNet net, MakeUNet(info.config));
  std::map<std::string, torch::Tensor> expected = NamedTensors(net);

  std::vector<Entry> entries;
  for (const auto& item : header.items()) {
    const std::string& name = item.key();
    if (name == kMetadataKey) continue;
    auto it = expected.find(name);
    if (it == expected.end()) return InvalidInput("unexpected tensor '" + name + "' (not in the configured UNet)");
    const nlohmann::json& e = item.value();
    if (!e.is_object() || !e.contains("dtype") || !e["dtype"].is_string() || !e.contains("shape") ||
        !e["shape"].is_array() || !e.contains("data_offsets") || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2 || !e["data_offsets"][0].is_number_unsigned() ||
        !e["data_offsets"][1].is_number_unsigned()) {
      return InvalidInput("tensor '" + name + "' has a malformed header entry");
    }
    std::vector<int64_t> shape;
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned()) return InvalidInput("tensor '" + name + "' has a malformed shape");
      shape.push_back(d.get<int64_t>());
    }
    if (shape != it->second.sizes().vec()) {
      return InvalidInput("shape mismatch for tensor '" + name + "': file " + ShapeString(shape) + ", model " +
                          ShapeString(it->second.sizes().vec()));
    }
    const std::string dtype = e["dtype"].get<std::string>();
    Entry entry{name, torch::kFloat32, e["data_offsets"][0].get<uint64_t>(), e["data_offsets"][1].get<uint64_t>()};
    if (dtype == "F16") {
      entry.dtype = torch::kFloat16;
    } else if (dtype != "F32") {
      return InvalidInput("tensor '" + name + "' has unsupported dtype " + dtype + " (F32 or F16)");
    }
    const uint64_t want = static_cast<uint64_t>(it->second.numel()) * (entry.dtype == torch::kFloat16 ? 2 : 4);
    if (entry.end < entry.begin || entry.end - entry.begin != want) {
      return InvalidInput("tensor '" + name + "' data_offsets do not match its shape and dtype");
    }
    entries.push_back(std::move(entry));
  }
  if (entries.size() != expected.size()) {
    for (const auto& [name, tensor] : expected) {
      if (!header.contains(name)) return InvalidInput("missing tensor '" + name + "'");
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  uint64_t next = 0;
  for (const Entry& e : entries) {
    if (e.begin != next) return InvalidInput("tensor '" + e.name + "' data overlaps another or leaves a gap");
    next = e.end;
  }
  const uint64_t data_size = bytes.size() - 8 - header_size;
  if (data_size < next) {
    return Truncated("model data needs " + std::to_string(next) + " bytes, file has " + std::to_string(data_size));
  }
  if (data_size > next) return InvalidInput(std::to_string(data_size - next) + " trailing bytes after the tensors");

  const uint8_t* data = bytes.data() + 8 + header_size;
  {
    torch::NoGradGuard no_grad;
    for (const Entry& e : entries) {
      torch::Tensor& target = expected[e.name];
      auto staging = torch::empty(target.sizes(), torch::TensorOptions().dtype(e.dtype));
      if (e.end > e.begin) std::memcpy(staging.data_ptr(), data + e.begin, e.end - e.begin);
      target.copy_(staging);
    }
  }
  net->eval();
  return LoadedModel{net, std::move(info), XXH64(bytes.data(), bytes.size(), 0)};
}

StatusOr<LoadedModel> LoadModel(const std::string& path) {
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  auto loaded = ParseModel(bytes);
  if (!loaded.ok()) return loaded.status().Prefixed(path);
  return loaded;
}

}  // namespace dcodec::model
