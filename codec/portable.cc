#include "codec/portable.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "bitstream/leaky_quantizer.h"

namespace dcodec::codec {
namespace {

using bitstream::QuantizedContinuous;

constexpr double kMaxGridValue = 1 << 20;  // |v| is clamped here (a network output this large is already garbage)

// v = ε / γ, finite and bounded (NaN → 0).
double GridValue(float eps, const PortableGrid& grid) {
  if (!std::isfinite(eps)) return 0.0;
  return std::clamp(std::ldexp(static_cast<double>(eps), grid.grid_bits), -kMaxGridValue, kMaxGridValue);
}

// Distance of v from the nearest rounding boundary floor(v) + ½, in grid units.
double BoundaryDistance(double v) { return std::fabs(v - (std::floor(v) + 0.5)); }

uint64_t Mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Row i of the retrieval system: `words` 64-bit words, bits beyond m cleared.
void Row(uint64_t key, size_t i, uint32_t m, std::vector<uint64_t>& row) {
  const size_t words = (m + 63) / 64;
  row.assign(words, 0);
  const uint64_t base = Mix(key ^ Mix(i));
  for (size_t w = 0; w < words; ++w) row[w] = Mix(base + w);
  if (m % 64) row[words - 1] &= (uint64_t{1} << (m % 64)) - 1;
}

bool Parity(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  uint64_t x = 0;
  for (size_t w = 0; w < a.size(); ++w) x ^= a[w] & b[w];
  return __builtin_parityll(x);
}

// Solves parity(r_k & s) = side_k for all keys over GF(2) with m unknowns. False if inconsistent.
bool Solve(uint64_t key, const std::vector<size_t>& keys, const std::vector<uint8_t>& sides, uint32_t m,
           std::vector<uint64_t>& s) {
  struct Pivot {
    uint32_t col;
    std::vector<uint64_t> row;
    bool rhs;
  };
  std::vector<Pivot> pivots;
  std::vector<uint64_t> row;
  for (size_t k = 0; k < keys.size(); ++k) {
    Row(key, keys[k], m, row);
    bool rhs = sides[k];
    for (const Pivot& p : pivots) {
      if ((row[p.col / 64] >> (p.col % 64)) & 1) {
        for (size_t w = 0; w < row.size(); ++w) row[w] ^= p.row[w];
        rhs ^= p.rhs;
      }
    }
    uint32_t col = m;
    for (size_t w = 0; w < row.size() && col == m; ++w) {
      if (row[w]) col = static_cast<uint32_t>(w * 64 + __builtin_ctzll(row[w]));
    }
    if (col == m) {
      if (rhs) return false;
      continue;
    }
    pivots.push_back({col, row, rhs});
  }
  s.assign((m + 63) / 64, 0);
  for (size_t k = pivots.size(); k-- > 0;) {
    const Pivot& p = pivots[k];
    if (Parity(p.row, s) != p.rhs) s[p.col / 64] |= uint64_t{1} << (p.col % 64);
  }
  return true;
}

// The distribution of a block's m (kPortableMaxKeys + 1 = dense), centred on the expected key count.
QuantizedContinuous KeyCountModel(size_t block_len, const PortableGrid& grid) {
  const double expected = std::ldexp(static_cast<double>(block_len), 2 + grid.grid_bits - grid.margin_bits);
  QuantizedContinuous d;
  d.family = bitstream::Family::kGaussian;
  d.mean = expected + 1.0;
  d.scale = std::sqrt(expected) + 1.0;
  d.lo = 0;
  d.hi = static_cast<int32_t>(kPortableMaxKeys) + 1;
  return d;
}

uint64_t BlockKey(uint64_t key, size_t block) { return Mix(key ^ (0xB10C0000ull + block)); }

}  // namespace

size_t PortableKeyCount(const float* eps, size_t n, const PortableGrid& grid) {
  const double wide = std::ldexp(2.0, grid.grid_bits - grid.margin_bits);
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) count += BoundaryDistance(GridValue(eps[i], grid)) < wide;
  return count;
}

void EncodePortableEps(const float* eps, size_t n, const PortableGrid& grid, uint64_t key,
                       bitstream::AnsEncoder& enc, int32_t* q, double* bits) {
  const double wide = std::ldexp(2.0, grid.grid_bits - grid.margin_bits);  // 2μ/γ
  std::vector<size_t> keys;
  std::vector<uint8_t> sides;
  std::vector<uint64_t> s;
  for (size_t begin = 0, block = 0; begin < n; begin += kPortableBlock, ++block) {
    const size_t end = std::min(n, begin + kPortableBlock);
    keys.clear();
    sides.clear();
    for (size_t i = begin; i < end; ++i) {
      const double v = GridValue(eps[i], grid);
      q[i] = static_cast<int32_t>(std::floor(v + 0.5));
      if (BoundaryDistance(v) < wide) {
        keys.push_back(i - begin);
        sides.push_back(v >= std::floor(v) + 0.5);
      }
    }
    const uint64_t bkey = BlockKey(key, block);
    uint32_t m = static_cast<uint32_t>(keys.size());
    bool dense = keys.size() > kPortableMaxKeys;
    if (!dense) {
      while (!Solve(bkey, keys, sides, m, s)) {
        if (++m > std::min<uint32_t>(kPortableMaxKeys, static_cast<uint32_t>(keys.size()) + 64)) {
          dense = true;
          break;
        }
      }
    }
    const QuantizedContinuous model = KeyCountModel(end - begin, grid);
    const int32_t m_symbol = dense ? static_cast<int32_t>(kPortableMaxKeys) + 1 : static_cast<int32_t>(m);
    (void)bitstream::EncodeSymbol(enc, model, m_symbol);
    if (bits) *bits += bitstream::IdealBits(model, m_symbol);
    if (dense) {
      for (size_t i = begin; i < end; ++i) bitstream::EncodeUniform(enc, static_cast<uint32_t>(q[i]) & 1, 2);
      if (bits) *bits += static_cast<double>(end - begin);
      continue;
    }
    for (uint32_t b = 0; b < m; b += 16) {
      const uint32_t width = std::min<uint32_t>(16, m - b);
      const uint32_t chunk = static_cast<uint32_t>((s[b / 64] >> (b % 64)) & ((uint64_t{1} << width) - 1));
      bitstream::EncodeUniform(enc, chunk, uint32_t{1} << width);
    }
    if (bits) *bits += m;
  }
}

Status DecodePortableEps(const float* eps, size_t n, const PortableGrid& grid, uint64_t key,
                         bitstream::AnsDecoder& dec, int32_t* q, double* bits) {
  const double narrow = std::ldexp(1.0, grid.grid_bits - grid.margin_bits);  // μ/γ
  std::vector<uint64_t> s, row;
  for (size_t begin = 0, block = 0; begin < n; begin += kPortableBlock, ++block) {
    const size_t end = std::min(n, begin + kPortableBlock);
    const QuantizedContinuous model = KeyCountModel(end - begin, grid);
    DCODEC_ASSIGN_OR_RETURN(int32_t m_symbol, bitstream::DecodeSymbol(dec, model));
    if (bits) *bits += bitstream::IdealBits(model, m_symbol);
    if (m_symbol == static_cast<int32_t>(kPortableMaxKeys) + 1) {
      for (size_t i = begin; i < end; ++i) {
        DCODEC_ASSIGN_OR_RETURN(uint32_t parity, bitstream::DecodeUniform(dec, 2));
        const double v = GridValue(eps[i], grid);
        int32_t r = static_cast<int32_t>(std::floor(v + 0.5));
        if ((static_cast<uint32_t>(r) & 1) != parity) r += v >= r ? 1 : -1;
        q[i] = r;
      }
      if (bits) *bits += static_cast<double>(end - begin);
      continue;
    }
    const uint32_t m = static_cast<uint32_t>(m_symbol);
    s.assign((m + 63) / 64, 0);
    for (uint32_t b = 0; b < m; b += 16) {
      const uint32_t width = std::min<uint32_t>(16, m - b);
      DCODEC_ASSIGN_OR_RETURN(uint32_t chunk, bitstream::DecodeUniform(dec, uint32_t{1} << width));
      s[b / 64] |= static_cast<uint64_t>(chunk) << (b % 64);
    }
    if (bits) *bits += m;
    const uint64_t bkey = BlockKey(key, block);
    for (size_t i = begin; i < end; ++i) {
      const double v = GridValue(eps[i], grid);
      const double floor_v = std::floor(v);
      if (BoundaryDistance(v) < narrow) {
        if (m == 0) return Corrupt("portable model outputs: an element near a rounding boundary, but no sides sent");
        Row(bkey, i - begin, m, row);
        q[i] = static_cast<int32_t>(floor_v) + (Parity(row, s) ? 1 : 0);
      } else {
        q[i] = static_cast<int32_t>(std::floor(v + 0.5));
      }
    }
  }
  return Status::Ok();
}

void X0FromQuantizedEps(const float* x_t, const int32_t* q, size_t n, double coef_xt, double coef_eps,
                        const PortableGrid& grid, float* x0_hat) {
  const double step = std::ldexp(1.0, -grid.grid_bits);
  for (size_t i = 0; i < n; ++i) {
    const double v = coef_xt * x_t[i] - coef_eps * (q[i] * step);
    x0_hat[i] = static_cast<float>(std::clamp(v, -1.0, 1.0));
  }
}

}  // namespace dcodec::codec
