// The alpha (transparency) plane: coded losslessly at the very start of a stream, before stage 1, so that every
// prefix shows the image with its transparency.
//
// The first symbol says whether there is an alpha plane at all (P(yes) = 2^-10: an opaque image pays 0.0014
// bits). The plane follows in raster order. Each value a with left neighbour L and upper neighbour U (where they
// exist) is predicted as P = L (else U, else 255) and coded as
//   a == P?                      adaptive binary, context: (L and U exist and L == U) / (both exist, L != U) /
//                                (an edge pixel)
//   otherwise, if U exists and U != P:  a == U?   adaptive binary
//   otherwise a itself           uniform over the 255 values other than P (and U when it was ruled out: 254)
// Adaptive binary models are integer counts (start 1/1, +32 per symbol, halved above 2^16), turned into 24-bit
// frequencies with integer division, so both sides compute identical tables. An opaque plane costs about
// log2(pixels) bits in all; a cut-out with anti-aliased edges about 10 bits per edge pixel.
#ifndef DCODEC_CODEC_ALPHA_CODER_H_
#define DCODEC_CODEC_ALPHA_CODER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "bitstream/ans.h"

namespace dcodec::codec {

// `alpha`: width·height values in raster order, or nullptr for an image without alpha. *bits (if given) += the
// ideal cost of what was written.
void EncodeAlpha(bitstream::AnsEncoder& enc, const uint8_t* alpha, int width, int height, double* bits = nullptr);
// The plane, or std::nullopt if the stream has none. kTruncated if the data runs out.
StatusOr<std::optional<std::vector<uint8_t>>> DecodeAlpha(bitstream::AnsDecoder& dec, int width, int height,
                                                          double* bits = nullptr);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_ALPHA_CODER_H_
