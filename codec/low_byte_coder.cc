#include "codec/low_byte_coder.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "bitstream/leaky_quantizer.h"
#include "codec/adaptive_model.h"

namespace dcodec::codec {
namespace {

constexpr uint32_t kSixteenBitFreq = kModelTotal >> 10;  // P(16-bit samples)
constexpr uint32_t kHalf = kModelTotal >> 1;
constexpr int kActivityBins = 10;

int BitWidth(uint32_t v) {
  int b = 0;
  while (v) {
    ++b;
    v >>= 1;
  }
  return b;
}

// What is known of a sample before its low byte: its predicted 16-bit value (clamped into its cell) and context.
struct Prediction {
  uint32_t p;  // the predicted low byte
  int ctx;
};

// Two predictors of a sample's 16-bit value from its causal neighbours, MED (good at edges) and the plane
// L + U - UL (good on smooth ramps), blended by how wrong each was at the left and upper neighbours.
class Predictor {
 public:
  Predictor(const uint8_t* high, const uint8_t* low, int width, int channels)
      : high_(high),
        low_(low),
        width_(width),
        channels_(channels),
        err_med_(static_cast<size_t>(width) * channels * 2, 0),
        err_plane_(err_med_.size(), 0) {}

  // Sample (x, y, c); its low byte is unknown, the causal ones are known.
  Prediction Predict(int x, int y, int c) {
    const size_t i = Index(x, y, c);
    const int32_t cell = high_[i] << 8;
    int32_t med, plane;
    Guesses(x, y, c, &med, &plane);
    // The errors each made at the left and upper neighbours (0 where there is none).
    const int64_t e_med = Err(err_med_, x - 1, y, c) + Err(err_med_, x, y - 1, c);
    const int64_t e_plane = Err(err_plane_, x - 1, y, c) + Err(err_plane_, x, y - 1, c);
    int32_t pred = static_cast<int32_t>((med * (e_plane + 1) + plane * (e_med + 1)) / (e_med + e_plane + 2));
    int clamp = 0;
    if (pred < cell) {
      pred = cell;
      clamp = 1;
    } else if (pred > cell + 255) {
      pred = cell + 255;
      clamp = 2;
    }
    const uint32_t expected = static_cast<uint32_t>(std::min<int64_t>(std::min(e_med, e_plane), 1 << 30));
    const int bin = std::min(kActivityBins - 1, std::max(0, BitWidth(expected) - 4));
    return {static_cast<uint32_t>(pred - cell), clamp * kActivityBins + bin};
  }
  // Once sample (x, y, c) is known: the errors of the two guesses there.
  void Learn(int x, int y, int c) {
    int32_t med, plane;
    Guesses(x, y, c, &med, &plane);
    const int32_t v = Value(Index(x, y, c));
    const size_t r = Row(x, y, c);
    err_med_[r] = std::abs(v - med);
    err_plane_[r] = std::abs(v - plane);
  }

 private:
  size_t Index(int x, int y, int c) const { return (static_cast<size_t>(y) * width_ + x) * channels_ + c; }
  // Two rows of errors are kept: row y at (y & 1).
  size_t Row(int x, int y, int c) const { return (static_cast<size_t>(y & 1) * width_ + x) * channels_ + c; }
  int32_t Err(const std::vector<int32_t>& e, int x, int y, int c) const { return x < 0 || y < 0 ? 0 : e[Row(x, y, c)]; }
  int32_t Value(size_t i) const { return high_[i] << 8 | low_[i]; }
  void Guesses(int x, int y, int c, int32_t* med, int32_t* plane) const {
    const size_t i = Index(x, y, c);
    const size_t stride = static_cast<size_t>(width_) * channels_;
    if (x > 0 && y > 0) {
      const int32_t l = Value(i - channels_), u = Value(i - stride), ul = Value(i - stride - channels_);
      *plane = std::clamp(l + u - ul, 0, 65535);
      if (ul >= std::max(l, u)) {
        *med = std::min(l, u);
      } else if (ul <= std::min(l, u)) {
        *med = std::max(l, u);
      } else {
        *med = l + u - ul;
      }
    } else if (x > 0) {
      *med = *plane = Value(i - channels_);
    } else if (y > 0) {
      *med = *plane = Value(i - stride);
    } else {
      *med = *plane = (high_[i] << 8) + 128;
    }
  }
  const uint8_t* high_;
  const uint8_t* low_;
  int width_, channels_;
  std::vector<int32_t> err_med_, err_plane_;
};

uint32_t Zigzag(int32_t r) { return r >= 0 ? 2 * static_cast<uint32_t>(r) : 2 * static_cast<uint32_t>(-r) - 1; }
int32_t Unzigzag(uint32_t v) { return v & 1 ? -static_cast<int32_t>((v + 1) / 2) : static_cast<int32_t>(v / 2); }

// The values an image uses: per cell (high byte) a 256-bit mask of its low bytes, and the tables to code ranks.
class ValueSet {
 public:
  // From the samples (encoder), or empty (decoder: filled by Decode).
  ValueSet() : present_(65536, 0) {}
  void Add(uint8_t high, uint8_t low) { present_[high << 8 | low] = 1; }
  // Every value of these cells.
  void AddCells(const std::vector<uint8_t>& cells) {
    for (uint8_t h : cells) std::fill_n(present_.begin() + (h << 8), 256, 1);
  }
  // The masks of the cells that `high` uses.
  void Encode(bitstream::AnsEncoder& enc, const std::vector<uint8_t>& used_cells, double* bits) const {
    AdaptiveBinary models[16];
    const uint8_t* previous = nullptr;
    for (int h : used_cells) {
      const uint8_t* mask = &present_[static_cast<size_t>(h) << 8];
      for (int k = 0; k < 256; ++k) {
        AdaptiveBinary& m = models[Context(mask, previous, k)];
        PutBit(enc, m.Freq1(), mask[k] != 0, bits);
        m.Update(mask[k] != 0);
      }
      previous = mask;
    }
  }
  Status Decode(bitstream::AnsDecoder& dec, const std::vector<uint8_t>& used_cells, double* bits) {
    AdaptiveBinary models[16];
    const uint8_t* previous = nullptr;
    for (int h : used_cells) {
      uint8_t* mask = &present_[static_cast<size_t>(h) << 8];
      for (int k = 0; k < 256; ++k) {
        AdaptiveBinary& m = models[Context(mask, previous, k)];
        DCODEC_ASSIGN_OR_RETURN(bool bit, GetBit(dec, m.Freq1(), bits));
        m.Update(bit);
        mask[k] = bit;
      }
      previous = mask;
    }
    return Status::Ok();
  }
  // Per cell: the number of values, each low byte's rank, and the rank nearest to each low byte.
  void MakeTables() {
    count_.assign(256, 0);
    rank_.assign(65536, 0);
    nearest_.assign(65536, 0);
    for (int h = 0; h < 256; ++h) {
      const uint8_t* mask = &present_[static_cast<size_t>(h) << 8];
      std::vector<int> values;
      for (int k = 0; k < 256; ++k) {
        if (mask[k]) values.push_back(k);
      }
      count_[h] = static_cast<int>(values.size());
      if (values.empty()) continue;
      size_t r = 0;
      for (int k = 0; k < 256; ++k) {
        while (r + 1 < values.size() && values[r + 1] <= k) ++r;
        // values[r] <= k < values[r + 1] (or k below the first / above the last value)
        int nearest = static_cast<int>(r);
        if (r + 1 < values.size() && values[r + 1] - k < k - values[r]) nearest = static_cast<int>(r) + 1;
        nearest_[(h << 8) | k] = static_cast<uint8_t>(nearest);
        if (mask[k]) rank_[(h << 8) | k] = static_cast<uint8_t>(r);
      }
    }
  }
  int count(int h) const { return count_[h]; }
  int rank(int h, int low) const { return rank_[h << 8 | low]; }
  int nearest(int h, int low) const { return nearest_[h << 8 | low]; }
  // The low byte of rank r in cell h (r < count(h)).
  uint8_t ValueAt(int h, int r) const {
    const uint8_t* mask = &present_[static_cast<size_t>(h) << 8];
    for (int k = 0; k < 256; ++k) {
      if (mask[k] && r-- == 0) return static_cast<uint8_t>(k);
    }
    return 0;
  }

 private:
  static int Context(const uint8_t* mask, const uint8_t* previous, int k) {
    int ctx = k > 0 && mask[k - 1] ? 1 : 0;
    if (previous) {
      ctx |= (k > 0 && previous[k - 1] ? 2 : 0) | (previous[k] ? 4 : 0) | (k < 255 && previous[k + 1] ? 8 : 0);
    }
    return ctx;
  }
  std::vector<uint8_t> present_;
  std::vector<int> count_;
  std::vector<uint8_t> rank_, nearest_;
};

// The cells (high bytes) the samples use, ascending.
std::vector<uint8_t> UsedCells(const uint8_t* high, size_t count) {
  bool used[256] = {};
  for (size_t i = 0; i < count; ++i) used[high[i]] = true;
  std::vector<uint8_t> cells;
  for (int h = 0; h < 256; ++h) {
    if (used[h]) cells.push_back(static_cast<uint8_t>(h));
  }
  return cells;
}

std::vector<AdaptiveSymbols> MakeModels() {
  return std::vector<AdaptiveSymbols>(3 * kActivityBins, AdaptiveSymbols(9));
}

// The signed residual of rank `rank` against the predicted rank `p` among m values, zigzagged; and back.
uint32_t RankResidual(int rank, int p, int m) {
  int wrapped = ((rank - p) % m + m) % m;
  return Zigzag(wrapped < (m + 1) / 2 ? wrapped : wrapped - m);
}
int RankFromResidual(uint32_t zz, int p, int m) {
  const int64_t r = (static_cast<int64_t>(p) + Unzigzag(zz)) % m;
  return static_cast<int>(r < 0 ? r + m : r);
}

}  // namespace

SampleDepth DepthOf(const uint8_t* high, const uint8_t* low, size_t count) {
  if (!low) return SampleDepth::k8;
  return std::equal(high, high + count, low) ? SampleDepth::k16Wide : SampleDepth::k16;
}

void EncodeDepth(bitstream::AnsEncoder& enc, SampleDepth depth, double* bits) {
  PutBit(enc, kSixteenBitFreq, depth != SampleDepth::k8, bits);
  if (depth != SampleDepth::k8) PutBit(enc, kHalf, depth == SampleDepth::k16Wide, bits);
}

StatusOr<SampleDepth> DecodeDepth(bitstream::AnsDecoder& dec, double* bits) {
  DCODEC_ASSIGN_OR_RETURN(bool sixteen, GetBit(dec, kSixteenBitFreq, bits));
  if (!sixteen) return SampleDepth::k8;
  DCODEC_ASSIGN_OR_RETURN(bool wide, GetBit(dec, kHalf, bits));
  return wide ? SampleDepth::k16Wide : SampleDepth::k16;
}

namespace {

// The low bytes with the value set (with_set) or with every value of a used cell taken as present.
void EncodeWith(bool with_set, bitstream::AnsEncoder& enc, const uint8_t* high, const uint8_t* low, int width,
                int height, int channels, double* bits) {
  const size_t count = static_cast<size_t>(width) * height * channels;
  PutBit(enc, kHalf, with_set, bits);
  ValueSet set;
  const std::vector<uint8_t> cells = UsedCells(high, count);
  if (with_set) {
    for (size_t i = 0; i < count; ++i) set.Add(high[i], low[i]);
    set.Encode(enc, cells, bits);
  } else {
    set.AddCells(cells);
  }
  set.MakeTables();
  std::vector<AdaptiveSymbols> models = MakeModels();
  Predictor predictor(high, low, width, channels);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        const size_t i = (static_cast<size_t>(y) * width + x) * channels + c;
        const int m = set.count(high[i]);
        if (m > 1) {
          const Prediction pr = predictor.Predict(x, y, c);
          const uint32_t zz = RankResidual(set.rank(high[i], low[i]), set.nearest(high[i], pr.p), m);
          const int b = BitWidth(zz);
          models[static_cast<size_t>(pr.ctx)].Put(enc, b, bits);
          if (b >= 2) {
            bitstream::EncodeUniform(enc, zz - (1u << (b - 1)), 1u << (b - 1));
            if (bits) *bits += b - 1;
          }
        }
        predictor.Learn(x, y, c);
      }
    }
  }
}

}  // namespace

void EncodeLowBytes(bitstream::AnsEncoder& enc, const uint8_t* high, const uint8_t* low, int width, int height,
                    int channels, double* bits) {
  // The cheaper of the two ways, by a trial of each.
  double cost[2] = {0, 0};
  for (int with_set = 0; with_set < 2; ++with_set) {
    bitstream::AnsEncoder trial;
    EncodeWith(with_set != 0, trial, high, low, width, height, channels, &cost[with_set]);
  }
  EncodeWith(cost[1] < cost[0], enc, high, low, width, height, channels, bits);
}

Status DecodeLowBytes(bitstream::AnsDecoder& dec, const uint8_t* high, int width, int height, int channels,
                      uint8_t* low, double* bits) {
  const size_t count = static_cast<size_t>(width) * height * channels;
  DCODEC_ASSIGN_OR_RETURN(bool with_set, GetBit(dec, kHalf, bits));
  ValueSet set;
  const std::vector<uint8_t> cells = UsedCells(high, count);
  if (with_set) {
    DCODEC_RETURN_IF_ERROR(set.Decode(dec, cells, bits));
  } else {
    set.AddCells(cells);
  }
  set.MakeTables();
  for (uint8_t h : cells) {
    if (set.count(h) == 0) return Corrupt("the low bytes' value set has an empty cell");
  }
  // The low byte of each rank, per cell.
  std::vector<uint8_t> value_at(65536, 0);
  for (uint8_t h : cells) {
    for (int r = 0; r < set.count(h); ++r) value_at[h << 8 | r] = set.ValueAt(h, r);
  }
  std::vector<AdaptiveSymbols> models = MakeModels();
  Predictor predictor(high, low, width, channels);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        const size_t i = (static_cast<size_t>(y) * width + x) * channels + c;
        const int m = set.count(high[i]);
        if (m == 1) {
          low[i] = value_at[high[i] << 8];
          predictor.Learn(x, y, c);
          continue;
        }
        const Prediction pr = predictor.Predict(x, y, c);
        DCODEC_ASSIGN_OR_RETURN(int b, models[static_cast<size_t>(pr.ctx)].Get(dec, bits));
        uint32_t zz = b == 0 ? 0 : 1u << (b - 1);
        if (b >= 2) {
          DCODEC_ASSIGN_OR_RETURN(uint32_t mantissa, bitstream::DecodeUniform(dec, 1u << (b - 1)));
          if (bits) *bits += b - 1;
          zz += mantissa;
        }
        low[i] = value_at[high[i] << 8 | RankFromResidual(zz, set.nearest(high[i], pr.p), m)];
        predictor.Learn(x, y, c);
      }
    }
  }
  return Status::Ok();
}

}  // namespace dcodec::codec
