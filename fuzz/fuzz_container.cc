// Fuzzes bitstream::ParseHeader on arbitrary bytes, then runs an ANS decoder over the stream that follows it.
//
// Checked beyond "no crash, no sanitizer report": the parser's promises on a success (header values in range,
// the header inside the input, serializing the parsed header gives back the same bytes). A header that is not
// custom holds the model's chain, which the container cannot see, so its stage count is bounded by kMaxStages only.
// A format-5 header's file length holds the header, the state and whole words. A format-8 cut chain may hold
// one stage more than its base.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "bitstream/ans.h"
#include "bitstream/container.h"
#include "bitstream/leaky_quantizer.h"

using namespace dcodec::bitstream;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = ParseHeader(data, size);
  if (!parsed.ok()) return 0;
  const StreamHeader& h = parsed->header;
  if (h.width < 1 || h.width > kMaxDimension || h.height < 1 || h.height > kMaxDimension ||
      uint64_t{h.width} * h.height > kMaxPixels || (h.channels != 1 && h.channels != 3) || h.stages < 1 ||
      h.stages > kMaxStages ||
      (h.explicit_params && h.stages > h.params.chain_stages + 1 + (h.params.chain_t_end != 0 ? 1 : 0)) ||
      (h.params.chain_t_end != 0 && (h.version < 8 || !h.explicit_params)) || h.state_bytes < 4 || h.state_bytes > 8 ||
      parsed->header_bytes > size) {
    std::abort();
  }
  auto again = SerializeHeader(h);
  if (!again.ok() || again->size() != parsed->header_bytes || std::memcmp(again->data(), data, again->size()) != 0) {
    std::abort();
  }
  if (h.has_length()) {
    const uint64_t total = parsed->stream_bytes();
    if (total < parsed->header_bytes + h.state_bytes || (total - parsed->header_bytes - h.state_bytes) % 4 != 0) {
      std::abort();
    }
  } else if (parsed->stream_bytes() != 0) {
    std::abort();
  }
  // The stream: decode pixel-like symbols until an error or a cap, as the codec would.
  const uint8_t* p = data + parsed->header_bytes;
  size_t n = size - parsed->header_bytes;
  if (n >= h.state_bytes) n -= (n - h.state_bytes) % 4;
  AnsDecoder dec(p, n, h.state_bytes);
  QuantizedContinuous d;
  d.lo = 0;
  d.hi = 255;
  d.scale = 3.0;
  for (int k = 0; k < 4096; ++k) {
    d.mean = (k * 37) % 256;
    auto s = DecodeSymbol(dec, d);
    if (!s.ok()) break;
    if (*s < d.lo || *s > d.hi) std::abort();
  }
  (void)dec.Finish();
  (void)dec.digest();
  return 0;
}
