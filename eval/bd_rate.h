// Bjontegaard delta rate and delta quality between two rate-distortion curves (VCEG-M33, Bjontegaard 2001).
//
// BD-rate: on each curve, fit ln(rate) as a cubic polynomial of quality (least squares when a curve has more
// than 4 points, exact through 4), integrate both fits over the qualities the curves share
// [max(min_ref, min_test), min(max_ref, max_test)], and report
//     100 * (exp((integral_test - integral_ref) / interval_length) - 1)   percent,
// the average rate change at equal quality: negative means the test codec needs fewer bits.
// BD-quality (BdPsnr): the same with the roles swapped, quality as a cubic of ln(rate), integrated over the shared
// ln(rate) interval: the average quality difference (test - ref) in the quality's unit, positive = test better.
//
// Rates may be in any unit (bpp, bytes), the same for both curves; quality is PSNR in dB or any other increasing
// measure (MS-SSIM in dB, say). Points need not be sorted. Errors (kInvalidArgument): arrays of different
// lengths, fewer than 4 points or fewer than 4 distinct x values on a curve, a rate <= 0 or a non-finite value,
// or curves whose x ranges do not overlap.
#ifndef DCODEC_EVAL_BD_RATE_H_
#define DCODEC_EVAL_BD_RATE_H_

#include <vector>

#include "base/status.h"

namespace dcodec::eval {

StatusOr<double> BdRate(const std::vector<double>& rate_ref, const std::vector<double>& quality_ref,
                        const std::vector<double>& rate_test, const std::vector<double>& quality_test);

StatusOr<double> BdPsnr(const std::vector<double>& rate_ref, const std::vector<double>& quality_ref,
                        const std::vector<double>& rate_test, const std::vector<double>& quality_test);

}  // namespace dcodec::eval

#endif  // DCODEC_EVAL_BD_RATE_H_
