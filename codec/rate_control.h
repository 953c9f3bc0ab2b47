// Quality and exact rates: where the coding chain ends.
//
// A stream's rate and quality are set by the timestep t_end of its last dithered stage (its noise level): the
// chain runs from t_max (the model's, 400 by default) to t_end with K(t_end) stages, the last of them as many
// dithered ones as the model's chain has (the others Gaussian), K = 1 + round((λ(t_end) − λ(t_max)) / s),
// λ = log-SNR and s the default chain's spacing (K = 4 from 400 to 10), so a chain that ends at one of the default
// chain's timesteps has that chain's stage count and nearly its timesteps (400, 161, 45 for t_end = 45); above t_max
// the stream is one stage at t_end. The stream stays progressive. EncodeToTarget searches t_end for a PSNR (the
// smallest stream at or above it) or a rate (the largest stream at or below it, within 5% when the range allows). The
// PSNR and the log of the bpp are nearly straight lines in λ(t_end), so the first trial goes where a typical photo
// meets the target (3.3 dB and ×1.43 bpp a unit of λ, measured on photos/dev with the part-5 photo model), the next
// ones along the slope of the two points nearest the target, then inside the bracket; each trial's dithered prefixes
// add estimated points (an estimate is encoded before it closes a bracket: a prefix of a longer chain is biased). On 6
// dev photos at quality 75: 2–3 trials, 18.2 s an image on 2 threads (about 0.2 Mpx; the lossless stream: about 7 s),
// against 20.5 s and 3.2% larger streams with the previous search (the default chain first, then the ends of the
// range). Targets beyond the last dithered stage give the lossless stream when it meets them.
#ifndef DCODEC_CODEC_RATE_CONTROL_H_
#define DCODEC_CODEC_RATE_CONTROL_H_

#include "base/status.h"
#include "codec/codec.h"

namespace dcodec::codec {

struct RateTarget {
  double psnr = 0;  // dB; > 0: the smallest stream whose picture reaches it (0.3 dB above at most, where t and
                    // the stage count, which moves in steps with t, allow)
  double bpp = 0;   // > 0: the largest stream within this many bits per pixel (5% below at most, where t allows)
};

struct TargetResult {
  EncodeResult encoded;
  int t_end = 0;   // the last dithered stage's timestep (0: the lossless stream)
  int trials = 0;  // encodes run
};

// The chain options that end at t_end (1..T), from `base`'s t_max and stage count (`base` resolved).
ChainOptions ChainEndingAt(const model::NoiseSchedule& schedule, const ChainOptions& base, int t_end);

// The options of EncodeToTarget's trial that ends at t_end: `requested` with ChainEndingAt's chain (from the
// resolved requested chain), as many dithered stages at its end as that chain has (the rest Gaussian), and no
// pixel stage.
EncodeOptions OptionsEndingAt(const Codec& codec, const EncodeOptions& requested, int t_end);

// Exactly one of target.psnr, target.bpp must be > 0 (InvalidArgument otherwise). base.chain (resolved:
// Codec::ResolveChain) gives t_max and the default spacing; its target_bpp / target_psnr must be 0.
StatusOr<TargetResult> EncodeToTarget(const Codec& codec, const Image& image, const EncodeOptions& base,
                                      const RateTarget& target);

// What a set of user options asks for (the CLI, the C API and the Python module share it): nothing (the whole
// stream) if `lossless` or quality 100; else the bpp if > 0, else the PSNR if > 0, else the quality's PSNR.
RateTarget TargetFor(int quality, double bpp, double psnr, bool lossless);

// EncodeToTarget, or for an empty target (no PSNR, no bpp) the whole stream with `base` (t_end 0, one trial).
StatusOr<TargetResult> EncodeFor(const Codec& codec, const Image& image, const EncodeOptions& base,
                                 const RateTarget& target);

// The documented quality scale (`encode -q`): quality 0..99 aims at PSNR 25 + 0.15·q dB (q = 75: 36.25 dB);
// 100 is lossless (returns +inf).
double QualityToPsnr(int quality);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_RATE_CONTROL_H_
