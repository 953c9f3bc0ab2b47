#include "eval/results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "base/file_io.h"

namespace dcodec::eval {
namespace {

using nlohmann::json;

json NumberArray(const std::vector<double>& values) {
  json array = json::array();
  for (double v : values) {
    if (std::isfinite(v)) {
      array.push_back(v);
    } else {
      array.push_back(nullptr);
    }
  }
  return array;
}

Status ReadArray(const json& results, const char* key, const char* old_key, const std::string& source,
                 std::vector<double>* out) {
  const json* array = nullptr;
  if (results.contains(key)) {
    array = &results[key];
  } else if (old_key && results.contains(old_key)) {
    array = &results[old_key];
  } else {
    return Status::Ok();
  }
  if (!array->is_array()) return InvalidInput(source + ": results." + key + " is not an array");
  for (const json& v : *array) {
    if (v.is_null()) {
      out->push_back(std::numeric_limits<double>::quiet_NaN());
    } else if (v.is_number()) {
      out->push_back(v.get<double>());
    } else {
      return InvalidInput(source + ": results." + key + " holds a value that is not a number");
    }
  }
  return Status::Ok();
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string CsvNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.10g", v);
  return buffer;
}

}  // namespace

json RdCurve::ToJson() const {
  json j;
  j["name"] = name;
  j["description"] = description;
  j["results"] = {
      {"bpp", NumberArray(bpp)},
      {"psnr-rgb", NumberArray(psnr)},
      {"ms-ssim-rgb", NumberArray(ms_ssim)},
      {"encoding_time", NumberArray(encode_seconds)},
      {"decoding_time", NumberArray(decode_seconds)},
  };
  if (!butteraugli.empty()) j["results"]["butteraugli"] = NumberArray(butteraugli);
  return j;
}

StatusOr<RdCurve> RdCurve::FromJson(const json& j, const std::string& source) {
  if (!j.is_object()) return InvalidInput(source + ": expected a JSON object");
  RdCurve curve;
  if (j.contains("name")) {
    if (!j["name"].is_string()) return InvalidInput(source + ": name is not a string");
    curve.name = j["name"].get<std::string>();
  }
  if (j.contains("description")) {
    if (!j["description"].is_string()) return InvalidInput(source + ": description is not a string");
    curve.description = j["description"].get<std::string>();
  }
  if (!j.contains("results") || !j["results"].is_object()) return InvalidInput(source + ": no results object");
  const json& results = j["results"];
  if (!results.contains("bpp")) return InvalidInput(source + ": results has no bpp array");
  DCODEC_RETURN_IF_ERROR(ReadArray(results, "bpp", nullptr, source, &curve.bpp));
  DCODEC_RETURN_IF_ERROR(ReadArray(results, "psnr-rgb", "psnr", source, &curve.psnr));
  DCODEC_RETURN_IF_ERROR(ReadArray(results, "ms-ssim-rgb", "ms-ssim", source, &curve.ms_ssim));
  DCODEC_RETURN_IF_ERROR(ReadArray(results, "encoding_time", nullptr, source, &curve.encode_seconds));
  DCODEC_RETURN_IF_ERROR(ReadArray(results, "decoding_time", nullptr, source, &curve.decode_seconds));
  DCODEC_RETURN_IF_ERROR(ReadArray(results, "butteraugli", nullptr, source, &curve.butteraugli));
  for (const std::vector<double>* v :
       {&curve.psnr, &curve.ms_ssim, &curve.encode_seconds, &curve.decode_seconds, &curve.butteraugli}) {
    if (!v->empty() && v->size() != curve.bpp.size()) {
      return InvalidInput(source + ": the results arrays have different lengths");
    }
  }
  return curve;
}

Status WriteRdCurve(const std::string& path, const RdCurve& curve, bool overwrite) {
  std::string text = curve.ToJson().dump(2) + "\n";
  return WriteFileAtomic(path, reinterpret_cast<const uint8_t*>(text.data()), text.size(), overwrite);
}

StatusOr<RdCurve> ReadRdCurve(const std::string& path) {
  DCODEC_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidInput(path + ": not valid JSON");
  return RdCurve::FromJson(j, path);
}

Status WriteCsv(const std::string& path, const std::vector<RdRow>& rows, bool overwrite) {
  std::string text = "codec,image,point,bpp,psnr,ms_ssim,encode_seconds,decode_seconds,butteraugli\n";
  for (const RdRow& r : rows) {
    text += CsvField(r.codec) + "," + CsvField(r.image) + "," + CsvField(r.point) + "," + CsvNumber(r.bpp) + "," +
            CsvNumber(r.psnr) + "," + CsvNumber(r.ms_ssim) + "," + CsvNumber(r.encode_seconds) + "," +
            CsvNumber(r.decode_seconds) + "," + CsvNumber(r.butteraugli) + "\n";
  }
  return WriteFileAtomic(path, reinterpret_cast<const uint8_t*>(text.data()), text.size(), overwrite);
}

RdCurve AverageCurve(const std::vector<RdRow>& rows, const std::string& codec) {
  struct Sum {
    double n = 0, bpp = 0, psnr = 0, ms_ssim = 0, encode = 0, decode = 0, butteraugli = 0;
  };
  std::map<std::string, Sum> by_point;
  bool any_butteraugli = false;
  for (const RdRow& r : rows) {
    if (r.codec != codec) continue;
    Sum& s = by_point[r.point];
    s.n += 1;
    s.butteraugli += r.butteraugli;  // NaN when any row of the point lacks it
    any_butteraugli = any_butteraugli || !std::isnan(r.butteraugli);
    s.bpp += r.bpp;
    s.psnr += r.psnr;
    s.ms_ssim += r.ms_ssim;
    s.encode += r.encode_seconds;
    s.decode += r.decode_seconds;
  }
  std::vector<Sum> means;
  for (const auto& [point, s] : by_point) {
    means.push_back(
        {s.n, s.bpp / s.n, s.psnr / s.n, s.ms_ssim / s.n, s.encode / s.n, s.decode / s.n, s.butteraugli / s.n});
  }
  std::stable_sort(means.begin(), means.end(), [](const Sum& a, const Sum& b) { return a.bpp < b.bpp; });

  RdCurve curve;
  curve.name = codec;
  for (const Sum& m : means) {
    curve.bpp.push_back(m.bpp);
    curve.psnr.push_back(m.psnr);
    curve.ms_ssim.push_back(m.ms_ssim);
    curve.encode_seconds.push_back(m.encode);
    curve.decode_seconds.push_back(m.decode);
    if (any_butteraugli) curve.butteraugli.push_back(m.butteraugli);
  }
  return curve;
}

}  // namespace dcodec::eval
