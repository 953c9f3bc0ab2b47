// 16-bit samples: the stream codes the high byte of every sample through the model, as it codes an 8-bit image,
// and the low bytes here, losslessly, at the end of the pixel stage. Progressive previews stay 8-bit (the high
// bytes); only a decode of the whole stream gives the 16-bit samples back.
//
// The sample depth opens the stream, after the alpha plane (alpha_coder.h): P(16-bit) = 2^-10, so an 8-bit image
// pays 0.0014 bits; then, for 16-bit, whether every sample is an 8-bit value stored wide (v·257, low byte = high
// byte: nothing more is coded) or not (P = 1/2).
//
// The low bytes (SampleDepth::k16) follow the pixel stage's pixels, when every high byte is known. Many 16-bit
// files use few of the 65,536 values: a 10- or 12-bit source scaled to 16 bits, an 8-bit one shifted, an average
// of a few 8-bit samples. So first a bit says whether the set of values the image uses follows (the encoder tries
// both and keeps the cheaper; without it every value of a used cell counts as used). The set, all channels
// together: for each cell
// 256·h..256·h+255 whose high byte h occurs, a 256-bit mask of the low bytes that occur in it, each bit with an
// adaptive binary model (adaptive_model.h) whose context is the previous bit of the mask and the previous occupied
// cell's bits at k-1, k, k+1. Then each sample in raster order, channels interleaved (alpha included), as its rank
// among the m values of its cell (nothing when m = 1), predicted from its same-channel causal neighbours as 16-bit
// values L, U, UL (a missing one replaced by the other, or by the middle of the cell when neither exists):
//   prediction  P = MED(L, U, UL) (LOCO-I's median edge detector), clamped into the cell; p = the rank of the
//               cell's value nearest to P (the lower one on a tie)
//   residual    r = (rank - p) mod m, as signed in [-floor(m/2), ceil(m/2)), zigzagged (0, -1, 1, -2, ...)
//   coded as    its bucket b = bit_width(zigzag) (0..8) with an adaptive model per context, then, for b >= 2, the
//               b - 1 bits below the leading one, uniform
//   context     the activity |L - UL| + |U - UL| in 10 logarithmic bins × whether P was clamped down, up or not.
#ifndef DCODEC_CODEC_LOW_BYTE_CODER_H_
#define DCODEC_CODEC_LOW_BYTE_CODER_H_

#include <cstdint>

#include "base/status.h"
#include "bitstream/ans.h"

namespace dcodec::codec {

enum class SampleDepth : uint8_t {
  k8 = 0,       // 8-bit samples
  k16Wide = 1,  // 16-bit samples, each an 8-bit value v stored as v·257
  k16 = 2,      // 16-bit samples: the low bytes are coded
};

// The depth of samples whose low bytes are `low` (`count` of them, beside the same count of high bytes), or k8
// when low is nullptr.
SampleDepth DepthOf(const uint8_t* high, const uint8_t* low, size_t count);

void EncodeDepth(bitstream::AnsEncoder& enc, SampleDepth depth, double* bits = nullptr);
StatusOr<SampleDepth> DecodeDepth(bitstream::AnsDecoder& dec, double* bits = nullptr);

// `high` and `low`: width·height·channels samples each, interleaved as datasets/image.h's Image::data.
void EncodeLowBytes(bitstream::AnsEncoder& enc, const uint8_t* high, const uint8_t* low, int width, int height,
                    int channels, double* bits = nullptr);
// Fills `low` (width·height·channels bytes). kTruncated if the data runs out.
Status DecodeLowBytes(bitstream::AnsDecoder& dec, const uint8_t* high, int width, int height, int channels,
                      uint8_t* low, double* bits = nullptr);

}  // namespace dcodec::codec

#endif  // DCODEC_CODEC_LOW_BYTE_CODER_H_
