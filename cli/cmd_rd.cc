// dcodec rd: rate-distortion curves of dcodec (every stage prefix of one stream per image; with --psnr-targets also
// one rate-controlled stream per target, as `dcodec encode --psnr` makes it) and of the classic codecs found on the
// machine, on the same images with the same metric code; JSON, CSV, BD-rates and a plot.
//
// Resumable: every finished (image, codec) result is appended to OUTPUT.rows.jsonl and skipped on the next run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/file_io.h"
#include "cli/commands.h"
#include "codec/codec.h"
#include "codec/rate_control.h"
#include "datasets/cifar10.h"
#include "datasets/png.h"
#include "datasets/training_data.h"
#include "eval/bd_rate.h"
#include "eval/butteraugli.h"
#include "eval/classic_codecs.h"
#include "eval/metrics.h"
#include "eval/plot.h"
#include "eval/results.h"

namespace dcodec::cli {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct NamedImage {
  std::string name;
  Image image;
};

StatusOr<std::vector<NamedImage>> LoadImages(const std::string& spec, int limit) {
  std::vector<NamedImage> out;
  if (spec.rfind("cifar10:", 0) == 0) {
    DCODEC_ASSIGN_OR_RETURN(CifarImages all, LoadCifar10(spec.substr(8)));
    CifarImages held = SelectSplit(all, CifarSplit::kHoldout);
    for (int i = 0; i < held.count() && static_cast<int>(out.size()) < limit; ++i) {
      out.push_back({"cifar_holdout_" + std::to_string(i), held.ToImage(i)});
    }
    return out;
  }
  DCODEC_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListPngs(spec));
  for (const auto& path : paths) {
    if (static_cast<int>(out.size()) >= limit) break;
    DCODEC_ASSIGN_OR_RETURN(Image image, ReadPng(path, PngReadOptions{/*reduce_16_to_8=*/true}));
    out.push_back({path.substr(path.find_last_of('/') + 1), std::move(image)});
  }
  if (out.empty()) return InvalidInput(spec + ": no PNG images");
  return out;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) parts.push_back(item);
  }
  return parts;
}

nlohmann::json RowJson(const eval::RdRow& r) {
  return {{"codec", r.codec},
          {"image", r.image},
          {"point", r.point},
          {"bpp", r.bpp},
          {"psnr", std::isinf(r.psnr) ? 999.0 : r.psnr},
          {"ms_ssim", r.ms_ssim},
          {"encode_seconds", r.encode_seconds},
          {"decode_seconds", r.decode_seconds},
          {"butteraugli", std::isnan(r.butteraugli) ? nlohmann::json(nullptr) : nlohmann::json(r.butteraugli)}};
}

eval::RdRow RowFromJson(const nlohmann::json& j) {
  eval::RdRow r;
  r.codec = j["codec"];
  r.image = j["image"];
  r.point = j["point"];
  r.bpp = j["bpp"];
  r.psnr = j["psnr"].get<double>() >= 999.0 ? INFINITY : j["psnr"].get<double>();
  r.ms_ssim = j["ms_ssim"];
  r.encode_seconds = j["encode_seconds"];
  r.decode_seconds = j["decode_seconds"];
  if (j.contains("butteraugli") && j["butteraugli"].is_number()) r.butteraugli = j["butteraugli"];
  return r;
}

// BD-rate on the butteraugli distance (quality = -distance, which grows with the rate) over the points where both
// curves have it; null when they have too few.
nlohmann::json BdRateButteraugli(const eval::RdCurve& ref, const eval::RdCurve& test) {
  auto finite = [](const eval::RdCurve& c, std::vector<double>* bpp, std::vector<double>* quality) {
    for (size_t i = 0; i < c.butteraugli.size() && i < c.bpp.size(); ++i) {
      if (std::isfinite(c.butteraugli[i])) bpp->push_back(c.bpp[i]), quality->push_back(-c.butteraugli[i]);
    }
  };
  std::vector<double> rb, rq, tb, tq;
  finite(ref, &rb, &rq);
  finite(test, &tb, &tq);
  auto bd = eval::BdRate(rb, rq, tb, tq);
  return bd.ok() ? nlohmann::json(*bd) : nlohmann::json();
}

enum class Axis { kPsnr, kMsSsim, kButteraugli };

// The mean over the images of each image's own BD-rate of `test` against `ref` (on PSNR, MS-SSIM, or the butteraugli
// distance as −distance over the points that have one), over the images where both curves have enough points:
// {mean, images}. Averaged curves (one point per quality setting,
// stage or target, means over the images) favour a codec whose points are settings over one whose points are
// PSNR targets (the mean of log-convex curves at one setting lies off every image's curve), so the two kinds of
// curve are compared image by image.
std::pair<double, int> PerImageBdRate(const std::vector<eval::RdRow>& rows, const std::string& ref,
                                      const std::string& test, Axis axis) {
  struct Curve {
    std::vector<double> bpp, quality;
  };
  std::map<std::string, Curve> refs, tests;
  for (const auto& r : rows) {
    if (r.codec != ref && r.codec != test) continue;
    if (axis == Axis::kButteraugli && !std::isfinite(r.butteraugli)) continue;
    Curve& c = (r.codec == ref ? refs : tests)[r.image];
    c.bpp.push_back(r.bpp);
    c.quality.push_back(axis == Axis::kPsnr ? r.psnr : axis == Axis::kMsSsim ? r.ms_ssim : -r.butteraugli);
  }
  double sum = 0;
  int n = 0;
  for (const auto& [image, t] : tests) {
    auto it = refs.find(image);
    if (it == refs.end()) continue;
    auto bd = eval::BdRate(it->second.bpp, it->second.quality, t.bpp, t.quality);
    if (bd.ok()) sum += *bd, ++n;
  }
  return {n ? sum / n : std::numeric_limits<double>::quiet_NaN(), n};
}

}  // namespace

Command AddRdCommand(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string images, model, output, plot, compare = "jpeg,webp,jxl,avif", recon = "mean", butteraugli = "auto";
    std::string psnr_targets, tail = "auto";
    int limit = 1000000, threads = 2;
    codec::EncodeOptions options;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--images", a->images, "a folder of PNGs, or cifar10:DIR for its held-out images")->required();
  app.add_option("--model", a->model, "model file (default: the shipped photo model)");
  app.add_option("-o,--output", a->output, "results JSON (per-image CSV and resume log beside it)")->required();
  app.add_option("--plot", a->plot, "PNG plot of bpp against PSNR (and X_butteraugli.png beside it for X.png)");
  app.add_option("--compare", a->compare, "classic codecs: any of jpeg,webp,jxl,avif (empty: none)")
      ->capture_default_str();
  app.add_option("--limit", a->limit, "at most this many images");
  app.add_option("--recon", a->recon, "dcodec reconstructions: any of mean, ode, sample (mean is always measured)")
      ->capture_default_str();
  app.add_option("--butteraugli", a->butteraugli,
                 "the butteraugli distance of every point: auto (when the tool is installed), on, off")
      ->capture_default_str();
  app.add_option("--psnr-targets", a->psnr_targets,
                 "also one rate-controlled stream per PSNR target (dB, comma-separated; codec dcodec-psnr): what "
                 "`dcodec encode --psnr` gives, the chain cut where the target is met");
  app.add_option("--tail", a->tail, "the rate-controlled streams' tails searched: auto (both), dithered, gaussian")
      ->capture_default_str();
  app.add_option("--stages", a->options.chain.stages, "stages K (default: the model's)");
  app.add_option("--t-max", a->options.chain.t_max, "first timestep of the coding chain (default: the model's)");
  app.add_option("--t-min", a->options.chain.t_min, "last timestep of the coding chain (default: the model's)");
  app.add_option("--gaussian-stages", a->options.gaussian.stages, "Gaussian stages first (-1: the model's)")
      ->capture_default_str();
  app.add_option("--gaussian-bits", a->options.gaussian.index_bits, "2^bits candidates a Gaussian block")
      ->capture_default_str();
  app.add_option("--gaussian-block", a->options.gaussian.block_quarters, "a Gaussian block's expected KL, quarter bits")
      ->capture_default_str();
  app.add_option("--gaussian-first-bits", a->options.gaussian.first_index_bits,
                 "the first Gaussian stage's own 2^bits candidates (0: auto; -1: the others')")
      ->capture_default_str();
  app.add_option("--gaussian-first-block", a->options.gaussian.first_block_quarters,
                 "the first Gaussian stage's own block, quarter bits (0: auto; -1: the others')")
      ->capture_default_str();
  app.add_option("--gaussian-map", a->options.gaussian.region_map, "region maps (0: auto; 1: always; -1: never)")
      ->capture_default_str();
  app.add_option("--gaussian-map-offset", a->options.gaussian.region_map_offset, "the region classes' offset")
      ->capture_default_str();
  app.add_option("--threads", a->threads, "threads")->capture_default_str();
  return [a, &global]() -> Status {
    SetThreads(a->threads);
    a->options.tiles.threads = a->threads;
    DCODEC_ASSIGN_OR_RETURN(std::vector<NamedImage> images, LoadImages(a->images, a->limit));
    std::string model = a->model.empty() ? DefaultModelPath() : a->model;
    DCODEC_ASSIGN_OR_RETURN(auto codec, codec::Codec::Load(model));
    std::vector<std::string> recons = Split(a->recon);
    for (const auto& r : recons) {
      if (r != "mean" && r != "ode" && r != "sample") {
        return InvalidArgument("--recon '" + r + "': expected any of mean, ode, sample");
      }
    }
    if (a->butteraugli != "auto" && a->butteraugli != "on" && a->butteraugli != "off") {
      return InvalidArgument("--butteraugli '" + a->butteraugli + "': expected auto, on or off");
    }
    bool perceptual = a->butteraugli != "off" && eval::ButteraugliAvailable();
    if (a->butteraugli == "on" && !perceptual) {
      return Unsupported("--butteraugli on: the butteraugli tool is not on PATH (Debian package butteraugli)");
    }
    if (a->butteraugli == "auto" && !perceptual && !global.quiet) {
      std::fprintf(stderr, "rd: butteraugli not found; no perceptual distances\n");
    }
    // The distance of a reconstruction, NaN when not measured (or for the exact end of a stream: 0 by definition,
    // and out of the curves like its infinite PSNR).
    auto distance = [&](const Image& recon, const Image& reference) -> StatusOr<double> {
      if (!perceptual || recon.data == reference.data) return std::numeric_limits<double>::quiet_NaN();
      return eval::Butteraugli(reference, recon);
    };
    std::vector<double> psnr_targets;
    for (const auto& item : Split(a->psnr_targets)) {
      char* end = nullptr;
      const double v = std::strtod(item.c_str(), &end);
      if (end == item.c_str() || *end != '\0' || !(v > 0) || v > 99) {
        return InvalidArgument("--psnr-targets '" + item + "': expected PSNRs in dB, such as 30,35,40");
      }
      psnr_targets.push_back(v);
    }
    if (a->tail != "auto" && a->tail != "dithered" && a->tail != "gaussian") {
      return InvalidArgument("--tail '" + a->tail + "': expected auto, dithered or gaussian");
    }
    std::vector<eval::ClassicCodec> classics;
    for (const auto& name : Split(a->compare)) {
      bool known = false;
      for (const auto& c : eval::DefaultSweeps()) {
        if (c.name != name) continue;
        known = true;
        if (eval::IsAvailable(name)) {
          classics.push_back(c);
        } else if (!global.quiet) {
          std::fprintf(stderr, "rd: %s tools not found; skipped\n", name.c_str());
        }
      }
      if (!known) return InvalidArgument("--compare: unknown codec '" + name + "'");
    }

    // Resume: the rows already measured.
    std::string log_path = a->output + ".rows.jsonl";
    std::vector<eval::RdRow> rows;
    std::set<std::pair<std::string, std::string>> done;
    {
      std::ifstream in(log_path);
      std::string line;
      while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.contains("codec")) continue;  // a line cut by an interruption
        rows.push_back(RowFromJson(j));
        done.insert({rows.back().codec, rows.back().image});
      }
    }
    std::ofstream log(log_path, std::ios::app);
    if (!log) return IoError(log_path + ": cannot open for appending (does its directory exist?)");
    auto record = [&](const std::vector<eval::RdRow>& new_rows) {
      for (const auto& r : new_rows) {
        log << RowJson(r).dump() << "\n";
        rows.push_back(r);
      }
      log.flush();
    };

    const std::string dcodec_name = "dcodec", targeted_name = "dcodec-psnr";
    auto start = Clock::now();
    for (size_t i = 0; i < images.size(); ++i) {
      const NamedImage& item = images[i];
      Image rgb = ToRgb(item.image);
      double pixels = static_cast<double>(rgb.num_pixels());
      if (!global.quiet) {
        std::fprintf(stderr, "\r[%zu/%zu] %-40s %6.0f s elapsed", i + 1, images.size(), item.name.c_str(),
                     Since(start));
        std::fflush(stderr);
      }
      if (!done.count({dcodec_name, item.name})) {
        auto t0 = Clock::now();
        DCODEC_ASSIGN_OR_RETURN(codec::EncodeResult enc, codec->Encode(item.image, a->options));
        double encode_seconds = Since(t0);
        std::vector<eval::RdRow> new_rows;
        codec::DecodeOptions d;
        d.threads = a->threads;
        auto t1 = Clock::now();
        std::vector<Image> recons_rgb;  // each prefix's picture, for the distances after the decode
        d.on_prefix = [&](int stages, const Image& recon) {
          double seconds = Since(t1);
          const auto& s = enc.stages[stages - 1];
          Image recon_rgb = ToRgb(recon);
          new_rows.push_back({dcodec_name, item.name, "stage" + std::to_string(stages), s.prefix_bytes * 8.0 / pixels,
                              eval::Psnr(recon_rgb, rgb), eval::MsSsim(recon_rgb, rgb), encode_seconds, seconds});
          if (perceptual) recons_rgb.push_back(std::move(recon_rgb));
        };
        DCODEC_ASSIGN_OR_RETURN(codec::DecodeResult dec, codec->Decode(enc.stream.data(), enc.stream.size(), d));
        if (!dec.exact || !(dec.image == item.image)) return Internal(item.name + ": dcodec did not decode exactly");
        for (size_t k = 0; k < recons_rgb.size(); ++k) {
          DCODEC_ASSIGN_OR_RETURN(new_rows[k].butteraugli, distance(recons_rgb[k], rgb));
        }
        recons_rgb.clear();
        for (const auto& [recon_name, kind] :
             {std::pair<std::string, codec::Reconstruction>{"ode", codec::Reconstruction::kOde},
              {"sample", codec::Reconstruction::kSample}}) {
          if (std::find(recons.begin(), recons.end(), recon_name) == recons.end()) continue;
          for (int stages = 1; stages < static_cast<int>(enc.stages.size()); ++stages) {
            codec::DecodeOptions o;
            o.threads = a->threads;
            o.max_stages = stages;
            o.recon = kind;
            auto t2 = Clock::now();
            DCODEC_ASSIGN_OR_RETURN(codec::DecodeResult r, codec->Decode(enc.stream.data(), enc.stream.size(), o));
            const double seconds = Since(t2);
            Image recon_rgb = ToRgb(r.image);
            new_rows.push_back({dcodec_name + "-" + recon_name, item.name, "stage" + std::to_string(stages),
                                enc.stages[stages - 1].prefix_bytes * 8.0 / pixels, eval::Psnr(recon_rgb, rgb),
                                eval::MsSsim(recon_rgb, rgb), encode_seconds, seconds});
            DCODEC_ASSIGN_OR_RETURN(new_rows.back().butteraugli, distance(recon_rgb, rgb));
          }
        }
        record(new_rows);
      }
      if (!psnr_targets.empty() && !done.count({targeted_name, item.name})) {
        std::vector<eval::RdRow> new_rows;
        for (double psnr : psnr_targets) {
          codec::RateTarget target = codec::TargetFor(75, 0, psnr, false);
          if (a->tail != "auto") {
            target.tail = a->tail == "gaussian" ? codec::CutTail::kGaussian : codec::CutTail::kDithered;
          }
          auto t0 = Clock::now();
          DCODEC_ASSIGN_OR_RETURN(codec::TargetResult r, codec::EncodeFor(*codec, item.image, a->options, target));
          const double encode_seconds = Since(t0);
          codec::DecodeOptions d;
          d.threads = a->threads;
          auto t1 = Clock::now();
          DCODEC_ASSIGN_OR_RETURN(codec::DecodeResult dec,
                                  codec->Decode(r.encoded.stream.data(), r.encoded.stream.size(), d));
          const double decode_seconds = Since(t1);
          Image recon_rgb = ToRgb(dec.image);
          char point[32];
          std::snprintf(point, sizeof(point), "psnr%g", psnr);
          new_rows.push_back({targeted_name, item.name, point, r.encoded.stream.size() * 8.0 / pixels,
                              dec.exact ? INFINITY : eval::Psnr(recon_rgb, rgb), eval::MsSsim(recon_rgb, rgb),
                              encode_seconds, decode_seconds});
          if (!dec.exact) {
            DCODEC_ASSIGN_OR_RETURN(new_rows.back().butteraugli, distance(recon_rgb, rgb));
          }
          if (global.verbose) {
            std::fprintf(stderr, "\n  %s %s: %.3f bpp %.2f dB, t_end %d%s, %d trials", item.name.c_str(), point,
                         new_rows.back().bpp, new_rows.back().psnr, r.t_end,
                         r.tail == codec::CutTail::kGaussian ? " Gaussian" : "", r.trials);
          }
        }
        record(new_rows);
      }
      for (const auto& classic : classics) {
        if (done.count({classic.name, item.name})) continue;
        std::vector<eval::RdRow> new_rows;
        for (int q : classic.qualities) {
          auto r = eval::RunClassic(classic.name, q, rgb);
          if (!r.ok()) return r.status().Prefixed(item.name);
          new_rows.push_back({classic.name, item.name, "q" + std::to_string(q), r->bytes * 8.0 / pixels,
                              eval::Psnr(r->decoded, rgb), eval::MsSsim(r->decoded, rgb), r->encode_seconds,
                              r->decode_seconds});
          DCODEC_ASSIGN_OR_RETURN(new_rows.back().butteraugli, distance(r->decoded, rgb));
        }
        record(new_rows);
      }
    }
    if (!global.quiet) std::fprintf(stderr, "\n");

    // Curves averaged per point over the images; the lossless end point is kept out of the curves and BD-rates.
    std::set<std::string> codec_names;
    for (const auto& r : rows) codec_names.insert(r.codec);
    std::vector<eval::RdCurve> curves;
    // A point with an exact picture on any image (the lossless end; a PSNR target no cut meets on that image) is
    // dropped whole, so that every point of a curve averages the same images.
    std::set<std::pair<std::string, std::string>> exact_points;
    for (const auto& r : rows) {
      if (!std::isfinite(r.psnr)) exact_points.insert({r.codec, r.point});
    }
    std::vector<eval::RdRow> finite_rows;
    for (const auto& r : rows) {
      if (!exact_points.count({r.codec, r.point})) finite_rows.push_back(r);
    }
    for (const auto& name : codec_names) {
      eval::RdCurve curve = eval::AverageCurve(finite_rows, name);
      curve.description = name.rfind("dcodec", 0) == 0 ? "dcodec, model " + model : "Debian command-line tools";
      curves.push_back(curve);
    }
    // Lossless rate of dcodec (its last stage), per image mean.
    double lossless_bpp = 0;
    int lossless_n = 0;
    for (const auto& r : rows) {
      if (r.codec == dcodec_name && std::isinf(r.psnr)) lossless_bpp += r.bpp, ++lossless_n;
    }

    nlohmann::json out;
    out["images"] = a->images;
    out["num_images"] = images.size();
    out["model"] = model;
    out["stages"] = codec->ResolveChain(a->options.chain).stages;
    if (!psnr_targets.empty()) {
      // The targets whose points made the dcodec-psnr curve (in its order: rates rise with the target).
      std::vector<double> kept;
      for (double psnr : psnr_targets) {
        char point[32];
        std::snprintf(point, sizeof(point), "psnr%g", psnr);
        if (!exact_points.count({targeted_name, point})) kept.push_back(psnr);
      }
      std::sort(kept.begin(), kept.end());
      out["psnr_targets"] = kept;
    }
    out["codecs"] = nlohmann::json::array();
    for (const auto& c : curves) out["codecs"].push_back(c.ToJson());
    if (lossless_n) out["dcodec_lossless_bpp"] = lossless_bpp / lossless_n;
    // BD-rates against JPEG and against the best classic codec (the one with the lowest BD-rate vs JPEG).
    auto find = [&](const std::string& name) -> const eval::RdCurve* {
      for (const auto& c : curves) {
        if (c.name == name) return &c;
      }
      return nullptr;
    };
    nlohmann::json bd = nlohmann::json::object();
    const eval::RdCurve* jpeg = find("jpeg");
    std::string best_classic;
    double best_vs_jpeg = INFINITY;
    for (const auto& c : classics) {
      const eval::RdCurve* curve = find(c.name);
      if (!curve || !jpeg) continue;
      auto r = eval::BdRate(jpeg->bpp, jpeg->psnr, curve->bpp, curve->psnr);
      if (r.ok() && *r < best_vs_jpeg) best_vs_jpeg = *r, best_classic = c.name;
    }
    if (best_classic.empty() && jpeg) best_classic = "jpeg";
    for (const auto& c : curves) {
      for (const auto& [ref_label, ref_name] :
           {std::pair<std::string, std::string>{"vs_jpeg", "jpeg"}, {"vs_best_classic", best_classic}}) {
        const eval::RdCurve* ref = find(ref_name);
        if (!ref || ref == &c) continue;
        auto psnr = eval::BdRate(ref->bpp, ref->psnr, c.bpp, c.psnr);
        auto ssim = eval::BdRate(ref->bpp, ref->ms_ssim, c.bpp, c.ms_ssim);
        bd[c.name][ref_label] = {{"reference", ref_name},
                                 {"bd_rate_psnr_percent", psnr.ok() ? nlohmann::json(*psnr) : nlohmann::json()},
                                 {"bd_rate_ms_ssim_percent", ssim.ok() ? nlohmann::json(*ssim) : nlohmann::json()},
                                 {"bd_rate_butteraugli_percent", BdRateButteraugli(*ref, c)}};
        const auto [image_psnr, images] = PerImageBdRate(finite_rows, ref_name, c.name, Axis::kPsnr);
        const auto image_ssim = PerImageBdRate(finite_rows, ref_name, c.name, Axis::kMsSsim).first;
        const auto image_butteraugli = PerImageBdRate(finite_rows, ref_name, c.name, Axis::kButteraugli).first;
        auto number = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
        bd[c.name][ref_label]["per_image_bd_rate_psnr_percent"] = number(image_psnr);
        bd[c.name][ref_label]["per_image_bd_rate_ms_ssim_percent"] = number(image_ssim);
        bd[c.name][ref_label]["per_image_bd_rate_butteraugli_percent"] = number(image_butteraugli);
        bd[c.name][ref_label]["per_image_count"] = images;
      }
    }
    out["bd_rate"] = bd;
    out["best_classic"] = best_classic;
    std::string text = out.dump(2) + "\n";
    DCODEC_RETURN_IF_ERROR(
        WriteFileAtomic(a->output, reinterpret_cast<const uint8_t*>(text.data()), text.size(), true));
    std::string csv = a->output.substr(0, a->output.rfind('.')) + ".csv";
    DCODEC_RETURN_IF_ERROR(eval::WriteCsv(csv, rows));
    if (!a->plot.empty()) {
      const std::string title = a->images + " (" + std::to_string(images.size()) + " images)";
      DCODEC_RETURN_IF_ERROR(eval::PlotRd(curves, a->plot, title, eval::Metric::kPsnr));
      if (perceptual) {
        const size_t dot = a->plot.rfind('.');
        const std::string path = (dot == std::string::npos ? a->plot : a->plot.substr(0, dot)) + "_butteraugli.png";
        DCODEC_RETURN_IF_ERROR(eval::PlotRd(curves, path, title + ", butteraugli", eval::Metric::kButteraugli));
      }
    }
    // The table.
    std::printf("%-12s BD-rate (PSNR) vs jpeg / vs best classic (%s)%s; mean of per-image BD-rates (PSNR) vs jpeg\n",
                "codec", best_classic.c_str(), perceptual ? "; BD-rate (butteraugli) vs jpeg" : "");
    for (const auto& c : curves) {
      auto cell = [&](const char* label, const char* metric) -> std::string {
        if (!bd.contains(c.name) || !bd[c.name].contains(label) || bd[c.name][label][metric].is_null()) return "-";
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%+.1f%%", bd[c.name][label][metric].get<double>());
        return buf;
      };
      std::printf("%-12s %10s %10s", c.name.c_str(), cell("vs_jpeg", "bd_rate_psnr_percent").c_str(),
                  cell("vs_best_classic", "bd_rate_psnr_percent").c_str());
      if (perceptual) std::printf(" %10s", cell("vs_jpeg", "bd_rate_butteraugli_percent").c_str());
      std::printf(" %10s\n", cell("vs_jpeg", "per_image_bd_rate_psnr_percent").c_str());
    }
    if (lossless_n) std::printf("dcodec lossless: %.3f bpp (mean over images)\n", lossless_bpp / lossless_n);
    return Status::Ok();
  };
}

}  // namespace dcodec::cli
