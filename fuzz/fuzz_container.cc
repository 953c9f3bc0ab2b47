// Fuzzes bitstream::ParseStream on arbitrary bytes, then runs an ANS decoder over every payload it returns.
//
// Checked beyond "no crash, no sanitizer report": every returned payload lies inside the input, and the parser's
// promises on a success (header values in range, N <= S, payload lengths as the stage table says).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "bitstream/ans.h"
#include "bitstream/container.h"
#include "bitstream/leaky_quantizer.h"

using namespace dcodec::bitstream;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = ParseStream(data, size);
  if (!parsed.ok()) return 0;
  const StreamHeader& h = parsed->header;
  if (h.width < 1 || h.width > kMaxDimension || h.height < 1 || h.height > kMaxDimension ||
      uint64_t{h.width} * h.height > kMaxPixels || (h.channels != 1 && h.channels != 3) ||
      h.stages.size() > h.schedule.size() || parsed->payloads.size() > h.stages.size() ||
      (!parsed->truncated && parsed->payloads.size() != h.stages.size())) {
    std::abort();
  }
  for (size_t i = 0; i < parsed->payloads.size(); ++i) {
    const auto& [p, n] = parsed->payloads[i];
    if (p < data || p + n > data + size || n != h.stages[i].num_bytes) std::abort();
    // A stage payload is two belief bytes then one sealed sub-stream (codec.cc); decode it both ways the codec
    // could (from the start and after the belief bytes) with a pixel-like model until an error or a cap.
    for (size_t skip : {size_t{0}, size_t{2}}) {
      if (n < skip) continue;
      AnsDecoder dec(p + skip, n - skip);
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
    }
  }
  return 0;
}
