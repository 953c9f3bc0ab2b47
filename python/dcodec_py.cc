// The Python module `dcodec` (pybind11): encode numpy images to .dcd bytes and decode them back.
//
//   import dcodec, numpy as np
//   data = dcodec.encode(image, quality=80)          # image: uint8 array H×W (grey) or H×W×C, C in 1..4
//   dcodec.decode(dcodec.encode(wide, lossless=True))  # a uint16 array comes back as uint16, exactly
//   picture = dcodec.decode(data, max_bytes=2000)    # a prefix: the stages complete within 2000 bytes
//   m = dcodec.Model("models/cifar10.safetensors"); m.encode(...); m.decode(...)
// The module-level functions use the model in $DCODEC_MODEL, else the shipped photo model. Errors raise
// ValueError (bad input, damaged or foreign streams) or RuntimeError, with dcodec's message; a damaged stream
// raises dcodec.CorruptStreamError (a ValueError) naming the stage, or with salvage=True returns the picture of
// the stages before the damage and warns (dcodec.DamagedStreamWarning). A stream cut short is no error: it decodes
// to its complete stages.
//   data = dcodec.encode(image, lossless=True, metadata=[("icc", "Display P3", profile), ("text", "Title", b"...")])
//   picture, metadata = dcodec.decode(data, with_metadata=True)   # the same list of (kind, key, bytes) back
// Metadata kinds: "icc", "srgb", "gama", "chrm", "cicp", "exif", "xmp", "text" (datasets/metadata.h).
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

constexpr const char* kKindIds[dcodec::kMetadataKinds] = {"icc", "srgb", "gama", "chrm", "cicp", "exif", "xmp", "text"};

dcodec::Metadata MetadataFromPython(const py::object& items) {
  dcodec::Metadata m;
  if (items.is_none()) return m;
  for (const py::handle& entry : items) {
    auto t = entry.cast<py::tuple>();
    if (t.size() != 3) throw py::value_error("metadata: expected (kind, key, bytes) tuples");
    const std::string kind = t[0].cast<std::string>();
    int k = 0;
    while (k < dcodec::kMetadataKinds && kind != kKindIds[k]) ++k;
    if (k == dcodec::kMetadataKinds) {
      throw py::value_error("metadata: unknown kind '" + kind + "' (icc, srgb, gama, chrm, cicp, exif, xmp, text)");
    }
    const std::string value = t[2].cast<py::bytes>();
    m.items.push_back({static_cast<dcodec::MetadataKind>(k + 1), t[1].cast<std::string>(),
                       std::vector<uint8_t>(value.begin(), value.end())});
  }
  return m;
}

py::list MetadataToPython(const dcodec::Metadata& m) {
  py::list out;
  for (const dcodec::MetadataItem& item : m.items) {
    out.append(py::make_tuple(kKindIds[static_cast<int>(item.kind) - 1], item.key,
                              py::bytes(reinterpret_cast<const char*>(item.value.data()), item.value.size())));
  }
  return out;
}

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
  // device: "cpu", or "cuda" / "cuda:N" where LibTorch has CUDA (ValueError otherwise); streams are the same.
  Model(const std::string& path, const std::string& device) {
    auto codec = dcodec::codec::Codec::Load(path, device);
    if (!codec.ok()) Raise(codec.status());
    codec_ = std::move(*codec);
  }

  // image: a uint16 array codes 16-bit samples (losslessly at the stream's end); anything else is taken as uint8.
  py::bytes Encode(const py::array& image, int quality, bool lossless, double bpp, double psnr, int threads,
                   uint64_t seed, const py::object& metadata) const {
    if (image.ndim() != 2 && image.ndim() != 3) {
      throw py::value_error("encode: expected an H×W or H×W×C uint8 or uint16 array");
    }
    const int h = static_cast<int>(image.shape(0)), w = static_cast<int>(image.shape(1));
    const int c = image.ndim() == 3 ? static_cast<int>(image.shape(2)) : 1;
    if (h < 1 || w < 1 || c < 1 || c > 4) throw py::value_error("encode: need H, W >= 1 and 1..4 channels");
    if (quality < 0 || quality > 100 || threads < 1 || !(bpp >= 0) || !(psnr >= 0)) {
      throw py::value_error("encode: quality 0..100, threads >= 1, bpp and psnr >= 0");
    }
    dcodec::Image img(w, h, c);
    if (py::isinstance<py::array_t<uint16_t>>(image)) {
      auto wide = py::array_t<uint16_t, py::array::c_style | py::array::forcecast>::ensure(image);
      img.low.resize(img.data.size());
      const uint16_t* v = wide.data();
      for (size_t i = 0; i < img.data.size(); ++i) {
        img.data[i] = static_cast<uint8_t>(v[i] >> 8);
        img.low[i] = static_cast<uint8_t>(v[i] & 0xff);
      }
    } else {
      auto bytes = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(image);
      if (!bytes) throw py::value_error("encode: expected a uint8 or uint16 array");
      std::memcpy(img.data.data(), bytes.data(), img.data.size());
    }
    img.metadata = MetadataFromPython(metadata);
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

  py::object Decode(py::bytes data, size_t max_bytes, int max_stages, int threads, bool salvage,
                    bool with_metadata) const {
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
    std::vector<py::ssize_t> shape = {img.height, img.width};
    if (img.channels > 1) shape.push_back(img.channels);
    py::array out;
    if (img.sixteen_bit()) {  // the whole stream of 16-bit samples
      py::array_t<uint16_t> wide(shape);
      uint16_t* v = wide.mutable_data();
      for (size_t i = 0; i < img.data.size(); ++i) v[i] = static_cast<uint16_t>((img.data[i] << 8) | img.low[i]);
      out = wide;
    } else {
      py::array_t<uint8_t> bytes(shape);
      std::memcpy(bytes.mutable_data(), img.data.data(), img.data.size());
      out = bytes;
    }
    if (with_metadata) return py::make_tuple(out, MetadataToPython(img.metadata));
    return std::move(out);
  }

 private:
  std::unique_ptr<dcodec::codec::Codec> codec_;
};

const Model& DefaultModel() {
  static std::once_flag once;
  static std::unique_ptr<Model> model;
  std::call_once(once, [] {
    const char* env = std::getenv("DCODEC_MODEL");
    model = std::make_unique<Model>(env && *env ? env : DCODEC_DEFAULT_MODEL, "cpu");
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
      .def(py::init<const std::string&, const std::string&>(), py::arg("path"), py::arg("device") = "cpu")
      .def(
          "encode", &Model::Encode, py::arg("image"), py::arg("quality") = 75, py::arg("lossless") = false,
          py::arg("bpp") = 0.0, py::arg("psnr") = 0.0, py::arg("threads") = 1, py::arg("seed") = 0,
          py::arg("metadata") = py::none(),
          "Encode a uint8 or uint16 array (H×W or H×W×C, C in 1..4) to .dcd bytes (uint16: 16-bit samples, lossless at "
          "the stream's end): quality 0..100 (PSNR 25 + 0.15 q dB, "
          "100 lossless), or an exact bpp or psnr target, or lossless=True. metadata: (kind, key, bytes) tuples "
          "kept in the stream (kinds icc, srgb, gama, chrm, cicp, exif, xmp, text).")
      .def("decode", &Model::Decode, py::arg("data"), py::arg("max_bytes") = 0, py::arg("max_stages") = -1,
           py::arg("threads") = 1, py::arg("salvage") = false, py::arg("with_metadata") = false,
           "Decode .dcd bytes (or the stages complete within max_bytes) to a uint8 array (uint16 for the whole stream "
           "of "
           "16-bit samples; with_metadata=True: "
           "(array, [(kind, key, bytes), ...])). A damaged stream raises CorruptStreamError, or with salvage=True "
           "gives the stages before the damage and a DamagedStreamWarning.");
  m.def(
      "encode",
      [](const py::array& image, int quality, bool lossless, double bpp, double psnr, int threads, uint64_t seed,
         const py::object& metadata) {
        return DefaultModel().Encode(image, quality, lossless, bpp, psnr, threads, seed, metadata);
      },
      py::arg("image"), py::arg("quality") = 75, py::arg("lossless") = false, py::arg("bpp") = 0.0,
      py::arg("psnr") = 0.0, py::arg("threads") = 1, py::arg("seed") = 0, py::arg("metadata") = py::none(),
      "Model.encode with the default model.");
  m.def(
      "decode",
      [](py::bytes data, size_t max_bytes, int max_stages, int threads, bool salvage, bool with_metadata) {
        return DefaultModel().Decode(data, max_bytes, max_stages, threads, salvage, with_metadata);
      },
      py::arg("data"), py::arg("max_bytes") = 0, py::arg("max_stages") = -1, py::arg("threads") = 1,
      py::arg("salvage") = false, py::arg("with_metadata") = false, "Model.decode with the default model.");
}
