// Rate-distortion plots: one line-and-points curve per codec, drawn by gnuplot into a PNG.
//
// The data files and the gnuplot script are written to a private temporary directory; gnuplot (found on PATH)
// renders there with the pngcairo terminal at 1000x700 (the plain png terminal where pngcairo is missing), and the
// PNG is then written to `png_path` atomically, replacing an existing file. Names and the title are shown
// literally (no gnuplot "enhanced" markup).
#ifndef DCODEC_EVAL_PLOT_H_
#define DCODEC_EVAL_PLOT_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "eval/results.h"

namespace dcodec::eval {

enum class Metric {
  kPsnr,    // y = PSNR in dB
  kMsSsim,  // y = MS-SSIM in dB, -10 log10(1 - MS-SSIM), as CompressAI plots it
  kButteraugli,  // y = the butteraugli distance (lower is better); curves without it are left out
};

// x = bpp, y = the metric; the legend names each curve. Points whose x or y is not finite (+inf PSNR of a
// lossless point, MS-SSIM = 1) are left out. Errors: kInvalidArgument if no curve has a plottable point;
// kUnsupported if gnuplot is not on PATH; kInternal if gnuplot fails; kIoError if the PNG cannot be written.
Status PlotRd(const std::vector<RdCurve>& curves, const std::string& png_path, const std::string& title, Metric metric);

}  // namespace dcodec::eval

#endif  // DCODEC_EVAL_PLOT_H_
