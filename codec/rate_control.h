// Quality and exact rates: where the coding chain ends.
//
// A stream's rate and quality are set by the timestep t_end of its last stage (its noise level). The stream's
// chain is the model's cut at t_end (codec/chain.h, ChainOptions::t_end; format 8): the model's timesteps above
// t_end, then t_end; above t_max the stream is one stage at t_end. The stream stays progressive. Its stages' kinds
// are the encoder's choice (the header says how many are Gaussian), and two tails are searched (CutTail): Gaussian
// to the end first, then the model's (its last stages dithered, as many as the model's chain has, so that quality
// grows steadily as t_end falls), which stops at its first trial below the Gaussian streams' curve; the smaller
// stream that meets the target is kept. A Gaussian tail's cut keeps the
// timestep just above t_end while its stages stay all Gaussian (format 10, ChainOptions::keep_above_cut).
// EncodeToTarget searches t_end for a PSNR (the smallest stream at or above it) or a rate (the largest stream at or
// below it, within 5% when the range allows). The PSNR and the log of the bpp are nearly straight lines in
// λ(t_end) (λ = log-SNR), so the first trial goes where a typical photo meets the target (3.3 dB and ×1.43 bpp a
// unit of λ, measured on photos/dev with the part-5 photo model), the next ones along the slope of the two trials
// nearest the target, then inside the bracket; each trial's dithered prefixes add estimated points (an estimate is
// encoded before it closes a bracket on the feasible side; on the other it only bounds the next step). The
// Gaussian tail's first trial lies 1.6 dB finer than a dithered one's would; the dithered tail's search starts
// that much coarser than where the Gaussian one ended.
//
// One pass: every cut chain starts with the model's own stages, so the model's chain is coded once, stage by stage
// (EncodePass), and each trial continues a copy of it from the last stage it shares with its cut chain: a trial
// costs its last few stages (two network passes with the photo model's two dithered stages, one with a Gaussian
// tail), not a whole encode. Targets beyond the last stage give the lossless stream when it meets them.
#ifndef DCODEC_CODEC_RATE_CONTROL_H_
#define DCODEC_CODEC_RATE_CONTROL_H_

#include <optional>
#include <utility>
#include <vector>

#include "base/status.h"
#include "codec/codec.h"

namespace dcodec::codec {

// Pictures of more than 2·kProxyPixels: the search runs on a proxy of about kProxyPixels (squares of the tile size
// sampled evenly over the picture, side by side), and the picture is coded once at the cut found, and again one
// step along the slope further only while it misses the target (a PSNR below it, a rate above it), so that the
// target is met and time and memory are one encode's plus the proxy's search. How well a proxy stands for its
// picture (measured with one 256² square standing for 512×400 dev photos, quality 75, part-9 model): the same
// cut for 4 of 5 photos (one after a step, the proxy's cut 0.06 dB short), one 1 dB over (+9% bytes).
inline constexpr size_t kProxyPixels = size_t{1} << 20;

// The kinds of a cut chain's last stages.
enum class CutTail {
  kDithered,  // as many dithered stages at the end as the model's (or the requested) chain has, the rest Gaussian
  kGaussian,  // every stage Gaussian (at most as many as the base chain has stages: a cut below t_min, one stage
              // longer than its base, keeps its last stage dithered, as the format requires)
};

struct RateTarget {
  double psnr = 0;  // dB; > 0: the smallest stream whose picture reaches it (0.3 dB above at most, where t and
                    // the stage count, which moves in steps with t, allow)
  double bpp = 0;   // > 0: the largest stream within this many bits per pixel (5% below at most, where t allows)
  // Pictures of more than twice this many pixels are searched on a proxy of about this many (0: never).
  size_t proxy_pixels = kProxyPixels;
  // The cut chains' tails searched: both (unset; where the chain has both kinds of stage: the Gaussian one first),
  // or only this one (one search, faster).
  std::optional<CutTail> tail;
};

struct TriedCut {
  int t = 0;
  CutTail tail = CutTail::kDithered;
  double psnr = 0, bpp = 0;  // what it measured
};

struct TargetResult {
  EncodeResult encoded;
  int t_end = 0;                      // the last stage's timestep (0: the lossless stream)
  CutTail tail = CutTail::kDithered;  // the kind of the stream's last stages
  int trials = 0;                     // streams finished: cuts tried (or 1: a plain encode)
  // Each trial's cut and what it measured, in the order run.
  std::vector<TriedCut> tried;
  int stages_coded = 0;  // chain stages coded in all, the shared pass's and the trials' (pixel stages not counted)
  // A big picture's search ran on a proxy (kProxyPixels of sampled squares): its trials (counted in `trials` too);
  // `tried` then lists the whole picture's codings only. 0: the search ran on the picture.
  int proxy_trials = 0;
};

// The options of EncodeToTarget's trial that ends at t_end: `requested` with ChainEndingAt's chain (from the
// resolved requested chain), its stages' kinds by `tail` (kDithered: as many dithered stages at its end as that
// chain has, the rest Gaussian), and no pixel stage.
EncodeOptions OptionsEndingAt(const Codec& codec, const EncodeOptions& requested, int t_end,
                              CutTail tail = CutTail::kDithered);

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
