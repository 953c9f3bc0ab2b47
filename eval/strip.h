// A progressive stream's stages side by side: one picture per stage, each labelled beneath (`decode --strip`).
// Drawn with cairo (scaling with its good filter, text with its toy font API on the system's sans font).
#ifndef DCODEC_EVAL_STRIP_H_
#define DCODEC_EVAL_STRIP_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "datasets/image.h"

namespace dcodec::eval {

struct StripPanel {
  Image image;        // grey, grey + alpha, RGB or RGBA (alpha is composited on white)
  std::string label;  // one line, e.g. "stage 2 · 1.19 bpp · 25.2 dB"
};

// All panels at one height: pictures under 128 px high are enlarged by the smallest integer factor that reaches
// 128 (pixels stay sharp), taller than 320 px are reduced to 320; 8 px gaps, a 22 px label row, white background.
// Returns an RGB image. InvalidArgument if there are no panels or their sizes differ; Internal if cairo fails.
StatusOr<Image> DrawStrip(const std::vector<StripPanel>& panels);

}  // namespace dcodec::eval

#endif  // DCODEC_EVAL_STRIP_H_
