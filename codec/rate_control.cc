#include "codec/rate_control.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

namespace dcodec::codec {
namespace {

double LogSnr(const model::NoiseSchedule& s, int t) {
  const double ab = s.alpha_bar(t);
  return std::log(ab / (1.0 - ab));
}

// The PSNR and the log of the bpp a unit of λ (photos/dev with the part-5 photo model): the search's default slopes.
constexpr double kSlopePsnr = 3.3, kSlopeLogBpp = 0.36;

// The t in [lo, hi] whose log-SNR is nearest to `target`.
int NearestT(const model::NoiseSchedule& s, double target, int lo, int hi) {
  int best = lo;
  for (int t = lo; t <= hi; ++t) {
    if (std::fabs(LogSnr(s, t) - target) < std::fabs(LogSnr(s, best) - target)) best = t;
  }
  return best;
}

}  // namespace

double QualityToPsnr(int quality) {
  if (quality >= 100) return std::numeric_limits<double>::infinity();
  return 25.0 + 0.15 * std::clamp(quality, 0, 99);
}

RateTarget TargetFor(int quality, double bpp, double psnr, bool lossless) {
  RateTarget target;
  if (lossless) return target;
  if (bpp > 0) {
    target.bpp = bpp;
  } else if (psnr > 0) {
    target.psnr = psnr;
  } else if (quality < 100) {
    target.psnr = QualityToPsnr(quality);
  }
  return target;
}

StatusOr<TargetResult> EncodeFor(const Codec& codec, const Image& image, const EncodeOptions& base,
                                 const RateTarget& target) {
  if (target.psnr > 0 || target.bpp > 0) return EncodeToTarget(codec, image, base, target);
  TargetResult out;
  DCODEC_ASSIGN_OR_RETURN(out.encoded, codec.Encode(image, base));
  out.trials = 1;
  out.stages_coded = codec.ResolveChain(base.chain).stages;
  return out;
}

EncodeOptions OptionsEndingAt(const Codec& codec, const EncodeOptions& requested, int t_end, CutTail tail) {
  const ChainOptions chain = codec.ResolveChain(requested.chain);
  // kDithered: the chain cut at t_end keeps the requested chain's dithered stages at its end (the rest Gaussian),
  // so that every trial's last stage is of the same kind and quality grows as t_end falls. kGaussian: all of them
  // Gaussian, but no more than the base chain has stages (the format's bound: a cut below t_min, one stage longer,
  // keeps its last stage dithered).
  const int dithered = tail == CutTail::kGaussian
                           ? 0
                           : chain.stages - codec.ResolveGaussianStages(requested.gaussian.stages, chain.stages);
  EncodeOptions o = requested;
  o.chain = chain;
  o.chain.t_end = std::clamp(t_end, 1, codec.denoiser().schedule().num_steps());
  // A Gaussian tail keeps the timestep above the cut (formats 10/11, chain.h) while every stage stays Gaussian: a
  // finer chain of Gaussian stages costs less (docs/rate_audit.md, "A Gaussian tail's cut").
  o.chain.keep_above_cut = tail == CutTail::kGaussian;
  auto cut = MakeChain(codec.denoiser().schedule(), o.chain);
  if (o.chain.keep_above_cut && (!cut.ok() || static_cast<int>(cut->size()) > chain.stages)) {
    o.chain.keep_above_cut = false;
    cut = MakeChain(codec.denoiser().schedule(), o.chain);
  }
  const int stages = cut.ok() ? static_cast<int>(cut->size()) : 1;
  o.gaussian.stages = std::min(std::max(0, stages - dithered), chain.stages);
  o.pixel_stage = false;
  o.pixels_only_if_half = false;
  return o;
}

namespace {

// One search's answer: the stream that ends at t_end (0: the lossless stream) with its chain's tail.
struct Found {
  int t_end = 0;
  CutTail tail = CutTail::kDithered;
  EncodeResult encoded;
};

// EncodeToTarget's search over cuts on the picture itself.
StatusOr<TargetResult> SearchTarget(const Codec& codec, const Image& image, const EncodeOptions& requested,
                                    const RateTarget& target) {
  EncodeOptions base = requested;
  base.chain = codec.ResolveChain(requested.chain);
  const bool by_psnr = target.psnr > 0;
  if (by_psnr == (target.bpp > 0) || !std::isfinite(target.psnr) || !std::isfinite(target.bpp)) {
    return InvalidArgument("rate control: give exactly one finite target, a PSNR or a bpp");
  }
  if (base.target_bpp > 0 || base.target_psnr > 0) return InvalidArgument("rate control: base options set a target");
  if (base.chain.stages < 1) return InvalidArgument("rate control: needs a chain of at least one stage");
  const auto& schedule = codec.denoiser().schedule();
  const int T = schedule.num_steps();
  const double pixels = static_cast<double>(image.num_pixels());
  TargetResult out;

  // value(t): the PSNR or bpp of a stream ending at t; feasible: meets the target.
  auto value_of = [&](const EncodeResult& r, size_t stages) {
    return by_psnr ? r.stages[stages - 1].psnr : r.stages[stages - 1].prefix_bytes * 8.0 / pixels;
  };
  auto feasible = [&](double v) { return by_psnr ? v >= target.psnr : v <= target.bpp; };
  auto close_enough = [&](double v) { return by_psnr ? v - target.psnr <= 0.3 : v >= 0.95 * target.bpp; };
  // The search works on g(value) against λ(t): the PSNR, or the log of the bpp, both nearly straight lines in the
  // log-SNR of the last dithered stage (photos/dev with the part-5 photo model: 3.3 dB and ×1.43 in bpp a unit).
  auto g = [&](double v) { return by_psnr ? v : std::log(std::max(v, 1e-9)); };
  const double goal = by_psnr ? target.psnr + 0.1 : std::log(0.98 * target.bpp);  // a little inside the target
  // For the first guess: g a unit of λ, and g at λ = 0 (the same photos; the PSNR's offset refitted with the part-8
  // model at quality 75, where three dev photos meet the target at t = 17, 21 and 25: 18.7 → 19.6 dB).
  constexpr double kOffsetPsnr = 19.6, kOffsetLogBpp = -0.88;
  const double default_slope = by_psnr ? kSlopePsnr : kSlopeLogBpp;
  // A secant step goes this much further than the line through its two points: the PSNR is concave in λ over the
  // range that matters (its slope falls with λ), so the plain secant stops short. 8 dev photos at quality 75 with
  // part 9: 20 cuts with 1.0, 19 with 1.3 (one photo 4 → 3), the same with 1.6 on the 6 measured.
  constexpr double kSecantReach = 1.3;

  // The model's chain is coded once (the walk); a trial that ends at t continues a copy of the walk from the last
  // stage it shares with the chain cut at t (OptionsEndingAt: the same timesteps and stage kinds), so the network
  // passes and Gaussian searches of those stages run once for all trials of both tails.
  const auto started = std::chrono::steady_clock::now();
  double trials_network = 0, trials_search = 0;  // the trials' own time, after the stages they shared
  EncodeOptions walk_options = base;
  walk_options.pixel_stage = false;
  DCODEC_ASSIGN_OR_RETURN(EncodePass walker, codec.StartPass(image, walk_options));
  const std::vector<uint16_t> walk_chain = walker.chain();
  const int walk_gaussian = walker.gaussian_stages();
  std::map<int, EncodePass> ready;  // j → the walk with stages 0..j-1 coded and stage j prepared
  auto ready_at = [&](int j) -> StatusOr<const EncodePass*> {
    auto it = ready.find(j);
    if (it != ready.end()) return &it->second;
    if (walker.coded() > j) {  // passed and no longer kept: walk again
      DCODEC_ASSIGN_OR_RETURN(walker, codec.StartPass(image, walk_options));
    }
    // Copies hold the codec's arrays (about 30 bytes a pixel): keep the three nearest the walk's end, where the
    // search goes next (a trial shares fewer stages only when its cut is above the last one's).
    auto keep = [&]() -> Status {
      DCODEC_RETURN_IF_ERROR(walker.Prepare());
      ready.insert_or_assign(walker.coded(), walker);
      while (ready.begin()->first < walker.coded() - 2) ready.erase(ready.begin());
      return Status::Ok();
    };
    while (walker.coded() < j) {
      if (walker.coded() > 0) DCODEC_RETURN_IF_ERROR(keep());
      DCODEC_RETURN_IF_ERROR(walker.Code());
      ++out.stages_coded;
    }
    DCODEC_RETURN_IF_ERROR(keep());
    return &ready.at(j);
  };
  // The whole (lossless) stream, coded at most once for both searches.
  std::optional<EncodeResult> whole;
  auto whole_stream = [&]() -> StatusOr<const EncodeResult*> {
    if (!whole) {
      EncodeOptions o = base;
      o.pixel_stage = true;
      DCODEC_ASSIGN_OR_RETURN(EncodeResult r, codec.Encode(image, o));
      ++out.trials;
      out.stages_coded += static_cast<int>(walk_chain.size());
      trials_network += r.seconds.network;
      trials_search += r.seconds.search;
      whole = std::move(r);
    }
    return &*whole;
  };
  auto lossless = [&](CutTail tail) -> StatusOr<Found> {
    DCODEC_ASSIGN_OR_RETURN(const EncodeResult* r, whole_stream());
    return Found{0, tail, *r};
  };
  // The t whose λ is nearest to `lambda`, within 1..T.
  auto t_at = [&](double lambda) { return NearestT(schedule, lambda, 1, T); };

  // One search over the cuts whose chains end with `tail`, its first trial at `first_t`. With a `rival` curve (the
  // other tail's streams: log bpp → PSNR, sorted) it stops at the first trial whose stream lies below the rival
  // curve (0.15 dB or more at its rate): the rival would win at the target too (dev photos: 1.1 dB below after one
  // trial and 1.3 dB at the end; 4 dB below after two, where the Gaussian tail's curve is flat).
  auto search = [&](CutTail tail, int first_t, const std::vector<std::pair<double, double>>* rival) -> StatusOr<Found> {
    std::map<int, double> curve;          // t → value (exact for encoded t, prefix estimates otherwise)
    std::map<int, EncodeResult> encoded;  // t → the stream that ends there
    // Does this stream lie below the rival curve (0.15 dB or more at its rate)? The rival's PSNR there: between its
    // two points around the rate, or along its nearest segment's slope beyond them (the default slope with one
    // point, or where theirs is implausible).
    auto below_rival = [&](const EncodeResult& r) {
      if (rival == nullptr || rival->empty()) return false;
      const double x = std::log(r.stream.size() * 8.0 / pixels);
      const auto& c = *rival;
      double slope = kSlopePsnr / kSlopeLogBpp;
      std::pair<double, double> at = c[0];
      if (c.size() > 1) {
        size_t k = 1;
        while (k + 1 < c.size() && c[k].first < x) ++k;
        const double s = (c[k].second - c[k - 1].second) / std::max(c[k].first - c[k - 1].first, 1e-9);
        if (s > 0.3 * slope && s < 3 * slope) slope = s;
        at = std::fabs(x - c[k].first) < std::fabs(x - c[k - 1].first) ? c[k] : c[k - 1];
      }
      return r.stages.back().psnr < at.second + slope * (x - at.first) - 0.15;
    };
    bool gave_up = false;  // a trial fell below the rival curve
    auto trial = [&](int t) -> Status {
      const EncodeOptions o = OptionsEndingAt(codec, base, t, tail);
      DCODEC_ASSIGN_OR_RETURN(std::vector<uint16_t> chain, MakeChain(schedule, o.chain));
      const int G = o.gaussian.stages;
      int shared = 0;
      while (shared < static_cast<int>(chain.size()) && shared < static_cast<int>(walk_chain.size()) &&
             chain[shared] == walk_chain[shared] && (shared < G) == (shared < walk_gaussian)) {
        ++shared;
      }
      DCODEC_ASSIGN_OR_RETURN(const EncodePass* from, ready_at(shared));
      const TimeBreakdown before = from->seconds();
      EncodePass pass = *from;
      DCODEC_RETURN_IF_ERROR(pass.Recut(o.chain, G));
      out.stages_coded += static_cast<int>(chain.size()) - pass.coded();
      while (!pass.done()) DCODEC_RETURN_IF_ERROR(pass.Code());
      DCODEC_RETURN_IF_ERROR(pass.Finish(/*pixel_stage=*/false));
      DCODEC_ASSIGN_OR_RETURN(EncodeResult r, pass.Seal(pass.stages().size()));
      const TimeBreakdown after = pass.seconds();
      trials_network += after.network - before.network;
      trials_search += after.search - before.search;
      ++out.trials;
      // Every prefix ends at one of this chain's timesteps: points of the curve (estimates but the last). Only the
      // dithered tail's: a Gaussian prefix is cheaper and worse than a chain that ends at its t with dithered
      // stages (none with a Gaussian tail).
      const size_t first = static_cast<size_t>(G) + 1;
      for (size_t m = std::min(first, chain.size()); m <= r.stages.size() && m <= chain.size(); ++m) {
        if (!encoded.count(chain[m - 1])) curve[chain[m - 1]] = value_of(r, m);
      }
      const int last = chain[r.stages.size() - 1];
      curve[last] = by_psnr ? r.stages.back().psnr : r.stream.size() * 8.0 / pixels;
      out.tried.push_back({last, tail, r.stages.back().psnr, r.stream.size() * 8.0 / pixels});
      gave_up = gave_up || below_rival(r);
      encoded[last] = std::move(r);
      return Status::Ok();
    };
    auto finish = [&](int t) -> StatusOr<Found> {
      if (!encoded.count(t)) DCODEC_RETURN_IF_ERROR(trial(t));
      return Found{t, tail, std::move(encoded[t])};
    };

    DCODEC_RETURN_IF_ERROR(trial(first_t));
    for (int step = 0; step < 12 && !gave_up; ++step) {
      // The bracket. Values fall as t grows; feasible is small t for PSNR and large t for bpp. f: the feasible
      // point nearest the infeasible side, i: the infeasible point nearest beyond it.
      std::optional<int> f, i;
      for (const auto& [t, v] : curve) {
        if (feasible(v) && (!f || (by_psnr ? t > *f : t < *f))) f = t;
      }
      for (const auto& [t, v] : curve) {
        if (feasible(v) || (f && (by_psnr ? t < *f : t > *f))) continue;
        if (!i || (by_psnr ? t < *i : t > *i)) i = t;
      }
      if (f && encoded.count(*f) && close_enough(curve[*f])) return finish(*f);
      // A prefix estimate (biased: its chain is longer) that closes the bracket on the feasible side is made exact
      // first. One on the infeasible side only bounds the next step, which follows the exact points' slope:
      // interpolating towards a biased end crawls a timestep a trial (7 trials on a dev photo).
      if (f && i && !encoded.count(*f)) {
        DCODEC_RETURN_IF_ERROR(trial(*f));
        continue;
      }
      const bool i_estimate = f && i && !encoded.count(*i);
      if (i_estimate && std::abs(*f - *i) <= 1) {
        DCODEC_RETURN_IF_ERROR(trial(*i));
        continue;
      }
      if (f && i && !i_estimate && std::abs(*f - *i) <= 1) return finish(*f);
      int t;
      if (f && i && !i_estimate) {
        // Inside the bracket: interpolate between its ends, kept off them. f and i are adjacent points of the
        // curve at least 2 apart here, so every t strictly between them is new.
        const double lf = LogSnr(schedule, *f), li = LogSnr(schedule, *i);
        const double gf = g(curve[*f]), gi = g(curve[*i]);
        const double frac = std::clamp(gi != gf ? (goal - gf) / (gi - gf) : 0.5, 0.1, 0.9);
        t = std::clamp(t_at(lf + frac * (li - lf)), std::min(*f, *i) + 1, std::max(*f, *i) - 1);
      } else {
        // All points on one side (or the far end an estimate): step from the one nearest the target along the
        // slope of the two nearest (the default slope with one point, or if theirs is implausible), at least one t
        // towards the target. Encoded points only: a prefix estimate's bias bends the slope (a dev photo overshot
        // by 18 timesteps with them).
        std::vector<std::pair<double, int>> by_distance;
        for (const auto& [u, r] : encoded) by_distance.push_back({std::fabs(g(curve[u]) - goal), u});
        std::sort(by_distance.begin(), by_distance.end());
        const int t0 = by_distance[0].second;
        double slope = default_slope, reach = 1.0;
        if (by_distance.size() > 1) {
          const int t1 = by_distance[1].second;
          const double dl = LogSnr(schedule, t0) - LogSnr(schedule, t1);
          const double s = dl != 0 ? (g(curve[t0]) - g(curve[t1])) / dl : 0;
          if (s > 0.3 * default_slope && s < 3 * default_slope) {
            slope = s;
            reach = kSecantReach;
          }
        }
        const bool finer = g(curve[t0]) < goal;  // values grow as t falls
        t = t_at(LogSnr(schedule, t0) + reach * (goal - g(curve[t0])) / slope);
        t = finer ? std::min(t, t0 - 1) : std::max(t, t0 + 1);
        while (encoded.count(t) && t >= 1 && t <= T) t += finer ? -1 : 1;
        if (t < 1 || t > T) break;  // the range's end is encoded and still short of the target
        // Strictly inside a bracket closed by an estimate (no point of the curve lies between its ends).
        if (i_estimate) t = std::clamp(t, std::min(*f, *i) + 1, std::max(*f, *i) - 1);
      }
      DCODEC_RETURN_IF_ERROR(trial(t));
      // The ends of the range: the target beyond the finest stage or beyond the coarsest chain.
      if (gave_up) break;
      if (t == 1 && (by_psnr ? !feasible(curve[1]) : feasible(curve[1]))) {
        if (by_psnr) return lossless(tail);
        // Even the finest stage fits: the lossless stream may too.
        DCODEC_ASSIGN_OR_RETURN(const EncodeResult* w, whole_stream());
        if (w->stream.size() * 8.0 / pixels <= target.bpp) return lossless(tail);
        return finish(1);
      }
      if (t == T && (by_psnr ? feasible(curve[T]) : !feasible(curve[T]))) return finish(T);  // cannot go coarser
    }
    // The best feasible stream encoded.
    std::optional<int> best;
    for (const auto& [t, v] : curve) {
      if (!feasible(v) || !encoded.count(t)) continue;
      if (!best || (by_psnr ? t > *best : t < *best)) best = t;
    }
    if (!best && gave_up) return finish(out.tried.back().t);  // worse than the rival: no lossless stream for it
    if (!best) return by_psnr ? lossless(tail) : finish(curve.rbegin()->first);
    return finish(*best);
  };

  // Where the model's chain has both kinds of stage and no tail is asked for, first the cuts that are Gaussian to
  // the end, then those that end with the model's dithered stages, against the first search's streams (it stops at
  // its first trial below their curve), and the better stream of the two. Since region maps (stop 37) the Gaussian
  // tail wins at nearly every target (photos/dev, part 14: the field of grass 30% smaller at quality 50, where the
  // dithered tail had won by 33% before the maps); the dithered one still wins on a textured photo near quality 90,
  // where a Gaussian tail's last timesteps are 0.5 dB apart. Both searches share the walk: each costs its own
  // trials only, and the second usually one. With one tail asked for, that one alone.
  const int G = codec.ResolveGaussianStages(base.gaussian.stages, base.chain.stages);
  const bool both = !target.tail && G > 0 && G < base.chain.stages;
  const CutTail first_tail = target.tail.value_or(both ? CutTail::kGaussian : CutTail::kDithered);
  // A Gaussian tail's picture is about 1.6 dB worse than a dithered one's at the same t (photos/dev, part 11,
  // median of 8 searches at qualities 50 and 75: 1.4–3.7 dB): for a PSNR its first trial starts that much finer.
  constexpr double kGaussianTailPsnr = 1.6;
  const double tail_offset = by_psnr && first_tail == CutTail::kGaussian ? kGaussianTailPsnr : 0.0;
  DCODEC_ASSIGN_OR_RETURN(
      Found found,
      search(first_tail, t_at((goal + tail_offset - (by_psnr ? kOffsetPsnr : kOffsetLogBpp)) / default_slope),
             nullptr));
  // The dithered tail is searched only where the Gaussian cut lies at small t (or is the lossless stream): over 100
  // searches (20 dev photos, PSNR targets 27 to 41 dB, part 14) it won 21, every one at t_end ≤ 12 (targets of 37.5
  // and 41 dB), where a Gaussian tail's last timesteps lie 0.5 dB apart; at a larger t it lost every time, and its
  // search cost a trial.
  constexpr int kDitheredTailMaxT = 12;
  if (both && found.t_end <= kDitheredTailMaxT) {
    // The dithered tail meets a PSNR about 1.6 dB coarser; past the finest Gaussian cut (the lossless stream) it
    // may still meet it below t = 1's Gaussian picture.
    const int from = found.t_end > 0 ? found.t_end : 1;
    const int first =
        by_psnr ? std::max(from + 1, t_at(LogSnr(schedule, from) - kGaussianTailPsnr / kSlopePsnr)) : from;
    std::vector<std::pair<double, double>> gaussian;  // the first search's streams: log bpp → PSNR
    for (const TriedCut& c : out.tried) gaussian.push_back({std::log(c.bpp), c.psnr});
    std::sort(gaussian.begin(), gaussian.end());
    DCODEC_ASSIGN_OR_RETURN(Found other, search(CutTail::kDithered, std::min(first, T), &gaussian));
    auto rank = [&](const Found& x) {  // smaller is better: infeasible last, then bytes (PSNR) or −PSNR (bpp)
      const double v = by_psnr ? x.encoded.stages.back().psnr : x.encoded.stream.size() * 8.0 / pixels;
      const double key = by_psnr ? static_cast<double>(x.encoded.stream.size()) : -x.encoded.stages.back().psnr;
      return std::make_pair(feasible(v) ? 0 : 1, key);
    };
    if (rank(other) < rank(found)) found = std::move(other);
  }
  out.t_end = found.t_end;
  out.tail = found.tail;
  out.encoded = std::move(found.encoded);
  // Where the whole search's time went: the walk's and every trial's own work after the stages it shared.
  const TimeBreakdown walk = walker.seconds();
  out.encoded.seconds.network = walk.network + trials_network;
  out.encoded.seconds.search = walk.search + trials_search;
  out.encoded.seconds.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

// A picture of about `proxy_pixels` made of tile_size² squares sampled evenly over `image` (a grid of gx × gy, in
// the image's aspect ratio), side by side: what a big picture's search runs on. Sample bytes only (the cut does
// not depend on 16-bit low bytes or metadata).
Image ProxyOf(const Image& image, int tile, size_t proxy_pixels) {
  const double aspect = static_cast<double>(image.width) / image.height;
  const double squares = static_cast<double>(proxy_pixels) / (static_cast<double>(tile) * tile);
  const int gx = std::clamp(static_cast<int>(std::lround(std::sqrt(squares * aspect))), 1, image.width / tile);
  const int gy = std::clamp(static_cast<int>(std::lround(squares / gx)), 1, image.height / tile);
  Image proxy;
  proxy.width = gx * tile;
  proxy.height = gy * tile;
  proxy.channels = image.channels;
  const size_t c = static_cast<size_t>(image.channels);
  proxy.data.resize(proxy.num_pixels() * c);
  for (int by = 0; by < gy; ++by) {
    // The square's top-left corner: evenly spread, on the tile grid where the picture allows.
    const int sy = gy == 1 ? (image.height - tile) / 2 : by * (image.height - tile) / (gy - 1) / tile * tile;
    for (int bx = 0; bx < gx; ++bx) {
      const int sx = gx == 1 ? (image.width - tile) / 2 : bx * (image.width - tile) / (gx - 1) / tile * tile;
      for (int y = 0; y < tile; ++y) {
        const uint8_t* from = image.data.data() + (static_cast<size_t>(sy + y) * image.width + sx) * c;
        uint8_t* to = proxy.data.data() + (static_cast<size_t>(by * tile + y) * proxy.width + bx * tile) * c;
        std::copy_n(from, tile * c, to);
      }
    }
  }
  return proxy;
}

}  // namespace

StatusOr<TargetResult> EncodeToTarget(const Codec& codec, const Image& image, const EncodeOptions& requested,
                                      const RateTarget& target) {
  const int tile = requested.tiles.tile_size;
  if (target.proxy_pixels == 0 || image.num_pixels() <= 2 * target.proxy_pixels || tile < 16 || image.width < tile ||
      image.height < tile) {
    return SearchTarget(codec, image, requested, target);
  }
  // A big picture: the search runs on a proxy of sampled squares, then the picture is coded once at the cut found,
  // stepped along the PSNR's (or log bpp's) slope and coded again only while it misses the target.
  const auto started = std::chrono::steady_clock::now();
  DCODEC_ASSIGN_OR_RETURN(TargetResult out,
                          SearchTarget(codec, ProxyOf(image, tile, target.proxy_pixels), requested, target));
  out.proxy_trials = out.trials;
  out.tried.clear();
  TimeBreakdown spent = out.encoded.seconds;  // the proxy's search, then each coding of the picture
  auto done = [&](EncodeResult r) -> StatusOr<TargetResult> {
    spent.network += r.seconds.network;
    spent.search += r.seconds.search;
    out.encoded = std::move(r);
    out.encoded.seconds.network = spent.network;
    out.encoded.seconds.search = spent.search;
    out.encoded.seconds.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::move(out);
  };
  auto lossless = [&]() -> StatusOr<TargetResult> {
    EncodeOptions o = requested;
    o.pixel_stage = true;
    DCODEC_ASSIGN_OR_RETURN(EncodeResult whole, codec.Encode(image, o));
    ++out.trials;
    out.stages_coded += codec.ResolveChain(requested.chain).stages;
    out.t_end = 0;
    return done(std::move(whole));
  };
  const auto& schedule = codec.denoiser().schedule();
  const double pixels = static_cast<double>(image.num_pixels());
  const bool by_psnr = target.psnr > 0;
  if (out.t_end == 0) return lossless();  // the target lies beyond the finest dithered stage
  const double kSlope = by_psnr ? kSlopePsnr : kSlopeLogBpp;
  int t = out.t_end;
  for (int attempt = 0;; ++attempt) {
    EncodeOptions o = OptionsEndingAt(codec, requested, t, out.tail);
    const bool last = attempt == 3;
    if (last && !by_psnr) o.target_bpp = target.bpp;  // whole stages dropped if it still does not fit
    DCODEC_ASSIGN_OR_RETURN(EncodeResult r, codec.Encode(image, o));
    const double v = by_psnr ? r.stages.back().psnr : r.stream.size() * 8.0 / pixels;
    ++out.trials;
    out.stages_coded += static_cast<int>(r.stages.size());
    out.tried.push_back({t, out.tail, r.stages.back().psnr, r.stream.size() * 8.0 / pixels});
    const bool fits = by_psnr ? v >= target.psnr : v <= target.bpp;
    if (fits || last) {
      out.t_end = t;
      return done(std::move(r));
    }
    spent.network += r.seconds.network;
    spent.search += r.seconds.search;
    // Missed: step by the shortfall along the slope (and a little inside the target), at least one timestep.
    const double g = by_psnr ? v : std::log(v);
    const double goal = by_psnr ? target.psnr + 0.2 : std::log(0.97 * target.bpp);
    const int next = NearestT(schedule, LogSnr(schedule, t) + (goal - g) / kSlope, 1, schedule.num_steps());
    if (by_psnr && t == 1) return lossless();  // the finest dithered stage falls short
    const int stepped = std::clamp(by_psnr ? std::min(next, t - 1) : std::max(next, t + 1), 1, schedule.num_steps());
    if (stepped == t) attempt = 2;  // the coarsest cut is over the rate: the next coding is the last
    t = stepped;
  }
}

}  // namespace dcodec::codec
