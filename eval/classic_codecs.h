// The classic codecs dcodec is compared with, run through their Debian command-line tools.
//
//   jpeg  cjpeg -quality Q -optimize -outfile out.jpg in.ppm (4:2:0), djpeg -outfile out.ppm out.jpg
//   webp  cwebp -quiet -q Q -m 6 in.png -o out.webp,                           dwebp -quiet out.webp -o out.png
//   jxl   cjxl in.png out.jxl -q Q -e 7 --num_threads=1 (libjxl 0.7),          djxl out.jxl out.png --num_threads=1
//   avif  avifenc --min Q --max Q -s 6 -j 1 in.png out.avif (libavif, aom),    avifdec -j 1 -d 8 out.avif out.png
//
// `quality` is each tool's own scale: 0..100, higher is better, for jpeg, webp and jxl; for avif it is the AV1
// quantizer 0..63 (both --min and --max), where LOWER is better (0 is lossless). Every tool is run with one
// thread, so the times are comparable single-core times; they are wall-clock seconds of the whole tool process
// (start-up and file I/O included; the time to write the input file for the encoder is not).
//
// Each run works in its own mkdtemp directory, removed afterwards. Grey images are handed to the tools as RGB
// (three equal channels); the decoded result is then turned back to grey (rounded mean of R, G, B), so
// `decoded` always has the input's shape and can be scored with metrics.h directly.
#ifndef DCODEC_EVAL_CLASSIC_CODECS_H_
#define DCODEC_EVAL_CLASSIC_CODECS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "base/status.h"
#include "datasets/image.h"

namespace dcodec::eval {

struct ClassicCodec {
  std::string name;            // "jpeg", "webp", "jxl", "avif"
  std::vector<int> qualities;  // the sweep, in order of increasing bit rate
};

// The four codecs with sweeps spanning about 0.1 to 4 bpp on photographs. Measured bpp (min..max over four
// photos/dev images of about 0.2 Mpixel) at the ends of each sweep:
//   jpeg  5 10 20 35 50 65 80 90 95              q5 0.11..0.25,  q95 2.7..5.1
//   webp  0 10 25 40 55 70 80 90 100             q0 0.07..0.19,  q100 2.9..5.5
//   jxl   5 15 30 45 60 72 82 90 95 98           q5 0.11..0.24,  q98 3.1..5.0   (q0 is erratic in cjxl 0.7)
//   avif  60 54 47 40 33 26 20 14 8 (quantizer)  Q60 0.04..0.14, Q8 1.9..4.3
std::vector<ClassicCodec> DefaultSweeps();

// The names DefaultSweeps() lists, in the same order.
std::vector<std::string> ClassicCodecNames();

// True if `name` is one of the four and both its encoder and decoder are on PATH.
bool IsAvailable(const std::string& name);

// True for avif, whose `quality` is a quantizer (lower value = higher quality); false for the others.
bool LowerQualityValueIsBetter(const std::string& name);

struct ClassicResult {
  size_t bytes = 0;  // the size of the compressed file
  Image decoded;     // same width, height and channels as the input
  double encode_seconds = 0;
  double decode_seconds = 0;
};

// Encodes `image` (1 or 3 channels) with the codec at `quality`, decodes it again, and reports size and timing.
// Errors: kInvalidArgument for an unknown name, a quality outside the codec's range or an unusable image;
// kUnsupported if a tool is not on PATH; kInternal, naming the tool, if a tool fails or its output is not what
// was asked for (wrong size, say).
StatusOr<ClassicResult> RunClassic(const std::string& name, int quality, const Image& image);

}  // namespace dcodec::eval

#endif  // DCODEC_EVAL_CLASSIC_CODECS_H_
