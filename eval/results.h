// Rate-distortion results: per-image rows (CSV) and per-codec average curves (CompressAI's JSON format).
//
// JSON, one curve per file, as CompressAI's results/*.json:
//   {"name": "jpeg", "description": "...",
//    "results": {"bpp": [...], "psnr-rgb": [...], "ms-ssim-rgb": [...], "encoding_time": [...],
//                "decoding_time": [...], "butteraugli": [...]}}
// The arrays are parallel, one entry per rate point, times in seconds; "butteraugli" (the mean butteraugli distance,
// eval/butteraugli.h; dcodec's own addition) only when it was measured. JSON has no infinity: a non-finite value
// (the +inf PSNR of a lossless point, say) is written as null and read back as NaN.
//
// CSV, one row per (codec, image, point), with a header line:
//   codec,image,point,bpp,psnr,ms_ssim,encode_seconds,decode_seconds,butteraugli
//   jpeg,kodim01.png,q50,0.8123,31.52,0.9712,0.011,0.004,2.137
// Text fields are quoted (RFC 4180) when they hold a comma, quote or newline; numbers have 10 significant digits;
// +inf PSNR is written "inf", a butteraugli distance not measured "nan".
#ifndef DCODEC_EVAL_RESULTS_H_
#define DCODEC_EVAL_RESULTS_H_

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcodec::eval {

struct RdCurve {
  std::string name;
  std::string description;
  std::vector<double> bpp;
  std::vector<double> psnr;     // dB, RGB
  std::vector<double> ms_ssim;  // 0..1, RGB
  std::vector<double> encode_seconds;
  std::vector<double> decode_seconds;
  std::vector<double> butteraugli;  // mean distance; empty when not measured, NaN at a point not measured throughout

  // The JSON object above (the first five arrays as they are, even if empty; butteraugli when not empty).
  nlohmann::json ToJson() const;
  // Reads CompressAI's format. "results.bpp" is required; "psnr-rgb" (or the older "psnr"), "ms-ssim-rgb" (or
  // "ms-ssim"), "encoding_time", "decoding_time" and "butteraugli" are optional (empty when absent) but, when present, must have
  // as many entries as "bpp". Unknown keys are ignored; null entries become NaN. kInvalidInput otherwise, with
  // `source` (a file name) in the message.
  static StatusOr<RdCurve> FromJson(const nlohmann::json& json, const std::string& source = "JSON");
};

// File forms: pretty-printed (2-space indent) text ending in a newline. WriteRdCurve is atomic and replaces an
// existing file only if overwrite; ReadRdCurve fails with kInvalidInput on text that is not JSON.
Status WriteRdCurve(const std::string& path, const RdCurve& curve, bool overwrite);
StatusOr<RdCurve> ReadRdCurve(const std::string& path);

struct RdRow {
  std::string codec;  // "dcodec", "jpeg", ...
  std::string image;  // the image's file name
  std::string point;  // the rate point: a quality ("q50") or a dcodec stage ("stage3")
  double bpp = 0;
  double psnr = 0;
  double ms_ssim = 0;
  double encode_seconds = 0;
  double decode_seconds = 0;
  double butteraugli = std::numeric_limits<double>::quiet_NaN();  // NaN: not measured
};

// Atomic; replaces an existing file only if overwrite.
Status WriteCsv(const std::string& path, const std::vector<RdRow>& rows, bool overwrite = true);

// The average curve of one codec: rows of `codec` are grouped by `point` and each group gives one curve point with
// the mean over its rows (images) of bpp, PSNR (so PSNR is averaged per image, not computed from the mean MSE),
// MS-SSIM and the two times, and of the butteraugli distance when every row of the point has one (else NaN; the
// curve has no butteraugli array when no row of `codec` has one). Points are sorted by increasing mean bpp. name = codec, description empty; an empty
// curve if no row is of `codec`. Each point averages whatever rows it has: callers that drop rows (non-finite PSNR,
// say) should drop whole points, or the points average different image sets.
RdCurve AverageCurve(const std::vector<RdRow>& rows, const std::string& codec);

}  // namespace dcodec::eval

#endif  // DCODEC_EVAL_RESULTS_H_
