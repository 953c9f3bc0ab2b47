// The butteraugli distance (Debian's `butteraugli` tool, Google's 2017 reference) between an image and its
// reconstruction: a perceptual axis for `dcodec rd` beside PSNR and MS-SSIM. 0 is identical; about 1 is the
// threshold of a visible difference at normal viewing; larger is worse. Both images are written as PNG into a
// private temporary directory and the tool's printed distance is read back.
#ifndef DCODEC_EVAL_BUTTERAUGLI_H_
#define DCODEC_EVAL_BUTTERAUGLI_H_

#include "base/status.h"
#include "datasets/image.h"

namespace dcodec::eval {

// Whether the `butteraugli` tool is on PATH.
bool ButteraugliAvailable();

// The distance between `reference` and `distorted` (same size, grey or RGB; grey is widened to RGB). Errors:
// kInvalidArgument for images of other sizes; kUnsupported without the tool; kInternal when it fails or prints
// something that is not a distance.
StatusOr<double> Butteraugli(const Image& reference, const Image& distorted);

}  // namespace dcodec::eval

#endif  // DCODEC_EVAL_BUTTERAUGLI_H_
