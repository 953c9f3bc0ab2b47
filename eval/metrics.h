// Image quality metrics for rate-distortion curves: PSNR and MS-SSIM on 8-bit images, as CompressAI reports them.
//
// Both take two images of the same width, height and channel count and return NaN otherwise (compare a grey
// original with ToRgb() of it if a codec returned RGB). Every channel counts: an RGB image is scored in RGB
// ("psnr-rgb", "ms-ssim-rgb"), with no conversion to luma.
#ifndef DCODEC_EVAL_METRICS_H_
#define DCODEC_EVAL_METRICS_H_

#include <cstddef>

#include "datasets/image.h"

namespace dcodec::eval {

// PSNR = 10 log10(255^2 / MSE) in dB, the MSE taken over all samples of all channels; +infinity if the images
// are identical; NaN if their shapes differ or they are empty.
double Psnr(const Image& a, const Image& b);

// Multi-scale SSIM (Wang, Simoncelli, Bovik 2003), matching pytorch_msssim.ms_ssim (used by CompressAI) with
// data_range 255 on images large enough for 5 scales (shorter side >= 161, the size pytorch_msssim requires):
//   - per scale j, with an 11-tap Gaussian window (sigma 1.5) applied separably without padding ("valid"):
//       l_j  = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)
//       cs_j = (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2),  C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2,
//     each map averaged over its valid positions (cs_j is mean(cs map), the SSIM is mean(l * cs map));
//   - between scales a 2x2 average pool with stride 2; a side of odd length is first padded with one zero
//     on each end, which counts in the average (PyTorch avg_pool2d with padding = side % 2), so sides go
//     s -> ceil(s / 2);
//   - MS-SSIM = prod_{j<M} max(cs_j, 0)^w_j * max(SSIM_M, 0)^w_M with w = 0.0448, 0.2856, 0.3001, 0.2363, 0.1333;
//   - computed per channel, then averaged over the channels.
// Smaller images (such as 32x32 CIFAR-10, which pytorch_msssim refuses): M is the largest number of scales, at
// most 5, for which the smallest scale's shorter side is still >= 11 px, and the first M weights are renormalised
// to sum to 1 (so M = 1 is plain SSIM). Images with a side < 11 use one scale and a window of the shorter side's
// length (one less if that is even, keeping the window centred), still with sigma 1.5.
// Examples: 32x32 -> 2 scales (32, 16); 64x64 -> 3 (64, 32, 16); 160x160 -> 4; 161x161 -> 5 (161, 81, 41, 21,
// 11); 512x400 -> 5; 8x8 -> 1 scale with a 7-tap window.
// Returns a value in [0, 1], 1 for identical images; NaN if the shapes differ or the images are empty.
double MsSsim(const Image& a, const Image& b);

// The number of scales MsSsim uses for an image of this size (rule above), for reports.
int MsSsimScales(int width, int height);

}  // namespace dcodec::eval

#endif  // DCODEC_EVAL_METRICS_H_
