// Portable model outputs: turning the network's ε prediction, whose last bits differ between CPUs, kernels,
// LibTorch versions and GPUs, into integers that the encoder and every decoder agree on.
//
// Everything the stages' probability tables depend on is computed from x_t (exact: decoded symbols) and x̂_0, and
// x̂_0 comes from ε_θ(x_t, t), a float computation that is not reproducible across machines (measured on the
// shipped photo model, 256×192 crops: |Δε| up to 4.4e-6 between oneDNN's AVX-512, AVX2 and SSE4.1 kernels and
// ATen's default/AVX2/AVX-512 paths; docs/format.md). So both sides quantize ε to a grid of step γ = 2^-grid_bits
// (in units of the noise's standard deviation):
//     v_i = ε_i / γ,   q_i = floor(v_i + ½),   x̂_0 = clamp(c_xt·x_t − c_ε·q_i·γ, −1, 1)
// and the stage's beliefs use that x̂_0. γ sets the mean's resolution: a stage's mean moves by ≈ γ·Δ (its dither
// step) per grid step, the pixel stage's by 5.6γ grey levels with the linear schedule's t = 10.
//
// A decoder whose ε' differs from the encoder's by less than the margin μ = 2^-margin_bits rounds the same way
// except where v' lies within μ/γ of a rounding boundary b = floor(v') + ½ ("near"). Those sides are sent:
//  * The encoder takes every element whose v lies within 2μ/γ of a boundary: a superset of any such decoder's
//    near set. Elements are grouped in blocks of kPortableBlock; for each block the stream holds m and an m-bit
//    vector s such that parity(r_i & s) = side_i for each of the block's n ≤ m keys, r_i an m-bit row hashed
//    from (key, i) (a GF(2) retrieval structure: about one bit per key, whatever the positions; m = n unless
//    that system has no solution, then n + 1, …).
//  * The decoder computes r_i·s for its near elements only, and rounds the others itself.
//  * A block with more than kPortableMaxKeys keys (or no solution) is sent densely: the parity of every q_i
//    (1 bit per element); the decoder takes the candidate next to v' with that parity.
// Expected cost: the keys are 4μ/γ of the elements (2^-11 with the defaults), one bit each, plus m's code.
// If a decoder's ε' is off by μ or more somewhere, it may round differently and its tables differ: the stream's
// check symbols report that (exit 5), never a wrong picture.
//
// No LibTorch here; integer and IEEE double arithmetic only (+ − × ÷, floor), bit-exact on every machine.
#ifndef DCODEC_CODEC_PORTABLE_H_
#define DCODEC_CODEC_PORTABLE_H_

#include <cstddef>
#include <cstdint>

#include "base/status.h"
#include "bitstream/ans.h"

namespace dcodec::codec {

struct PortableGrid {
  int grid_bits = 5;     // γ = 2^-grid_bits
  int margin_bits = 17;  // μ = 2^-margin_bits, in units of ε
};
constexpr size_t kPortableBlock = size_t{1} << 14;  // elements per retrieval block
constexpr uint32_t kPortableMaxKeys = 1024;         // more keys than this in a block: dense parities

// Encoder: q_i for every element, the side information into `enc`. *bits (if given) += its ideal cost.
void EncodePortableEps(const float* eps, size_t n, const PortableGrid& grid, uint64_t key,
                       bitstream::AnsEncoder& enc, int32_t* q, double* bits = nullptr);
// Decoder: reads the side information and returns the encoder's q (given |ε' − ε| < μ everywhere).
// kTruncated if the data runs out; kCorrupt for an impossible block.
Status DecodePortableEps(const float* eps, size_t n, const PortableGrid& grid, uint64_t key,
                         bitstream::AnsDecoder& dec, int32_t* q, double* bits = nullptr);

// x̂_0 = clamp(coef_xt·x_t − coef_eps·q·2^-grid_bits, −1, 1), element-wise.
void X0FromQuantizedEps(const float* x_t, const int32_t* q, size_t n, double coef_xt, double coef_eps,
                        const PortableGrid& grid, float* x0_hat);

// The number of keys the encoder would send for `eps` (for measurements and tests).
size_t PortableKeyCount(const float* eps, size_t n, const PortableGrid& grid);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_PORTABLE_H_
