// The Python module `dcodec` (pybind11): encode numpy images to .dcd bytes and decode them back.
//
//   import dcodec, numpy as np
//   data = dcodec.encode(image, quality=80)          # image: uint8 array H×W (grey) or H×W×C, C in 1..4
//   picture = dcodec.decode(data, max_bytes=2000)    # a prefix: the stages complete within 2000 bytes
//   m = dcodec.Model("models/cifar10.safetensors"); m.encode(...); m.decode(...)
// The module-level functions use the model in $DCODEC_MODEL, else the shipped photo model. Errors raise
// ValueError (bad input, damaged or foreign streams) or RuntimeError, with dcodec's message; a damaged stream
// raises dcodec.CorruptStreamError (a ValueError) naming the stage, or with salvage=True returns the picture of
// the stages before the damage and warns (dcodec.DamagedStreamWarning). A stream cut short is no error: it decodes
// to its complete stages.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "bitstream/container.h"
#include "codec/codec.h"
#include "codec/rate_control.h"

namespace py = pybind11;
using dcodec::Status;
using dcodec::StatusCode;

namespace {

// dcodec.CorruptStreamError: damage (codec.h's kCorrupt).
struct CorruptStream : std::runtime_error {
  using std::runtime_error::runtime_error;
};
PyObject* damaged_warning = nullptr;  // dcodec.DamagedStreamWarning

[[noreturn]] void Raise(const Status& s) {
  if (s.code() == StatusCode::kCorrupt) throw CorruptStream(s.message());
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kInvalidInput:
    case StatusCode::kTruncated:
    case StatusCode::kCorrupt:
    case StatusCode::kModelMismatch:
    case StatusCode::kUnsupported:
      throw py::value_error(s.message());
    default:
      throw std::runtime_error(s.message());
  }
}

class Model {
 public:
  explicit Model(const std::string& path) {
    auto codec = dcodec::codec::Codec::Load(path);
    if (!codec.ok()) Raise(codec.status());
    codec_ = std::move(*codec);
  }

  py::bytes Encode(py::array_t<uint8_t, py::array::c_style | py::array::forcecast> image, int quality, bool lossless,
                   double bpp, double psnr, int threads, uint64_t seed) const {
    if (image.ndim() != 2 && image.ndim() != 3) throw py::value_error("encode: expected an H×W or H×W×C uint8 array");
    const int h = static_cast<int>(image.shape(0)), w = static_cast<int>(image.shape(1));
    const int c = image.ndim() == 3 ? static_cast<int>(image.shape(2)) : 1;
    if (h < 1 || w < 1 || c < 1 || c > 4) throw py::value_error("encode: need H, W >= 1 and 1..4 channels");
    if (quality < 0 || quality > 100 || threads < 1 || !(bpp >= 0) || !(psnr >= 0)) {
      throw py::value_error("encode: quality 0..100, threads >= 1, bpp and psnr >= 0");
    }
    dcodec::Image img(w, h, c);
    std::memcpy(img.data.data(), image.data(), img.data.size());
    dcodec::codec::EncodeOptions options;
    options.tiles.threads = threads;
    options.seed = seed;
    const dcodec::codec::RateTarget target = dcodec::codec::TargetFor(quality, bpp, psnr, lossless);
    dcodec::StatusOr<dcodec::codec::TargetResult> r = dcodec::Internal("not run");
    {
      py::gil_scoped_release release;
      r = dcodec::codec::EncodeFor(*codec_, img, options, target);
    }
    if (!r.ok()) Raise(r.status());
    const std::vector<uint8_t>& stream = r->encoded.stream;
    return py::bytes(reinterpret_cast<const char*>(stream.data()), stream.size());
  }

  py::array_t<uint8_t> Decode(py::bytes data, size_t max_bytes, int max_stages, int threads, bool salvage) const {
    std::string bytes = data;
    dcodec::codec::DecodeOptions options;
    options.max_bytes = max_bytes;
    options.max_stages = max_stages;
    options.threads = std::max(1, threads);
    options.salvage = salvage;
    dcodec::StatusOr<dcodec::codec::DecodeResult> r = dcodec::Internal("not run");
    {
      py::gil_scoped_release release;
      r = codec_->Decode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), options);
    }
    if (!r.ok()) Raise(r.status());
    if (!r->damage.ok()) {
      const std::string message = "the stream is damaged: " + r->damage.message() + "; returned the " +
                                  std::to_string(r->stages_decoded) + " stages before the damage";
      if (PyErr_WarnEx(damaged_warning, message.c_str(), 1) != 0) throw py::error_already_set();
    }
    const dcodec::Image& img = r->image;
    py::array_t<uint8_t> out = img.channels == 1
                                   ? py::array_t<uint8_t>({img.height, img.width})
                                   : py::array_t<uint8_t>({img.height, img.width, img.channels});
    std::memcpy(out.mutable_data(), img.data.data(), img.data.size());
    return out;
  }

 private:
  std::unique_ptr<dcodec::codec::Codec> codec_;
};

const Model& DefaultModel() {
  static std::once_flag once;
  static std::unique_ptr<Model> model;
  std::call_once(once, [] {
    const char* env = std::getenv("DCODEC_MODEL");
    model = std::make_unique<Model>(env && *env ? env : DCODEC_DEFAULT_MODEL);
  });
  return *model;
}

}  // namespace

PYBIND11_MODULE(dcodec, m) {
  m.doc() = "dcodec: a progressive image codec built on a denoising diffusion model";
  m.attr("__version__") = "0.1.0";
  m.attr("FORMAT_VERSION") = static_cast<int>(dcodec::bitstream::kFormatVersion);
  py::register_exception<CorruptStream>(m, "CorruptStreamError", PyExc_ValueError);
  damaged_warning = PyErr_NewException("dcodec.DamagedStreamWarning", PyExc_UserWarning, nullptr);
  m.attr("DamagedStreamWarning") = py::handle(damaged_warning);
  py::class_<Model>(m, "Model")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def("encode", &Model::Encode, py::arg("image"), py::arg("quality") = 75, py::arg("lossless") = false,
           py::arg("bpp") = 0.0, py::arg("psnr") = 0.0, py::arg("threads") = 1, py::arg("seed") = 0,
           "Encode a uint8 array (H×W or H×W×C, C in 1..4) to .dcd bytes: quality 0..100 (PSNR 25 + 0.15 q dB, "
           "100 lossless), or an exact bpp or psnr target, or lossless=True.")
      .def("decode", &Model::Decode, py::arg("data"), py::arg("max_bytes") = 0, py::arg("max_stages") = -1,
           py::arg("threads") = 1, py::arg("salvage") = false,
           "Decode .dcd bytes (or the stages complete within max_bytes) to a uint8 array. A damaged stream raises "
           "CorruptStreamError, or with salvage=True gives the stages before the damage and a DamagedStreamWarning.");
  m.def(
      "encode",
      [](py::array_t<uint8_t, py::array::c_style | py::array::forcecast> image, int quality, bool lossless,
         double bpp, double psnr, int threads, uint64_t seed) {
        return DefaultModel().Encode(image, quality, lossless, bpp, psnr, threads, seed);
      },
      py::arg("image"), py::arg("quality") = 75, py::arg("lossless") = false, py::arg("bpp") = 0.0,
      py::arg("psnr") = 0.0, py::arg("threads") = 1, py::arg("seed") = 0, "Model.encode with the default model.");
  m.def(
      "decode",
      [](py::bytes data, size_t max_bytes, int max_stages, int threads, bool salvage) {
        return DefaultModel().Decode(data, max_bytes, max_stages, threads, salvage);
      },
      py::arg("data"), py::arg("max_bytes") = 0, py::arg("max_stages") = -1, py::arg("threads") = 1,
      py::arg("salvage") = false,
      "Model.decode with the default model.");
}
