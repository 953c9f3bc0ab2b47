// The coding chain: which timesteps the progressive stream stops at.
//
// A stream codes x_{τ_K} with the prior, then each x_{τ_{j-1}} given x_{τ_j}, then the 8-bit pixels given x_{τ_1}.
// The chain is placed evenly in log-SNR between t_max and t_min (the dither's shaping loss is paid once per stage,
// so few stages placed by rate beat many placed evenly in t; see issue 4's toy measurements).
#ifndef DCODEC_CODEC_CHAIN_H_
#define DCODEC_CODEC_CHAIN_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "model/schedule.h"

namespace dcodec::codec {

// A field left at kModelsChain takes the model's value (Codec::ResolveChain; codec/denoiser.h, CodecDefaults: 4
// stages from 400 to 10 unless the model file says otherwise). MakeChain needs every field resolved.
constexpr int kModelsChain = -1;
struct ChainOptions {
  int stages = kModelsChain;  // K: stages before the lossless pixel stage (Gaussian ones first, then dithered)
  int t_max = kModelsChain;   // τ_K
  int t_min = kModelsChain;   // τ_1
  // 0, or where the chain is cut (format 8): the chain above, then cut at t_end. It keeps its timesteps above
  // t_end, drops the last of them when t_end is nearer to it than to the next (2·(τ − t_end) < τ − τ_next, with
  // τ_next = 0 after the last), and ends at t_end: one stage more than it keeps, so that every step is between
  // about half and one and a half of the chain's own. A chain cut at or above its first timestep is t_end alone.
  // The stages it keeps are the uncut chain's, so an encoder can code them once for every cut (rate control).
  int t_end = 0;
  // Formats 10 and 11: the cut keeps every timestep above t_end (no drop), for a chain whose stages are all Gaussian: the
  // cost of Gaussian stages grows when the chain is made coarser, and dropping τ made the last stage jump from the
  // timestep before it (docs/rate_audit.md, "A Gaussian tail's cut"). Streams say so (bitstream/container.h).
  bool keep_above_cut = false;
};

// τ_K > … > τ_1 (coding order), distinct, within [1, T]; empty for K = 0 (the stream is the pixel stage alone, with
// x̂_0 = the planes' means: no network evaluation, not progressive), then cut at t_end if set. Fails on K < 0,
// t_min >= t_max (unless K <= 1), or t_end outside 0..T.
StatusOr<std::vector<uint16_t>> MakeChain(const model::NoiseSchedule& schedule, const ChainOptions& options);

// How many of `base`'s leading timesteps a cut at t_end (>= 1) keeps (the rule above; with keep_above_cut, all those
// above t_end).
size_t KeptBeforeCut(const std::vector<uint16_t>& base, int t_end, bool keep_above_cut = false);

// The coefficients of dithered stage j of `chain`: stage 0 codes x_{τ_K} from nothing (q(x_τ|x_0): coef_xt = 0),
// stage j > 0 codes x_{chain[j]} given x_{chain[j-1]} (the posterior q(x_s | x_t, x_0)).
struct StageCoefficients {
  int t;           // the timestep we come from (0 for stage 0: nothing known)
  int s;           // the timestep this stage delivers
  double coef_x0;  // mean of x_s = coef_x0 * x_0 + coef_xt * x_t
  double coef_xt;
  double variance;  // of x_s around that mean
};
StageCoefficients CoefficientsFor(const model::NoiseSchedule& schedule, const std::vector<uint16_t>& chain, int j);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_CHAIN_H_
